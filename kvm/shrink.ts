// Shrinking a kvm-check disagreement against the running backend (issue 12): the disagreeing
// case's record is replayed from its fast-check path (the seed and the record's index) and
// fast-check shrinks it, each candidate run for real and compared with the model, until no
// smaller candidate disagrees or the budget of `maxSteps` executor runs is spent.
import fc from 'fast-check';
import type { Fixup } from '../model';
import type { ThisMachine } from '../cases/resolve';
import { CCase, ConformanceRecord, GenContext, conformanceRecordArb } from '../properties/arbitraries/conformance';
import { describeStep } from './calibration';
import { CaseOutcome, ConformanceExecutor, Prediction, runConformance } from './conformance';

export interface ShrinkOptions {
  /** the integer fast-check seed the cases were drawn with (kvm/generate.ts conformanceSeed) */
  seed: number;
  /** the record's index in that run (ConformanceSample.record) */
  record: number;
  /** at most this many shrink candidates are run on the backend */
  maxSteps: number;
  /** how a record's cases are run (a patched kernel: nothing applied on the VMM side) */
  prepare?: (c: CCase) => CCase;
  plugin?: Fixup;
  kernelPatch?: Fixup;
}

export interface Shrunk {
  /** the smallest disagreeing record found, as run */
  cases: CCase[];
  /** its disagreeing case (index into `cases`), with the outcome and the model's prediction */
  at: number;
  outcome: CaseOutcome;
  prediction: Prediction;
  /** candidates run on the backend (the original excluded) */
  steps: number;
  /** the budget ran out before fast-check had tried every smaller candidate */
  exhausted: boolean;
  /** fast-check's replay path of the shrunk record (seed + path replay it) */
  path: string | null;
}

/**
 * Shrinks the disagreement of record `o.record`; null when the record no longer disagrees when
 * run again (a flaky kernel, or an infrastructure error).
 */
export async function shrinkDisagreement(exec: ConformanceExecutor, machine: ThisMachine, ctx: GenContext, o: ShrinkOptions): Promise<Shrunk | null> {
  const prepare = o.prepare ?? ((c: CCase): CCase => c);
  let runs = 0;
  let best: Shrunk | null = null;
  const prop = fc.asyncProperty(conformanceRecordArb(ctx), async (record: ConformanceRecord) => {
    if (runs > o.maxSteps) {
      if (best) best.exhausted = true;
      return true; // budget spent: every further candidate counts as agreeing
    }
    runs++;
    const cases = record.map(prepare);
    const run = await runConformance(exec, machine, cases, { plugin: o.plugin, kernelPatch: o.kernelPatch, retries: 0 });
    const at = run.outcomes.findIndex((x) => x.status === 'disagree');
    if (at < 0) return true;
    best = { cases, at, outcome: run.outcomes[at]!, prediction: run.predictions[at]!, steps: runs - 1, exhausted: false, path: null };
    return false;
  });
  const details = await fc.check(prop, { seed: o.seed, path: String(o.record), numRuns: 1 });
  const found = best as Shrunk | null;
  if (!details.failed || !found) return null;
  found.path = details.counterexamplePath ?? null;
  return found;
}

/** The steps of a case, one line (calibration.ts's step names). */
export function describeSteps(c: CCase): string {
  return c.steps.map(describeStep).join(', ');
}
