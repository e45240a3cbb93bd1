// Reads the committed kill matrix (reports/kill-matrix.json) into the review's kill-matrix
// section (report/killMatrixSection.ts), against the current catalogue (properties/brokenFixups.ts).
import * as fs from 'node:fs';
import { KillMatrix, KillRow, Mutant, loadMutants } from '../../mutants/killMatrix';
import { PROPERTY_IDS } from '../../properties/claims';
import { PropertyId } from '../../properties/properties';
import { KillCellView, KillMatrixSection, KillMatrixStaleness, KillRowView } from '../../report/killMatrixSection';

function shapeError(m: unknown): string | null {
  const k = m as Partial<KillMatrix> | null;
  if (!k || typeof k !== 'object') return 'expected an object';
  if (!Array.isArray(k.rows)) return "field 'rows': an array is required";
  if (!Array.isArray(k.properties)) return "field 'properties': an array is required";
  for (const [i, r] of k.rows.entries()) {
    if (!r || typeof r.mutant !== 'string' || typeof r.cells !== 'object' || r.cells === null || typeof r.verdict !== 'string') {
      return `rows[${i}]: 'mutant', 'cells' and 'verdict' are required`;
    }
  }
  return null;
}

function emptySection(source: string, error: string, catalogue: string[]): KillMatrixSection {
  return {
    source,
    available: false,
    error,
    seed: null,
    secondsPerMutant: null,
    recordedAt: null,
    recordedCommit: null,
    properties: [],
    catalogue,
    staleness: { stale: true, missing: catalogue, extra: [], changed: [] },
    rows: [],
    summary: { mutants: 0, killed: 0, equivalent: 0, survived: 0, score: 0, ok: false },
    notKilled: [],
    unexpectedKills: [],
  };
}

function rowView(r: KillRow, m: Mutant | undefined, properties: PropertyId[]): KillRowView {
  const cells = {} as Record<PropertyId, KillCellView | null>;
  for (const id of PROPERTY_IDS) {
    const c = properties.includes(id) ? r.cells[id] : undefined;
    cells[id] = c ? { killed: c.killed, numRuns: c.numRuns, recordedTimeToKillMs: c.timeToKillMs, reason: c.reason } : null;
  }
  return {
    mutant: r.mutant,
    description: m?.description ?? r.description,
    control: r.control === true,
    expectedKiller: r.expectedKiller,
    equivalent: m?.equivalent ?? r.equivalent,
    verdict: r.verdict,
    killedBy: [...r.killedBy],
    expectedKillerKilled: r.expectedKillerKilled,
    cells,
    recordedElapsedMs: typeof r.elapsedMs === 'number' ? r.elapsedMs : null,
  };
}

/** Compare the recorded matrix with the catalogue as it is now. */
export function staleness(rows: Pick<KillRow, 'mutant' | 'control' | 'expectedKiller' | 'equivalent'>[], catalogue: Pick<Mutant, 'name' | 'expectedKiller' | 'equivalent'>[]): KillMatrixStaleness {
  const recorded = rows.filter((r) => !r.control);
  const names = new Set(recorded.map((r) => r.mutant));
  const missing = catalogue.filter((m) => !names.has(m.name)).map((m) => m.name);
  const extra = recorded.filter((r) => !catalogue.some((m) => m.name === r.mutant)).map((r) => r.mutant);
  const changed = recorded
    .filter((r) => {
      const m = catalogue.find((x) => x.name === r.mutant);
      return m !== undefined && (m.expectedKiller !== r.expectedKiller || (m.equivalent === null) !== (r.equivalent === null));
    })
    .map((r) => r.mutant);
  return { stale: missing.length + extra.length + changed.length > 0, missing, extra, changed };
}

/** The section from a parsed kill matrix and the loaded catalogue. */
export function killMatrixSectionFrom(source: string, raw: unknown, catalogue: Mutant[]): KillMatrixSection {
  const names = catalogue.map((m) => m.name);
  const err = shapeError(raw);
  if (err) return emptySection(source, `${source}: ${err}`, names);
  const k = raw as KillMatrix & { recordedAt?: unknown; date?: unknown; commit?: unknown };
  const properties = PROPERTY_IDS.filter((p) => k.properties.includes(p));
  const rows = k.rows.map((r) => rowView(r, catalogue.find((m) => m.name === r.mutant), properties));
  const real = rows.filter((r) => !r.control);
  const equivalent = real.filter((r) => r.equivalent !== null).length;
  const killed = real.filter((r) => r.verdict === 'killed').length;
  const survived = real.filter((r) => r.verdict === 'survived').length;
  const notKilled = real.filter((r) => r.equivalent === null && (r.verdict !== 'killed' || r.expectedKillerKilled === false)).map((r) => r.mutant);
  const unexpectedKills = rows.filter((r) => r.verdict === 'equivalent-but-killed' || r.verdict === 'control-killed').map((r) => r.mutant);
  const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
  return {
    source,
    available: true,
    error: null,
    seed: typeof k.seed === 'number' ? k.seed : null,
    secondsPerMutant: typeof k.secondsPerMutant === 'number' ? k.secondsPerMutant : null,
    // the day only: the commit says exactly what was measured, and the review holds no clock times
    recordedAt: (str(k.recordedAt) ?? str(k.date))?.slice(0, 10) ?? null,
    recordedCommit: str(k.commit),
    properties,
    catalogue: names,
    staleness: staleness(k.rows, catalogue),
    rows,
    summary: {
      mutants: real.length,
      killed,
      equivalent,
      survived,
      score: real.length - equivalent ? killed / (real.length - equivalent) : 1,
      ok: notKilled.length === 0 && unexpectedKills.length === 0,
    },
    notKilled,
    unexpectedKills,
  };
}

/** Read `file` (shown as `source`) and compare it with the catalogue (properties/brokenFixups.ts), or with the plug-ins in `mutantsDir`. */
export async function readKillMatrixSection(file: string, source: string, mutantsDir?: string): Promise<KillMatrixSection> {
  const catalogue = await loadMutants(mutantsDir);
  if (!fs.existsSync(file)) return emptySection(source, `${source} is missing: run \`npx xsave-harness mutants --json > reports/kill-matrix.json\``, catalogue.map((m) => m.name));
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return emptySection(source, `${source}: not JSON: ${(e as Error).message}`, catalogue.map((m) => m.name));
  }
  return killMatrixSectionFrom(source, raw, catalogue);
}
