// xsave-harness review [--out DIR] [--check] [--fixup PATH] [--kill-matrix FILE] [--mutation FILE]
// [--mutation-survivors FILE]: the deterministic review (fixed seed, fixed run counts, no timings)
// as DIR/report.json, REVIEW.md and review.html (default DIR reports/), with the verification
// section: the committed kill matrix, the z3 proof (run now) and the committed Stryker result
// (defaults: reports/kill-matrix.json, reports/mutation.json, reports/mutation-survivors.json of
// the repository). --check regenerates in memory and exits 1 when the files in DIR are stale.
// Both exit 1 when the verification section must not be cited: a stale or failing kill matrix,
// a proof that fails for the patch, an unreadable survivor file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadFixup } from '../../cases/fixupLoader';
import { hasFailures } from '../../report/report';
import { generateReviewWithVerification } from '../review/generate';
import { verificationProblems } from '../../report/verification';
import { REPORT_FILES, renderReport, writeReport } from '../../report/write';
import { EXIT, UsageError } from '../exitCodes';

export const usage =
  'review [--out DIR] [--check] [--fixup PATH] [--kill-matrix FILE] [--mutation FILE] [--mutation-survivors FILE]   the deterministic review: DIR/REVIEW.md, review.html, report.json (default reports/)';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'reports' },
      check: { type: 'boolean', default: false },
      fixup: { type: 'string' },
      'kill-matrix': { type: 'string' },
      mutation: { type: 'string' },
      'mutation-survivors': { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`review takes no positional arguments (got ${positionals.join(' ')})`);
  const fixup = await loadFixup(values.fixup);
  const report = await generateReviewWithVerification({
    fixup,
    fixupPath: values.fixup ?? null,
    inputs: {
      ...(values['kill-matrix'] ? { killMatrixFile: values['kill-matrix'] } : {}),
      ...(values.mutation ? { mutationFile: values.mutation } : {}),
      ...(values['mutation-survivors'] ? { survivorsFile: values['mutation-survivors'] } : {}),
    },
  });
  const problems = verificationProblems(report.verification!);
  for (const p of problems) console.error(`review: ${p}`);
  if (values.check) {
    const fresh = renderReport(report);
    const stale: string[] = [];
    for (const [k, name] of Object.entries(REPORT_FILES) as [keyof typeof REPORT_FILES, string][]) {
      const file = path.join(values.out, name);
      const have = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
      if (have !== fresh[k]) stale.push(have === null ? `${file} (missing)` : file);
    }
    if (stale.length) console.error(`stale: ${stale.join(', ')}; regenerate with: npm run review`);
    if (stale.length || problems.length) return EXIT.FAILED;
    console.log(`${values.out}: up to date`);
    return EXIT.OK;
  }
  const files = writeReport(values.out, report);
  console.log(`${files.markdown}\n${files.html}\n${files.json}`);
  const failing = report.claims.filter((c) => c.result === 'fails').map((c) => c.id);
  if (failing.length) console.log(`claims failing: ${failing.join(', ')}`);
  return hasFailures(report) || problems.length ? EXIT.FAILED : EXIT.OK;
}
