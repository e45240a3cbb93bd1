// Fixups over values (bitLogic.ts FieldFixup) that `xsave-harness prove --mutant NAME` checks:
// the Proxmox patch and symbolic versions of some catalogue mutants (mutants/NAME.js). A
// plug-in loaded from a .js file is a byte function the prover cannot read; these are written
// against the same BitOps interface as the patch, and test/prove.test.ts checks each one, lifted
// to bytes, behaves exactly like its .js mutant.
import { BitOps, FieldFixup, pveFixupLogic, pveMaskLogic } from '../model/bitLogic';
import { MASK } from '../model/xfeatures';

export interface SymbolicFixup {
  name: string;
  description: string;
  logic: FieldFixup;
  /** the catalogue plug-in (mutants/NAME.js) this one mirrors, or null */
  mutant: string | null;
}

/** clear `mask` in XSTATE_BV when `cond` holds */
function clearIf<V, B>(o: BitOps<V, B>, cond: B, bv: V, mask: bigint): V {
  return o.ite(cond, o.and(bv, o.not(o.const(mask))), bv);
}

const lacks = <V, B>(o: BitOps<V, B>, set: V, mask: bigint): B => o.isZero(o.and(set, o.const(mask)));

export const SYMBOLIC_FIXUPS: readonly SymbolicFixup[] = [
  { name: 'pve', description: 'the Proxmox patch (bitLogic.ts pveFixupLogic, what pveFixup runs)', logic: pveFixupLogic, mutant: null },
  {
    name: 'mask-0x300',
    description: 'clears 0x300 (PT and PKRU) when the guest lacks PKRU',
    mutant: 'mask-0x300',
    logic: (o, ctx, f) => ({ ...f, xstateBv: clearIf(o, lacks(o, ctx.guestSupportedXcr0, MASK.PKRU), f.xstateBv, 0x300n) }),
  },
  {
    name: 'decide-xcr0',
    description: 'decides on the vCPU XCR0 instead of guest-supported XCR0',
    mutant: 'decide-xcr0',
    logic: (o, ctx, f) => ({ ...f, xstateBv: clearIf(o, lacks(o, ctx.xcr0, MASK.PKRU), f.xstateBv, MASK.PKRU) }),
  },
  {
    name: 'decide-host-supported',
    description: "decides on KVM's supported XCR0 (the host) instead of the guest's — clears less than the patch: P1/P3/P4 hold, only P2 catches it",
    mutant: 'decide-host-supported',
    logic: (o, ctx, f) => ({ ...f, xstateBv: pveMaskLogic(o, ctx.hostSupportedXcr0, f.xstateBv) }),
  },
  {
    name: 'decide-leaf7-pku',
    description: 'decides on the CPUID leaf 7 PKU bit instead of leaf 0xD',
    mutant: 'decide-leaf7-pku',
    logic: (o, ctx, f) => ({ ...f, xstateBv: clearIf(o, o.bnot(ctx.cpuidPku), f.xstateBv, MASK.PKRU) }),
  },
  {
    name: 'toggle-pkru',
    description: 'toggles bit 9 instead of clearing it',
    mutant: 'toggle-pkru',
    logic: (o, ctx, f) => ({ ...f, xstateBv: o.ite(lacks(o, ctx.guestSupportedXcr0, MASK.PKRU), o.xor(f.xstateBv, o.const(MASK.PKRU)), f.xstateBv) }),
  },
  {
    name: 'clamp-to-guest-supported',
    description: 'clamps XSTATE_BV to guest-supported XCR0 (forgets x87/SSE)',
    mutant: 'clamp-to-guest-supported',
    logic: (o, ctx, f) => ({ ...f, xstateBv: o.and(f.xstateBv, ctx.guestSupportedXcr0) }),
  },
  {
    name: 'clear-outside-guest-supported',
    description: 'clears every bit outside guest-supported | x87 | SSE',
    mutant: 'clear-outside-guest-supported',
    logic: (o, ctx, f) => ({ ...f, xstateBv: o.and(f.xstateBv, o.or(ctx.guestSupportedXcr0, o.const(MASK.FPSSE))) }),
  },
  {
    name: 'also-clears-xcomp',
    description: 'the patch, and XCOMP_BV zeroed',
    mutant: 'also-clears-xcomp',
    logic: (o, ctx, f) => ({ ...pveFixupLogic(o, ctx, f), xcompBv: o.const(0n) }),
  },
  {
    name: 'always-clear',
    description: 'clears bit 9 unconditionally',
    mutant: 'always-clear',
    logic: (o, _ctx, f) => ({ ...f, xstateBv: o.and(f.xstateBv, o.not(o.const(MASK.PKRU))) }),
  },
  {
    name: 'clear-when-confidential',
    description: 'also clears bit 9 for confidential vCPUs (argued equivalent: the fixup never runs for them)',
    mutant: 'clear-when-confidential',
    logic: (o, ctx, f) => ({ ...f, xstateBv: clearIf(o, o.bor(ctx.confidential, lacks(o, ctx.guestSupportedXcr0, MASK.PKRU)), f.xstateBv, MASK.PKRU) }),
  },
];

export function symbolicFixup(name: string): SymbolicFixup | undefined {
  return SYMBOLIC_FIXUPS.find((f) => f.name === name);
}
