// P1-P5 against the Proxmox patch, and each property's negative controls: broken fixups and
// the unpatched kernels, shown to be caught. Seeds are fixed and named in the test titles;
// a failure prints fast-check's seed and path.
import fc from 'fast-check';
import { HOSTS, KERNELS, MASK, OFF, PVE_FIXUP, Fixup, hex, kernelById, migrate, readU64, setXsave } from '../model';
import { NEGATIVE_CONTROLS } from './brokenFixups';
import { P1, P2, P3, P4, P5, PropertyDef, leakSpec, makeP2, makeP5, roundTripArb, runProperty } from './properties';
import { IoctlScenario, buildIoctl, classify, ioctlScenarioArb, leakScenarioArb, sourceGuestFeatures } from './arbitraries/scenarios';
import { hostArb } from './arbitraries/hosts';

const SEED = 20261124;
const RUNS = 1500;
const NONE: Fixup = { name: 'none', fn: () => undefined };

function expectHolds<S>(p: PropertyDef<S>, fixup: Fixup, runs = RUNS): void {
  const r = runProperty(p, fixup, { seed: SEED, numRuns: runs, coverage: false });
  if (r.failed) throw new Error(`${p.id} failed (seed ${r.seed}, path ${r.path}): ${r.reason}\n${fc.stringify(r.counterexample)}`);
}

describe(`P1-P5 hold for the Proxmox patch (seed ${SEED}, ${RUNS} runs each)`, () => {
  for (const p of [P1, P2, P3, P4, P5] as PropertyDef<unknown>[]) {
    test(`${p.id}: ${p.title} (seed ${SEED})`, () => expectHolds(p, PVE_FIXUP));
  }
});

describe('negative controls: every broken fixup is caught by the property it breaks', () => {
  const props: Record<string, PropertyDef<unknown>> = { P1, P2, P3, P4, P5 } as Record<string, PropertyDef<unknown>>;
  for (const b of NEGATIVE_CONTROLS) {
    test(`${b.control} catches ${b.name}: ${b.description} (seed ${SEED})`, () => {
      const r = runProperty(props[b.control]!, b, { seed: SEED, numRuns: RUNS, coverage: false });
      expect(r.failed).toBe(true);
      expect(r.error).toBeNull(); // failed through the property's own check, not a crash
      expect(r.path).toMatch(/^\d+(:\d+)*$/);
    });
  }
});

describe('negative controls: without the fixup, P2 fails where the unpatched kernels fail', () => {
  test(`linux-6.2 refuses leaked state on any host; the shrunk case is the incident's minimal story (seed ${SEED})`, () => {
    const p = makeP2(leakScenarioArb([kernelById('linux-6.2')!]));
    const r = runProperty(p, NONE, { seed: SEED, numRuns: 200, coverage: false });
    expect(r.failed).toBe(true);
    // refused by user_xfeatures (PKU target) or by the supported XCR0 (target without PKU)
    expect(r.reason).toMatch(/xsave: outside-(user-xfeatures|supported)/);
    const s = r.counterexample!;
    // A guest without XSAVE (CPUID-derived guest-supported XCR0 = 0) whose saved XSTATE_BV is x87|SSE|PKRU or less.
    expect(sourceGuestFeatures(s)).toBe(0n);
    const m = migrate(leakSpec(s), NONE);
    expect(m.savedXstateBv & ~(MASK.FPSSE | MASK.PKRU)).toBe(0n);
    expect(m.savedXstateBv & MASK.PKRU).toBe(MASK.PKRU);
    const saved = p.check(s, PVE_FIXUP); // with the patch the same scenario is intact
    expect(saved).toBeNull();
  });

  test.each(['linux-6.6', 'linux-6.12', 'linux-6.19'])(`%s without the fixup: intact on PKU targets, refused on targets without PKU (seed ${SEED})`, (id) => {
    const kernel = kernelById(id)!;
    const withPku = makeP2(leakScenarioArb([kernel], hostArb.filter((h) => (h.xcr0 & MASK.PKRU) !== 0n)));
    expect(runProperty(withPku, NONE, { seed: SEED, numRuns: 300, coverage: false }).failed).toBe(false);
    const noPku = makeP2(leakScenarioArb([kernel], hostArb.filter((h) => (h.xcr0 & MASK.PKRU) === 0n)));
    const r = runProperty(noPku, NONE, { seed: SEED, numRuns: 300, coverage: false });
    expect(r.failed).toBe(true);
    expect(r.reason).toMatch(/outside-supported/);
    expect(sourceGuestFeatures(r.counterexample!)).toBe(0n);
  });

  test('P5 on linux-5.17 fails: its GET drops x87/SSE of guests without XSAVE (fixed by a1020a25e697)', () => {
    const p = makeP5(roundTripArb([kernelById('linux-5.17')!]));
    const r = runProperty(p, PVE_FIXUP, { seed: SEED, numRuns: 500, coverage: false });
    expect(r.failed).toBe(true);
  });
});

describe('coverage: the generators produce every class often', () => {
  test(`ioctl scenarios: valid, leaked and rejected each ≥ 15% (seed ${SEED})`, () => {
    const counts: Record<string, number> = {};
    const lines: string[] = [];
    const arb = ioctlScenarioArb();
    const classOf = (s: IoctlScenario): string => {
      const b = buildIoctl(s);
      const r = setXsave(b.vcpu, b.region, null);
      const cls = classify(readU64(b.region, OFF.XSTATE_BV), b.guestSupported);
      if (r.rc !== 0 && cls !== 'leaked') return 'rejected';
      return cls === 'other' ? 'accepted-other' : cls;
    };
    fc.statistics(arb, (s) => {
      const c = classOf(s);
      counts[c] = (counts[c] ?? 0) + 1;
      return c;
    }, { seed: SEED, numRuns: 3000, logger: (l) => lines.push(l) });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    for (const c of ['valid', 'leaked', 'rejected']) expect((counts[c] ?? 0) / total).toBeGreaterThanOrEqual(0.15);
    expect(lines.join('\n')).toMatch(/leaked/);
  });

  test('migration scenarios for P2 reach every target kernel, both PKU cases and both QEMU policies', () => {
    const seen = new Set<string>();
    for (const s of fc.sample(leakScenarioArb(), { seed: SEED, numRuns: 3000 })) {
      seen.add(`k:${s.targetKernel.id}`);
      seen.add(`policy:${s.vmm.policy}`);
      seen.add(`pku:${(s.targetBase.xcr0 & MASK.PKRU) !== 0n}`);
    }
    for (const k of KERNELS) if (k.id !== 'linux-5.17') expect(seen).toContain(`k:${k.id}`);
    for (const x of ['policy:ignore', 'policy:abort', 'pku:true', 'pku:false']) expect(seen).toContain(x);
  });
});

test('the catalogue hosts the properties draw from include PKU and non-PKU hosts of both vendors', () => {
  const hosts = Object.values(HOSTS);
  for (const vendor of ['intel', 'amd'] as const) {
    expect(hosts.some((h) => h.vendor === vendor && (h.xcr0 & MASK.PKRU) !== 0n)).toBe(true);
    expect(hosts.some((h) => h.vendor === vendor && (h.xcr0 & MASK.PKRU) === 0n)).toBe(true);
  }
  expect(hex(MASK.PKRU)).toBe('0x200');
});
