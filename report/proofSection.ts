// The review's proof section: z3 proves P1, P3 and P4 for the Proxmox patch during the review
// (proof/prove.ts, about a second), once with the model's one structural invariant and once for
// literally every value, over header fields and (P1, P3) over bytes, and checks the catalogue's
// broken fixups written over bitLogic.ts (properties/brokenFixups.ts) too
// (a few seconds). Only what does not depend on z3's choice of model is kept: proved or
// counterexample per claim and kernel rule group — no timings, no counterexample values, so the
// section is the same on every run.
// The section's data is collected by cli/review/proof.ts.
import type { ClaimId } from '../proof/claims';

export type ProofStatus = 'proved' | 'counterexample';

export interface ProofGroupResult {
  claim: ClaimId;
  /** what the query was about: SET's decision over the header fields, or the fixup over every byte */
  level: 'header fields' | 'bytes';
  /** kernel rule group label, or "any kernel" (P3 does not depend on the kernel) */
  group: string;
  kernels: string[];
  status: ProofStatus;
  /** the part of the claim a counterexample violates (only for the patch; null when proved) */
  violation: string | null;
}

export interface ProofRun {
  /** true: with the model's invariant guest-supported ⊆ supported XCR0; false: every value (`--all-values`) */
  invariant: boolean;
  claims: Partial<Record<ClaimId, ProofStatus>>;
  results: ProofGroupResult[];
  proved: boolean;
}

export interface BrokenFixupProof {
  name: string;
  description: string;
  /** the catalogue entry (mutants/NAME.js) */
  mutant: string | null;
  /** per claim with a query: the rule groups with a counterexample (empty: proved on all) */
  claims: Partial<Record<ClaimId, { status: ProofStatus; counterexampleGroups: string[]; groups: number }>>;
  /** per claim and level: proved, counterexample, 'not expressible' (written over bytes only), 'not stated' (no byte-level statement) */
  levels: Record<ClaimId, { fields: string; bytes: string }>;
}

/** One line of "what is proved": a claim, how it stands at each level, and what that level says. */
export interface ProofLevelLine {
  /** P1-P5, or 'fields = bytes' */
  claim: string;
  /** e.g. "proved (header fields); proved (bytes)", or "tested only" */
  status: string;
  what: string;
}

export interface ProofSection {
  fixup: string;
  description: string;
  claims: { id: ClaimId; title: string; statement: string }[];
  groups: { label: string; kernels: string[] }[];
  /** the input domain, one sentence per line */
  domain: string[];
  /** the only assumption of the default run */
  assumption: string;
  /** for each claim P1-P5: proved at which level (header fields, bytes), or tested only (issue 14 item 5) */
  levels: ProofLevelLine[];
  runs: ProofRun[];
  /** null: not run in this review (then `xsave-harness prove --mutant all` gives them) */
  brokenFixups: BrokenFixupProof[] | null;
}
