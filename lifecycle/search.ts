// Bounded exhaustive search over a VM's life (claims L1, L2; issue 15): breadth first over every
// sequence of operations up to a depth, on an abstracted cluster (N nodes, all starting on the
// first release of the catalogue, each with any host of model/lifecycle.ts LIFECYCLE_HOSTS, and
// one VM of each search CPU model). States with the same future are visited once (memoised by
// Lifecycle.key), so the first failing sequence found is a shortest one; when none is found
// the result is a proof for that bound: "no failing sequence up to depth k".
import {
  Fixup,
  HOSTS,
  Host,
  LIFECYCLE_HOSTS,
  Lifecycle,
  LifecycleNode,
  LifecycleOp,
  LifecycleState,
  LifecycleStory,
  RELEASES,
  RestoreRecord,
  SEARCH_CPU_MODELS,
  initialCluster,
  initialState,
  nextReleases,
} from '../model';

export interface SearchOptions {
  /** null: the patch as shipped (L1); a release: drop the patch from it on (L2) */
  dropAt: string | null;
  /** the longest sequence searched (operations, the VM's creation included) */
  depth: number;
  /** nodes in the cluster (default 2) */
  nodes?: number;
  hosts?: readonly string[];
  cpuModels?: readonly string[];
  /** replaces the Proxmox patch (negative controls) */
  fixup?: Fixup;
}

export interface FoundStory {
  story: LifecycleStory;
  failure: RestoreRecord;
}

export interface SearchResult {
  dropAt: string | null;
  depth: number;
  nodes: number;
  hosts: string[];
  cpuModels: string[];
  /** distinct states visited */
  states: number;
  /** a shortest sequence ending in a counted failure (a restore on a kernel with the patch as shipped), or null */
  failure: FoundStory | null;
  /** a shortest sequence ending in a failure on a kernel without the patch as shipped (not counted), or null */
  regardless: FoundStory | null;
  /** levels searched completely: equal to depth when no counted failure was found */
  completeTo: number;
}

interface Entry {
  parent: number;
  op: LifecycleOp | null;
  root: number;
}

/** Every multiset of `n` items of `xs` (as sorted index tuples), in a fixed order. */
function multisets<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  const rec = (from: number, acc: T[]) => {
    if (acc.length === n) {
      out.push(acc.slice());
      return;
    }
    for (let i = from; i < xs.length; i++) {
      acc.push(xs[i]!);
      rec(i, acc);
      acc.pop();
    }
  };
  rec(0, []);
  return out;
}

export function searchLifecycle(opts: SearchOptions): SearchResult {
  const N = opts.nodes ?? 2;
  const hostNames = [...(opts.hosts ?? LIFECYCLE_HOSTS)];
  const hosts: Host[] = hostNames.map((h) => {
    const x = HOSTS[h];
    if (!x) throw new RangeError(`unknown host ${h}`);
    return x;
  });
  const cpuModels = [...(opts.cpuModels ?? SEARCH_CPU_MODELS)];
  const sim = new Lifecycle({ dropAt: opts.dropAt, ...(opts.fixup ? { fixup: opts.fixup } : {}) });
  const roots: Array<{ cluster: LifecycleNode[]; cpuModel: string }> = [];
  for (const cpuModel of cpuModels) for (const hs of multisets(hosts, N)) roots.push({ cluster: initialCluster(hs), cpuModel });

  const entries: Entry[] = [];
  const seen = new Set<string>();
  let frontier: Array<{ entry: number; state: LifecycleState }> = [];
  roots.forEach((r, i) => {
    const state = initialState(r.cluster, r.cpuModel);
    const k = sim.key(state);
    if (seen.has(k)) return;
    seen.add(k);
    entries.push({ parent: -1, op: null, root: i });
    frontier.push({ entry: entries.length - 1, state });
  });

  const storyOf = (entry: number, last: LifecycleOp): LifecycleStory => {
    const steps: LifecycleOp[] = [last];
    let e = entries[entry]!;
    while (e.op) {
      steps.push(e.op);
      e = entries[e.parent]!;
    }
    const root = roots[e.root]!;
    return { cpuModel: root.cpuModel, cluster: root.cluster, dropAt: opts.dropAt, steps: steps.reverse() };
  };

  let failure: FoundStory | null = null;
  let regardless: FoundStory | null = null;
  let completeTo = 0;
  for (let level = 1; level <= opts.depth && frontier.length > 0 && !failure; level++) {
    const next: typeof frontier = [];
    for (const { entry, state } of frontier) {
      for (const op of sim.ops(state, hosts)) {
        const r = sim.apply(state, op, level);
        if (r.restore?.failure) {
          if (r.restore.counted) {
            failure = { story: storyOf(entry, op), failure: r.restore };
            break;
          }
          regardless ??= { story: storyOf(entry, op), failure: r.restore };
          continue;
        }
        const k = sim.key(r.state);
        if (seen.has(k)) continue;
        seen.add(k);
        entries.push({ parent: entry, op, root: -1 });
        next.push({ entry: entries.length - 1, state: r.state });
      }
      if (failure) break;
    }
    if (!failure) completeTo = level;
    frontier = next;
  }
  if (!failure && frontier.length === 0) completeTo = opts.depth; // nothing left to reach: the bound holds trivially beyond
  return { dropAt: opts.dropAt, depth: opts.depth, nodes: N, hosts: hostNames, cpuModels, states: seen.size, failure, regardless, completeTo };
}

/** Upgrade steps from the first release to each release (the supported paths of model/releases.ts). */
export function upgradeDistances(): Map<string, number> {
  const dist = new Map<string, number>([[RELEASES[0]!.id, 0]]);
  const queue = [RELEASES[0]!.id];
  while (queue.length) {
    const r = queue.shift()!;
    for (const n of nextReleases(r)) {
      if (!dist.has(n)) {
        dist.set(n, dist.get(r)! + 1);
        queue.push(n);
      }
    }
  }
  return dist;
}

/**
 * The default bound: long enough for a VM created on the first release to have its state saved,
 * a node upgraded to the newest reachable release, and the state restored there (create, save,
 * the upgrades, restore), and never below 6.
 */
export function defaultDepth(): number {
  return Math.max(6, Math.max(...upgradeDistances().values()) + 3);
}
