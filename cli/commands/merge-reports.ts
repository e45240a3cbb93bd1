// xsave-harness merge-reports OUT IN...: combine the report.json of each shard (files, or folders
// searched for report.json) into OUT/report.json, REVIEW.md and review.html. Coverage is summed,
// findings united, missing shards named. Exit 1 a finding or failing claim, 2 an unusable input or
// missing shards/partial inputs, 0 otherwise.
import { parseArgs } from 'node:util';
import { MergeError, collectReportFiles, mergeReports, readReport } from '../../report/merge';
import { hasFailures } from '../../report/report';
import { fmtInt } from '../../report/summary';
import { writeReport } from '../../report/write';
import { EXIT, UsageError } from '../exitCodes';

export const usage = 'merge-reports [--shards N] OUT IN...          combine shard report.json files (or folders holding them) into OUT/';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { shards: { type: 'string' } }, allowPositionals: true });
  if (positionals.length < 2) throw new UsageError('merge-reports needs OUT and at least one IN');
  const [out, ...ins] = positionals as [string, ...string[]];
  let expected: number | undefined;
  if (values.shards !== undefined) {
    if (!/^\d+$/.test(values.shards) || Number(values.shards) < 1) throw new UsageError(`--shards: expected a positive integer, got "${values.shards}"`);
    expected = Number(values.shards);
  }
  try {
    const files = collectReportFiles(ins);
    if (!files.length) throw new MergeError(`no report.json under ${ins.join(' ')}`);
    const merged = mergeReports(files.map((file) => ({ file, report: readReport(file) })), expected);
    const written = writeReport(out, merged);
    console.log(`merged ${files.length} report(s): shards present ${merged.shards!.present.join(', ')}${merged.shards!.missing.length ? `, MISSING ${merged.shards!.missing.join(', ')}` : ''}`);
    console.log(`${fmtInt(merged.coverage.cases)} runs, ${merged.findings.length} finding(s)`);
    for (const f of merged.findings) console.log(`FINDING ${f.property} ${f.key}: ${f.reason}${f.replay ? `\n  replay: ${f.replay}` : ''}`);
    for (const e of merged.errors) console.error(`error: ${e}`);
    console.log(`report: ${written.json}\n        ${written.markdown}\n        ${written.html}`);
    if (hasFailures(merged)) return EXIT.FAILED;
    if (merged.partial || merged.errors.length) {
      console.error(`partial: ${merged.partialReasons.join('; ')}`);
      return EXIT.UNUSABLE;
    }
    return EXIT.OK;
  } catch (e) {
    if (e instanceof MergeError) {
      console.error(`xsave-harness merge-reports: ${e.message}`);
      return EXIT.UNUSABLE;
    }
    throw e;
  }
}
