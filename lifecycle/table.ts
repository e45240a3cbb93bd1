// "When can the patch be dropped?": for each release R, the search of lifecycle/search.ts with
// the patch removed from R and every later release (L2), next to the search with the patch as
// shipped (L1). A row is unsafe with its shortest story, or safe up to the bound searched.
import { Fixup, RELEASES, RestoreRecord, kernelById, releaseTitle, runStory } from '../model';
import { SearchResult, defaultDepth, searchLifecycle } from './search';

export interface DropRow {
  release: string;
  title: string;
  verdict: 'unsafe' | 'safe-to-depth';
  /** the bound searched */
  depth: number;
  states: number;
  /** the shortest failing story, one line a step (unsafe rows) */
  story: string[] | null;
  steps: number | null;
  failure: RestoreRecord | null;
  search: SearchResult;
}

export interface DropTable {
  depth: number;
  nodes: number;
  /** the patch as shipped */
  l1: SearchResult;
  l1Story: string[] | null;
  /** the shortest failure on a kernel without the patch as shipped (pve-5.15), not counted */
  regardlessStory: string[] | null;
  /** one row per release whose kernels carry the patch as shipped (dropping it elsewhere means nothing) */
  rows: DropRow[];
  /** releases none of whose kernels carries the patch */
  unpatched: string[];
}

/** A release some kernel of which carries the patch as shipped. */
export function shipsPatch(release: string): boolean {
  return RELEASES.find((r) => r.id === release)!.kernels.some((k) => kernelById(k.kernel)?.pvePatch != null);
}

export function dropRow(release: string, opts: { depth: number; nodes?: number; fixup?: Fixup }): DropRow {
  const search = searchLifecycle({ dropAt: release, depth: opts.depth, ...(opts.nodes ? { nodes: opts.nodes } : {}), ...(opts.fixup ? { fixup: opts.fixup } : {}) });
  const f = search.failure;
  return {
    release,
    title: releaseTitle(release),
    verdict: f ? 'unsafe' : 'safe-to-depth',
    depth: opts.depth,
    states: search.states,
    story: f ? runStory(f.story, opts.fixup ? { fixup: opts.fixup } : {}).lines : null,
    steps: f ? f.story.steps.length : null,
    failure: f ? f.failure : null,
    search,
  };
}

export function dropTable(opts: { depth?: number; nodes?: number; fixup?: Fixup } = {}): DropTable {
  const depth = opts.depth ?? defaultDepth();
  const common = { depth, ...(opts.nodes ? { nodes: opts.nodes } : {}), ...(opts.fixup ? { fixup: opts.fixup } : {}) };
  const l1 = searchLifecycle({ dropAt: null, ...common });
  const tell = (s: SearchResult['failure']) => (s ? runStory(s.story, opts.fixup ? { fixup: opts.fixup } : {}).lines : null);
  return {
    depth,
    nodes: l1.nodes,
    l1,
    l1Story: tell(l1.failure),
    regardlessStory: tell(l1.regardless),
    rows: RELEASES.filter((r) => shipsPatch(r.id)).map((r) => dropRow(r.id, common)),
    unpatched: RELEASES.filter((r) => !shipsPatch(r.id)).map((r) => r.id),
  };
}
