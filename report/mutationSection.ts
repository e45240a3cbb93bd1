// The review's Stryker section: reports/mutation.json (Stryker's JSON, possibly merged from
// several runs with `xsave-harness mutation-merge`) summarised by mutants/mutationReport.ts, and
// the optional committed reports/mutation-survivors.json whose explanations are attached to the
// survivors they match. A survivor nobody has explained is counted as unexplained.
//
// reports/mutation-survivors.json is a JSON array of
//   { "file": "model/getXsave.ts", "line": 42, "endLine": 46?, "mutator": "ConditionalExpression"?,
//     "original": "confidential"?, "replacement": "true"?, "class": "test gap", "explanation": "…" }
// An entry matches a survivor of that file whose line is `line` (or within line..endLine), with
// that mutator, whose original text contains `original` and whose replacement is exactly
// `replacement`, when those are given (`replacement` tells apart `x > 2` → `true` from → `false`).
// The first matching entry wins; entries that match nothing are listed as stale.
// The section is read by cli/review/mutation.ts.
import type { Counts, MutationOrigin, Survivor } from '../mutants/mutationReport';

export interface SurvivorExplanation {
  file: string;
  line: number;
  endLine?: number;
  mutator?: string;
  original?: string;
  replacement?: string;
  class: string;
  explanation: string;
}

export interface SurvivorView extends Survivor {
  class: string | null;
  explanation: string | null;
}

export interface MutationFileView {
  file: string;
  counts: Counts;
  /** the file differs from the source the mutants were made from (null: the file is gone) */
  sourceChanged: boolean | null;
}

export interface MutationSection {
  source: string;
  available: boolean;
  error: string | null;
  origin: MutationOrigin;
  totals: Counts;
  files: MutationFileView[];
  survivors: SurvivorView[];
  explanations: {
    source: string;
    available: boolean;
    error: string | null;
    entries: number;
    /** entries that match no survivor (line moved, or the mutant is killed now) */
    unmatched: SurvivorExplanation[];
  };
  unexplained: number;
  /** survivors per explanation class, "unexplained" included; sorted by class */
  byClass: Record<string, number>;
}
