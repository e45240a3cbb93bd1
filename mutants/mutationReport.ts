// Stryker's result (`npm run mutation` → reports/mutation.json, the mutation-testing-elements
// JSON schema) read back as a compact summary: score, counts per status and per file, and the
// surviving mutants. The review report imports `readMutationReport` from here.
import * as fs from 'node:fs';
import * as path from 'node:path';

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
}

interface RawReport {
  schemaVersion: string;
  files: Record<string, { source: string; mutants: RawMutant[] }>;
  testFiles?: Record<string, { tests: Array<{ id: string; name: string }> }>;
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

export interface MutationSummary {
  report: string;
  files: string[];
  totals: Counts;
  perFile: Record<string, Counts>;
  survivors: Survivor[];
}

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

export function summarizeMutationReport(raw: RawReport, report = 'reports/mutation.json'): MutationSummary {
  const perFile: Record<string, Counts> = {};
  const all: RawMutant[] = [];
  const survivors: Survivor[] = [];
  for (const [file, f] of Object.entries(raw.files)) {
    perFile[file] = counts(f.mutants);
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
  survivors.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  return { report, files: Object.keys(raw.files).sort(), totals: counts(all), perFile, survivors };
}

/** The summary of Stryker's JSON report (default reports/mutation.json under the current folder). */
export function readMutationReport(file = path.join('reports', 'mutation.json')): MutationSummary {
  return summarizeMutationReport(JSON.parse(fs.readFileSync(file, 'utf8')) as RawReport, file);
}
