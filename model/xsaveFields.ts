// Bytes ↔ values for the bit-level logic (bitLogic.ts): the XSAVE header fields a buffer holds,
// read lazily (each field is read when the logic asks for it), and written back when a fixup
// over values changed them.
import { ByteFixup, ByteOps, FieldFixup, FixupValues, XsaveFields, whenBytes } from './bitLogic';
import { CPUID_BITS, findCpuid } from './cpuid';
import type { FixupContext, FixupFn } from './fixup';
import { BYTE_OPS } from './byteOps';
import { OFF } from './layout';
import { allZero, readU32, readU64 } from './region';

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

/** The header fields of a buffer, read through any byte implementation. */
export function readFields<V, B, R>(o: ByteOps<V, B, R>, r: R): XsaveFields<V, B> {
  return { xstateBv: o.readU64(r, OFF.XSTATE_BV), xcompBv: o.readU64(r, OFF.XCOMP_BV), mxcsr: o.readU32(r, OFF.MXCSR), headerReservedNonZero: o.bnot(o.allZero(r, OFF.HEADER_RESERVED, OFF.EXTENDED)) };
}

/**
 * A fixup over header values as a fixup over bytes: read the fields, run it, write back the ones
 * it changed. A reserved header that becomes zero is zeroed whole; one that becomes non-zero gets
 * byte 528 = 0x01. One definition, run concretely (liftFieldFixup) and under z3 (the byte-level proof).
 */
export function liftFields(logic: FieldFixup): ByteFixup {
  return <V, B, R>(o: ByteOps<V, B, R>, ctx: FixupValues<V, B>, region: R): R => {
    const before = readFields(o, region);
    const after = logic(o, ctx, before);
    const differs = (a: V, b: V): B => o.bnot(o.eq(a, b));
    let r = whenBytes(o, differs(after.xstateBv, before.xstateBv), region, (x) => o.writeU64(x, OFF.XSTATE_BV, after.xstateBv));
    r = whenBytes(o, differs(after.xcompBv, before.xcompBv), r, (x) => o.writeU64(x, OFF.XCOMP_BV, after.xcompBv));
    r = whenBytes(o, differs(after.mxcsr, before.mxcsr), r, (x) => o.writeU32(x, OFF.MXCSR, after.mxcsr));
    r = whenBytes(o, o.band(after.headerReservedNonZero, o.bnot(before.headerReservedNonZero)), r, (x) => o.writeU8(x, OFF.HEADER_RESERVED, o.const(1n)));
    r = whenBytes(o, o.band(o.bnot(after.headerReservedNonZero), before.headerReservedNonZero), r, (x) => o.fillZero(x, OFF.HEADER_RESERVED, OFF.EXTENDED));
    return r;
  };
}

/** A fixup over bytes as a plug-in function (the concrete instance). */
export function byteFixupFn(f: ByteFixup): FixupFn {
  return (ctx, region) => void f(BYTE_OPS, fixupValues(ctx), region);
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
  return byteFixupFn(liftFields(logic));
}
