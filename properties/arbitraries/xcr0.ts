// XCR0 values: any 64-bit candidate is repaired into one KVM accepts for the vCPU (so valid
// values are generated directly), and raw candidates are kept for the invalid side.
import fc from 'fast-check';
import { MASK, XFEATURE, hasBit, xcr0Violation } from '../../model';

/** The largest XCR0 ⊆ candidate ∩ (guestSupported | x87) that satisfies __kvm_set_xcr's rules. */
export function repairXcr0(candidate: bigint, guestSupported: bigint): bigint {
  let x = (candidate & guestSupported) | MASK.FP;
  if (hasBit(x, XFEATURE.YMM) && !hasBit(x, XFEATURE.SSE)) x &= ~MASK.YMM;
  if ((x & MASK.MPX) !== MASK.MPX) x &= ~MASK.MPX;
  if ((x & MASK.AVX512) !== MASK.AVX512 || !hasBit(x, XFEATURE.YMM)) x &= ~MASK.AVX512;
  if ((x & MASK.XTILE) !== MASK.XTILE) x &= ~MASK.XTILE;
  if (xcr0Violation(x, guestSupported, { amxPairRule: true }) !== null) return MASK.FP;
  return x;
}

/** 64-bit candidates biased towards the user bits 0-19. */
export const maskArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: (1n << 20n) - 1n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
);
