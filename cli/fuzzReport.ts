// The fuzz runner's reporter: report.json, REVIEW.md and review.html from the run so far. The
// runner (fuzz/runner.ts) is an engine below report/, so the CLI joins the two.
import { FuzzOptions, FuzzReportWritten, FuzzSnapshot } from '../fuzz/runner';
import { environment } from '../report/environment';
import { Report, buildReport, hasFailures } from '../report/report';
import { writeReport } from '../report/write';
import { fromFlatBlocks } from '../report/document';
import { sectionMarkdown } from '../report/markdown';
import { decisionSpaceBlocks } from '../report/decisionSpace';

/** The report of a fuzz run as it stands at `s`. */
export function fuzzReport(s: FuzzSnapshot, opts: FuzzOptions): Report {
  const elapsed = (s.finished - s.started) / 1000;
  const partialReasons: string[] = [];
  if (!s.final) partialReasons.push('in progress (checkpoint)');
  if (s.interrupted) partialReasons.push('interrupted (SIGINT/SIGTERM) before the time budget was spent');
  if (s.errors.length) partialReasons.push('a worker failed (see errors)');
  return buildReport({
    kind: 'fuzz',
    partialReasons,
    run: {
      seed: opts.seed,
      seedSource: opts.seedSource,
      ...(opts.seedText !== undefined ? { seedText: opts.seedText } : {}),
      shard: opts.shard,
      workers: opts.workers,
      budgetSeconds: opts.seconds,
      batchRuns: opts.batchRuns,
      maxFindings: opts.maxFindings,
      stopReason: s.stopReason,
      fixup: { name: s.fixup.name, path: opts.fixupPath },
      backend: 'model',
      properties: opts.properties,
      timing: {
        startedAt: new Date(s.started).toISOString(),
        finishedAt: new Date(s.finished).toISOString(),
        elapsedSeconds: Math.round(elapsed * 10) / 10,
        casesPerSecond: elapsed > 0 ? Math.round(s.coverage.cases / elapsed) : 0,
      },
    },
    environment: environment(false),
    coverage: s.coverage,
    findings: s.findings,
    matrix: s.matrix,
    errors: s.errors,
  });
}

/** Build and write the report into opts.outDir (the FuzzReporter the fuzz command hands in). */
export function writeFuzzReport(s: FuzzSnapshot, opts: FuzzOptions): FuzzReportWritten {
  const report = fuzzReport(s, opts);
  const files = writeReport(opts.outDir, report);
  return {
    files,
    failed: hasFailures(report),
    partialReasons: report.partialReasons,
    failingClaims: report.claims
      .filter((c) => c.result === 'fails' && c.method.kind !== 'random')
      .map((c) => `CLAIM ${c.id} FAILS (${c.title}): ${c.note ?? `${c.counterexamples.length} contradicting cell(s)`}, e.g. ${c.counterexamples[0] ?? ''}`),
    decisionSpace: report.decisionSpace ? sectionMarkdown(fromFlatBlocks(decisionSpaceBlocks(report.decisionSpace))) : [],
  };
}
