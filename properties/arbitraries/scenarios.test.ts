// Coverage and contract tests for the scenario generators and builders the properties quantify
// over (P1-P5 are only as strong as the scenarios these produce).
import fc from 'fast-check';
import { HOSTS, KERNELS, MASK, OFF, XFEATURE, readU32, readU64, slotOf } from '../../model';
import {
  IoctlScenario,
  buildIoctl,
  classify,
  fillBytes,
  guestChoiceArb,
  ioctlScenarioArb,
  targetHostFor,
  xstateBvFor,
} from './scenarios';
import { repairXcr0 } from './xcr0';

const U32 = 0xffffffff;

/** xorshift32 (Marsaglia 2003) one byte at a time: an independent statement of what fillBytes documents. */
function referenceFill(len: number, seed: number, from: number, to: number): number[] {
  const out = new Array<number>(len).fill(0xaa);
  let x = (seed * 0x9e3779b1 + 0x6d2b79f5) >>> 0 || 1;
  for (let i = from; i < to; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    for (let k = 0; k < 4 && i + k < to; k++) out[i + k] = (x >>> (8 * k)) & 0xff;
  }
  return out;
}

describe('fillBytes: deterministic xorshift32 component contents', () => {
  // The region contents must be a pure function of the seed (fast-check replays and shrinks by seed),
  // cover every byte of [from, to) and nothing outside it.
  test.each([
    [64, 0, 0, 64],
    [64, 1, 0, 64],
    [64, 0xffff, 0, 64],
    [40, 77, 3, 30],
    [40, 1234, 5, 31],
    [40, 999, 6, 29],
    [40, 31, 4, 20],
    [40, 32, 2, 23],
  ])('len %i seed %i fills exactly [%i, %i) with the xorshift32 stream', (len, seed, from, to) => {
    const b = new Uint8Array(len).fill(0xaa);
    fillBytes(b, seed, from, to);
    expect(Array.from(b)).toEqual(referenceFill(len, seed, from, to));
  });

  test('the fill covers the whole buffer by default and differs between seeds', () => {
    const a = new Uint8Array(64);
    const c = new Uint8Array(64);
    fillBytes(a, 5);
    fillBytes(c, 6);
    expect(Array.from(a)).toEqual(referenceFill(64, 5, 0, 64));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(a.filter((v) => v === 0).length).toBeLessThan(8);
  });
});

describe('xstateBvFor / classify: the three XSTATE_BV classes P1 distinguishes', () => {
  const noPkru = MASK.FPSSE | MASK.YMM;
  const withPkru = MASK.FPSSE | MASK.YMM | MASK.PKRU;

  test('a "leaked" draw for a guest that has PKRU adds nothing outside its supported set', () => {
    // Only a guest without PKRU can be handed the host-only PKRU bit d69c1382e1b7 leaks.
    expect(xstateBvFor('leaked', MASK.FPSSE, withPkru)).toBe(MASK.FPSSE);
    expect(xstateBvFor('leaked', MASK.FPSSE, noPkru)).toBe(MASK.FPSSE | MASK.PKRU);
  });

  test('classify: within the guest set is valid, plus only PKRU is leaked, anything else is other', () => {
    expect(classify(MASK.FPSSE | MASK.YMM, noPkru)).toBe('valid');
    expect(classify(MASK.FPSSE | MASK.PKRU, noPkru)).toBe('leaked');
    expect(classify(MASK.FPSSE | MASK.PKRU | MASK.XTILE, noPkru)).toBe('other');
    expect(classify(MASK.FPSSE | MASK.XTILE, noPkru)).toBe('other');
    expect(classify(MASK.FPSSE | MASK.XTILE, withPkru)).toBe('other');
  });
});

describe('buildIoctl: the scenario is what reaches KVM_SET_XSAVE', () => {
  const base: IoctlScenario = {
    kernel: KERNELS.find((k) => k.id === 'linux-5.15')!,
    host: HOSTS['skylake-sp'],
    cpuid: { kind: 'leaf0d', eax: 0x207, edx: 0, pku: true },
    confidential: false,
    xcr0Candidate: MASK.FPSSE | MASK.YMM | MASK.PKRU,
    bvKind: 'valid',
    bvBits: MASK.FPSSE,
    xcompBv: 0n,
    reserved: { offset: 540, value: 0x5a },
    mxcsr: 0x1f80,
    fill: 7,
    pkruArea: 0x12345678,
    xfd: 0n,
  };

  test('XCR0 is set to the repaired candidate and the header/MXCSR/PKRU fields are written', () => {
    const b = buildIoctl(base);
    expect(b.vcpu.xcr0).toBe(repairXcr0(base.xcr0Candidate, b.vcpu.guestSupportedXcr0));
    expect(b.vcpu.xcr0).not.toBe(MASK.FPSSE);
    expect(b.vcpu.xcr0 & MASK.YMM).toBe(MASK.YMM);
    expect(readU64(b.region, OFF.XSTATE_BV)).toBe(MASK.FPSSE);
    expect(b.region[540]).toBe(0x5a);
    expect(readU32(b.region, OFF.MXCSR)).toBe(0x1f80);
    expect(readU32(b.region, slotOf(base.host.layout, XFEATURE.PKRU)!.offset)).toBe(0x12345678);
    expect(b.cls).toBe('valid');
  });

  test('a host without a PKRU area builds without writing one', () => {
    const b = buildIoctl({ ...base, host: HOSTS.haswell, cpuid: { kind: 'leaf0d', eax: 0x7, edx: 0, pku: false }, xcr0Candidate: MASK.FPSSE | MASK.YMM });
    expect(b.vcpu.xcr0).toBe(MASK.FPSSE | MASK.YMM);
    expect(b.region.length).toBe(b.vcpu.uabiSize);
  });

  test('a confidential scenario yields a confidential vCPU', () => {
    expect(buildIoctl({ ...base, confidential: true }).vcpu.confidential).toBe(true);
    expect(buildIoctl(base).vcpu.confidential).toBe(false);
  });
});

describe('targetHostFor: widening the migration target', () => {
  test('a base that already carries the guest features is kept as drawn (a catalogue CPU stays itself)', () => {
    expect(targetHostFor(HOSTS.zen4, MASK.FPSSE | MASK.YMM)).toBe(HOSTS.zen4);
    expect(targetHostFor(HOSTS.zen4, MASK.FPSSE | MASK.YMM).name).toBe('zen4');
  });

  test('widening keeps an AMD vendor unless MPX or AMX is needed (AMD has no area for them)', () => {
    const amd = targetHostFor(HOSTS.zen1, MASK.FPSSE | MASK.YMM | MASK.AVX512);
    expect(amd.vendor).toBe('amd');
    expect(amd.xcr0).toBe(MASK.FPSSE | MASK.YMM | MASK.AVX512);
    expect(targetHostFor(HOSTS.zen1, MASK.FPSSE | MASK.MPX).vendor).toBe('intel');
  });
});

describe('generator coverage (fixed seed)', () => {
  test('ioctlScenarioArb: confidential both ways, reserved-header bytes in range, MXCSR within 32 bits', () => {
    const xs = fc.sample(ioctlScenarioArb(), { seed: 42, numRuns: 600 });
    const conf = xs.filter((s) => s.confidential === true).length;
    expect(xs.every((s) => typeof s.confidential === 'boolean')).toBe(true);
    expect(conf).toBeGreaterThan(10);
    expect(conf).toBeLessThan(300);
    const reserved = xs.filter((s) => s.reserved !== null);
    expect(reserved.length).toBeGreaterThan(10);
    for (const s of reserved) {
      // the reserved header is bytes 528-575 (SDM Vol. 1 §13.4.2); a zero byte would not be "reserved set"
      expect(s.reserved!.offset).toBeGreaterThanOrEqual(528);
      expect(s.reserved!.offset).toBeLessThanOrEqual(575);
      expect(s.reserved!.value).toBeGreaterThanOrEqual(1);
      expect(s.reserved!.value).toBeLessThanOrEqual(255);
    }
    for (const s of xs) {
      expect(s.mxcsr).toBeGreaterThanOrEqual(0);
      expect(s.mxcsr).toBeLessThanOrEqual(U32);
      expect(s.fill).toBeGreaterThanOrEqual(0);
      expect(s.fill).toBeLessThanOrEqual(0xffff);
      expect(s.pkruArea).toBeGreaterThanOrEqual(0);
      expect(s.pkruArea).toBeLessThanOrEqual(U32);
    }
    expect(xs.filter((s) => s.mxcsr <= 0xffff).length).toBeGreaterThan(xs.length / 2);
    expect(xs.some((s) => s.mxcsr > 0xffff)).toBe(true);
  });

  test('ioctlScenarioArb with cleanHeader: XCOMP_BV 0, no reserved byte, MXCSR within 16 bits', () => {
    const xs = fc.sample(ioctlScenarioArb(['valid'], { cleanHeader: true }), { seed: 42, numRuns: 300 });
    for (const s of xs) {
      expect(s.xcompBv).toBe(0n);
      expect(s.reserved).toBeNull();
      expect(s.mxcsr).toBeGreaterThanOrEqual(0);
      expect(s.mxcsr).toBeLessThanOrEqual(0xffff);
    }
  });

  test('guestChoiceArb: PKRU values are 32-bit, host PKRU non-zero only when asked', () => {
    for (const nonZero of [true, false]) {
      const xs = fc.sample(guestChoiceArb({ hostPkruNonZero: nonZero }), { seed: 42, numRuns: 400 });
      for (const g of xs) {
        expect(g.pkru).toBeGreaterThanOrEqual(0);
        expect(g.pkru).toBeLessThanOrEqual(U32);
        expect(g.hostPkru).toBeGreaterThanOrEqual(nonZero ? 1 : 0);
        expect(g.hostPkru).toBeLessThanOrEqual(U32);
        expect(g.mxcsr).toBeGreaterThanOrEqual(0);
        expect(g.mxcsr).toBeLessThanOrEqual(0xffff);
      }
      expect(xs.some((g) => g.pkru > 0x7fffffff)).toBe(true);
    }
  });
});
