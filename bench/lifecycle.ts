// The lifecycle search (issue 15): L2 for every release whose kernels ship the patch (the
// bounded exhaustive search of lifecycle/search.ts at the default depth, which stops at the
// shortest failing story), one process, one core; goal ≤ 60 s for all of them on the 2-core
// machine. L1 at the same depth (a full search, no early stop) is shown beside it.
import { RELEASES } from '../model';
import { defaultDepth, searchLifecycle } from '../lifecycle/search';
import { shipsPatch } from '../lifecycle/table';
import { Goal } from './stats';

export function benchSection(): Goal[] {
  const depth = defaultDepth();
  const per: string[] = [];
  const t0 = process.hrtime.bigint();
  for (const r of RELEASES.filter((x) => shipsPatch(x.id))) {
    const t = process.hrtime.bigint();
    const s = searchLifecycle({ dropAt: r.id, depth });
    per.push(`${r.id} ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s (${s.states} states, ${s.failure ? `${s.failure.story.steps.length} steps` : 'none'})`);
  }
  const l2 = Number(process.hrtime.bigint() - t0) / 1e9;
  const t1 = process.hrtime.bigint();
  const l1 = searchLifecycle({ dropAt: null, depth });
  const l1s = Number(process.hrtime.bigint() - t1) / 1e9;
  return [
    { name: `lifecycle L2 search for every release, depth ${depth}, 2 nodes (one process)`, value: Number(l2.toFixed(1)), unit: 's', goal: '≤ 60', met: l2 <= 60, note: per.join('; ') },
    { name: `lifecycle L1 search, depth ${depth}, 2 nodes (complete: nothing fails)`, value: Number(l1s.toFixed(1)), unit: 's', goal: '(shown)', met: null, note: `${l1.states} states` },
  ];
}
