// The review's kill-matrix section: the committed reports/kill-matrix.json (written by
// `xsave-harness mutants --json`) read back, not rerun — its times depend on the machine and the
// moment, the review must not. The catalogue (mutants/*.js) is loaded to take the current
// one-line descriptions and to notice a stale matrix: a mutant added, removed or re-classified
// since the matrix was recorded makes it uncitable, and `review --check` fails.
// The section is read and checked by cli/review/killMatrix.ts.
import type { Verdict } from '../mutants/killMatrix';
import { PropertyId } from '../properties/properties';

export interface KillCellView {
  killed: boolean;
  /** run count of the round that killed it (fixed for a seed), or of the last round run (budget-dependent) */
  numRuns: number;
  /** time spent until the kill, as recorded in the file (machine- and moment-dependent) */
  recordedTimeToKillMs: number | null;
  reason: string | null;
}

export interface KillRowView {
  mutant: string;
  /** the catalogue's one-line description (the recorded one when the mutant left the catalogue) */
  description: string;
  control: boolean;
  expectedKiller: PropertyId | null;
  /** the argument why no property can kill it (argued-equivalent mutants) */
  equivalent: string | null;
  verdict: Verdict;
  killedBy: PropertyId[];
  expectedKillerKilled: boolean | null;
  /** null: the property was not run for this matrix */
  cells: Record<PropertyId, KillCellView | null>;
  recordedElapsedMs: number | null;
}

export interface KillMatrixStaleness {
  stale: boolean;
  /** in mutants/*.js but not in the matrix */
  missing: string[];
  /** in the matrix but no longer in mutants/*.js */
  extra: string[];
  /** expected killer or equivalence differs between the catalogue and the matrix */
  changed: string[];
}

export interface KillMatrixSection {
  /** the file read, relative to the repository when inside it */
  source: string;
  available: boolean;
  /** why the file could not be used (missing, not JSON, wrong shape) */
  error: string | null;
  seed: number | null;
  secondsPerMutant: number | null;
  /** when / at which commit the matrix was recorded, if the file says (null: not recorded) */
  recordedAt: string | null;
  recordedCommit: string | null;
  properties: PropertyId[];
  /** the mutant names of mutants/*.js */
  catalogue: string[];
  staleness: KillMatrixStaleness;
  rows: KillRowView[];
  summary: { mutants: number; killed: number; equivalent: number; survived: number; score: number; ok: boolean };
  /** killable mutants that survived, or that their expected killer missed */
  notKilled: string[];
  /** argued-equivalent mutants or the control that some property killed */
  unexpectedKills: string[];
}
