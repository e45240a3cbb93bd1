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
  /**
   * The boolean's value when it is known now (concretely always; symbolically undefined). It lets
   * one composition short-circuit when run concretely and merge both branches under z3
   * (setXsaveDecision, firstFailing, whenBytes).
   */
  known(b: B): boolean | undefined;
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
  known: (b) => b,
};

/** c ? a : b on booleans. */
export function bite<V, B>(o: BitOps<V, B>, c: B, a: B, b: B): B {
  return o.bor(o.band(c, a), o.band(o.bnot(c), b));
}

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

// ---- bytes ---------------------------------------------------------------------------------

/**
 * A byte buffer R next to the bit-vectors: what a fixup written over bytes reads and writes.
 * Little-endian; reads are zero-extended to 64 bits, writes take the low bits. Writes return the
 * buffer: the concrete implementation (xsaveFields.ts BYTE_OPS, a Uint8Array) edits in place and
 * returns the same array, the symbolic one (proof/z3.ts, a z3 array index → byte) a new array, so
 * a byte fixup uses each buffer value once and chooses between writes with whenBytes().
 */
export interface ByteOps<V, B, R> extends BitOps<V, B> {
  readU8(r: R, off: number): V;
  readU32(r: R, off: number): V;
  readU64(r: R, off: number): V;
  writeU8(r: R, off: number, v: V): R;
  writeU32(r: R, off: number, v: V): R;
  writeU64(r: R, off: number, v: V): R;
  /** bytes [from, to) are all zero */
  allZero(r: R, from: number, to: number): B;
  /** bytes [from, to) zeroed */
  fillZero(r: R, from: number, to: number): R;
  iteBytes(c: B, a: R, b: R): R;
}

/** A fixup over the bytes of the kernel's copy (FixupFn, written once for every implementation). */
export type ByteFixup = <V, B, R>(o: ByteOps<V, B, R>, ctx: FixupValues<V, B>, region: R) => R;

/** `edit(r)` when c holds, r otherwise (concretely the edit runs only when c holds). */
export function whenBytes<V, B, R>(o: ByteOps<V, B, R>, c: B, r: R, edit: (r: R) => R): R {
  const k = o.known(c);
  if (k !== undefined) return k ? edit(r) : r;
  return o.iteBytes(c, edit(r), r);
}

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

/** How SET ended: ignored (rc 0, state untouched), rejected with one reason, or accepted. */
export interface SetOutcome<B> {
  /** rc = 0 without touching the state (confidential before 6.12) */
  ignored: B;
  /** rc = -EINVAL */
  rejected: B;
  /** per reason: the ioctl fails with it */
  reasonIs: Record<SetReason, B>;
}

export interface SetDecision<V, B> {
  outcome: SetOutcome<B>;
  /** the kernel's copy the FPU layer validates (after the pre-mask and the fixup) */
  copy: XsaveFields<V, B>;
  /** the copy the fixup was given (after the pre-mask) */
  fixupInput: XsaveFields<V, B>;
}

/**
 * Where the kernel's copy of the buffer lives, and the fixup that edits it. Symbolically
 * (fieldSteps) the copy is header values and the fixup a FieldFixup; concretely (setXsave.ts)
 * the copy is the bytes memdup_user made and the fixup a plug-in run on them.
 */
export interface SetSteps<V, B> {
  /** memdup_user, with XSTATE_BV as the pre-mask left it (null: no pre-mask, as the input's): the copy the fixup is given */
  copyIn(input: XsaveFields<V, B>, xstateBv: V | null): XsaveFields<V, B>;
  /** the fixup on the copy (the copy itself when there is none) */
  fixup(copy: XsaveFields<V, B>): XsaveFields<V, B>;
}

/** The steps over header values, for a fixup over values (or none): what the prover runs. */
export function fieldSteps<V, B>(o: BitOps<V, B>, ctx: FixupValues<V, B>, fixup: FieldFixup | null): SetSteps<V, B> {
  return {
    copyIn: (input, xstateBv) => ({ xstateBv: xstateBv ?? input.xstateBv, xcompBv: input.xcompBv, mxcsr: input.mxcsr, headerReservedNonZero: input.headerReservedNonZero }),
    fixup: (copy) => (fixup ? fixup(o, ctx, copy) : copy),
  };
}

const REASONS: readonly SetReason[] = ['protected-state', 'outside-supported', 'outside-user-xfeatures', 'xcomp-bv', 'header-reserved', 'mxcsr-reserved'];

interface OutcomeConsts<B> {
  accepted: SetOutcome<B>;
  ignored: SetOutcome<B>;
  rejected: Record<SetReason, SetOutcome<B>>;
}

// The constant outcomes, made once per implementation: SET concretely returns one of them
// without allocating.
const OUTCOMES = new WeakMap<object, OutcomeConsts<unknown>>();

let lastOps: object | null = null;
let lastOutcomes: OutcomeConsts<unknown> | null = null;

function outcomes<V, B>(o: BitOps<V, B>): OutcomeConsts<B> {
  if (o === lastOps) return lastOutcomes as OutcomeConsts<B>; // the model calls with BIGINT_OPS every time
  let c = OUTCOMES.get(o) as OutcomeConsts<B> | undefined;
  if (!c) {
    const T = o.bool(true);
    const F = o.bool(false);
    const none = (): Record<SetReason, B> => Object.fromEntries(REASONS.map((r) => [r, F])) as Record<SetReason, B>;
    const rejected = Object.fromEntries(REASONS.map((r) => [r, { ignored: F, rejected: T, reasonIs: { ...none(), [r]: T } }])) as Record<SetReason, SetOutcome<B>>;
    c = { accepted: { ignored: F, rejected: F, reasonIs: none() }, ignored: { ignored: T, rejected: F, reasonIs: none() }, rejected };
    OUTCOMES.set(o, c as OutcomeConsts<unknown>);
  }
  lastOps = o;
  lastOutcomes = c as OutcomeConsts<unknown>;
  return c;
}

function mergeOutcome<V, B>(o: BitOps<V, B>, c: B, a: SetOutcome<B>, b: SetOutcome<B>): SetOutcome<B> {
  const reasonIs = {} as Record<SetReason, B>;
  for (const r of REASONS) reasonIs[r] = bite(o, c, a.reasonIs[r], b.reasonIs[r]);
  return { ignored: bite(o, c, a.ignored, b.ignored), rejected: bite(o, c, a.rejected, b.rejected), reasonIs };
}

function mergeFields<V, B>(o: BitOps<V, B>, c: B, a: XsaveFields<V, B>, b: XsaveFields<V, B>): XsaveFields<V, B> {
  return {
    xstateBv: o.ite(c, a.xstateBv, b.xstateBv),
    xcompBv: o.ite(c, a.xcompBv, b.xcompBv),
    mxcsr: o.ite(c, a.mxcsr, b.mxcsr),
    headerReservedNonZero: bite(o, c, a.headerReservedNonZero, b.headerReservedNonZero),
  };
}

/** The validation: the first failing check (in kernel order) names the rejection; each is evaluated only if reached when run concretely. */
export function firstFailing<V, B>(o: BitOps<V, B>, checks: readonly SetCheck[], lim: SetLimits<V>, f: XsaveFields<V, B>): SetOutcome<B> {
  const k = outcomes(o);
  let open: [B, SetCheckReason][] | null = null; // failures not known yet (symbolic)
  for (const c of checks) {
    const failed = c.failed(o, lim, f);
    const known = o.known(failed);
    if (known === false) continue;
    if (known === true && open === null) return k.rejected[c.reason];
    (open ??= []).push([failed, c.reason]);
    if (known === true) break;
  }
  let out = k.accepted;
  if (open) for (let i = open.length - 1; i >= 0; i--) out = mergeOutcome(o, open[i]![0], k.rejected[open[i]![1]], out);
  return out;
}

/**
 * KVM_SET_XSAVE's decision, the one composition of its steps in kernel order: the confidential
 * early return, the 6.19 XFD pre-mask, the fixup (if any), then the validation checks. setXsave.ts
 * runs it concretely on bytes (its steps edit the kernel's copy) and the prover symbolically on
 * values (fieldSteps), so the two cannot drift (issue 14 item 5; before, the prover had a second
 * composition kept in line by samples).
 */
export function setXsaveDecision<V, B>(o: BitOps<V, B>, rules: SetRules, vcpu: SetVcpuValues<V, B>, input: XsaveFields<V, B>, steps: SetSteps<V, B>): SetDecision<V, B> {
  // Concretely only the branch taken runs (the fixup must not run for a confidential vCPU);
  // symbolically both, merged under the condition.
  const k = o.known(vcpu.confidential);
  if (k === true) return confidentialDecision(o, rules, input);
  if (k === false) return validatedDecision(o, rules, vcpu, input, steps);
  const c = vcpu.confidential;
  const a = confidentialDecision(o, rules, input);
  const b = validatedDecision(o, rules, vcpu, input, steps);
  return { outcome: mergeOutcome(o, c, a.outcome, b.outcome), copy: mergeFields(o, c, a.copy, b.copy), fixupInput: mergeFields(o, c, a.fixupInput, b.fixupInput) };
}

/** a. The confidential early return: ignored, or -EINVAL with protected-state from 6.12; the fixup never runs. */
function confidentialDecision<V, B>(o: BitOps<V, B>, rules: SetRules, input: XsaveFields<V, B>): SetDecision<V, B> {
  const conf = confidentialOutcome(rules.confidential);
  return { outcome: conf.reason ? outcomes(o).rejected[conf.reason] : outcomes(o).ignored, copy: input, fixupInput: input };
}

/** b. the 6.19 XFD pre-mask, c. the fixup, then the checks. */
function validatedDecision<V, B>(o: BitOps<V, B>, rules: SetRules, vcpu: SetVcpuValues<V, B>, input: XsaveFields<V, B>, steps: SetSteps<V, B>): SetDecision<V, B> {
  // with XFD known to be 0 the pre-mask is the identity: not computed (concretely, most ioctls)
  const premask = rules.xfdPremask && o.known(o.isZero(vcpu.xfd)) !== true;
  const fixupInput = steps.copyIn(input, premask ? xfdPremaskLogic(o, true, vcpu.xfd, input.xstateBv) : null);
  const copy = steps.fixup(fixupInput);
  return { outcome: firstFailing(o, setChecks(rules.set), vcpu, copy), copy, fixupInput };
}

export const SET_REASONS = REASONS;
