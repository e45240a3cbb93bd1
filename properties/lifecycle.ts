// L1 and L2 checked by random operation sequences (fast-check model-based commands,
// arbitraries/lifecycle.ts). The bounded exhaustive search is lifecycle/search.ts; this is its
// complement beyond the bound: longer lives, 2-3 nodes, every lifecycle CPU model.
import fc from 'fast-check';
import { Fixup, Lifecycle, LifecycleStory, RestoreRecord } from '../model';
import { LifeModel, LifeReal, LifeSetup, LifecycleFailure, lifeSetupArb, lifeStart, lifecycleCommandArbs } from './arbitraries/lifecycle';

export interface RandomLifeOptions {
  dropAt: string | null;
  seed: number;
  numRuns?: number;
  /** operations per life at most */
  maxCommands?: number;
  fixup?: Fixup;
}

export interface RandomLifeResult {
  dropAt: string | null;
  seed: number;
  numRuns: number;
  maxCommands: number;
  /** the shrunk failing story (a counted failure), or null when every life held */
  failure: { story: LifecycleStory; failure: RestoreRecord; path: string | null } | null;
}

function lifeProperty(shared: Lifecycle, maxCommands: number) {
  return fc.property(lifeSetupArb(), fc.commands(lifecycleCommandArbs(), { maxCommands, size: 'max' }), (setup: LifeSetup, cmds: Iterable<fc.Command<LifeModel, LifeReal>>) => {
    fc.modelRun(() => lifeStart(setup, shared), cmds);
  });
}

/** Replays a (shrunk) counterexample the way fc.modelRun does, to get its story. */
function storyOf(shared: Lifecycle, setup: LifeSetup, cmds: Iterable<fc.Command<LifeModel, LifeReal>>): LifecycleFailure | null {
  const { model, real } = lifeStart(setup, shared);
  for (const c of cmds) {
    if (!c.check(model)) continue;
    try {
      c.run(model, real);
    } catch (e) {
      if (e instanceof LifecycleFailure) return e;
      throw e;
    }
  }
  return null;
}

export function checkRandomLives(opts: RandomLifeOptions): RandomLifeResult {
  const numRuns = opts.numRuns ?? 300;
  const maxCommands = opts.maxCommands ?? 24;
  const shared = new Lifecycle({ dropAt: opts.dropAt, ...(opts.fixup ? { fixup: opts.fixup } : {}) });
  const out = fc.check(lifeProperty(shared, maxCommands), { seed: opts.seed, numRuns });
  const base = { dropAt: opts.dropAt, seed: opts.seed, numRuns, maxCommands };
  if (!out.failed || !out.counterexample) {
    if (out.failed) throw new Error(`fast-check failed without a counterexample (seed ${opts.seed}): ${String(out.errorInstance)}`);
    return { ...base, failure: null };
  }
  const [setup, cmds] = out.counterexample;
  const f = storyOf(shared, setup, cmds);
  if (!f) throw new Error(`fast-check reported a failure that does not replay (seed ${opts.seed}, path ${out.counterexamplePath})`);
  return { ...base, failure: { story: f.story, failure: f.failure, path: out.counterexamplePath } };
}
