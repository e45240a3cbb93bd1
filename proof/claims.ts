// P1, P3 and P4 as formulas over bitLogic.ts's BitOps: the same functions are evaluated
// symbolically by the prover (z3, all 64-bit values) and concretely (bigint) to double-check a
// counterexample. The fixup and KVM_SET_XSAVE are bitLogic.ts's — the code the model runs.
import {
  BIGINT_OPS,
  BitOps,
  FieldFixup,
  FixupValues,
  SET_REASONS,
  SetRules,
  SetVcpuValues,
  XsaveFields,
  fieldsEqual,
  implies,
  fieldSteps,
  setXsaveDecision,
  subset,
  SetDecision,
} from '../model/bitLogic';
import { KERNELS } from '../model/kernels';
import { MASK } from '../model/xfeatures';
import { ProvedPropertyId } from '../properties/claims';

/** Every input of a claim: the buffer's fields, the vCPU's SET limits, what the fixup sees. */
export interface ProofVars<V, B> {
  fields: XsaveFields<V, B>;
  vcpu: SetVcpuValues<V, B>;
  ctx: FixupValues<V, B>;
}

/** The same inputs as plain named values (a counterexample, or a concrete check). */
export interface Assignment {
  xstateBv: bigint;
  xcompBv: bigint;
  mxcsr: bigint;
  headerReservedNonZero: boolean;
  supportedXcr0: bigint;
  userXfeatures: bigint;
  mxcsrMask: bigint;
  xfd: bigint;
  confidential: boolean;
  guestSupportedXcr0: bigint;
  xcr0: bigint;
  cpuidPku: boolean;
}

export const BV_VARS = ['xstateBv', 'xcompBv', 'mxcsr', 'supportedXcr0', 'userXfeatures', 'mxcsrMask', 'xfd', 'guestSupportedXcr0', 'xcr0'] as const;
export const BOOL_VARS = ['headerReservedNonZero', 'confidential', 'cpuidPku'] as const;

/**
 * Assemble the claim inputs from named values. The fixup's hostSupportedXcr0 and confidential
 * are the vCPU's (fixupContext reads them from the same vCPU).
 */
export function proofVars<V, B>(a: { [K in keyof Assignment]: Assignment[K] extends bigint ? V : B }): ProofVars<V, B> {
  return {
    fields: { xstateBv: a.xstateBv, xcompBv: a.xcompBv, mxcsr: a.mxcsr, headerReservedNonZero: a.headerReservedNonZero },
    vcpu: { supportedXcr0: a.supportedXcr0, userXfeatures: a.userXfeatures, mxcsrMask: a.mxcsrMask, xfd: a.xfd, confidential: a.confidential },
    ctx: { guestSupportedXcr0: a.guestSupportedXcr0, hostSupportedXcr0: a.supportedXcr0, xcr0: a.xcr0, confidential: a.confidential, cpuidPku: a.cpuidPku },
  };
}

/**
 * The domain: MXCSR and its mask are 32-bit registers; every other value is any 64-bit value.
 * With `invariants` (the default of the prover) also the one relation the model guarantees by
 * construction: the patch's guest-supported XCR0 is CPUID(0xD,0) ∩ supported XCR0, so it is a
 * subset of the supported XCR0 (fixup.ts fixupContext). Without it the claims are checked for
 * literally every combination of values.
 */
export function domain<V, B>(o: BitOps<V, B>, v: ProofVars<V, B>, invariants = true): B {
  const u32 = o.const(0xffffffffn);
  const regs = o.band(subset(o, v.fields.mxcsr, u32), subset(o, v.vcpu.mxcsrMask, u32));
  return invariants ? o.band(regs, subset(o, v.ctx.guestSupportedXcr0, v.vcpu.supportedXcr0)) : regs;
}

/** The properties proved here (properties/claims.ts lists them). */
export type ClaimId = ProvedPropertyId;

export interface ClaimDef {
  id: ClaimId;
  title: string;
  statement: string;
  /** the claim for one kernel rule set, as a formula */
  holds<V, B>(o: BitOps<V, B>, rules: SetRules, v: ProofVars<V, B>, fixup: FieldFixup): B;
  /** which part of the claim an assignment violates (concrete), or null */
  violated(rules: SetRules, a: ProofVars<bigint, boolean>, fixup: FieldFixup): string | null;
}

function sameOutcome<V, B>(o: BitOps<V, B>, da: SetDecision<V, B>, db: SetDecision<V, B>): B {
  const [a, b] = [da.outcome, db.outcome];
  let same = o.band(o.biff(a.ignored, b.ignored), o.biff(a.rejected, b.rejected));
  for (const r of SET_REASONS) same = o.band(same, o.biff(a.reasonIs[r], b.reasonIs[r]));
  return same;
}

function decide<V, B>(o: BitOps<V, B>, rules: SetRules, v: ProofVars<V, B>, fixup: FieldFixup | null, fields = v.fields): SetDecision<V, B> {
  return setXsaveDecision(o, rules, v.vcpu, fields, fieldSteps(o, v.ctx, fixup));
}

function reasonOf(d: SetDecision<bigint, boolean>): string {
  if (d.outcome.ignored) return 'ignored';
  const r = SET_REASONS.find((x) => d.outcome.reasonIs[x]);
  return r ? `EINVAL/${r}` : 'ok';
}

// P1 — XSTATE_BV ⊆ gsx|FPSSE ⇒ the fixup leaves the buffer the FPU layer sees unchanged (when it
// runs: not for a confidential vCPU), and SET's outcome (ignored / rejected and why) is the same.
const P1_PARTS = {
  unchanged: <V, B>(o: BitOps<V, B>, rules: SetRules, v: ProofVars<V, B>, fixup: FieldFixup): B => {
    const d = decide(o, rules, v, fixup);
    return implies(o, o.bnot(v.vcpu.confidential), fieldsEqual(o, d.copy, d.fixupInput));
  },
  sameOutcome: <V, B>(o: BitOps<V, B>, rules: SetRules, v: ProofVars<V, B>, fixup: FieldFixup): B =>
    sameOutcome(o, decide(o, rules, v, null), decide(o, rules, v, fixup)),
};

const valid = <V, B>(o: BitOps<V, B>, v: ProofVars<V, B>): B => subset(o, v.fields.xstateBv, o.or(v.ctx.guestSupportedXcr0, o.const(MASK.FPSSE)));

// P3 — fixup(x) differs from x at most in bit 9 of XSTATE_BV, and fixup(fixup(x)) = fixup(x).
const P3_PARTS = {
  onlyBit9: <V, B>(o: BitOps<V, B>, _rules: SetRules, v: ProofVars<V, B>, fixup: FieldFixup): B => {
    const once = fixup(o, v.ctx, v.fields);
    const otherBvBits = o.isZero(o.and(o.xor(once.xstateBv, v.fields.xstateBv), o.not(o.const(MASK.PKRU))));
    return o.band(otherBvBits, fieldsEqual(o, { ...once, xstateBv: v.fields.xstateBv }, v.fields));
  },
  idempotent: <V, B>(o: BitOps<V, B>, _rules: SetRules, v: ProofVars<V, B>, fixup: FieldFixup): B => {
    const once = fixup(o, v.ctx, v.fields);
    return fieldsEqual(o, fixup(o, v.ctx, once), once);
  },
};

// P4 — unpatched SET rejects x and rejects x with bit 9 of XSTATE_BV cleared ⇒ patched SET rejects x.
const withoutPkru = <V, B>(o: BitOps<V, B>, f: XsaveFields<V, B>): XsaveFields<V, B> => ({ ...f, xstateBv: o.and(f.xstateBv, o.not(o.const(MASK.PKRU))) });

export const CLAIMS: readonly ClaimDef[] = [
  {
    id: 'P1',
    title: 'no valid state is modified',
    statement:
      'For all 64-bit XSTATE_BV, XCOMP_BV, guest-supported, supported XCR0, user_xfeatures, XCR0, XFD, all MXCSR and MXCSR masks, reserved bytes zero or not, confidential or not: XSTATE_BV ⊆ guest-supported ∪ {x87,SSE} ⇒ the fixup leaves the buffer unchanged, and KVM_SET_XSAVE accepts/ignores/rejects (for the same reason) as without it.',
    holds: (o, rules, v, fixup) => implies(o, valid(o, v), o.band(P1_PARTS.unchanged(o, rules, v, fixup), P1_PARTS.sameOutcome(o, rules, v, fixup))),
    violated(rules, v, fixup) {
      const o = BIGINT_OPS;
      if (!valid(o, v)) return null;
      if (!P1_PARTS.unchanged(o, rules, v, fixup)) return 'the fixup changed a valid buffer';
      if (!P1_PARTS.sameOutcome(o, rules, v, fixup)) {
        return `SET gives ${reasonOf(decide(o, rules, v, null))} without the fixup, ${reasonOf(decide(o, rules, v, fixup))} with it`;
      }
      return null;
    },
  },
  {
    id: 'P3',
    title: 'the fixup changes at most bit 9 of XSTATE_BV, and is idempotent',
    statement:
      'For all 64-bit header values and fixup inputs: fixup(x) differs from x at most in bit 9 of XSTATE_BV (XCOMP_BV, MXCSR and the reserved bytes unchanged), and fixup(fixup(x)) = fixup(x).',
    holds: (o, rules, v, fixup) => o.band(P3_PARTS.onlyBit9(o, rules, v, fixup), P3_PARTS.idempotent(o, rules, v, fixup)),
    violated(rules, v, fixup) {
      const o = BIGINT_OPS;
      if (!P3_PARTS.onlyBit9(o, rules, v, fixup)) return 'the fixup changed more than bit 9 of XSTATE_BV';
      if (!P3_PARTS.idempotent(o, rules, v, fixup)) return 'not idempotent: a second application changed the buffer again';
      return null;
    },
  },
  {
    id: 'P4',
    title: 'rejections stay rejections',
    statement:
      'For all inputs as in P1: KVM_SET_XSAVE without the fixup rejects x and rejects x with bit 9 of XSTATE_BV cleared ⇒ KVM_SET_XSAVE with the fixup rejects x.',
    holds: (o, rules, v, fixup) =>
      implies(
        o,
        o.band(decide(o, rules, v, null).outcome.rejected, decide(o, rules, v, null, withoutPkru(o, v.fields)).outcome.rejected),
        decide(o, rules, v, fixup).outcome.rejected,
      ),
    violated(rules, v, fixup) {
      const o = BIGINT_OPS;
      const plain = decide(o, rules, v, null);
      if (!plain.outcome.rejected || !decide(o, rules, v, null, withoutPkru(o, v.fields)).outcome.rejected) return null;
      const fixed = decide(o, rules, v, fixup);
      return fixed.outcome.rejected ? null : `refused without the fixup (${reasonOf(plain)}) but ${reasonOf(fixed)} with it`;
    },
  },
];

export function claimById(id: ClaimId): ClaimDef {
  return CLAIMS.find((c) => c.id === id)!;
}

/** The kernel rule sets SET depends on, each with the catalogue kernels that follow it. */
export interface RuleGroup {
  rules: SetRules;
  kernels: string[];
  label: string;
}

export function ruleGroups(): RuleGroup[] {
  const groups = new Map<string, RuleGroup>();
  for (const k of KERNELS) {
    const rules: SetRules = { set: k.set, confidential: k.confidential, xfdPremask: k.xfdPremask };
    const label = `${rules.set}, confidential ${rules.confidential}${rules.xfdPremask ? ', XFD pre-mask' : ''}`;
    const g = groups.get(label) ?? { rules, kernels: [], label };
    g.kernels.push(k.id);
    groups.set(label, g);
  }
  return [...groups.values()];
}
