// Replay corpus cases against the model: one result per file; an unusable file is reported and
// the others still replay.
import * as fs from 'node:fs';
import { Fixup } from '../model';
import { Case, CaseError, parseCaseText } from './caseFormat';
import { Computed, Mismatch, evaluateCase } from './evaluate';
import { collectCaseFiles } from './files';

export type ReplayStatus = 'pass' | 'fail' | 'error';

export interface ReplayResult {
  file: string;
  id: string | null;
  status: ReplayStatus;
  mismatches: Mismatch[];
  computed: Computed | null;
  error: string | null;
  /** the field an error is about, when it is about one */
  field: string | null;
}

export function replayFile(file: string, plugin?: Fixup, seenIds?: Map<string, string>): ReplayResult {
  let c: Case;
  try {
    c = parseCaseText(fs.readFileSync(file, 'utf8'), file);
    const other = seenIds?.get(c.id);
    if (other !== undefined) throw new CaseError(file, 'id', `"${c.id}" is already used by ${other}`);
    seenIds?.set(c.id, file);
    const ev = evaluateCase(c, plugin);
    return { file, id: c.id, status: ev.mismatches.length ? 'fail' : 'pass', mismatches: ev.mismatches, computed: ev.computed, error: null, field: null };
  } catch (e) {
    if (e instanceof CaseError) return { file, id: null, status: 'error', mismatches: [], computed: null, error: e.message, field: e.field };
    const err = e as NodeJS.ErrnoException;
    if (err.code) return { file, id: null, status: 'error', mismatches: [], computed: null, error: `${file}: ${err.message}`, field: null };
    throw e;
  }
}

export interface ReplaySummary {
  results: ReplayResult[];
  missing: string[];
  passed: number;
  failed: number;
  errors: number;
}

export function replayPaths(paths: string[], plugin?: Fixup): ReplaySummary {
  const { files, missing } = collectCaseFiles(paths);
  const seen = new Map<string, string>();
  const results = files.map((f) => replayFile(f, plugin, seen));
  return {
    results,
    missing,
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    errors: results.filter((r) => r.status === 'error').length + missing.length,
  };
}

/** 0 all hold, 1 an expectation failed, 2 a file was unusable (takes precedence). */
export function replayExitCode(s: ReplaySummary): number {
  if (s.errors > 0) return 2;
  return s.failed > 0 ? 1 : 0;
}

export function formatResult(r: ReplayResult): string {
  if (r.status === 'error') return `ERROR ${r.error}`;
  const head = `${r.status === 'pass' ? 'PASS ' : 'FAIL '} ${r.id} (${r.file})`;
  if (r.status === 'pass') return head;
  return [head, ...r.mismatches.map((m) => `      ${m.field}: expected ${m.expected}, model computes ${m.actual}`)].join('\n');
}
