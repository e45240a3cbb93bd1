// One fuzz batch: a fast-check run of one property with one seed, counting the scenarios per
// class on the way. A failure's counterexample, as fast-check shrank it, is turned into a
// replayable case file (the same case `check` writes for that seed and run count).
import fc from 'fast-check';
import { Fixup, MASK, MigrationSpec } from '../model';
import { IoctlScenario, LeakScenario } from '../properties/arbitraries/scenarios';
import { PROPERTIES } from '../properties/claims';
import { IoctlCase, PropertyFailure, PropertyId, PropertyRun, RoundTripScenario, propertyRunOf } from '../properties/properties';
import { counterexampleCase } from '../properties/counterexample';
import { decisionCellOf } from '../properties/decisionSpace';
import { Counts, Coverage, IoctlCoverage, addCounts, bump, emptyIoctl } from '../properties/coverage';

/** Runs per batch: about 50 ms of work on one core for each property. */
export const DEFAULT_BATCH_RUNS = 500;

/** What a batch reports when its property fails. */
export interface RawFinding {
  property: PropertyId;
  title: string;
  reason: string;
  /** set when the failure was an exception rather than the property's own reason */
  error: string | null;
  seed: number;
  numRuns: number;
  /** fast-check's replay path of the shrunk counterexample */
  path: string | null;
  caseId: string | null;
  /** the case file's text (CASE-FORMAT v1) */
  caseJson: string | null;
  /** why no case could be written, if none could */
  caseError: string | null;
  /** fast-check's rendering of the counterexample, when no case file could be built */
  counterexample: string | null;
}

export interface BatchResult {
  property: PropertyId;
  seed: number;
  numRuns: number;
  /** scenarios checked before the end or the first failure */
  cases: number;
  classes: Counts;
  extra: Counts;
  /** decision-space cell of each scenario (properties/decisionSpace.ts) */
  decision: Counts;
  ioctl: IoctlCoverage | null;
  finding: RawFinding | null;
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

function ioctlCounts(s: IoctlScenario, b: IoctlCase, into: IoctlCoverage, extra: Counts, decision: Counts): void {
  bump(decision, decisionCellOf('P1', s, b));
  into.cases++;
  into[b.cls]++;
  if (b.plain().rc !== 0) into.rejected++;
  bump(extra, `host-pku:${yesNo((s.host.xcr0 & MASK.PKRU) !== 0n)}`);
  bump(extra, `cpuid:${s.cpuid.kind}`);
}

/** `built` is the property's `build(s)`, shared with `classify` and `check`. */
function extraCounts(id: PropertyId, s: unknown, built: unknown, ioctl: IoctlCoverage, extra: Counts, decision: Counts): void {
  switch (id) {
    case 'P1':
    case 'P3':
    case 'P4':
      ioctlCounts(s as IoctlScenario, built as IoctlCase, ioctl, extra, decision);
      return;
    case 'P2': {
      const l = s as LeakScenario;
      const spec = built as MigrationSpec;
      bump(extra, `target-host-pku:${yesNo((spec.target.host.xcr0 & MASK.PKRU) !== 0n)}`);
      bump(extra, `vmm:${l.vmm.policy}`);
      bump(extra, `source:${l.sourceKernel.id}`);
      bump(decision, decisionCellOf(id, s, spec));
      return;
    }
    case 'P5': {
      const r = s as RoundTripScenario;
      bump(extra, `host-pku:${yesNo((r.host.xcr0 & MASK.PKRU) !== 0n)}`);
      bump(extra, `cpuid:${r.cpuid.kind}`);
      bump(decision, decisionCellOf(id, s));
      return;
    }
  }
}

export function runBatch(id: PropertyId, fixup: Fixup, seed: number, numRuns: number = DEFAULT_BATCH_RUNS): BatchResult {
  const p = PROPERTIES[id];
  const classes: Counts = {};
  const extra: Counts = {};
  const decision: Counts = {};
  const ioctl = emptyIoctl();
  let counting = true;
  let cases = 0;
  const prop = fc.property(p.arb, (s) => {
    let why: string | null;
    try {
      if (counting) cases++;
      // Built once, for the counters and the check (issue 12).
      const built = p.build(s);
      if (counting) {
        bump(classes, p.classify(s, built));
        extraCounts(id, s, built, ioctl, extra, decision);
      }
      why = p.check(s, fixup, built);
    } catch (e) {
      counting = false; // shrinking from here on
      throw e;
    }
    if (why !== null) {
      counting = false;
      throw new PropertyFailure(why);
    }
  });
  const details = fc.check(prop, { seed, numRuns });
  const result: BatchResult = { property: id, seed, numRuns, cases, classes, extra, decision, ioctl: id === 'P1' || id === 'P3' || id === 'P4' ? ioctl : null, finding: null };
  if (details.failed) result.finding = findingOf(propertyRunOf(p, details, { seed, numRuns }));
  return result;
}

/** A failed run as `check` reports it: fast-check's shrunk counterexample, with its case file. */
export function findingOf(run: PropertyRun<unknown>): RawFinding {
  const { seed, numRuns } = run;
  let caseId: string | null = null;
  let caseJson: string | null = null;
  let caseError: string | null = null;
  let counterexample: string | null = null;
  try {
    const c = counterexampleCase(run);
    if (c) {
      caseId = c.id;
      caseJson = c.json;
    } else caseError = 'fast-check reported no counterexample';
  } catch (e) {
    caseError = `cannot build a case file: ${(e as Error).message}`;
  }
  if (!caseJson && run.counterexample !== null) counterexample = fc.stringify(run.counterexample).slice(0, 4000);
  return {
    property: run.id,
    title: run.title,
    reason: run.reason ?? 'property failed',
    error: run.error,
    seed,
    numRuns,
    path: run.path,
    caseId,
    caseJson,
    caseError,
    counterexample,
  };
}

/** Add one batch's counts to a coverage total (the fuzz workers and the review both do this). */
export function addBatch(into: Coverage, r: BatchResult): void {
  const p = into.byProperty[r.property];
  into.cases += r.cases;
  into.batches++;
  p.cases += r.cases;
  p.batches++;
  addCounts(p.classes, r.classes);
  addCounts(p.extra, r.extra);
  addCounts(p.decision, r.decision);
  if (r.ioctl) {
    into.ioctl.cases += r.ioctl.cases;
    into.ioctl.valid += r.ioctl.valid;
    into.ioctl.leaked += r.ioctl.leaked;
    into.ioctl.other += r.ioctl.other;
    into.ioctl.rejected += r.ioctl.rejected;
  }
}
