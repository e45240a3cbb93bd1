// How strong the verification is (docs/mutation.md), as the review's report.json `verification`:
// the committed kill matrix of the mutant catalogue, the z3 proof run during the review, and
// Stryker's committed mutation score with its survivors. Everything here is read from committed
// files or recomputed deterministically, so the review stays byte-for-byte reproducible.
// Collected by cli/review/verification.ts.
import { KillMatrixSection } from './killMatrixSection';
import { MutationSection } from './mutationSection';
import { ProofSection } from './proofSection';

export interface Verification {
  killMatrix: KillMatrixSection;
  /** null: the proof was not run for this report */
  proof: ProofSection | null;
  mutation: MutationSection;
}

/**
 * Why the review must not be cited as it stands (review and `review --check` exit 1): a stale,
 * missing or failing kill matrix, a proof that fails for the patch, an unreadable survivor file.
 */
export function verificationProblems(v: Verification): string[] {
  const out: string[] = [];
  const k = v.killMatrix;
  const regen = 'regenerate it with `npx xsave-harness mutants --json > reports/kill-matrix.json`';
  if (!k.available) out.push(`kill matrix unusable: ${k.error}`);
  else {
    const s = k.staleness;
    if (s.stale) {
      const parts = [
        s.missing.length ? `not in the matrix: ${s.missing.join(', ')}` : '',
        s.extra.length ? `no longer in mutants/: ${s.extra.join(', ')}` : '',
        s.changed.length ? `expected killer or equivalence changed: ${s.changed.join(', ')}` : '',
      ].filter(Boolean);
      out.push(`kill matrix ${k.source} is STALE (${parts.join('; ')}); ${regen}`);
    }
    if (k.notKilled.length) out.push(`kill matrix: killable mutant(s) not killed (or missed by their expected killer): ${k.notKilled.join(', ')}`);
    if (k.unexpectedKills.length) out.push(`kill matrix: argued-equivalent mutant(s) or the control killed: ${k.unexpectedKills.join(', ')}`);
  }
  if (v.proof) {
    for (const r of v.proof.runs) {
      const bad = r.results.filter((x) => x.status === 'counterexample');
      if (bad.length) out.push(`proof: z3 finds counterexamples for the patch${r.invariant ? '' : ' (all values)'}: ${bad.map((x) => `${x.claim} [${x.group}]`).join(', ')}`);
    }
  }
  if (v.mutation.explanations.error) out.push(`survivor explanations unusable: ${v.mutation.explanations.error}`);
  return out;
}
