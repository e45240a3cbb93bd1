// The mutant catalogue (mutants/*.js): well-formed, every killable mutant killed by the property
// it names, the argued-equivalent ones and the Proxmox patch not killed. Small run counts; the
// full kill matrix (growing run counts, time budget) is `xsave-harness mutants`.
import { PVE_FIXUP } from '../model';
import { P1, P2, P3, P4, P5, PropertyDef, PropertyId, runProperty } from '../properties/properties';
import { Mutant, formatKillMatrix, killMatrix, killRow, loadMutants } from '../mutants/killMatrix';
import { PROPERTY_IDS } from '../properties/claims';
import * as mutantsCmd from '../cli/commands/mutants';

const PROPS: Record<PropertyId, PropertyDef<unknown>> = { P1, P2, P3, P4, P5 } as unknown as Record<PropertyId, PropertyDef<unknown>>;

let mutants: Mutant[] = [];
beforeAll(async () => {
  mutants = await loadMutants();
});

describe('the catalogue', () => {
  test('has at least 12 mutants, each with a one-line description and either an expected killer or an equivalence argument', () => {
    expect(mutants.length).toBeGreaterThanOrEqual(12);
    for (const m of mutants) {
      expect(m.description).toMatch(/^[^\n]{10,}$/);
      expect((m.expectedKiller === null) !== (m.equivalent === null)).toBe(true);
      if (m.expectedKiller) expect(PROPERTY_IDS).toContain(m.expectedKiller);
    }
  });

  test('covers the mistakes the issue lists', () => {
    const names = mutants.map((m) => m.name);
    for (const n of ['mask-0x100', 'mask-0x300', 'decide-xcr0', 'decide-host-supported', 'decide-leaf7-pku', 'wrong-byte-512', 'wrong-offset-xcomp', 'clear-outside-guest-supported', 'clear-when-confidential', 'zero-pkru-area', 'toggle-pkru', 'off-by-one-bit10']) {
      expect(names).toContain(n);
    }
    // every property is somebody's expected killer
    expect(new Set(mutants.map((m) => m.expectedKiller).filter(Boolean))).toEqual(new Set(PROPERTY_IDS));
  });
});

describe('kills', () => {
  test('every non-equivalent mutant is killed by its expected killer (300 runs, seeds 1 and 2)', () => {
    const missed: string[] = [];
    for (const m of mutants.filter((x) => x.expectedKiller)) {
      for (const seed of [1, 2]) {
        const r = runProperty(PROPS[m.expectedKiller!], m.fixup, { seed, numRuns: 300, coverage: false });
        if (!r.failed) missed.push(`${m.name} (${m.expectedKiller}, seed ${seed})`);
        else expect(r.error).toBeNull(); // killed by the property's predicate, not by a crash
      }
    }
    expect(missed).toEqual([]);
  });

  test('the argued-equivalent mutants and the Proxmox patch survive P1-P5 (200 runs)', () => {
    const killed: string[] = [];
    for (const f of [...mutants.filter((x) => x.equivalent).map((m) => m.fixup), PVE_FIXUP]) {
      for (const id of PROPERTY_IDS) {
        const r = runProperty(PROPS[id], f, { seed: 3, numRuns: 200, coverage: false });
        if (r.failed) killed.push(`${f.name} by ${id}: ${r.reason}`);
      }
    }
    expect(killed).toEqual([]);
  });
});

describe('kill matrix', () => {
  test('a row records, per property, killed with the time to kill, or survived', () => {
    const m = mutants.find((x) => x.name === 'zero-pkru-area')!;
    const row = killRow(m, { seconds: 0.3, seed: 1, properties: ['P1', 'P3'], schedule: [10, 100] });
    expect(row.cells.P3.killed).toBe(true);
    expect(row.cells.P3.timeToKillMs).toEqual(expect.any(Number));
    expect(row.cells.P3.reason).toMatch(/byte \d+ changed/);
    expect(row.cells.P1.killed).toBe(false); // it only writes when it clears: valid buffers are untouched
    expect(row.cells.P1.timeToKillMs).toBeNull();
    expect(row.verdict).toBe('killed');
    expect(row.expectedKillerKilled).toBe(true);
  });

  test('killMatrix returns the data the report uses, with the control row, and formats as a table', async () => {
    const m = await killMatrix({ seconds: 0.2, seed: 1, only: ['toggle-pkru', 'always-writes'], schedule: [20, 100] });
    expect(m.rows.map((r) => r.mutant)).toEqual(['pve (control)', 'always-writes', 'toggle-pkru']);
    expect(m.rows[0]!.verdict).toBe('control-ok');
    expect(m.rows[1]!.verdict).toBe('equivalent');
    expect(m.rows[2]!.verdict).toBe('killed');
    expect(m.summary).toMatchObject({ mutants: 2, killed: 1, equivalent: 1, survived: 0, score: 1, ok: true });
    const text = formatKillMatrix(m);
    expect(text).toMatch(/toggle-pkru\s+\d+ms/);
    expect(text).toMatch(/always-writes\s+survived/);
  });

  test('`mutants --json` prints the matrix and exits 0; an unknown mutant is an unusable input', async () => {
    const out: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await mutantsCmd.run(['--json', '--seconds', '0.1', '--only', 'mask-0x100', '--properties', 'P3'])).toBe(0);
      const m = JSON.parse(out.join('\n'));
      expect(m.rows[1].mutant).toBe('mask-0x100');
      expect(m.rows[1].cells.P3.killed).toBe(true);
      expect(await mutantsCmd.run(['--only', 'no-such-mutant'])).toBe(2);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });
});

describe('Stryker report summary (mutants/mutationReport.ts)', () => {
  test('counts statuses, computes the score as Stryker does and lists the survivors with their source text', () => {
    const { summarizeMutationReport } = require('../mutants/mutationReport') as typeof import('../mutants/mutationReport');
    const loc = (line: number, c0: number, c1: number) => ({ start: { line, column: c0 }, end: { line, column: c1 } });
    const s = summarizeMutationReport({
      schemaVersion: '2',
      files: {
        'model/a.ts': {
          source: 'const x = a & b;\nreturn x;',
          mutants: [
            { id: '1', mutatorName: 'ArithmeticOperator', replacement: 'a | b', location: loc(1, 11, 16), status: 'Survived' },
            { id: '2', mutatorName: 'BlockStatement', replacement: '{}', location: loc(2, 1, 10), status: 'Killed' },
            { id: '3', mutatorName: 'StringLiteral', replacement: '""', location: loc(2, 1, 10), status: 'Timeout' },
            { id: '4', mutatorName: 'StringLiteral', replacement: '""', location: loc(2, 1, 10), status: 'NoCoverage' },
          ],
        },
      },
    });
    expect(s.totals).toMatchObject({ total: 4, killed: 1, timeout: 1, survived: 1, noCoverage: 1, score: 0.5, scoreCovered: 2 / 3 });
    expect(s.survivors[0]).toMatchObject({ file: 'model/a.ts', line: 1, original: 'a & b', replacement: 'a | b', status: 'Survived' });
    expect(s.survivors).toHaveLength(2);
  });
});
