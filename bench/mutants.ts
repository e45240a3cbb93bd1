// Time to kill each catalogue mutant (mutants/*.js): the time the quickest property needs to
// kill it (killMatrix's per-property timeToKillMs, shrinking included), the median over three
// seeds per mutant; the note gives the same for the mutant's expected killer alone.
// Argued-equivalent mutants are not killable and are left out.
import { killMatrix } from '../mutants/killMatrix';
import { Goal, median } from './stats';

const SEEDS = [1, 2, 3];

export async function benchSection(): Promise<Goal[]> {
  const perMutant = new Map<string, number[]>();
  const byExpectedKiller: number[] = [];
  const notKilled = new Set<string>();
  for (const seed of SEEDS) {
    // A budget of 2 s a mutant: it only bounds the properties that never kill it.
    const m = await killMatrix({ seconds: 2, seed, control: false });
    for (const row of m.rows) {
      if (row.equivalent) continue;
      const times = Object.values(row.cells).flatMap((c) => (c.killed && c.timeToKillMs !== null ? [c.timeToKillMs] : []));
      if (times.length === 0) {
        notKilled.add(row.mutant);
        continue;
      }
      perMutant.set(row.mutant, [...(perMutant.get(row.mutant) ?? []), Math.min(...times)]);
      const expected = row.expectedKiller ? row.cells[row.expectedKiller] : undefined;
      if (expected?.killed && expected.timeToKillMs !== null) byExpectedKiller.push(expected.timeToKillMs);
    }
  }
  const medians = [...perMutant].map(([name, ts]) => ({ name, ms: median(ts) }));
  const overall = median(medians.map((m) => m.ms));
  const slowest = medians.reduce((a, b) => (b.ms > a.ms ? b : a), { name: '-', ms: 0 });
  const worstEver = Math.max(0, ...[...perMutant.values()].flat());
  const killedAll = notKilled.size === 0;
  return [
    {
      name: `time to kill a catalogue mutant, median over ${medians.length} killable mutants (${SEEDS.length} seeds each)`,
      value: Math.round(overall),
      unit: 'ms',
      goal: '< 1,000 ms',
      met: killedAll && overall < 1000,
      note: `${killedAll ? 'fastest property per mutant' : `not killed within 2 s on some seed: ${[...notKilled].join(', ')}`}; its expected killer alone: median ${Math.round(median(byExpectedKiller))} ms, max ${Math.round(Math.max(0, ...byExpectedKiller))} ms`,
    },
    {
      name: 'time to kill the slowest catalogue mutant',
      value: Math.round(worstEver),
      unit: 'ms',
      goal: '< 10,000 ms each',
      met: killedAll && worstEver < 10_000,
      note: `slowest by median: ${slowest.name} ${Math.round(slowest.ms)} ms; per mutant (median): ${medians
        .sort((a, b) => b.ms - a.ms)
        .map((m) => `${m.name} ${Math.round(m.ms)}`)
        .join(', ')}`,
    },
  ];
}
