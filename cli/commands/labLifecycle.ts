// xsave-harness lab lifecycle [--drop-at RELEASE,...|all] [--depth K] [--json] [--record F]
//   The decisive lifecycle stories on real kernels. For each release R, the lifecycle search
//   (lifecycle/) finds the shortest story that fails when the patch is dropped from R on; the
//   story is replayed in the kernel lab twice: with the patch dropped (the model says it fails)
//   and with the patch as shipped (the model says it holds). Each restore's real outcome stands
//   beside the model's (lab/lifecycle.ts: every shipped kernel replaced by the lab kernel with
//   the same KVM rules). Default: pve9.0, the release the patch's author named.
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../../cases/files';
import { ChainRun, ChainSpec, planChain, replayChain } from '../../lab/lifecycle';
import { progress } from '../../lab/progress';
import { qemuAvailability } from '../../lab/vm';
import { dropRow } from '../../lifecycle/table';
import { defaultDepth } from '../../lifecycle/search';
import { LifecycleStory, RELEASES, restoresOf } from '../../model';
import { EXIT, UsageError } from '../exitCodes';
import { positiveInt } from '../checkMachine';

export const DEFAULT_DROP_AT = 'pve9.0';

/** A story's restores as a chain for the lab. */
export function chainOf(story: LifecycleStory, title: string): ChainSpec {
  const rs = restoresOf(story);
  if (!rs.length) throw new Error(`${title}: the story restores nothing`);
  const first = rs[0]!;
  return {
    title,
    source: { kernel: first.savedOn.kernel, pku: first.savedOn.pku },
    hops: rs.map((r) => ({
      op: r.op,
      savedOn: { kernel: r.savedOn.kernel, pku: r.savedOn.pku },
      kernel: r.restoredOn.kernel,
      patched: r.restoredOn.patched,
      pku: r.restoredOn.pku,
      qemu: r.restoredOn.qemu,
      model: r.modelOutcome,
    })),
  };
}

export interface LabLifecycleRow {
  release: string;
  story: string[];
  dropped: ChainRun | { notRun: string };
  shipped: ChainRun | { notRun: string };
}

function line(r: ChainRun | { notRun: string }): string {
  if ('notRun' in r) return `not run: ${r.notRun}`;
  const hops = r.hops.map((h, i) => `restore ${i + 1} (${h.op} on ${h.kernel}${h.patched ? '' : ' without the patch'} -> ${h.lab ?? '?'}/${h.host}, ${h.qemu}): real ${h.real}, model ${h.model}${h.diff.length ? ` [${h.diff.join(', ')}]` : ''}`);
  return `${r.agree ? 'agrees' : 'DISAGREES'}: source ${r.source.kernel} -> ${r.source.lab}/${r.source.host} saved XSTATE_BV ${r.source.savedXstateBv} (leak ${r.source.leaked}, model ${r.source.modelLeaked}); ${hops.join('; ')}${r.infrastructure.length ? `; INFRASTRUCTURE ERROR ${r.infrastructure.join('; ')}` : ''}`;
}

export async function runLabLifecycleCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'drop-at': { type: 'string' }, depth: { type: 'string' }, json: { type: 'boolean', default: false }, record: { type: 'string' } } });
  const ids = RELEASES.map((r) => r.id);
  const want = values['drop-at'] ?? DEFAULT_DROP_AT;
  const releases = want === 'all' ? ids : want.split(',');
  for (const r of releases) if (!ids.includes(r)) throw new UsageError(`--drop-at ${r}: unknown release (known: ${ids.join(', ')}, or all)`);
  const depth = values.depth ? positiveInt('depth', values.depth) : defaultDepth();
  const q = qemuAvailability();
  if (!q.ok) {
    console.error(`xsave-harness lab lifecycle: ${q.reason}`);
    return EXIT.NO_KVM;
  }
  const rows: LabLifecycleRow[] = [];
  const t0 = Date.now();
  for (const release of releases) {
    const row = dropRow(release, { depth });
    const found = row.search.failure;
    if (!found) {
      console.log(`${release}: no failing story up to depth ${depth}: nothing to replay`);
      continue;
    }
    const dropped = found.story;
    const shipped: LifecycleStory = { ...dropped, dropAt: null };
    const run = async (story: LifecycleStory, what: string): Promise<ChainRun | { notRun: string }> => {
      const spec = chainOf(story, `${release} ${what}`);
      const plan = planChain(spec);
      if (!plan.ok) return { notRun: plan.why };
      return replayChain(spec, { progress: (label) => progress(`${release} ${what}: ${label}`, { quiet: values.json }) });
    };
    const r: LabLifecycleRow = { release, story: row.story ?? [], dropped: await run(dropped, 'patch dropped'), shipped: await run(shipped, 'patch as shipped') };
    rows.push(r);
    if (!values.json) {
      console.log(`drop the patch at ${release}: the shortest failing story (${r.story.length} steps):`);
      for (const l of r.story) console.log(`  ${l}`);
      console.log(`  with the patch dropped: ${line(r.dropped)}`);
      console.log(`  with the patch as shipped: ${line(r.shipped)}`);
    }
  }
  const record = { date: new Date().toISOString(), command: `xsave-harness lab lifecycle --drop-at ${want}${values.depth ? ` --depth ${depth}` : ''}`, depth, elapsedMs: Date.now() - t0, rows };
  if (values.record) writeFileAtomic(values.record, JSON.stringify(record, null, 2) + '\n');
  if (values.json) console.log(JSON.stringify(record, null, 2));
  const runs = rows.flatMap((r) => [r.dropped, r.shipped]).filter((x): x is ChainRun => !('notRun' in x));
  if (runs.some((x) => x.infrastructure.length)) return EXIT.UNUSABLE;
  if (runs.some((x) => !x.agree)) return EXIT.FAILED;
  if (!values.json) console.log(`${runs.length} chains on real kernels, all agree with the model, in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return EXIT.OK;
}
