// Issue 14 item 3: a fixed-seed run of each property reaches every cell of the decision space
// its domain can reach; the negative control is a generator with a blind spot, which the same
// check catches.
import fc from 'fast-check';
import { PVE_FIXUP } from '../model';
import { runBatch } from '../fuzz/batch';
import { PROPERTIES, PROPERTY_IDS } from './claims';
import { IoctlScenario } from './arbitraries/scenarios';
import { DECISION_AXES, decisionCellOf, decisionSpace, feasibleCells, sampleCells, unreachedCells } from './decisionSpace';
import { PropertyId } from './properties';
import { Counts } from './coverage';

/** Runs per property: the rarest feasible cells (the PVM kernel's XCR0 bit 9 without CPUID 0xD.0 bit 9, confidential) come about once in 2,500. */
const RUNS: Record<PropertyId, number> = { P1: 20000, P2: 2000, P3: 20000, P4: 20000, P5: 3000 };
const SEED = 20260101;

describe('the decision space', () => {
  const counts = {} as Record<PropertyId, Counts>;
  const cases = {} as Record<PropertyId, number>;
  beforeAll(() => {
    for (const id of PROPERTY_IDS) {
      const r = runBatch(id, PVE_FIXUP, SEED, RUNS[id]);
      expect(r.finding).toBeNull();
      counts[id] = r.decision;
      cases[id] = r.cases;
    }
  });

  test('a fuzz batch counts every scenario in one cell', () => {
    for (const id of PROPERTY_IDS) expect(Object.values(counts[id]).reduce((a, b) => a + b, 0)).toBe(cases[id]);
  });

  test('a fixed-seed run of each property reaches every feasible cell', () => {
    const ds = decisionSpace(counts);
    expect(unreachedCells(ds)).toEqual([]);
  });

  test('no reached cell lies outside the enumerated domain (the enumeration is not narrower than the generators)', () => {
    const ds = decisionSpace(counts);
    for (const id of PROPERTY_IDS) expect(ds.byProperty[id].cells.filter((c) => !c.feasible).map((c) => c.cell)).toEqual([]);
  });

  test('feasibility is computed from the domains: P1 never has bit 9 in a buffer the vCPU cannot take, P2 always has it; nothing has XCR0 bit 9 without host PKRU', () => {
    expect(feasibleCells('P1').filter((c) => c[0] === '1' && !(c[1] === '1' && c[2] === '1'))).toEqual([]);
    expect(feasibleCells('P2').every((c) => c[0] === '1' && c[1] === '0' && c[4] === '0' && c[5] === '0')).toBe(true);
    for (const id of PROPERTY_IDS) expect(feasibleCells(id).filter((c) => c[4] === '1' && c[2] === '0')).toEqual([]);
    expect(DECISION_AXES.length).toBe(6);
  });

  test('negative control: a generator that never draws CPUID 0xD.0 bit 9 without host PKRU leaves those cells unreached', () => {
    const blind = (PROPERTIES.P3.arb as fc.Arbitrary<IoctlScenario>).filter((s) => {
      const c = decisionCellOf('P3', s);
      return !(c[1] === '1' && c[2] === '0');
    });
    const ds = decisionSpace({ P3: sampleCells('P3', blind, SEED, RUNS.P3) });
    const missed = unreachedCells(ds);
    expect(missed.length).toBeGreaterThan(0);
    expect(missed.every((m) => /^P3 .10/.test(m))).toBe(true);
    expect(missed).toEqual(feasibleCells('P3').filter((c) => c[1] === '1' && c[2] === '0').map((c) => `P3 ${c}`));
  });
});

describe('where the table appears', () => {
  test('check prints it, with the feasible cells reached per property', async () => {
    const { runCli } = await import('../test/helpers/cli');
    const r = await runCli(['check', '--runs', '200', '--seed', '7', '--only', 'P1,P2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('## Decision space');
    expect(r.stdout).toMatch(/Feasible cells reached: P1 \d+\/30, P2 4\/4, P3 0\/44/);
    expect(r.stdout).toContain(`| ${DECISION_AXES.join(' | ')} | P1 | P2 | P3 | P4 | P5 |`);
  }, 60000);

  test('report.json carries it (schema-valid) and REVIEW.md renders it', async () => {
    const { buildReport } = await import('../report/report');
    const { validateReport } = await import('../report/schema');
    const { renderMarkdown } = await import('../report/markdown');
    const { emptyCoverage } = await import('./coverage');
    const { computeMatrix } = await import('./matrix');
    const { environment } = await import('../report/environment');
    const coverage = emptyCoverage();
    const r = runBatch('P1', PVE_FIXUP, SEED, 300);
    coverage.byProperty.P1.cases = r.cases;
    coverage.byProperty.P1.decision = r.decision;
    const report = buildReport({
      kind: 'fuzz',
      partialReasons: [],
      run: { seed: SEED, seedSource: 'option', shard: null, workers: 1, budgetSeconds: 1, batchRuns: 300, maxFindings: 1, stopReason: 'test', fixup: { name: 'pve', path: null }, backend: 'model', properties: ['P1'], timing: { startedAt: '', finishedAt: '', elapsedSeconds: 0, casesPerSecond: 0 } },
      environment: environment(false),
      coverage,
      findings: [],
      matrix: computeMatrix(),
    });
    expect(validateReport(JSON.parse(JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))))).toEqual([]);
    expect(report.decisionSpace!.byProperty.P1.cases).toBe(r.cases);
    expect(report.decisionSpace!.byProperty.P1.feasible).toBe(feasibleCells('P1').length);
    expect(renderMarkdown(report)).toContain('## Decision space');
  }, 60000);
});
