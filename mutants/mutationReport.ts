// Stryker's result (`npm run mutation` → reports/mutation.json, the mutation-testing-elements
// JSON schema) read back as a compact summary: score, counts per status and per file, the
// surviving mutants, and where the JSON came from. The review report imports
// `readMutationReport` from here; `mergeMutationReports` (xsave-harness mutation-merge) combines
// the JSON of several Stryker runs into one.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../cases/files';

export type MutantStatus = 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';

interface RawMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
  status: MutantStatus;
  statusReason?: string;
  killedBy?: string[];
  coveredBy?: string[];
  [more: string]: unknown;
}

interface RawTest {
  id: string;
  name: string;
  [more: string]: unknown;
}

/**
 * Where a report came from. Stryker writes none of this; `xsave-harness mutation-merge` adds it
 * (--commit, --date) and records which input each file came from. Readers treat it as optional.
 */
export interface RawProvenance {
  commit?: string;
  date?: string;
  mergedFrom?: { input: string; files: string[] }[];
}

export interface RawReport {
  schemaVersion: string;
  files: Record<string, { source: string; mutants: RawMutant[]; language?: string; [more: string]: unknown }>;
  testFiles?: Record<string, { tests: RawTest[]; source?: string; [more: string]: unknown }>;
  config?: Record<string, unknown>;
  framework?: { name: string; version?: string; [more: string]: unknown };
  provenance?: RawProvenance;
  [more: string]: unknown;
}

export interface Survivor {
  file: string;
  line: number;
  column: number;
  mutator: string;
  /** the source text the mutant replaced */
  original: string;
  replacement: string;
  status: 'Survived' | 'NoCoverage';
}

export interface Counts {
  total: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  ignored: number;
  errors: number;
  /** (killed + timeout) / (killed + timeout + survived + noCoverage), as Stryker computes it */
  score: number;
  /** the same over covered mutants only */
  scoreCovered: number;
}

/** What the JSON says about its own origin; null / [] where it says nothing. */
export interface MutationOrigin {
  commit: string | null;
  date: string | null;
  /** e.g. "StrykerJS 9.6.1" */
  framework: string | null;
  /** the `mutate` patterns of the Stryker config (of every merged run) */
  mutate: string[];
  /** merged reports: which input each file came from */
  mergedFrom: { input: string; files: string[] }[];
}

export interface MutationSummary {
  report: string;
  files: string[];
  totals: Counts;
  perFile: Record<string, Counts>;
  survivors: Survivor[];
  origin: MutationOrigin;
  /** per file: sha256 (12 hex) of the source the mutants were made from, to notice a file changed since */
  sourceHashes: Record<string, string>;
}

export class MutationReportError extends Error {}

function counts(ms: RawMutant[]): Counts {
  const n = (s: MutantStatus): number => ms.filter((m) => m.status === s).length;
  const killed = n('Killed');
  const timeout = n('Timeout');
  const survived = n('Survived');
  const noCoverage = n('NoCoverage');
  const detected = killed + timeout;
  return {
    total: ms.length,
    killed,
    timeout,
    survived,
    noCoverage,
    ignored: n('Ignored'),
    errors: n('CompileError') + n('RuntimeError'),
    score: detected + survived + noCoverage ? detected / (detected + survived + noCoverage) : 1,
    scoreCovered: detected + survived ? detected / (detected + survived) : 1,
  };
}

function excerpt(source: string, m: RawMutant): string {
  const lines = source.split('\n');
  const { start, end } = m.location;
  if (start.line === end.line) return lines[start.line - 1]?.slice(start.column - 1, end.column - 1) ?? '';
  const first = lines[start.line - 1]?.slice(start.column - 1) ?? '';
  return `${first} …`;
}

/** sha256 of a source text, 12 hex digits: the same function the review applies to the file now. */
export function sourceHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function originOf(raw: RawReport): MutationOrigin {
  const p = raw.provenance ?? {};
  const mutate = raw.config?.['mutate'];
  const fw = raw.framework;
  return {
    commit: typeof p.commit === 'string' && p.commit ? p.commit : null,
    date: typeof p.date === 'string' && p.date ? p.date : null,
    framework: fw && typeof fw.name === 'string' ? `${fw.name}${typeof fw.version === 'string' ? ` ${fw.version}` : ''}` : null,
    mutate: Array.isArray(mutate) ? mutate.filter((x): x is string => typeof x === 'string') : [],
    mergedFrom: Array.isArray(p.mergedFrom) ? p.mergedFrom.map((m) => ({ input: m.input, files: [...m.files] })) : [],
  };
}

export function summarizeMutationReport(raw: RawReport, report = 'reports/mutation.json'): MutationSummary {
  const perFile: Record<string, Counts> = {};
  const all: RawMutant[] = [];
  const survivors: Survivor[] = [];
  const sourceHashes: Record<string, string> = {};
  for (const [file, f] of Object.entries(raw.files)) {
    perFile[file] = counts(f.mutants);
    sourceHashes[file] = sourceHash(f.source);
    all.push(...f.mutants);
    for (const m of f.mutants) {
      if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
      survivors.push({
        file,
        line: m.location.start.line,
        column: m.location.start.column,
        mutator: m.mutatorName,
        original: excerpt(f.source, m),
        replacement: m.replacement ?? '',
        status: m.status,
      });
    }
  }
  survivors.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.mutator.localeCompare(b.mutator));
  return { report, files: Object.keys(raw.files).sort(), totals: counts(all), perFile, survivors, origin: originOf(raw), sourceHashes };
}

/** Parse and minimally check one Stryker JSON report (the fields the summary and the merge use). */
export function parseMutationReport(text: string, file: string): RawReport {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new MutationReportError(`${file}: not JSON: ${(e as Error).message}`);
  }
  const r = raw as Partial<RawReport> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new MutationReportError(`${file}: not a mutation-testing-elements report (expected an object)`);
  if (typeof r.schemaVersion !== 'string') throw new MutationReportError(`${file}: field 'schemaVersion': a string is required`);
  if (!r.files || typeof r.files !== 'object' || Array.isArray(r.files)) throw new MutationReportError(`${file}: field 'files': an object is required`);
  for (const [name, f] of Object.entries(r.files)) {
    if (!f || typeof f.source !== 'string' || !Array.isArray(f.mutants)) throw new MutationReportError(`${file}: files["${name}"]: 'source' (string) and 'mutants' (array) are required`);
  }
  if (r.testFiles !== undefined && (typeof r.testFiles !== 'object' || r.testFiles === null || Array.isArray(r.testFiles))) {
    throw new MutationReportError(`${file}: field 'testFiles': an object is required when present`);
  }
  return r as RawReport;
}

export function readRawMutationReport(file: string): RawReport {
  return parseMutationReport(fs.readFileSync(file, 'utf8'), file);
}

/** The summary of Stryker's JSON report (default reports/mutation.json under the current folder). */
export function readMutationReport(file = path.join('reports', 'mutation.json')): MutationSummary {
  return summarizeMutationReport(readRawMutationReport(file), file);
}

// ---- merging ---------------------------------------------------------------------------------

export interface MergeOptions {
  /** the commit the runs were made from (recorded as provenance.commit) */
  commit?: string;
  /** when they were made (recorded as provenance.date, e.g. 2026-11-24) */
  date?: string;
}

/**
 * Several Stryker reports as one: the union of `files`, where a file present in a later input
 * replaces the earlier entry; `testFiles` united the same way. Mutant and test ids are per run in
 * Stryker, so they are renumbered (tests identified by file and name) and every killedBy /
 * coveredBy is rewritten to the new test ids. config.mutate becomes the union of the inputs'.
 */
export function mergeRawMutationReports(inputs: { file: string; raw: RawReport }[], opts: MergeOptions = {}): RawReport {
  if (!inputs.length) throw new MutationReportError('mutation-merge: no input');
  // Tests: one canonical entry per (test file, name, occurrence); the latest input's copy wins.
  const testKeyOrder: string[] = [];
  const testByKey = new Map<string, { testFile: string; test: RawTest }>();
  const testFileMeta = new Map<string, Record<string, unknown>>();
  const idMaps: Map<string, string>[] = [];
  for (const [i, { raw }] of inputs.entries()) {
    const ids = new Map<string, string>();
    for (const [testFile, tf] of Object.entries(raw.testFiles ?? {})) {
      const { tests, ...meta } = tf;
      testFileMeta.set(testFile, meta);
      const seen = new Map<string, number>();
      for (const t of tests ?? []) {
        const n = seen.get(t.name) ?? 0;
        seen.set(t.name, n + 1);
        const key = `${testFile}\u0000${t.name}\u0000${n}`;
        if (!testByKey.has(key)) testKeyOrder.push(key);
        testByKey.set(key, { testFile, test: t });
        ids.set(t.id, key);
      }
    }
    idMaps[i] = ids;
  }
  const newTestId = new Map<string, string>(testKeyOrder.map((k, n) => [k, String(n)]));
  // Ids a mutant names but no test file defines stay distinct per input.
  const extraIds = new Map<string, string>();
  const mapTest = (i: number, id: string): string => {
    const key = idMaps[i]!.get(id);
    if (key !== undefined) return newTestId.get(key)!;
    const k = `${i}\u0000${id}`;
    if (!extraIds.has(k)) extraIds.set(k, String(testKeyOrder.length + extraIds.size));
    return extraIds.get(k)!;
  };

  const files: RawReport['files'] = {};
  const from = new Map<string, number>();
  for (const [i, { raw }] of inputs.entries()) {
    for (const [name, f] of Object.entries(raw.files)) {
      files[name] = {
        ...f,
        mutants: f.mutants.map((m) => ({
          ...m,
          ...(m.killedBy ? { killedBy: m.killedBy.map((id) => mapTest(i, id)) } : {}),
          ...(m.coveredBy ? { coveredBy: m.coveredBy.map((id) => mapTest(i, id)) } : {}),
        })),
      };
      from.set(name, i);
    }
  }
  // Mutant ids: unique over the merged report, numbered in file order.
  let next = 0;
  const sortedFiles: RawReport['files'] = {};
  for (const name of Object.keys(files).sort()) {
    const f = files[name]!;
    sortedFiles[name] = { ...f, mutants: f.mutants.map((m) => ({ ...m, id: String(next++) })) };
  }

  const testFiles: NonNullable<RawReport['testFiles']> = {};
  for (const key of testKeyOrder) {
    const { testFile, test } = testByKey.get(key)!;
    const entry = (testFiles[testFile] ??= { ...testFileMeta.get(testFile), tests: [] });
    entry.tests.push({ ...test, id: newTestId.get(key)! });
  }

  const last = inputs[inputs.length - 1]!.raw;
  const mutate: string[] = [];
  for (const { raw } of inputs) {
    const m = raw.config?.['mutate'];
    if (Array.isArray(m)) for (const p of m) if (typeof p === 'string' && !mutate.includes(p)) mutate.push(p);
  }
  // provenance: what the options say, else what every input agrees on
  const agreed = (k: 'commit' | 'date'): string | undefined => {
    const vals = new Set(inputs.map((x) => x.raw.provenance?.[k]));
    return vals.size === 1 ? [...vals][0] : undefined;
  };
  const commit = opts.commit ?? agreed('commit');
  const date = opts.date ?? agreed('date');
  const provenance: RawProvenance = {
    ...(commit ? { commit } : {}),
    ...(date ? { date } : {}),
    mergedFrom: inputs.map((x, i) => ({ input: x.file, files: Object.keys(x.raw.files).filter((n) => from.get(n) === i).sort() })),
  };
  const { performance: _perf, ...rest } = last;
  const merged: RawReport = {
    ...rest,
    files: sortedFiles,
    ...(Object.keys(testFiles).length ? { testFiles } : {}),
    ...(last.config ? { config: { ...last.config, mutate } } : {}),
    provenance,
  };
  // Phase timings of one run say nothing about the merge: summed when every input has them.
  const perf = inputs.map((x) => x.raw['performance'] as Record<string, number> | undefined);
  if (perf.every((p) => p && typeof p === 'object')) {
    const sum: Record<string, number> = {};
    for (const p of perf) for (const [k, v] of Object.entries(p!)) if (typeof v === 'number') sum[k] = (sum[k] ?? 0) + v;
    merged['performance'] = sum;
  }
  return merged;
}

/** Read the inputs, merge them (see mergeRawMutationReports) and write `out` atomically. */
export function mergeMutationReports(inputs: string[], out: string, opts: MergeOptions = {}): RawReport {
  const merged = mergeRawMutationReports(
    inputs.map((file) => ({ file, raw: readRawMutationReport(file) })),
    opts,
  );
  // Compact, as Stryker's JSON reporter writes it.
  writeFileAtomic(out, JSON.stringify(merged));
  return merged;
}
