// The bit-level logic of KVM_SET_XSAVE and of the Proxmox patch, written once against a tiny
// bit-vector interface so that the same code runs concretely (bigint/boolean, what pveFixup and
// setXsave execute) and symbolically (z3 64-bit bit-vectors, what `xsave-harness prove` checks).
//
// Values are 64-bit: every V is in [0, 2^64) (XSTATE_BV, XCOMP_BV, XCR0 …; MXCSR and its mask
// are 32-bit values zero-extended). Operations follow 64-bit modular semantics, so the bigint
// implementation and the z3 one agree on every input. Nothing here reads bytes: the byte
// handling lives in fixup.ts / setXsave.ts (concrete) and in the prover (symbolic).
import { MASK } from './xfeatures';

/** 64-bit bit-vectors V with booleans B. */
export interface BitOps<V, B> {
  readonly name: string;
  /** a 64-bit constant (taken modulo 2^64) */
  const(n: bigint): V;
  and(a: V, b: V): V;
  or(a: V, b: V): V;
  xor(a: V, b: V): V;
  /** 64-bit complement */
  not(a: V): V;
  eq(a: V, b: V): B;
  isZero(a: V): B;
  ite(c: B, a: V, b: V): V;
  bool(b: boolean): B;
  band(a: B, b: B): B;
  bor(a: B, b: B): B;
  bnot(a: B): B;
  /** a ⇔ b */
  biff(a: B, b: B): B;
}

const U64 = (1n << 64n) - 1n;

/** The concrete implementation: what the model executes. */
export const BIGINT_OPS: BitOps<bigint, boolean> = {
  name: 'bigint',
  const: (n) => (n >= 0n && n <= U64 ? n : n & U64), // constants are already 64-bit: no new BigInt
  and: (a, b) => a & b,
  or: (a, b) => a | b,
  xor: (a, b) => a ^ b,
  not: (a) => ~a & U64,
  eq: (a, b) => a === b,
  isZero: (a) => a === 0n,
  ite: (c, a, b) => (c ? a : b),
  bool: (b) => b,
  band: (a, b) => a && b,
  bor: (a, b) => a || b,
  bnot: (a) => !a,
  biff: (a, b) => a === b,
};

export function nonZero<V, B>(o: BitOps<V, B>, a: V): B {
  return o.bnot(o.isZero(a));
}

/** a ⊆ b */
export function subset<V, B>(o: BitOps<V, B>, a: V, b: V): B {
  // a & b = a rather than a & ~b = 0: the same relation without a complement, which the bigint
  // implementation pays for with an extra allocation on every SET check.
  return o.eq(o.and(a, b), a);
}

export function implies<V, B>(o: BitOps<V, B>, a: B, b: B): B {
  return o.bor(o.bnot(a), b);
}

// ---- the buffer and the fixup's inputs, as values ----------------------------------------

/**
 * The parts of a standard-format XSAVE buffer that SET's validation and the patch look at:
 * XSTATE_BV (bytes 512-519), XCOMP_BV (520-527), MXCSR (24-27, zero-extended) and whether any of
 * the reserved header bytes 528-575 is non-zero.
 */
export interface XsaveFields<V, B> {
  xstateBv: V;
  xcompBv: V;
  mxcsr: V;
  headerReservedNonZero: B;
}

/** What a fixup may base its decision on (FixupContext, as values). */
export interface FixupValues<V, B> {
  /** CPUID(0xD,0) EDX:EAX ∩ KVM's supported XCR0 (the patch's helper) */
  guestSupportedXcr0: V;
  hostSupportedXcr0: V;
  xcr0: V;
  confidential: B;
  /** CPUID.7.0:ECX.PKU of the vCPU's CPUID (not what the patch asks; for broken fixups) */
  cpuidPku: B;
}

/** A fixup over values, polymorphic in the implementation (concrete or symbolic). */
export type FieldFixup = <V, B>(o: BitOps<V, B>, ctx: FixupValues<V, B>, f: XsaveFields<V, B>) => XsaveFields<V, B>;

export function fieldsEqual<V, B>(o: BitOps<V, B>, a: XsaveFields<V, B>, b: XsaveFields<V, B>): B {
  return o.band(
    o.band(o.eq(a.xstateBv, b.xstateBv), o.eq(a.xcompBv, b.xcompBv)),
    o.band(o.eq(a.mxcsr, b.mxcsr), o.biff(a.headerReservedNonZero, b.headerReservedNonZero)),
  );
}

// ---- the Proxmox patch ---------------------------------------------------------------------

const ALL_BUT_PKRU = ~MASK.PKRU & U64;

/**
 * The patch's decision (kernel-semantics.md §6): when the CPUID-derived guest-supported XCR0
 * lacks PKRU, bit 9 of XSTATE_BV is cleared; otherwise XSTATE_BV is left as it is.
 */
export function pveMaskLogic<V, B>(o: BitOps<V, B>, guestSupported: V, xstateBv: V): V {
  const pkru = o.const(MASK.PKRU);
  return o.ite(o.isZero(o.and(guestSupported, pkru)), o.and(xstateBv, o.const(ALL_BUT_PKRU)), xstateBv);
}

/** The patch as a fixup over values: only XSTATE_BV can change. */
export const pveFixupLogic: FieldFixup = (o, ctx, f) => ({
  xstateBv: pveMaskLogic(o, ctx.guestSupportedXcr0, f.xstateBv),
  xcompBv: f.xcompBv,
  mxcsr: f.mxcsr,
  headerReservedNonZero: f.headerReservedNonZero,
});

// ---- KVM_SET_XSAVE ---------------------------------------------------------------------------

/** Validation failures of the FPU layer / 5.15's ioctl (setXsave.ts SetXsaveRejection minus protected-state). */
export type SetCheckReason = 'outside-supported' | 'outside-user-xfeatures' | 'xcomp-bv' | 'header-reserved' | 'mxcsr-reserved';
export type SetReason = 'protected-state' | SetCheckReason;

/** What SET's validation compares the buffer with. */
export interface SetLimits<V> {
  /** kvm_caps.supported_xcr0 */
  supportedXcr0: V;
  /** fpstate->user_xfeatures (unused by 5.15) */
  userXfeatures: V;
  /** mxcsr_feature_mask */
  mxcsrMask: V;
}

export interface SetCheck {
  reason: SetCheckReason;
  /** true when the buffer fails this check (run in order: an earlier failure names the rejection) */
  failed<V, B>(o: BitOps<V, B>, lim: SetLimits<V>, f: XsaveFields<V, B>): B;
}

const outsideSupported: SetCheck = {
  reason: 'outside-supported',
  failed: (o, lim, f) => o.bnot(subset(o, f.xstateBv, lim.supportedXcr0)),
};

const mxcsrReserved = <V, B>(o: BitOps<V, B>, lim: SetLimits<V>, f: XsaveFields<V, B>): B => o.bnot(subset(o, f.mxcsr, lim.mxcsrMask));

// The check lists are constant tables (the buffer and the limits are arguments), so running
// them allocates nothing: SET runs them on every ioctl.
const SET_CHECKS: Record<'load-5.15' | 'fpu-uabi', readonly SetCheck[]> = {
  'load-5.15': [outsideSupported, { reason: 'mxcsr-reserved', failed: mxcsrReserved }],
  'fpu-uabi': [
    outsideSupported,
    { reason: 'outside-user-xfeatures', failed: (o, lim, f) => o.bnot(subset(o, f.xstateBv, lim.userXfeatures)) },
    { reason: 'xcomp-bv', failed: (o, _lim, f) => nonZero(o, f.xcompBv) },
    { reason: 'header-reserved', failed: (_o, _lim, f) => f.headerReservedNonZero },
    {
      reason: 'mxcsr-reserved',
      failed: (o, lim, f) => o.band(nonZero(o, o.and(f.xstateBv, o.const(MASK.MXCSR_USERS))), mxcsrReserved(o, lim, f)),
    },
  ],
};

/**
 * SET's validation as an ordered list of checks, kernel order (kernel-semantics.md §4.1, §4.2):
 * the first failing check names the rejection. 'load-5.15' is kvm_vcpu_ioctl_x86_set_xsave of
 * 5.15 (supported XCR0, then MXCSR unconditionally); 'fpu-uabi' is fpu_copy_uabi_to_guest_fpstate
 * → validate_user_xstate_header → copy_uabi_to_xstate (MXCSR only when FP/SSE/YMM is present).
 */
export function setChecks(rule: 'load-5.15' | 'fpu-uabi'): readonly SetCheck[] {
  return SET_CHECKS[rule];
}

/** The concrete reading of a check list: the first failing check, each evaluated only if reached. */
export function firstFailure(checks: readonly SetCheck[], lim: SetLimits<bigint>, f: XsaveFields<bigint, boolean>): SetCheckReason | null {
  for (const c of checks) if (c.failed(BIGINT_OPS, lim, f)) return c.reason;
  return null;
}

/** 6.19's pre-mask (x86.c: `xfeatures &= ~fpstate->xfd`), applied before the fixup. */
export function xfdPremaskLogic<V, B>(o: BitOps<V, B>, premask: boolean, xfd: V, xstateBv: V): V {
  return premask ? o.and(xstateBv, o.not(xfd)) : xstateBv;
}

/** The result of a confidential vCPU's SET (the fixup never runs for one). */
export function confidentialOutcome(rule: 'ignore' | 'einval'): { reason: 'protected-state' | null; ignored: boolean } {
  return rule === 'einval' ? { reason: 'protected-state', ignored: false } : { reason: null, ignored: true };
}

/** The kernel rules SET depends on (KernelVariant fields). */
export interface SetRules {
  set: 'load-5.15' | 'fpu-uabi';
  confidential: 'ignore' | 'einval';
  xfdPremask: boolean;
}

/** The vCPU values SET depends on. */
export interface SetVcpuValues<V, B> extends SetLimits<V> {
  confidential: B;
  xfd: V;
}

export interface SetDecision<V, B> {
  /** rc = 0 without touching the state (confidential before 6.12) */
  ignored: B;
  /** rc = -EINVAL */
  rejected: B;
  /** per reason: the ioctl fails with it */
  reasonIs: Record<SetReason, B>;
  /** the kernel's copy the FPU layer validates (after the pre-mask and the fixup) */
  copy: XsaveFields<V, B>;
  /** the copy the fixup was given (after the pre-mask) */
  fixupInput: XsaveFields<V, B>;
}

const REASONS: readonly SetReason[] = ['protected-state', 'outside-supported', 'outside-user-xfeatures', 'xcomp-bv', 'header-reserved', 'mxcsr-reserved'];

/**
 * KVM_SET_XSAVE's decision as one expression, in the order setXsave runs it: confidential
 * early return, the 6.19 XFD pre-mask, the fixup (if any), then the validation checks. This is
 * setXsave.ts's control flow merged into values (the prover needs it that way); its pieces are
 * the ones setXsave calls, and test/prove.test.ts checks the two agree on random buffers.
 */
export function setXsaveDecision<V, B>(
  o: BitOps<V, B>,
  rules: SetRules,
  vcpu: SetVcpuValues<V, B>,
  fixupCtx: FixupValues<V, B>,
  input: XsaveFields<V, B>,
  fixup: FieldFixup | null,
): SetDecision<V, B> {
  const conf = confidentialOutcome(rules.confidential);
  const fixupInput: XsaveFields<V, B> = { ...input, xstateBv: xfdPremaskLogic(o, rules.xfdPremask, vcpu.xfd, input.xstateBv) };
  const copy = fixup ? fixup(o, fixupCtx, fixupInput) : fixupInput;
  const checks = setChecks(rules.set);
  const F = o.bool(false);
  const reasonIs = Object.fromEntries(REASONS.map((r) => [r, F])) as Record<SetReason, B>;
  // first failing check wins
  let earlier = F;
  let anyFailed = F;
  for (const c of checks) {
    const failed = c.failed(o, vcpu, copy);
    reasonIs[c.reason] = o.band(o.band(o.bnot(vcpu.confidential), o.bnot(earlier)), failed);
    earlier = o.bor(earlier, failed);
    anyFailed = o.bor(anyFailed, failed);
  }
  reasonIs['protected-state'] = o.band(vcpu.confidential, o.bool(conf.reason === 'protected-state'));
  return {
    ignored: o.band(vcpu.confidential, o.bool(conf.ignored)),
    rejected: o.bor(reasonIs['protected-state'], o.band(o.bnot(vcpu.confidential), anyFailed)),
    reasonIs,
    copy,
    fixupInput,
  };
}

export const SET_REASONS = REASONS;
