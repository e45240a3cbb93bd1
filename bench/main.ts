// npm run bench [-- --label TEXT]: the performance budget (issue 6), as a table and as
// bench/bench.json. Rates are medians over several runs on one core; comparisons (workers,
// executor vs raw C) are ratios measured side by side in the same run. Each run appends its
// figures under its label to the history, so figures before and after an optimisation stay.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../cases/files';
import { benchModelInProcesses, benchReplay10k } from './model';
import { Goal, median } from './stats';

type Section = () => Promise<Goal[]> | Goal[];

/** The real-KVM executor next to a raw C loop of the same ioctls (bench/kvm.ts, run as its own process). */
function kvmSection(): Goal[] {
  const { kvmAvailability } = require('../kvm/available') as typeof import('../kvm/available');
  const avail = kvmAvailability();
  if (!avail.ok) return [{ name: `real-KVM executor: skipped (${avail.reason})`, value: null, unit: '', goal: '≥ 50% of raw', met: null }];
  const out = require('node:child_process').execFileSync(process.execPath, [path.join(__dirname, 'kvm.js'), '--json'], { encoding: 'utf8', timeout: 600_000 }) as string;
  const r = JSON.parse(out) as { ratio: number; rawCasesPerSec: { median: number }; executorCasesPerSec: { median: number } };
  return [
    {
      name: 'real-KVM executor vs raw C loop of the same ioctls (same run)',
      value: Math.round(r.ratio * 100),
      unit: '% of raw',
      goal: '≥ 50%',
      met: r.ratio >= 0.5,
      note: `executor ${r.executorCasesPerSec.median}/s, raw ${r.rawCasesPerSec.median}/s`,
    },
  ];
}

const SECTIONS: Record<string, Section> = {
  kvm: kvmSection,
  model: () => {
    const samples = benchModelInProcesses(5);
    const fp = median(samples.fullPath);
    const props = Object.fromEntries(Object.entries(samples.properties).map(([k, v]) => [k, median(v)]));
    const slowest = Math.min(...Object.values(props));
    const fmt = (xs: number[]): string => xs.map((x) => Math.round(x / 1000)).join('/') + 'k';
    const replay = benchReplay10k();
    return [
      {
        name: 'model full path (fixup + SET validation + state), 4 KiB buffers (median of 5 processes)',
        value: Math.round(fp),
        unit: '/s/core',
        goal: '≥ 1,000,000',
        met: fp >= 1e6,
        note: `per process: ${fmt(samples.fullPath)}`,
      },
      {
        name: 'property cases through fast-check, generation included (slowest property, median of 5 processes)',
        value: Math.round(slowest),
        unit: '/s/core',
        goal: '≥ 50,000',
        met: slowest >= 5e4,
        note: Object.entries(props).map(([k, v]) => `${k} ${Math.round(v)} (${fmt(samples.properties[k]!)})`).join(', '),
      },
      { name: 'replay of 10,000 corpus cases', value: Number(replay.toFixed(2)), unit: 's', goal: '< 5', met: replay < 5 },
    ];
  },
};

/** Optional sections contributed by other parts (fuzz scaling, real-KVM executor, mutants). */
function optionalSection(file: string, exportName: string): Section | null {
  const p = path.join(__dirname, file);
  if (!fs.existsSync(p + '.js')) return null;
  const mod = require(p) as Record<string, Section | undefined>;
  return mod[exportName] ?? null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { label: { type: 'string', default: 'run' }, only: { type: 'string' } } });
  const sections: Record<string, Section> = { ...SECTIONS };
  for (const [name, file, exp] of [
    ['fuzz', 'fuzz', 'benchSection'],
    ['mutants', 'mutants', 'benchSection'],
    ['lab', 'lab', 'benchSection'],
    ['lifecycle', 'lifecycle', 'benchSection'],
  ] as const) {
    const s = optionalSection(file, exp);
    if (s) sections[name] = s;
  }
  const wanted = values.only ? values.only.split(',') : Object.keys(sections);
  const goals: Goal[] = [];
  for (const name of wanted) {
    const s = sections[name];
    if (!s) {
      goals.push({ name: `${name}: section not available in this build`, value: null, unit: '', goal: '', met: null });
      continue;
    }
    process.stderr.write(`bench: ${name}…\n`);
    goals.push(...(await s()));
  }
  const rows = goals.map((g) => [g.met === null ? '  ?' : g.met ? ' ok' : 'MISS', g.name, g.value === null ? '-' : `${g.value.toLocaleString('en-US')} ${g.unit}`, g.goal, g.note ?? '']);
  const widths = [4, 0, 0, 0].map((w, i) => Math.max(w, ...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  '));
  const file = path.join(__dirname, '..', '..', 'bench', 'bench.json');
  const prev = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { history?: unknown[] }) : {};
  const entry = { label: values.label, date: new Date().toISOString(), node: process.version, cpus: require('node:os').cpus().length, goals };
  writeFileAtomic(file, JSON.stringify({ schema: 'xsave-bench/1', latest: entry, history: [...(prev.history ?? []), entry] }, null, 2) + '\n');
  console.log(`written ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 2;
});
