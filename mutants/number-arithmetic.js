'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

exports.description = 'masks in Number arithmetic (Number(bv) & ~0x200): JS bitwise operators work on 32 bits, so bits 32-63 are lost and bit 31 is sign-extended';
exports.expectedKiller = 'P3';
exports.fixup = (ctx, region) => {
  if ((ctx.guestSupportedXcr0 & PKRU) === 0n) writeBv(region, BigInt(Number(readBv(region)) & ~0x200));
};
