// Reads Stryker's report (reports/mutation.json) and the survivor explanations
// (reports/mutation-survivors.json) into the review's Stryker section (report/mutationSection.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Counts, MutationOrigin, MutationReportError, Survivor, readMutationReport, sourceHash } from '../../mutants/mutationReport';
import { MutationSection, SurvivorExplanation, SurvivorView } from '../../report/mutationSection';

const NO_COUNTS: Counts = { total: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, errors: 0, score: 0, scoreCovered: 0 };
const NO_ORIGIN: MutationOrigin = { commit: null, date: null, framework: null, mutate: [], mergedFrom: [] };

export class SurvivorFileError extends Error {}

/** Parse reports/mutation-survivors.json; throws with the entry and field that is wrong. */
export function parseSurvivorExplanations(text: string, file: string): SurvivorExplanation[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SurvivorFileError(`${file}: not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new SurvivorFileError(`${file}: expected a JSON array of {file, line, mutator?, class, explanation}`);
  return raw.map((e: Record<string, unknown>, i) => {
    const at = `${file}[${i}]`;
    if (!e || typeof e !== 'object') throw new SurvivorFileError(`${at}: expected an object`);
    for (const k of ['file', 'class', 'explanation']) if (typeof e[k] !== 'string' || !e[k]) throw new SurvivorFileError(`${at}: field '${k}': a non-empty string is required`);
    if (!Number.isInteger(e['line']) || (e['line'] as number) < 1) throw new SurvivorFileError(`${at}: field 'line': a positive integer is required`);
    if (e['endLine'] !== undefined && (!Number.isInteger(e['endLine']) || (e['endLine'] as number) < (e['line'] as number))) throw new SurvivorFileError(`${at}: field 'endLine': an integer ≥ line is required`);
    for (const k of ['mutator', 'original', 'replacement']) if (e[k] !== undefined && typeof e[k] !== 'string') throw new SurvivorFileError(`${at}: field '${k}': a string is required`);
    return {
      file: e['file'] as string,
      line: e['line'] as number,
      ...(e['endLine'] !== undefined ? { endLine: e['endLine'] as number } : {}),
      ...(e['mutator'] !== undefined ? { mutator: e['mutator'] as string } : {}),
      ...(e['original'] !== undefined ? { original: e['original'] as string } : {}),
      ...(e['replacement'] !== undefined ? { replacement: e['replacement'] as string } : {}),
      class: e['class'] as string,
      explanation: e['explanation'] as string,
    };
  });
}

export function matches(e: SurvivorExplanation, s: Survivor): boolean {
  return (
    e.file === s.file &&
    s.line >= e.line &&
    s.line <= (e.endLine ?? e.line) &&
    (e.mutator === undefined || e.mutator === s.mutator) &&
    (e.original === undefined || s.original.includes(e.original)) &&
    (e.replacement === undefined || e.replacement === s.replacement)
  );
}

/** Attach explanations to survivors; count the unexplained ones and list the unused entries. */
export function explainSurvivors(survivors: Survivor[], entries: SurvivorExplanation[]): { survivors: SurvivorView[]; unmatched: SurvivorExplanation[]; unexplained: number; byClass: Record<string, number> } {
  const used = new Set<number>();
  const views = survivors.map((s) => {
    const i = entries.findIndex((e) => matches(e, s));
    if (i >= 0) used.add(i);
    return { ...s, class: i >= 0 ? entries[i]!.class : null, explanation: i >= 0 ? entries[i]!.explanation : null };
  });
  const counts = new Map<string, number>();
  for (const v of views) counts.set(v.class ?? 'unexplained', (counts.get(v.class ?? 'unexplained') ?? 0) + 1);
  const byClass: Record<string, number> = {};
  for (const k of [...counts.keys()].sort()) byClass[k] = counts.get(k)!;
  return { survivors: views, unmatched: entries.filter((_e, i) => !used.has(i)), unexplained: views.filter((v) => v.class === null).length, byClass };
}

/**
 * The section from Stryker's JSON `file` and the explanations in `survivorsFile` (both optional);
 * `root` is where the mutated files are now, to notice those changed since the run.
 */
export function readMutationSection(opts: { file: string; source: string; survivorsFile: string; survivorsSource: string; root: string }): MutationSection {
  const explanations: MutationSection['explanations'] = { source: opts.survivorsSource, available: false, error: null, entries: 0, unmatched: [] };
  let entries: SurvivorExplanation[] = [];
  if (fs.existsSync(opts.survivorsFile)) {
    try {
      entries = parseSurvivorExplanations(fs.readFileSync(opts.survivorsFile, 'utf8'), opts.survivorsSource);
      explanations.available = true;
      explanations.entries = entries.length;
    } catch (e) {
      if (!(e instanceof SurvivorFileError)) throw e;
      explanations.error = e.message;
    }
  }
  const empty = (error: string): MutationSection => ({ source: opts.source, available: false, error, origin: NO_ORIGIN, totals: NO_COUNTS, files: [], survivors: [], explanations: { ...explanations, unmatched: entries }, unexplained: 0, byClass: {} });
  if (!fs.existsSync(opts.file)) return empty(`${opts.source} is missing: run \`npm run mutation\` (the nightly workflow's mutation job uploads one)`);
  let summary;
  try {
    summary = readMutationReport(opts.file);
  } catch (e) {
    if (!(e instanceof MutationReportError)) throw e;
    return empty(e.message.replace(opts.file, opts.source));
  }
  const files = summary.files.map((file) => {
    const now = path.join(opts.root, file);
    return { file, counts: summary.perFile[file]!, sourceChanged: fs.existsSync(now) ? sourceHash(fs.readFileSync(now, 'utf8')) !== summary.sourceHashes[file] : null };
  });
  const x = explainSurvivors(summary.survivors, entries);
  return {
    source: opts.source,
    available: true,
    error: null,
    origin: summary.origin,
    totals: summary.totals,
    files,
    survivors: x.survivors,
    explanations: { ...explanations, unmatched: x.unmatched },
    unexplained: x.unexplained,
    byClass: x.byClass,
  };
}
