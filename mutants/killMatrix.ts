// The mutant catalogue (properties/brokenFixups.ts, whose entries mutants/*.js load as plug-ins) and its kill matrix:
// P1-P5 run against each mutant with growing run counts until each property kills it or the
// mutant's time budget runs out. `xsave-harness mutants` prints it; the review report imports
// `killMatrix` / `formatKillMatrix` from here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Fixup, PVE_FIXUP } from '../model';
import { loadFixup } from '../cases/fixupLoader';
import { BROKEN_FIXUPS } from '../properties/brokenFixups';
import { PROPERTIES, PROPERTY_IDS } from '../properties/claims';
import { PropertyId, runProperty } from '../properties/properties';


export interface Mutant {
  /** file name without .js */
  name: string;
  file: string;
  description: string;
  /** the property that must kill it (null for an equivalent mutant) */
  expectedKiller: PropertyId | null;
  /** why no property can kill it (null for a killable mutant) */
  equivalent: string | null;
  fixup: Fixup;
  /** the reference Proxmox patch, run as a control row */
  control?: boolean;
}

export class CatalogueError extends Error {}

/** The repository's mutants/ folder, found from this module's location (source or dist/). */
export function mutantsDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const cand = path.join(dir, 'mutants');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(cand)) return cand;
    dir = path.dirname(dir);
  }
  return path.resolve('mutants');
}

/**
 * The one catalogue (properties/brokenFixups.ts) as mutants, each with its generated plug-in
 * mutants/NAME.js (a missing one is an error: regenerate with scripts/gen-mutant-plugins.ts).
 */
export function catalogueMutants(dir: string = mutantsDir()): Mutant[] {
  return BROKEN_FIXUPS.map((f) => {
    const file = path.join(dir, `${f.name}.js`);
    if (!fs.existsSync(file)) throw new CatalogueError(`${file}: missing: regenerate the plug-ins (node -r ./scripts/ts-register.js scripts/gen-mutant-plugins.ts)`);
    return { name: f.name, file, description: f.description, expectedKiller: f.expectedKiller, equivalent: f.equivalent, fixup: { name: f.name, fn: f.fn } };
  });
}

/**
 * The mutants: without `dir` the one catalogue (catalogueMutants); with `dir` every *.js plug-in
 * there with its metadata, sorted by name (a folder of plug-ins that are not the catalogue's:
 * test fixtures, someone's own mutants).
 */
export async function loadMutants(dir?: string): Promise<Mutant[]> {
  if (dir === undefined) return catalogueMutants();
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort();
  const out: Mutant[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    const fixup = await loadFixup(file);
    const mod = require(path.resolve(file)) as Record<string, unknown>;
    const description = mod['description'];
    const killer = mod['expectedKiller'];
    const equivalent = mod['equivalent'];
    if (typeof description !== 'string' || !description || description.includes('\n')) {
      throw new CatalogueError(`${file}: field 'description': a one-line string is required`);
    }
    if ((killer === undefined) === (equivalent === undefined)) {
      throw new CatalogueError(`${file}: exactly one of 'expectedKiller' or 'equivalent' is required`);
    }
    if (killer !== undefined && !PROPERTY_IDS.includes(killer as PropertyId)) {
      throw new CatalogueError(`${file}: field 'expectedKiller': expected one of ${PROPERTY_IDS.join(', ')}, got ${JSON.stringify(killer)}`);
    }
    if (equivalent !== undefined && (typeof equivalent !== 'string' || equivalent.length < 20)) {
      throw new CatalogueError(`${file}: field 'equivalent': an argument (a sentence) is required`);
    }
    out.push({
      name: f.replace(/\.js$/, ''),
      file,
      description,
      expectedKiller: (killer as PropertyId | undefined) ?? null,
      equivalent: (equivalent as string | undefined) ?? null,
      fixup: { ...fixup, name: f.replace(/\.js$/, '') },
    });
  }
  return out;
}

export function controlMutant(): Mutant {
  return {
    name: 'pve (control)',
    file: '(built-in)',
    description: 'the Proxmox patch itself: no property may kill it',
    expectedKiller: null,
    equivalent: 'the reference fixup',
    fixup: PVE_FIXUP,
    control: true,
  };
}

export interface KillCell {
  property: PropertyId;
  killed: boolean;
  /** milliseconds spent on this property until the kill (all rounds, shrinking included); null when it survived */
  timeToKillMs: number | null;
  /** the run count of the killing round, or of the last round run */
  numRuns: number;
  /** why the property failed (null when it survived) */
  reason: string | null;
  /** fast-check's replay path of the counterexample */
  path: string | null;
}

export type Verdict = 'killed' | 'equivalent' | 'survived' | 'equivalent-but-killed' | 'control-ok' | 'control-killed';

export interface KillRow {
  mutant: string;
  description: string;
  expectedKiller: PropertyId | null;
  equivalent: string | null;
  control: boolean;
  cells: Record<PropertyId, KillCell>;
  killedBy: PropertyId[];
  verdict: Verdict;
  /** the expected killer killed it (null for equivalent mutants and the control) */
  expectedKillerKilled: boolean | null;
  elapsedMs: number;
}

export interface KillMatrix {
  seed: number;
  secondsPerMutant: number;
  properties: PropertyId[];
  rows: KillRow[];
  summary: {
    mutants: number;
    killed: number;
    equivalent: number;
    survived: number;
    /** killed / (mutants − equivalent), control excluded */
    score: number;
    /** every row as it should be: killable ones killed (by their expected killer too), equivalent ones and the control not */
    ok: boolean;
  };
}

export interface KillMatrixOptions {
  /** time budget per mutant (all properties together), seconds; default 5 */
  seconds?: number;
  seed?: number;
  dir?: string;
  /** only these mutants (names) */
  only?: string[];
  properties?: PropertyId[];
  /** add the Proxmox patch as a control row (default true) */
  control?: boolean;
  /** run counts of the successive rounds (default 10, 30, 100, … ×3); the last repeats ×3 */
  schedule?: number[];
  /** called after each mutant */
  onRow?: (row: KillRow) => void;
}

const DEFAULT_SCHEDULE = [10, 30, 100, 300, 1000, 3000, 10000];

/** Run the properties against one mutant: rounds of growing run counts until all kill it or the budget is spent. */
export function killRow(m: Mutant, opts: { seconds: number; seed: number; properties: readonly PropertyId[]; schedule?: number[] }): KillRow {
  const schedule = opts.schedule ?? DEFAULT_SCHEDULE;
  const budgetMs = opts.seconds * 1000;
  const start = Date.now();
  const spent: Record<string, number> = {};
  const lastMs: Record<string, number> = {};
  const cells = {} as Record<PropertyId, KillCell>;
  for (const id of opts.properties) {
    spent[id] = 0;
    cells[id] = { property: id, killed: false, timeToKillMs: null, numRuns: 0, reason: null, path: null };
  }
  for (let round = 0; ; round++) {
    const numRuns = round < schedule.length ? schedule[round]! : schedule[schedule.length - 1]! * 3 ** (round - schedule.length + 1);
    const open = opts.properties.filter((id) => !cells[id].killed);
    if (open.length === 0) break;
    if (round > 0 && Date.now() - start >= budgetMs) break;
    let ran = false;
    for (const id of open) {
      if (round > 0) {
        // skip a round the budget cannot hold: predicted from this property's previous round
        const prev = cells[id];
        const predicted = prev.numRuns > 0 ? (lastMs[id]! * numRuns) / prev.numRuns : 0;
        if (Date.now() - start + predicted > budgetMs) continue;
      }
      const t0 = Date.now();
      const r = runProperty(PROPERTIES[id], m.fixup, { seed: opts.seed, numRuns, coverage: false });
      lastMs[id] = Date.now() - t0;
      spent[id]! += lastMs[id]!;
      ran = true;
      cells[id] = {
        property: id,
        killed: r.failed,
        timeToKillMs: r.failed ? spent[id]! : null,
        numRuns,
        reason: r.failed ? r.reason : null,
        path: r.failed ? r.path : null,
      };
    }
    if (!ran) break; // no open property fits in what is left of the budget
  }
  const killedBy = opts.properties.filter((id) => cells[id].killed);
  const killed = killedBy.length > 0;
  let verdict: Verdict;
  if (m.control) verdict = killed ? 'control-killed' : 'control-ok';
  else if (m.equivalent !== null) verdict = killed ? 'equivalent-but-killed' : 'equivalent';
  else verdict = killed ? 'killed' : 'survived';
  return {
    mutant: m.name,
    description: m.description,
    expectedKiller: m.expectedKiller,
    equivalent: m.equivalent,
    control: m.control === true,
    cells,
    killedBy,
    verdict,
    expectedKillerKilled: m.expectedKiller && opts.properties.includes(m.expectedKiller) ? cells[m.expectedKiller].killed : null,
    elapsedMs: Date.now() - start,
  };
}

/** The kill matrix of the catalogue (plus the control row): data for the CLI and the review report. */
export async function killMatrix(opts: KillMatrixOptions = {}): Promise<KillMatrix> {
  const seconds = opts.seconds ?? 5;
  const seed = opts.seed ?? 1;
  const properties = [...(opts.properties ?? PROPERTY_IDS)];
  let mutants = await loadMutants(opts.dir);
  if (opts.only) {
    const unknown = opts.only.filter((n) => !mutants.some((m) => m.name === n));
    if (unknown.length) throw new CatalogueError(`unknown mutant(s): ${unknown.join(', ')} (known: ${mutants.map((m) => m.name).join(', ')})`);
    mutants = mutants.filter((m) => opts.only!.includes(m.name));
  }
  if (opts.control !== false) mutants = [controlMutant(), ...mutants];
  const rows: KillRow[] = [];
  for (const m of mutants) {
    const row = killRow(m, { seconds, seed, properties, ...(opts.schedule ? { schedule: opts.schedule } : {}) });
    rows.push(row);
    opts.onRow?.(row);
  }
  const real = rows.filter((r) => !r.control);
  const equivalent = real.filter((r) => r.equivalent !== null).length;
  const killed = real.filter((r) => r.verdict === 'killed').length;
  const survived = real.filter((r) => r.verdict === 'survived').length;
  const ok = rows.every((r) => (r.verdict === 'killed' && r.expectedKillerKilled !== false) || r.verdict === 'equivalent' || r.verdict === 'control-ok');
  return {
    seed,
    secondsPerMutant: seconds,
    properties,
    rows,
    summary: { mutants: real.length, killed, equivalent, survived, score: real.length - equivalent ? killed / (real.length - equivalent) : 1, ok },
  };
}

function cellText(c: KillCell): string {
  return c.killed ? `${c.timeToKillMs}ms` : 'survived';
}

/** The matrix as a text table (mutant × property: time to kill, or "survived"). */
export function formatKillMatrix(m: KillMatrix): string {
  const head = ['mutant', ...m.properties, 'expected', 'verdict'];
  const body = m.rows.map((r) => [
    r.mutant,
    ...m.properties.map((id) => (r.cells[id] ? cellText(r.cells[id]) : '-') + (r.expectedKiller === id ? '*' : '')),
    r.expectedKiller ?? (r.control ? 'none' : 'equiv.'),
    r.verdict + (r.expectedKillerKilled === false ? ' (expected killer missed)' : ''),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cols: string[]): string => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const s = m.summary;
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    `* expected killer. Time = ms spent on that property until it killed the mutant (seed ${m.seed}, ≤ ${m.secondsPerMutant}s per mutant).`,
    `${s.mutants} mutants: ${s.killed} killed, ${s.equivalent} argued equivalent, ${s.survived} survived; score ${(s.score * 100).toFixed(1)}% of the killable ones${s.ok ? '' : ' — NOT as expected'}`,
  ].join('\n');
}
