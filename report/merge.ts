// merge-reports: the shard reports of one nightly run combined into one report. Coverage is
// summed, findings are united (by case id), missing shards are named and make it partial.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PropertyId } from '../properties/properties';
import { addCoverage, emptyCoverage } from '../properties/coverage';
import { FindingRecord, Report, RunInfo, buildReport } from './report';
import { validateReport } from './schema';
import { REPORT_FILES } from './write';

export class MergeError extends Error {}

/** report.json files named directly, or found (recursively, sorted) under the folders named. */
export function collectReportFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    for (const name of fs.readdirSync(p).sort()) {
      const q = path.join(p, name);
      if (fs.statSync(q).isDirectory()) walk(q);
      else if (name === REPORT_FILES.json) out.push(q);
    }
  };
  for (const p of paths) {
    if (!fs.existsSync(p)) throw new MergeError(`${p}: no such file or folder`);
    if (fs.statSync(p).isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}

export function readReport(file: string): Report {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new MergeError(`${file}: not JSON: ${(e as Error).message}`);
  }
  const errors = validateReport(value);
  if (errors.length) throw new MergeError(`${file}: not a valid xsave-report/1: ${errors.slice(0, 5).join('; ')}${errors.length > 5 ? ` (+${errors.length - 5} more)` : ''}`);
  return value as Report;
}

export function mergeReports(inputs: { file: string; report: Report }[], expectedShards?: number): Report {
  if (inputs.length === 0) throw new MergeError('no report to merge');
  const first = inputs[0]!.report;
  for (const { file, report } of inputs) {
    if (report.kind !== 'fuzz') throw new MergeError(`${file}: only fuzz reports are merged (this one is kind "${report.kind}")`);
    if (report.run.seed !== first.run.seed) throw new MergeError(`${file}: seed ${report.run.seed} differs from ${first.run.seed} (${inputs[0]!.file}): shards of different runs`);
    if (report.run.fixup.name !== first.run.fixup.name) throw new MergeError(`${file}: fixup ${report.run.fixup.name} differs from ${first.run.fixup.name}`);
  }
  const counts = new Set(inputs.map((i) => i.report.run.shard?.count ?? 1));
  if (counts.size > 1) throw new MergeError(`the inputs disagree on the number of shards: ${[...counts].join(', ')}`);
  const count = expectedShards ?? [...counts][0]!;
  if (expectedShards !== undefined && !counts.has(expectedShards)) throw new MergeError(`the inputs are shards of ${[...counts][0]}, not ${expectedShards}`);

  const present: number[] = [];
  const coverage = emptyCoverage();
  const findings = new Map<string, FindingRecord>();
  const partialReasons: string[] = [];
  const errors: string[] = [];
  for (const { file, report } of inputs) {
    const idx = report.run.shard?.index ?? 1;
    if (present.includes(idx)) throw new MergeError(`${file}: shard ${idx} appears twice`);
    present.push(idx);
    addCoverage(coverage, report.coverage);
    for (const f of report.findings) if (!findings.has(f.key)) findings.set(f.key, { ...f, shard: f.shard ?? idx });
    if (report.partial) partialReasons.push(`shard ${idx} is partial (${report.partialReasons.join('; ')})`);
    for (const e of report.errors) errors.push(`shard ${idx}: ${e}`);
  }
  present.sort((a, b) => a - b);
  const missing: number[] = [];
  for (let i = 1; i <= count; i++) if (!present.includes(i)) missing.push(i);
  if (missing.length) partialReasons.unshift(`missing shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count}`);

  const runs = inputs.map((i) => i.report.run);
  const timings = runs.map((r) => r.timing).filter((t): t is NonNullable<RunInfo['timing']> => t !== null);
  const properties = [...new Set(runs.flatMap((r) => r.properties))].sort() as PropertyId[];
  const run: RunInfo = {
    seed: first.run.seed,
    seedSource: first.run.seedSource,
    ...(first.run.seedText !== undefined ? { seedText: first.run.seedText } : {}),
    shard: null,
    workers: runs.every((r) => r.workers !== null) ? runs.reduce((n, r) => n + (r.workers ?? 0), 0) : null,
    budgetSeconds: runs.some((r) => r.budgetSeconds !== null) ? Math.max(...runs.map((r) => r.budgetSeconds ?? 0)) : null,
    batchRuns: first.run.batchRuns,
    maxFindings: first.run.maxFindings,
    stopReason: [...new Set(runs.map((r) => r.stopReason).filter((x): x is string => x !== null))].join('; ') || null,
    fixup: first.run.fixup,
    backend: 'model',
    properties,
    timing: timings.length
      ? {
          startedAt: timings.map((t) => t.startedAt).sort()[0]!,
          finishedAt: timings.map((t) => t.finishedAt).sort().reverse()[0]!,
          elapsedSeconds: Math.max(...timings.map((t) => t.elapsedSeconds)),
          casesPerSecond: Math.round(timings.reduce((n, t) => n + t.casesPerSecond, 0)),
        }
      : null,
  };
  return buildReport({
    kind: 'merged',
    partialReasons,
    run,
    environment: first.environment,
    coverage,
    findings: [...findings.values()],
    matrix: first.matrix,
    shards: { count, present, missing, inputs: inputs.map((i) => i.file) },
    errors,
  });
}
