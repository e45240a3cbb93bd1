// How strong the verification is (docs/mutation.md), as the review's report.json `verification`:
// the committed kill matrix of the mutant catalogue, the z3 proof run during the review, and
// Stryker's committed mutation score with its survivors. Everything here is read from committed
// files or recomputed deterministically, so the review stays byte-for-byte reproducible.
import * as path from 'node:path';
import { mutantsDir } from '../mutants/killMatrix';
import { repoRoot } from './environment';
import { KillMatrixSection, readKillMatrixSection } from './killMatrixSection';
import { MutationSection, readMutationSection } from './mutationSection';
import { ProofSection, proofSection } from './proofSection';

export interface Verification {
  killMatrix: KillMatrixSection;
  /** null: the proof was not run for this report */
  proof: ProofSection | null;
  mutation: MutationSection;
}

export interface VerificationInputs {
  /** default: the repository root */
  root?: string;
  /** default ROOT/reports/kill-matrix.json */
  killMatrixFile?: string;
  /** default ROOT/mutants */
  mutantsDir?: string;
  /** default ROOT/reports/mutation.json */
  mutationFile?: string;
  /** default ROOT/reports/mutation-survivors.json */
  survivorsFile?: string;
  /** run z3 (default true) */
  proof?: boolean;
  /** also check the broken symbolic fixups (default true) */
  brokenFixups?: boolean;
}

/** A path as the report shows it: relative to the repository when inside it (the same on every machine). */
export function shownPath(file: string, root: string): string {
  const rel = path.relative(root, path.resolve(file));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : file;
}

export async function collectVerification(opts: VerificationInputs = {}): Promise<Verification> {
  const root = opts.root ?? repoRoot();
  const km = opts.killMatrixFile ?? path.join(root, 'reports', 'kill-matrix.json');
  const mf = opts.mutationFile ?? path.join(root, 'reports', 'mutation.json');
  const sf = opts.survivorsFile ?? path.join(root, 'reports', 'mutation-survivors.json');
  const killMatrix = await readKillMatrixSection(km, shownPath(km, root), opts.mutantsDir ?? (opts.root ? path.join(root, 'mutants') : mutantsDir()));
  const mutation = readMutationSection({ file: mf, source: shownPath(mf, root), survivorsFile: sf, survivorsSource: shownPath(sf, root), root });
  const proof = opts.proof === false ? null : await proofSection({ ...(opts.brokenFixups === false ? { brokenFixups: false } : {}) });
  return { killMatrix, proof, mutation };
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
