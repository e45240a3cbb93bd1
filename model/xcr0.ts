// XCR0 validity: KVM's __kvm_set_xcr (used by KVM_SET_XCRS and guest XSETBV), identical in
// 6.2-6.19; 5.15 lacks the AMX pair rule (kernel-semantics.md §5.2). The SDM's XSETBV rules
// mirror these (§8.4).
import { MASK, XFEATURE, hasBit } from './xfeatures';

export type Xcr0Violation =
  | 'x87-clear'
  | 'ymm-without-sse'
  | 'outside-guest-supported'
  | 'mpx-pair'
  | 'avx512-partial-or-without-ymm'
  | 'amx-pair';

export interface Xcr0Rules {
  /** the AMX pair rule exists (5.17+, with AMX support) */
  amxPairRule: boolean;
}

/** The first rule `xcr0` breaks, in KVM's order, or null when KVM accepts it. */
export function xcr0Violation(xcr0: bigint, guestSupported: bigint, rules: Xcr0Rules): Xcr0Violation | null {
  if (!hasBit(xcr0, XFEATURE.FP)) return 'x87-clear';
  if (hasBit(xcr0, XFEATURE.YMM) && !hasBit(xcr0, XFEATURE.SSE)) return 'ymm-without-sse';
  // x87 is always allowed, even for a guest without XSAVE (guest_supported_xcr0 | FP).
  if ((xcr0 & ~(guestSupported | MASK.FP)) !== 0n) return 'outside-guest-supported';
  if (hasBit(xcr0, XFEATURE.BNDREGS) !== hasBit(xcr0, XFEATURE.BNDCSR)) return 'mpx-pair';
  const avx512 = xcr0 & MASK.AVX512;
  if (avx512 !== 0n && (avx512 !== MASK.AVX512 || !hasBit(xcr0, XFEATURE.YMM))) return 'avx512-partial-or-without-ymm';
  if (rules.amxPairRule && (xcr0 & MASK.XTILE) !== 0n && (xcr0 & MASK.XTILE) !== MASK.XTILE) return 'amx-pair';
  return null;
}

export const XCR0_RESET = MASK.FP; // kvm_vcpu_reset: XCR0 = FP
