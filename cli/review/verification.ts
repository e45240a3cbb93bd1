// Collects the review's verification section (report/verification.ts): the committed kill
// matrix and Stryker results read back, the z3 proof run. Everything here is read from committed
// files or recomputed deterministically, so the review stays byte-for-byte reproducible.
import * as path from 'node:path';
import { repoRoot } from '../../report/environment';
import { Verification } from '../../report/verification';
import { readKillMatrixSection } from './killMatrix';
import { readMutationSection } from './mutation';
import { proofSection } from './proof';

export interface VerificationInputs {
  /** default: the repository root */
  root?: string;
  /** default ROOT/reports/kill-matrix.json */
  killMatrixFile?: string;
  /** default: the catalogue (properties/brokenFixups.ts); with `root`, ROOT/mutants */
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
  const killMatrix = await readKillMatrixSection(km, shownPath(km, root), opts.mutantsDir ?? (opts.root ? path.join(root, 'mutants') : undefined));
  const mutation = readMutationSection({ file: mf, source: shownPath(mf, root), survivorsFile: sf, survivorsSource: shownPath(sf, root), root });
  const proof = opts.proof === false ? null : await proofSection({ ...(opts.brokenFixups === false ? { brokenFixups: false } : {}) });
  return { killMatrix, proof, mutation };
}
