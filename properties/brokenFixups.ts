// The one broken-fixup catalogue (issue 12): every deliberately broken fixup, written once.
// The review's negative controls, the tests, the kill matrix (mutants/killMatrix.ts, through the
// generated plug-ins mutants/NAME.js) and the proof (proof/) all read this list.
//
// Each entry is written where it can be against bitLogic.ts's interfaces, so one source runs
// concretely (what the properties and the kill matrix execute) and under z3 (`prove --mutant`):
//  - 'fields': a FieldFixup over the header values (XSTATE_BV, XCOMP_BV, MXCSR, reserved bytes),
//    run on bytes through liftFields (which the byte-level proof also runs symbolically);
//  - 'bytes': a ByteFixup over the buffer's bytes (mistakes outside the header fields);
//  - 'plain': a byte function only (JS semantics the bit-vector interface does not model), tested
//    by the properties, never proved.
// mutants/NAME.js is generated from an entry (scripts/gen-mutant-plugins.ts); test/mutant-plugins.test.ts
// checks the committed files are fresh.
import { Fixup, FixupFn, MASK, OFF, XFEATURE, layoutFor, slotOf } from '../model';
import { BitOps, ByteFixup, FieldFixup, pveFixupLogic, pveMaskLogic, whenBytes } from '../model/bitLogic';
import { byteFixupFn, liftFieldFixup } from '../model/xsaveFields';
import type { PropertyId } from './properties';

export type FixupSource =
  | { kind: 'fields'; logic: FieldFixup }
  | { kind: 'bytes'; logic: ByteFixup }
  | { kind: 'plain'; why: string; fn: FixupFn };

export interface BrokenFixup extends Fixup {
  /** the plug-in's name: mutants/NAME.js */
  name: string;
  /** one line */
  description: string;
  /** the property that must kill it in the kill matrix (null: argued equivalent) */
  expectedKiller: PropertyId | null;
  /** why no property can kill it (null: killable) */
  equivalent: string | null;
  /** the property this entry is the review's negative control for (null: not a control) */
  control: PropertyId | null;
  /** a mutant real ioctls cannot tell from the patch (lab mutants): why */
  invisibleToIoctls?: string;
  /** the name the entry had in the negative-control list before the one catalogue */
  formerName?: string;
  source: FixupSource;
}

// ---- small pieces the entries share -----------------------------------------------------------

/** clear `mask` in XSTATE_BV when `cond` holds */
function clearIf<V, B>(o: BitOps<V, B>, cond: B, bv: V, mask: bigint): V {
  return o.ite(cond, o.and(bv, o.not(o.const(mask))), bv);
}

const lacks = <V, B>(o: BitOps<V, B>, set: V, mask: bigint): B => o.isZero(o.and(set, o.const(mask)));

/** The patch's decision with a different mask: clear `mask` when guest-supported XCR0 lacks PKRU. */
const clearWhenGuestLacksPkru =
  (mask: bigint): FieldFixup =>
  (o, ctx, f) => ({ ...f, xstateBv: clearIf(o, lacks(o, ctx.guestSupportedXcr0, MASK.PKRU), f.xstateBv, mask) });

// The PKRU component's standard-format offset on Intel (CPUID.(0xD,9).EBX = 2688).
const PKRU_AREA_INTEL = slotOf(layoutFor('intel'), XFEATURE.PKRU)!.offset;

type Entry = Omit<BrokenFixup, 'fn' | 'expectedKiller' | 'equivalent' | 'control'> & {
  expectedKiller?: PropertyId;
  equivalent?: string;
  control?: PropertyId;
};

const fields = (logic: FieldFixup): FixupSource => ({ kind: 'fields', logic });
const bytes = (logic: ByteFixup): FixupSource => ({ kind: 'bytes', logic });

const ENTRIES: Entry[] = [
  {
    name: 'also-clears-xcomp',
    description: 'also zeroes XCOMP_BV (to "repair" compacted headers), turning a malformed buffer into an accepted one',
    expectedKiller: 'P4',
    control: 'P4',
    source: fields((o, ctx, f) => ({ ...pveFixupLogic(o, ctx, f), xcompBv: o.const(0n) })),
  },
  {
    name: 'always-clear',
    formerName: 'always-clear-pkru',
    description: 'clears bit 9 without asking whether the guest supports PKRU',
    expectedKiller: 'P1',
    control: 'P1',
    source: fields((o, _ctx, f) => ({ ...f, xstateBv: o.and(f.xstateBv, o.not(o.const(MASK.PKRU))) })),
  },
  {
    name: 'always-writes',
    description: 'writes XSTATE_BV back on every call, even when nothing changed (the patch writes only when the bit was set)',
    equivalent:
      "writing back the value just read leaves every byte as it was, so the kernel copy and every ioctl outcome are identical to the patch's (bytes are the only interface a plug-in has).",
    source: bytes((o, ctx, r) => o.writeU64(r, OFF.XSTATE_BV, pveMaskLogic(o, ctx.guestSupportedXcr0, o.readU64(r, OFF.XSTATE_BV)))),
  },
  {
    name: 'clamp-to-guest-supported',
    description: 'over-broad: clamps XSTATE_BV to guest-supported XCR0, forgetting that x87/SSE are always allowed',
    expectedKiller: 'P1',
    control: 'P1',
    source: fields((o, ctx, f) => ({ ...f, xstateBv: o.and(f.xstateBv, ctx.guestSupportedXcr0) })),
  },
  {
    name: 'clear-outside-guest-supported',
    formerName: 'clamp-to-supported',
    description:
      'over-broad: clears every XSTATE_BV bit outside guest-supported | x87 | SSE (the general clamp), so buffers refused for other bits become accepted',
    expectedKiller: 'P4',
    control: 'P4',
    source: fields((o, ctx, f) => ({ ...f, xstateBv: o.and(f.xstateBv, o.or(ctx.guestSupportedXcr0, o.const(MASK.FPSSE))) })),
  },
  {
    name: 'clear-when-confidential',
    description: 'also clears bit 9 for confidential vCPUs whatever the guest supports',
    equivalent:
      "the plug-in runs after KVM_SET_XSAVE's confidential early return (kernel-semantics.md §4.2 a before c; setXsave step a), so the extra clearing never reaches the FPU layer; called directly (P3) it still only clears bit 9, idempotently. `xsave-harness prove --mutant clear-when-confidential` proves P1, P3 and P4 for it.",
    source: fields((o, ctx, f) => ({ ...f, xstateBv: clearIf(o, o.bor(ctx.confidential, lacks(o, ctx.guestSupportedXcr0, MASK.PKRU)), f.xstateBv, MASK.PKRU) })),
  },
  {
    name: 'clears-fp-too',
    formerName: 'clears-fp',
    description: "clears x87 (bit 0) along with PKRU: the guest's x87 state is reset after the restore",
    expectedKiller: 'P5',
    control: 'P5',
    source: fields(clearWhenGuestLacksPkru(MASK.PKRU | MASK.FP)),
  },
  {
    name: 'decide-host-supported',
    formerName: 'decides-on-host',
    description: "decides on KVM's host supported XCR0 instead of the guest's: on a PKU host the leaked bit is kept and 6.2-style kernels still refuse the buffer",
    expectedKiller: 'P2',
    control: 'P2',
    source: fields((o, ctx, f) => ({ ...f, xstateBv: pveMaskLogic(o, ctx.hostSupportedXcr0, f.xstateBv) })),
  },
  {
    name: 'decide-leaf7-pku',
    description: 'decides on the CPUID leaf 7 PKU bit instead of leaf 0xD: leaf 0xD may list PKRU without PKU (Zen 2, raw CPUID) and vice versa',
    expectedKiller: 'P1',
    source: fields((o, ctx, f) => ({ ...f, xstateBv: clearIf(o, o.bnot(ctx.cpuidPku), f.xstateBv, MASK.PKRU) })),
  },
  {
    name: 'decide-xcr0',
    description:
      'decides on the vCPU XCR0 (ctx.xcr0) instead of guest-supported XCR0: QEMU restores XCRS after XSAVE, so at SET time XCR0 is the reset 0x1 and PKRU is cleared even for PKU guests',
    expectedKiller: 'P1',
    source: fields((o, ctx, f) => ({ ...f, xstateBv: clearIf(o, lacks(o, ctx.xcr0, MASK.PKRU), f.xstateBv, MASK.PKRU) })),
  },
  {
    name: 'inverted-condition',
    description: 'inverted condition: clears PKRU when the guest DOES support it, keeps the leaked bit otherwise',
    expectedKiller: 'P1',
    source: fields((o, ctx, f) => ({ ...f, xstateBv: clearIf(o, o.bnot(lacks(o, ctx.guestSupportedXcr0, MASK.PKRU)), f.xstateBv, MASK.PKRU) })),
  },
  {
    name: 'mask-0x100',
    formerName: 'wrong-bit',
    description: 'clears bit 8 (mask 0x100, PT) instead of bit 9 (0x200, PKRU) when the guest lacks PKRU',
    expectedKiller: 'P3',
    // the review's P2 control since before the one catalogue: the leaked bit stays, so 6.2-style
    // kernels refuse the migration (P2); P3 sees the wrong bit first in the kill matrix
    control: 'P2',
    source: fields(clearWhenGuestLacksPkru(0x100n)),
  },
  {
    name: 'mask-0x300',
    description: 'clears mask 0x300 (PT and PKRU) instead of 0x200 when the guest lacks PKRU',
    expectedKiller: 'P3',
    source: fields(clearWhenGuestLacksPkru(0x300n)),
  },
  {
    name: 'number-arithmetic',
    description: 'masks in Number arithmetic (Number(bv) & ~0x200): JS bitwise operators work on 32 bits, so bits 32-63 are lost and bit 31 is sign-extended',
    expectedKiller: 'P3',
    source: {
      kind: 'plain',
      why: "JavaScript's Number conversion and 32-bit operators, which the bit-vector interface does not model",
      fn: (ctx, region) => {
        if ((ctx.guestSupportedXcr0 & MASK.PKRU) !== 0n) return;
        const view = Buffer.from(region.buffer, region.byteOffset, region.byteLength);
        view.writeBigUInt64LE(BigInt.asUintN(64, BigInt(Number(view.readBigUInt64LE(OFF.XSTATE_BV)) & ~0x200)), OFF.XSTATE_BV);
      },
    },
  },
  {
    name: 'off-by-one-bit10',
    description: 'off by one: clears bit 10 (1n << 10n, PASID) instead of bit 9 when the guest lacks PKRU',
    expectedKiller: 'P3',
    source: fields(clearWhenGuestLacksPkru(1n << 10n)),
  },
  {
    name: 'toggle-pkru',
    description: 'toggles bit 9 (XOR) instead of clearing it: sets it on buffers that lack it, and a second run undoes the first',
    expectedKiller: 'P3',
    control: 'P3',
    source: fields((o, ctx, f) => ({ ...f, xstateBv: o.ite(lacks(o, ctx.guestSupportedXcr0, MASK.PKRU), o.xor(f.xstateBv, o.const(MASK.PKRU)), f.xstateBv) })),
  },
  {
    name: 'wrong-byte-512',
    description: 'wrong offset: clears bit 1 of byte 512 (the low byte of XSTATE_BV, i.e. the SSE bit) instead of bit 1 of byte 513',
    expectedKiller: 'P3',
    source: bytes((o, ctx, r) =>
      whenBytes(o, o.band(lacks(o, ctx.guestSupportedXcr0, MASK.PKRU), o.bnot(o.isZero(o.and(o.readU8(r, 513), o.const(0x02n))))), r, (x) =>
        o.writeU8(x, 512, o.and(o.readU8(x, 512), o.const(0xfdn))),
      ),
    ),
  },
  {
    name: 'wrong-offset-xcomp',
    description: 'wrong field: clears bit 9 of XCOMP_BV (bytes 520-527) instead of XSTATE_BV, so the leaked bit stays',
    expectedKiller: 'P2',
    source: fields((o, ctx, f) => ({ ...f, xcompBv: clearIf(o, lacks(o, ctx.guestSupportedXcr0, MASK.PKRU), f.xcompBv, MASK.PKRU) })),
  },
  {
    name: 'zero-pkru-area',
    description: 'writes the PKRU area: zeroes the PKRU dword (at the Intel offset) when it clears the bit',
    expectedKiller: 'P3',
    // What a real kernel carrying the patch cannot show (xsave-harness lab mutants): KVM reads the
    // PKRU area only when XSTATE_BV bit 9 is set (kernel-semantics.md §4.2 step 5), and this mutant
    // zeroes it only when it clears that bit, so no ioctl outcome differs; P3 sees the bytes.
    invisibleToIoctls: 'the kernel ignores the PKRU area once bit 9 is clear, so only the bytes of its copy differ (P3)',
    source: bytes((o, ctx, r) => {
      const bv = o.readU64(r, OFF.XSTATE_BV);
      const clears = o.band(lacks(o, ctx.guestSupportedXcr0, MASK.PKRU), o.bnot(lacks(o, bv, MASK.PKRU)));
      return whenBytes(o, clears, r, (x) => o.writeU32(o.writeU64(x, OFF.XSTATE_BV, o.and(bv, o.not(o.const(MASK.PKRU)))), PKRU_AREA_INTEL, o.const(0n)));
    }),
  },
  {
    name: 'zero-pkru-area-always',
    // before the one catalogue this was the negative control 'zero-pkru-area', a different mistake
    // from the mutant of that name: renamed so that each name says what it does
    formerName: 'zero-pkru-area',
    description: 'zeroes the PKRU dword (at the Intel offset) on every call, without touching XSTATE_BV: valid buffers lose their PKRU value',
    expectedKiller: 'P1',
    control: 'P1',
    source: bytes((o, _ctx, r) => o.writeU32(r, PKRU_AREA_INTEL, o.const(0n))),
  },
];

function fnOf(s: FixupSource): FixupFn {
  if (s.kind === 'fields') return liftFieldFixup(s.logic);
  if (s.kind === 'bytes') return byteFixupFn(s.logic);
  return s.fn;
}

/** The catalogue, sorted by name (the order of the kill matrix). */
export const BROKEN_FIXUPS: readonly BrokenFixup[] = ENTRIES.map((e) => ({
  ...e,
  expectedKiller: e.expectedKiller ?? null,
  equivalent: e.equivalent ?? null,
  control: e.control ?? null,
  fn: fnOf(e.source),
})).sort((a, b) => (a.name < b.name ? -1 : 1));

/** The review's negative controls: the entries that stand for one property each. */
export const NEGATIVE_CONTROLS: readonly (BrokenFixup & { control: PropertyId })[] = BROKEN_FIXUPS.filter((b): b is BrokenFixup & { control: PropertyId } => b.control !== null);

/**
 * The entry named `name`. A name from before the one catalogue (formerName) still finds its
 * entry, except 'zero-pkru-area', which has always been the mutant's name too and now means it.
 */
export function brokenFixup(name: string): BrokenFixup {
  const f = BROKEN_FIXUPS.find((x) => x.name === name) ?? BROKEN_FIXUPS.find((x) => x.formerName === name && !BROKEN_FIXUPS.some((y) => y.name === name));
  if (!f) throw new Error(`no broken fixup named ${name}`);
  return f;
}

/** What mutants/NAME.js exports (CASE-FORMAT.md "The fixup plug-in", plus the catalogue's metadata). */
export interface MutantPlugin {
  fixup: FixupFn;
  description: string;
  expectedKiller?: PropertyId;
  equivalent?: string;
  invisibleToIoctls?: string;
}

/** The plug-in of a catalogue entry: what the generated mutants/NAME.js exports. */
export function mutantPlugin(name: string): MutantPlugin {
  const f = BROKEN_FIXUPS.find((x) => x.name === name);
  if (!f) throw new Error(`mutants/${name}.js: no entry '${name}' in properties/brokenFixups.ts (regenerate the plug-ins: node -r ./scripts/ts-register.js scripts/gen-mutant-plugins.ts)`);
  return {
    fixup: f.fn,
    description: f.description,
    ...(f.expectedKiller ? { expectedKiller: f.expectedKiller } : {}),
    ...(f.equivalent ? { equivalent: f.equivalent } : {}),
    ...(f.invisibleToIoctls ? { invisibleToIoctls: f.invisibleToIoctls } : {}),
  };
}
