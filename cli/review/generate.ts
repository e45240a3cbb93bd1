// The committed review (reports/REVIEW.md, review.html, report.json): P1-P5 with a fixed seed
// and fixed run counts in this process, the negative controls, the migration matrix and how
// strong the checks are (kill matrix, z3 proof, Stryker: verification.ts). No timestamps,
// timings or machine facts, so `npm run review` regenerates it byte for byte.
import seedrandom from 'seedrandom';
import { Fixup, PVE_FIXUP } from '../../model';
import { NEGATIVE_CONTROLS } from '../../properties/brokenFixups';
import { PROPERTIES, PROPERTY_IDS } from '../../properties/claims';
import { runProperty } from '../../properties/properties';
import { counterexampleCase } from '../../properties/counterexample';
import { RawFinding, addBatch, runBatch } from '../../fuzz/batch';
import { Coverage, emptyCoverage } from '../../properties/coverage';
import { findingRecord } from '../../fuzz/findings';
import { environment } from '../../report/environment';
import { computeMatrix } from '../../properties/matrix';
import { NegativeControl, Report, buildReport } from '../../report/report';
import { Verification } from '../../report/verification';
import { VerificationInputs, collectVerification } from './verification';
import { collectRealKernels } from './realKernels';
import { collectLifecycle } from './lifecycle';
import type { LifecycleSection } from '../../report/lifecycle';
import { knownFindingRecords } from '../../properties/knownFindings';
import type { RealKernels } from '../../report/realKernels';

/** The patch's date, 2023-07-14. */
export const REVIEW_SEED = 20230714;
export const REVIEW_BATCHES = 10;
export const REVIEW_BATCH_RUNS = 1000;
/** Runs the caught-by property gets against each broken fixup. */
export const CONTROL_RUNS = 5000;

export interface ReviewOptions {
  fixup?: Fixup;
  fixupPath?: string | null;
  seed?: number;
  batches?: number;
  batchRuns?: number;
  controls?: boolean;
  /** the verification section (collectVerification); none when absent */
  verification?: Verification | null;
  /** the real-kernels section (collectRealKernels); none when absent */
  realKernels?: RealKernels | null;
  /** "When can the patch be dropped?" (collectLifecycle); none when absent */
  lifecycle?: LifecycleSection | null;
}

export function negativeControls(seed: number, numRuns: number = CONTROL_RUNS): NegativeControl[] {
  return NEGATIVE_CONTROLS.map((b) => {
    const run = runProperty(PROPERTIES[b.control], b, { seed, numRuns, coverage: false });
    let caseId: string | null = null;
    if (run.failed) {
      try {
        caseId = counterexampleCase(run)?.id ?? null;
      } catch {
        caseId = null;
      }
    }
    return { fixup: b.name, description: b.description, caughtBy: b.control, caught: run.failed, seed, numRuns, reason: run.reason, path: run.path, caseId };
  });
}

export function generateReview(opts: ReviewOptions = {}): Report {
  const fixup = opts.fixup ?? PVE_FIXUP;
  const seed = opts.seed ?? REVIEW_SEED;
  const batches = opts.batches ?? REVIEW_BATCHES;
  const batchRuns = opts.batchRuns ?? REVIEW_BATCH_RUNS;
  const coverage: Coverage = emptyCoverage();
  const raw: RawFinding[] = [];
  for (const id of PROPERTY_IDS) {
    const rng = seedrandom(`xsave-harness/review/v1/${seed}/${id}`);
    for (let b = 0; b < batches; b++) {
      const r = runBatch(id, fixup, Math.floor(rng() * 2 ** 31), batchRuns);
      addBatch(coverage, r);
      if (r.finding) {
        raw.push(r.finding);
        break; // one counterexample per property is enough for a review
      }
    }
  }
  const fixupPath = opts.fixupPath ?? null;
  return buildReport({
    kind: 'review',
    partialReasons: [],
    run: {
      seed,
      seedSource: 'fixed',
      shard: null,
      workers: null,
      budgetSeconds: null,
      batchRuns,
      maxFindings: null,
      stopReason: null,
      fixup: { name: fixup.name, path: fixupPath },
      backend: 'model',
      properties: [...PROPERTY_IDS],
      timing: null,
    },
    environment: environment(true),
    coverage,
    findings: raw.map((f) => findingRecord(f, { file: null, duplicate: false, fixupPath })),
    negativeControls: opts.controls === false ? [] : negativeControls(seed),
    matrix: computeMatrix(fixup),
    verification: opts.verification ?? null,
    realKernels: opts.realKernels ?? null,
    lifecycle: opts.lifecycle ?? null,
    knownFindings: knownFindingRecords(),
  });
}

/** The committed review: generateReview plus the verification section (runs z3, reads the committed results). */
export async function generateReviewWithVerification(opts: ReviewOptions & { inputs?: VerificationInputs } = {}): Promise<Report> {
  const verification = await collectVerification(opts.inputs ?? {});
  return generateReview({ ...opts, verification, realKernels: collectRealKernels(), lifecycle: collectLifecycle() });
}
