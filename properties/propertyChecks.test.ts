// The property checks themselves: each must report a violation, with its own reason, when fed a
// bad input (the negative controls of properties.test.ts only check that a run fails), and the
// runner must honour its options. Seeds are fixed.
import fc from 'fast-check';
import { HOSTS, KERNELS, MASK, OFF, Fixup, PVE_FIXUP, kernelById, migrate, readU64, writeU64 } from '../model';
import { brokenFixup } from './brokenFixups';
import { P1, P2, P3, P4, P5, PropertyDef, PropertyFailure, cpuidChoiceAsVcpu, leakSpec, makeP2, roundTrip, roundTripArb, runProperty, withoutPkru } from './properties';
import { leakScenarioArb } from './arbitraries/scenarios';

const SEED = 20261124;

// A fixup that sets an undefined XSTATE_BV bit: every SET refuses the buffer it returns.
const POISON: Fixup = { name: 'poison', fn: (_ctx, r) => writeU64(r, OFF.XSTATE_BV, readU64(r, OFF.XSTATE_BV) | (1n << 62n)) };

describe('each property names the violation it found', () => {
  test('P1: a fixup that edits a valid buffer is reported as such (the patch may only touch leaked buffers)', () => {
    const r = runProperty(P1, brokenFixup('always-clear'), { seed: SEED, numRuns: 1500, coverage: false });
    expect(r.failed).toBe(true);
    expect(r.reason).toBe('the fixup changed a valid buffer');
  });

  test('P2: a scenario whose source kernel does not leak fails the precondition, not silently', () => {
    const [s] = fc.sample(leakScenarioArb(), { seed: SEED, numRuns: 1 });
    const clean = { ...s!, sourceKernel: kernelById('linux-6.2')! };
    expect(P2.check(clean, PVE_FIXUP)).toMatch(/^precondition: the saved XSTATE_BV 0x[0-9a-f]+ is not leaked$/);
  });

  test('P2: a refused restore names the outcome and the failing step', () => {
    const p = makeP2(leakScenarioArb([kernelById('linux-6.2')!]));
    const r = runProperty(p, { name: 'none', fn: () => undefined }, { seed: SEED, numRuns: 200, coverage: false });
    expect(r.reason).toMatch(/^outcome \w+ \(xsave: outside-(user-xfeatures|supported)[^)]*\)(, differs in [\w,]+)?$/);
  });

  test('P2: a restore that is accepted but loses state names the outcome and the differing fields', () => {
    const fix = brokenFixup('clears-fp-too');
    const r = runProperty(P2, fix, { seed: SEED, numRuns: 500, coverage: false });
    const m = migrate(leakSpec(r.counterexample!), fix);
    expect(m.diff.length).toBeGreaterThan(0);
    expect(r.reason).toBe(`outcome ${m.outcome}, differs in ${m.diff.join(',')}`);
  });

  test('P2: several lost components are all listed, comma-separated', () => {
    const wipe: Fixup = { name: 'wipe', fn: (_ctx, b) => { b.fill(0, 0, 512); writeU64(b, OFF.XSTATE_BV, 0n); } };
    const s = fc.sample(leakScenarioArb(), { seed: SEED, numRuns: 300 }).find((x) => migrate(leakSpec(x), wipe).diff.length >= 2);
    const m = migrate(leakSpec(s!), wipe);
    expect(P2.check(s!, wipe)).toBe(`outcome ${m.outcome}, differs in ${m.diff[0]},${m.diff.slice(1).join(',')}`);
  });

  test('P3: a fixup that toggles bit 9 is not idempotent', () => {
    const r = runProperty(P3, brokenFixup('toggle-pkru'), { seed: SEED, numRuns: 1500, coverage: false });
    expect(r.reason).toBe('not idempotent: a second application changed the buffer again');
  });

  test('P3: a fixup that detaches the buffer (transfers its ArrayBuffer) is reported as a length change', () => {
    // A typed array cannot be resized, but transferring its memory leaves it 0 bytes long.
    const detach: Fixup = { name: 'detacher', fn: (_ctx, r) => void structuredClone(r.buffer, { transfer: [r.buffer as ArrayBuffer] }) };
    const r = runProperty(P3, detach, { seed: SEED, numRuns: 10, coverage: false });
    expect(r.reason).toBe('the fixup changed the buffer length');
  });

  test('P4: a fixup that makes a refused buffer acceptable is reported with the plain refusal', () => {
    const r = runProperty(P4, brokenFixup('also-clears-xcomp'), { seed: SEED, numRuns: 1500, coverage: false });
    expect(r.reason).toMatch(/^refused without the fixup \([\w-]+\) but accepted with it$/);
  });

  test('P5: a fixup that makes SET refuse GET\'s own buffer is reported with the refusal', () => {
    const [s] = fc.sample(roundTripArb(), { seed: SEED, numRuns: 1 });
    const rt = roundTrip(s!, POISON);
    expect(rt.setRc).toBe('EINVAL');
    expect(rt.diff).toEqual([]);
    expect(rt.why).toMatch(/^SET refused GET's own buffer \([\w-]+\)$/);
  });

  test('P5: a fixup that loses guest state is reported with the differing fields', () => {
    const r = runProperty(P5, brokenFixup('clears-fp-too'), { seed: SEED, numRuns: 1500, coverage: false });
    expect(r.failed).toBe(true);
    const rt = roundTrip(r.counterexample!, brokenFixup('clears-fp-too'));
    expect(rt.setRc).toBe('0');
    expect(rt.diff.length).toBeGreaterThan(0);
    expect(rt.why).toBe(`guest-visible state differs in ${rt.diff.join(',')}`);
    expect(r.reason).toBe(rt.why);
  });

  test('P5: several lost components are all listed, comma-separated', () => {
    // resets the whole buffer to the init state: every component the guest used is lost
    const wipe: Fixup = { name: 'wipe', fn: (_ctx, b) => { b.fill(0, 0, 512); writeU64(b, OFF.XSTATE_BV, 0n); } };
    const s = fc.sample(roundTripArb(), { seed: SEED, numRuns: 300 }).find((x) => roundTrip(x, wipe).diff.length >= 2);
    const rt = roundTrip(s!, wipe);
    expect(rt.why).toBe(`guest-visible state differs in ${rt.diff[0]},${rt.diff.slice(1).join(',')}`);
  });
});

describe('property helpers', () => {
  test('withoutPkru clears bit 9 of XSTATE_BV in a copy, leaving its input alone', () => {
    const region = new Uint8Array(4096);
    writeU64(region, OFF.XSTATE_BV, MASK.FPSSE | MASK.PKRU);
    const out = withoutPkru(region);
    expect(readU64(out, OFF.XSTATE_BV)).toBe(MASK.FPSSE);
    expect(readU64(region, OFF.XSTATE_BV)).toBe(MASK.FPSSE | MASK.PKRU);
  });

  test('named CPU models travel as names; a vCPU whose CPUID is never set travels as an empty table', () => {
    const host = Object.values(HOSTS)[0]!;
    const k = KERNELS[0]!;
    expect(cpuidChoiceAsVcpu({ kind: 'model', name: 'host' }, host, k)).toEqual({ cpuModel: 'host' });
    expect(cpuidChoiceAsVcpu({ kind: 'never-set' }, host, k)).toEqual({ cpuid: [] });
  });

  test('P5 scenarios always have a non-zero host PKRU (the leak needs one)', () => {
    const xs = fc.sample(roundTripArb(), { seed: SEED, numRuns: 500 });
    expect(xs.every((s) => s.guest.hostPkru !== 0)).toBe(true);
    expect(xs.some((s) => s.guest.pkru !== 0)).toBe(true);
  });

  test('each property carries its id, title and statement for the report', () => {
    const ps = [P1, P2, P3, P4, P5] as PropertyDef<unknown>[];
    expect(ps.map((p) => p.id)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
    for (const p of ps) {
      expect(p.title.length).toBeGreaterThan(5);
      expect(p.statement.length).toBeGreaterThan(50);
    }
    expect(new PropertyFailure('x').name).toBe('PropertyFailure');
  });
});

describe('coverage classes of each property', () => {
  const cases: [PropertyDef<unknown>, RegExp][] = [
    [P1 as PropertyDef<unknown>, /^kernel:[\w.+-]+$/],
    [P2 as PropertyDef<unknown>, /^target:[\w.+-]+$/],
    [P3 as PropertyDef<unknown>, /^bv:(valid|leaked|random)$/],
    [P4 as PropertyDef<unknown>, /^(accepted|rejected:(?!null$)[\w-]+)$/],
    [P5 as PropertyDef<unknown>, /^kernel:[\w.+-]+$/],
  ];
  test.each(cases)('%#: classes are named after the scenario', (p, re) => {
    const r = runProperty(p, PVE_FIXUP, { seed: SEED, numRuns: 60 });
    expect(Object.keys(r.coverage).length).toBeGreaterThan(1);
    for (const k of Object.keys(r.coverage)) expect(k).toMatch(re);
    expect(Object.values(r.coverage).reduce((a, b) => a + b, 0)).toBe(60);
  });
  test('P4 sees both accepted and rejected buffers', () => {
    const r = runProperty(P4, PVE_FIXUP, { seed: SEED, numRuns: 200 });
    expect(r.coverage.accepted).toBeGreaterThan(0);
    expect(Object.keys(r.coverage).some((k) => k.startsWith('rejected:'))).toBe(true);
  });
});

describe('runProperty honours its options', () => {
  function counting(check: (n: number) => string | null = () => null): { p: PropertyDef<number>; calls: () => number; classified: () => number } {
    let calls = 0;
    let classified = 0;
    const p: PropertyDef<number> = {
      id: 'P1', title: 't', statement: 's', arb: fc.integer({ min: 0, max: 1000 }),
      build: () => null,
      check: (n) => { calls++; return check(n); },
      classify: (n) => { classified++; return n % 2 ? 'odd' : 'even'; },
    };
    return { p, calls: () => calls, classified: () => classified };
  }

  test('numRuns is the number of checks; coverage:false skips classification', () => {
    const c = counting();
    const r = runProperty(c.p, PVE_FIXUP, { seed: 1, numRuns: 7, coverage: false });
    expect(c.calls()).toBe(7);
    expect(c.classified()).toBe(0);
    expect(r.coverage).toEqual({});
    expect(r.failed).toBe(false);
  });

  test('coverage samples numRuns values, capped at 2000, and counts them per class', () => {
    const c = counting();
    const r = runProperty(c.p, PVE_FIXUP, { seed: 1, numRuns: 2500 });
    expect(c.classified()).toBe(2000);
    expect((r.coverage.odd ?? 0) + (r.coverage.even ?? 0)).toBe(2000);
    expect(r.coverage.odd).toBeGreaterThan(500);
    expect(r.coverage.even).toBeGreaterThan(500);
  });

  test('the same seed gives the same counterexample and path; the path replays it', () => {
    const c = counting((n) => (n > 500 ? 'big' : null));
    const a = runProperty(c.p, PVE_FIXUP, { seed: 5, numRuns: 100, coverage: false });
    const b = runProperty(c.p, PVE_FIXUP, { seed: 5, numRuns: 100, coverage: false });
    expect(a.failed).toBe(true);
    expect(a.reason).toBe('big');
    expect(a.error).toBeNull();
    expect(b.path).toBe(a.path);
    expect(b.counterexample).toBe(a.counterexample);
    const before = c.calls();
    const replay = runProperty(c.p, PVE_FIXUP, { seed: 5, numRuns: 100, coverage: false, path: a.path! });
    expect(replay.counterexample).toBe(a.counterexample);
    expect(c.calls() - before).toBeLessThan((before / 2) * 0.5);
  });

  test('a check that crashes is reported as an error, not as a property violation', () => {
    const c = counting(() => { throw new TypeError('boom'); });
    const r = runProperty(c.p, PVE_FIXUP, { seed: 1, numRuns: 5, coverage: false });
    expect(r.failed).toBe(true);
    expect(r.error).toMatch(/TypeError: boom/);
  });
});
