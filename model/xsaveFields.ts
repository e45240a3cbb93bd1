// Bytes ↔ values for the bit-level logic (bitLogic.ts): the XSAVE header fields a buffer holds,
// read lazily (each field is read when the logic asks for it), and written back when a fixup
// over values changed them.
import { FieldFixup, XsaveFields, BIGINT_OPS, FixupValues } from './bitLogic';
import { CPUID_BITS, findCpuid } from './cpuid';
import type { FixupContext, FixupFn } from './fixup';
import { OFF } from './layout';
import { allZero, readU32, readU64, writeU32, writeU64 } from './region';

/** The fields of `region` as it is when each is first read (XSTATE_BV is then remembered). */
export function regionFields(region: Uint8Array): XsaveFields<bigint, boolean> {
  return new RegionFields(region);
}

// A class rather than an object literal with getters: SET builds one per ioctl, and literals
// with accessors are several times slower to create.
class RegionFields implements XsaveFields<bigint, boolean> {
  // XSTATE_BV is read by three of SET's checks; the others once at most.
  #xstateBv: bigint | null = null;
  constructor(private readonly region: Uint8Array) {}
  get xstateBv(): bigint {
    return (this.#xstateBv ??= readU64(this.region, OFF.XSTATE_BV));
  }
  get xcompBv(): bigint {
    return readU64(this.region, OFF.XCOMP_BV);
  }
  get mxcsr(): bigint {
    return BigInt(readU32(this.region, OFF.MXCSR));
  }
  get headerReservedNonZero(): boolean {
    return !allZero(this.region, OFF.HEADER_RESERVED, OFF.EXTENDED);
  }
}

/** A snapshot (plain values) of the fields. */
export function snapshotFields(f: XsaveFields<bigint, boolean>): XsaveFields<bigint, boolean> {
  return { xstateBv: f.xstateBv, xcompBv: f.xcompBv, mxcsr: f.mxcsr, headerReservedNonZero: f.headerReservedNonZero };
}

/**
 * Write the fields that differ between `before` and `after` into `region`. A reserved header
 * that becomes zero is zeroed whole; one that becomes non-zero gets byte 528 = 0x01.
 */
export function writeChangedFields(region: Uint8Array, before: XsaveFields<bigint, boolean>, after: XsaveFields<bigint, boolean>): void {
  if (after.xstateBv !== before.xstateBv) writeU64(region, OFF.XSTATE_BV, after.xstateBv);
  if (after.xcompBv !== before.xcompBv) writeU64(region, OFF.XCOMP_BV, after.xcompBv);
  if (after.mxcsr !== before.mxcsr) writeU32(region, OFF.MXCSR, Number(after.mxcsr & 0xffffffffn));
  if (after.headerReservedNonZero !== before.headerReservedNonZero) {
    if (after.headerReservedNonZero) region[OFF.HEADER_RESERVED] = 0x01;
    else region.fill(0, OFF.HEADER_RESERVED, OFF.EXTENDED);
  }
}

/** A FixupContext as the values a FieldFixup sees (cpuidPku read from leaf 7 only when asked). */
export function fixupValues(ctx: FixupContext): FixupValues<bigint, boolean> {
  return {
    guestSupportedXcr0: ctx.guestSupportedXcr0,
    hostSupportedXcr0: ctx.hostSupportedXcr0,
    xcr0: ctx.xcr0,
    confidential: ctx.confidential,
    get cpuidPku() {
      const e = findCpuid(ctx.cpuid, 7, 0);
      return e !== undefined && (e.ecx & CPUID_BITS.PKU) !== 0;
    },
  };
}

/** A fixup over values as a byte-level plug-in function: read the fields, run it, write what changed. */
export function liftFieldFixup(logic: FieldFixup): FixupFn {
  return (ctx, region) => {
    const before = snapshotFields(regionFields(region));
    const after = logic(BIGINT_OPS, fixupValues(ctx), before);
    writeChangedFields(region, before, after);
  };
}
