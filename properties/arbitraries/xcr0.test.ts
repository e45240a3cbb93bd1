// repairXcr0 must return the LARGEST XCR0 inside candidate ∩ (guestSupported | x87) that
// __kvm_set_xcr accepts (model/xcr0.ts), so valid XCR0 values are generated directly.
import fc from 'fast-check';
import { MASK, xcr0Violation } from '../../model';
import { maskArb, repairXcr0 } from './xcr0';

const SSE = MASK.FPSSE & ~MASK.FP;
const BNDREGS = MASK.MPX & -MASK.MPX;
const OPMASK = MASK.AVX512 & -MASK.AVX512;
const XTILECFG = MASK.XTILE & -MASK.XTILE;
const ALL = MASK.FPSSE | MASK.YMM | MASK.MPX | MASK.AVX512 | MASK.PKRU | MASK.XTILE;

describe('repairXcr0 keeps the largest valid subset', () => {
  // __kvm_set_xcr: YMM requires SSE.
  test('YMM without SSE is dropped, other valid bits stay', () => {
    expect(repairXcr0(MASK.YMM | MASK.MPX, ALL)).toBe(MASK.FP | MASK.MPX);
    expect(repairXcr0(MASK.FPSSE | MASK.YMM, ALL)).toBe(MASK.FPSSE | MASK.YMM);
  });
  // __kvm_set_xcr: BNDREGS and BNDCSR must be set together.
  test('MPX is kept as a pair and dropped when partial', () => {
    expect(repairXcr0(MASK.MPX, ALL)).toBe(MASK.FP | MASK.MPX);
    expect(repairXcr0(SSE | BNDREGS, ALL)).toBe(MASK.FPSSE);
  });
  // __kvm_set_xcr: AVX-512 needs all three bits and YMM.
  test('AVX-512 is kept complete with YMM, dropped when partial or without YMM', () => {
    expect(repairXcr0(MASK.FPSSE | MASK.YMM | MASK.AVX512, ALL)).toBe(MASK.FPSSE | MASK.YMM | MASK.AVX512);
    expect(repairXcr0(MASK.FPSSE | MASK.YMM | OPMASK, ALL)).toBe(MASK.FPSSE | MASK.YMM);
    expect(repairXcr0(MASK.FPSSE | MASK.AVX512, ALL)).toBe(MASK.FPSSE);
  });
  // __kvm_set_xcr (AMX): XTILECFG and XTILEDATA must be set together.
  test('AMX tiles are kept as a pair and dropped when partial', () => {
    expect(repairXcr0(MASK.FPSSE | MASK.XTILE, ALL)).toBe(MASK.FPSSE | MASK.XTILE);
    expect(repairXcr0(MASK.FPSSE | XTILECFG, ALL)).toBe(MASK.FPSSE);
  });
  test('bits outside guestSupported are removed, x87 always present', () => {
    expect(repairXcr0(ALL, MASK.FPSSE | MASK.YMM)).toBe(MASK.FPSSE | MASK.YMM);
    expect(repairXcr0(0n, 0n)).toBe(MASK.FP);
  });
  test('every repaired sample is accepted by xcr0Violation and within the candidate', () => {
    for (const c of fc.sample(maskArb, { seed: 42, numRuns: 500 })) {
      const x = repairXcr0(c, ALL);
      expect(xcr0Violation(x, ALL, { amxPairRule: true })).toBeNull();
      expect(x & ~(c | MASK.FP)).toBe(0n);
    }
  });
});
