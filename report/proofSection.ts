// The review's proof section: z3 proves P1, P3 and P4 for the Proxmox patch during the review
// (proof/prove.ts, about a second), once with the model's one structural invariant and once for
// literally every value, and checks the broken symbolic fixups (proof/symbolicFixups.ts) too
// (a few seconds). Only what does not depend on z3's choice of model is kept: proved or
// counterexample per claim and kernel rule group — no timings, no counterexample values, so the
// section is the same on every run.
// The section's data is collected by cli/review/proof.ts.
import type { ClaimId } from '../proof/claims';

export type ProofStatus = 'proved' | 'counterexample';

export interface ProofGroupResult {
  claim: ClaimId;
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
  claims: Record<ClaimId, ProofStatus>;
  results: ProofGroupResult[];
  proved: boolean;
}

export interface BrokenFixupProof {
  name: string;
  description: string;
  /** the catalogue mutant (mutants/NAME.js) it mirrors */
  mutant: string | null;
  /** per claim: the rule groups with a counterexample (empty: proved on all) */
  claims: Record<ClaimId, { status: ProofStatus; counterexampleGroups: string[]; groups: number }>;
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
  runs: ProofRun[];
  /** null: not run in this review (then `xsave-harness prove --mutant all` gives them) */
  brokenFixups: BrokenFixupProof[] | null;
}
