// xsave-harness mutation-merge [--commit SHA] [--date DATE] OUT IN...: several Stryker JSON
// reports (mutation-testing-elements schema) as one, e.g. the core model files and the rest of
// model/ + properties/ run separately. A file present in a later input replaces the earlier
// entry. --commit/--date record where the runs came from; the review shows them. One input is
// fine too: that only stamps the provenance (the nightly workflow does this).
// Exit 0 merged, 2 an input is unreadable or not a Stryker report, 3 usage.
import { parseArgs } from 'node:util';
import { MutationReportError, mergeMutationReports, summarizeMutationReport } from '../../mutants/mutationReport';
import { EXIT, UsageError } from '../exitCodes';

export const usage = 'mutation-merge [--commit SHA] [--date DATE] OUT IN...   merge Stryker JSON reports (later files replace earlier ones) into OUT';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { commit: { type: 'string' }, date: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length < 2) throw new UsageError('mutation-merge needs OUT and at least one IN');
  const [out, ...ins] = positionals as [string, ...string[]];
  try {
    const merged = mergeMutationReports(ins, out, {
      ...(values.commit ? { commit: values.commit } : {}),
      ...(values.date ? { date: values.date } : {}),
    });
    const s = summarizeMutationReport(merged, out);
    for (const m of s.origin.mergedFrom) console.log(`${m.input}: ${m.files.length} file(s) kept${m.files.length ? ` (${m.files.join(', ')})` : ''}`);
    const t = s.totals;
    console.log(`${out}: ${s.files.length} file(s), ${t.total} mutants, score ${(100 * t.score).toFixed(1)} % (${(100 * t.scoreCovered).toFixed(1)} % of covered), ${t.survived} survived, ${t.noCoverage} without coverage`);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof MutationReportError) {
      console.error(`xsave-harness mutation-merge: ${e.message}`);
      return EXIT.UNUSABLE;
    }
    throw e;
  }
}
