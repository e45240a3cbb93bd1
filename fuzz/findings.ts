// A finding as the report records it, and writing its case file: named by content (the case id
// carries a content hash), written atomically, an identical existing file counts as a duplicate.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../cases/files';
import { PropertyId } from '../properties/properties';
import { RawFinding } from './batch';

/** A finding as report.json records it (report.findings[]). */
export interface FindingRecord {
  /** the case id, or PROPERTY-seedSEED when no case file could be built @pattern ^[a-z0-9._-]+$ */
  key: string;
  property: PropertyId;
  title: string;
  reason: string;
  error: string | null;
  /** @integer */
  seed: number;
  /** @integer @minimum 1 */
  numRuns: number;
  path: string | null;
  /** @pattern ^[a-z0-9._-]+$ */
  caseId: string | null;
  /** where the case file was written (as given on the command line), or null */
  file: string | null;
  /** the case file already existed with the same content: nothing new was written */
  duplicate: boolean;
  /** the command that reruns the failing batch */
  rerun: string;
  /** the command that replays the case file */
  replay: string | null;
  /** the case (CASE-FORMAT v1) */
  case: Record<string, unknown> | null;
  caseError: string | null;
  counterexample: string | null;
  /** the shard that found it (merged reports) @integer @minimum 1 */
  shard: number | null;
}

export function findingKey(f: RawFinding): string {
  return f.caseId ?? `${f.property.toLowerCase()}-seed${f.seed}`;
}

function quote(p: string): string {
  return /^[\w./:@%+=,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

export function rerunCommand(f: RawFinding, fixupPath: string | null): string {
  return `npx xsave-harness check --only ${f.property} --seed ${f.seed} --runs ${f.numRuns}${fixupPath ? ` --fixup ${quote(fixupPath)}` : ''}`;
}

export function replayCommand(file: string, fixupPath: string | null): string {
  return `npx xsave-harness replay${fixupPath ? ` --fixup ${quote(fixupPath)}` : ''} ${quote(file)}`;
}

export function findingRecord(f: RawFinding, opts: { file: string | null; duplicate: boolean; fixupPath: string | null; shard?: number | null }): FindingRecord {
  let parsed: Record<string, unknown> | null = null;
  if (f.caseJson) parsed = JSON.parse(f.caseJson) as Record<string, unknown>;
  return {
    key: findingKey(f),
    property: f.property,
    title: f.title,
    reason: f.reason,
    error: f.error,
    seed: f.seed,
    numRuns: f.numRuns,
    path: f.path,
    caseId: f.caseId,
    file: opts.file,
    duplicate: opts.duplicate,
    rerun: rerunCommand(f, opts.fixupPath),
    replay: opts.file ? replayCommand(opts.file, opts.fixupPath) : null,
    case: parsed,
    caseError: f.caseError,
    counterexample: f.counterexample,
    shard: opts.shard ?? null,
  };
}

/**
 * Write the finding's case into `foundDir` as ID.json. Returns the file and whether an
 * identical file was already there (then nothing is written: a duplicate is dropped).
 */
export function writeFindingCase(f: RawFinding, foundDir: string): { file: string | null; duplicate: boolean } {
  if (!f.caseJson || !f.caseId) return { file: null, duplicate: false };
  const file = path.join(foundDir, `${f.caseId}.json`);
  if (fs.existsSync(file)) {
    // The id hashes the case body; only the note (the failure reason) can differ.
    return { file, duplicate: true };
  }
  writeFileAtomic(file, f.caseJson);
  return { file, duplicate: false };
}
