// The committed review (reports/REVIEW.md, review.html, report.json) must be what `npm run
// review` generates now: regenerate in memory (z3 proof included) and compare byte for byte.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REVIEW_BATCHES, REVIEW_BATCH_RUNS, REVIEW_SEED, generateReviewWithVerification } from '../cli/review/generate';
import { verificationProblems } from '../report/verification';
import { REPORT_FILES, renderReport } from '../report/write';

const DIR = path.resolve(__dirname, '..', 'reports');

test(`reports/ holds the current review (seed ${REVIEW_SEED}, ${REVIEW_BATCHES}×${REVIEW_BATCH_RUNS} runs per property, kill matrix, proof, Stryker); if not: npm run review`, async () => {
  const report = await generateReviewWithVerification();
  const fresh = renderReport(report);
  const stale: string[] = [];
  for (const [k, name] of Object.entries(REPORT_FILES) as [keyof typeof REPORT_FILES, string][]) {
    const file = path.join(DIR, name);
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== fresh[k]) stale.push(`reports/${name}`);
  }
  expect(stale).toEqual([]);
  // The committed kill matrix matches the catalogue and the patch is proved: citable as it stands.
  expect(verificationProblems(report.verification!)).toEqual([]);
  // Deterministic part only: no timestamps, no timing, no machine facts.
  expect(fresh.markdown).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
  expect(fresh.markdown).not.toMatch(/scenarios\/s/);
  expect(fresh.json).toContain('"deterministic": true');
  for (const h of ['## Kill matrix: the mutant catalogue', '## Proof: P1, P3 and P4 for every input (z3)', '## Stryker: mutation score of the model and the properties', '## When can the patch be dropped?']) {
    expect(fresh.markdown).toContain(h);
  }
}, 180000);
