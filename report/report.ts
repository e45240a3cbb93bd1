// report.json (schema "xsave-report/1", documented in SCHEMA.md): what a fuzz run, the
// deterministic review or a merge of shard reports found. REVIEW.md and review.html are
// rendered from this object only, so whatever they say is in the JSON too.
import { PropertyId } from '../properties/properties';
import { Coverage, normaliseCoverage } from '../properties/coverage';
import { DecisionSpace, decisionSpace } from '../properties/decisionSpace';
import type { Shard } from '../fuzz/seeds';
import { PROPERTIES, PROPERTY_IDS } from '../properties/claims';
import type { FindingRecord } from '../fuzz/findings';
import { Environment } from './environment';
import { MigrationMatrix, matrixClaims } from '../properties/matrix';
import { unconfirmedText } from '../properties/unconfirmed';
import type { Verification } from './verification';
import type { RealKernels } from './realKernels';
import type { LifecycleSection } from './lifecycle';
import type { KnownFindingFacts } from '../properties/knownFindings';

export type { FindingRecord };

export const REPORT_SCHEMA_ID = 'xsave-report/1';

export type ReportKind = 'fuzz' | 'review' | 'merged';
export type ClaimResult = 'holds' | 'fails' | 'not-run';
export type MethodKind = 'random' | 'exhaustive' | 'proof' | 'kvm-conformance';

export interface RunInfo {
  /** the base seed S every batch seed derives from @integer */
  seed: number;
  /** 'date': the UTC date as YYYYMMDD; 'option': --seed; 'fixed': the review's constant */
  seedSource: 'date' | 'option' | 'fixed';
  /** --seed as given, when it was a string rather than an integer: `seed` is derived from it (seedrandom) and commands repeat it */
  seedText?: string;
  shard: Shard | null;
  workers: number | null;
  budgetSeconds: number | null;
  /** fast-check runs per batch */
  batchRuns: number;
  /** stop after this many distinct findings */
  maxFindings: number | null;
  /** why the run ended: "time budget spent", "1 finding (--max-findings 1)", "interrupted by SIGINT", … (null: not a timed run) */
  stopReason: string | null;
  fixup: { name: string; path: string | null };
  backend: 'model';
  properties: PropertyId[];
  /** machine- and moment-dependent; null in a deterministic report */
  timing: { startedAt: string; finishedAt: string; elapsedSeconds: number; casesPerSecond: number } | null;
}

export interface Claim {
  /** @pattern ^[A-Za-z0-9_-]+$ */
  id: string;
  title: string;
  /** the exact statement (PropertyDef.statement for P1-P5) */
  statement: string;
  method: {
    kind: MethodKind;
    description: string;
    /** scenarios or cells checked */
    cases: number | null;
    batches: number | null;
    seed: number | null;
  };
  result: ClaimResult;
  /** keys of the findings (report.findings[].key) that contradict the claim */
  findings: string[];
  /** contradicting cells or other short counterexamples that are not case files */
  counterexamples: string[];
  note: string | null;
  /** UNCONFIRMED research statements the result rests on ("subject: statement"; the matrix claims; absent in reports written before it) */
  unconfirmed?: string[];
}

/** A finding the harness knows of outside this run (properties/knownFindings.ts), re-derived when the report was built. */
export interface KnownFindingRecord extends KnownFindingFacts {
  /** the model still shows it */
  reproduces: boolean;
}

export interface NegativeControl {
  fixup: string;
  description: string;
  caughtBy: PropertyId;
  caught: boolean;
  /** @integer */
  seed: number;
  /** @integer @minimum 1 */
  numRuns: number;
  reason: string | null;
  path: string | null;
  caseId: string | null;
}

export interface ShardsInfo {
  /** @integer @minimum 1 */
  count: number;
  present: number[];
  missing: number[];
  /** the report files merged */
  inputs: string[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA_ID;
  kind: ReportKind;
  partial: boolean;
  partialReasons: string[];
  run: RunInfo;
  environment: Environment;
  claims: Claim[];
  coverage: Coverage;
  findings: FindingRecord[];
  negativeControls: NegativeControl[];
  matrix: MigrationMatrix;
  shards: ShardsInfo | null;
  /** infrastructure errors (a worker crashed or stalled, an input was unusable) */
  errors: string[];
  /**
   * review only: kill matrix, z3 proof and Stryker score (how strong the checks are); null otherwise
   * @legacyOptional reports written before it have no such field
   */
  verification: Verification | null;
  /** review only: what the kernel lab checked on real kernels (absent in reports written before it) */
  realKernels?: RealKernels | null;
  /** review only: "When can the patch be dropped?" (claims L1, L2; absent in reports written before it) */
  lifecycle?: LifecycleSection | null;
  /** cases per decision-space cell and property, with the feasible cells (issue 14 item 3; absent in reports written before it) */
  decisionSpace?: DecisionSpace | null;
  /** review only: every finding the harness knows of outside this run (absent in reports written before it) */
  knownFindings?: KnownFindingRecord[];
}

export interface ReportInput {
  kind: ReportKind;
  partialReasons: string[];
  run: RunInfo;
  environment: Environment;
  coverage: Coverage;
  findings: FindingRecord[];
  negativeControls?: NegativeControl[];
  matrix: MigrationMatrix;
  shards?: ShardsInfo | null;
  errors?: string[];
  /** claims decided elsewhere (proofs, real-KVM conformance) */
  extraClaims?: Claim[];
  verification?: Verification | null;
  realKernels?: RealKernels | null;
  lifecycle?: LifecycleSection | null;
  knownFindings?: KnownFindingRecord[];
}

export const KVM_CLAIM_NOTE =
  'real-KVM conformance (model vs the running kernel through /dev/kvm) is not wired into the fuzzer and its reports yet; `fuzz --backend kvm` exits 4';

function randomMethod(run: RunInfo, cov: Coverage, id: PropertyId): Claim['method'] {
  const p = cov.byProperty[id];
  const shard = run.shard && run.shard.count > 1 ? `, shard ${run.shard.index}/${run.shard.count}` : '';
  return {
    kind: 'random',
    description: `fast-check: ${p.cases} generated scenarios in ${p.batches} batches of up to ${run.batchRuns} runs; batch seeds derived from seed ${run.seedText !== undefined ? `${run.seedText} (${run.seed})` : run.seed}${shard} with seedrandom; failures shrunk`,
    cases: p.cases,
    batches: p.batches,
    seed: run.seed,
  };
}

export function propertyClaims(run: RunInfo, cov: Coverage, findings: FindingRecord[]): Claim[] {
  return PROPERTY_IDS.map((id) => {
    const p = PROPERTIES[id];
    const mine = findings.filter((f) => f.property === id);
    const ran = cov.byProperty[id].cases > 0 || mine.length > 0;
    return {
      id,
      title: p.title,
      statement: p.statement,
      method: randomMethod(run, cov, id),
      result: mine.length ? 'fails' : ran ? 'holds' : 'not-run',
      findings: mine.map((f) => f.key),
      counterexamples: [],
      note: ran ? null : 'no batch of this property ran',
    };
  });
}

export function exhaustiveClaims(matrix: MigrationMatrix): Claim[] {
  return matrixClaims(matrix).map((c) => ({
    id: c.id,
    title: c.title,
    statement: c.statement,
    method: { kind: 'exhaustive', description: `every cell of the migration-matrix domain it quantifies over (${c.cells} cells), computed with migrate()`, cases: c.cells, batches: null, seed: null },
    result: c.holds ? 'holds' : 'fails',
    findings: [],
    counterexamples: c.counterexamples,
    note: c.counterexamples.length ? `${c.counterexamples.length} contradicting cell${c.counterexamples.length > 1 ? 's' : ''}` : null,
    unconfirmed: c.unconfirmed.map(unconfirmedText),
  }));
}

export function kvmClaim(): Claim {
  return {
    id: 'KVM',
    title: 'the model agrees with the running kernel',
    statement: 'For the ioctl cases of the corpus and the fuzzer, KVM_SET_XSAVE / KVM_GET_XSAVE / KVM_SET_XCRS on the running kernel (through /dev/kvm) give the results the reference model computes for that kernel variant.',
    method: { kind: 'kvm-conformance', description: 'not run', cases: null, batches: null, seed: null },
    result: 'not-run',
    findings: [],
    counterexamples: [],
    note: KVM_CLAIM_NOTE,
  };
}

export function buildReport(input: ReportInput): Report {
  const coverage = normaliseCoverage(input.coverage);
  const findings = [...input.findings].sort((a, b) => (a.property === b.property ? a.key.localeCompare(b.key) : a.property.localeCompare(b.property)));
  const partialReasons = [...input.partialReasons];
  return {
    schema: REPORT_SCHEMA_ID,
    kind: input.kind,
    partial: partialReasons.length > 0,
    partialReasons,
    run: input.run,
    environment: input.environment,
    claims: [...propertyClaims(input.run, coverage, findings), ...exhaustiveClaims(input.matrix), ...(input.extraClaims ?? [kvmClaim()])],
    coverage,
    findings,
    negativeControls: input.negativeControls ?? [],
    matrix: input.matrix,
    shards: input.shards ?? null,
    errors: input.errors ?? [],
    verification: input.verification ?? null,
    ...(input.realKernels ? { realKernels: input.realKernels } : {}),
    ...(input.lifecycle ? { lifecycle: input.lifecycle } : {}),
    decisionSpace: decisionSpace(Object.fromEntries(PROPERTY_IDS.map((id) => [id, coverage.byProperty[id].decision]))),
    ...(input.knownFindings ? { knownFindings: input.knownFindings } : {}),
  };
}

/** Pretty JSON with short arrays of scalars kept on one line (the matrix would be 30k lines otherwise). */
export function reportJson(r: Report): string {
  const text = JSON.stringify(r, null, 2);
  const scalar = String.raw`(?:"(?:[^"\\\n]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)`;
  const arr = new RegExp(String.raw`\[\n\s*(${scalar}(?:,\n\s*${scalar})*)\n\s*\]`, 'g');
  return text.replace(arr, (_m, body: string) => `[${body.split(/,\n\s*/).join(', ')}]`) + '\n';
}

/** Exit status a report stands for: 1 a finding or a failed claim, else 0. */
export function hasFailures(r: Report): boolean {
  return r.findings.length > 0 || r.claims.some((c) => c.result === 'fails');
}
