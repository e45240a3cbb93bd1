'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

exports.description = 'wrong field: clears bit 9 of XCOMP_BV (bytes 520-527) instead of XSTATE_BV, so the leaked bit stays';
exports.expectedKiller = 'P2';
exports.fixup = (ctx, region) => {
  if ((ctx.guestSupportedXcr0 & PKRU) !== 0n) return;
  const v = view(region);
  v.writeBigUInt64LE(v.readBigUInt64LE(520) & ~PKRU, 520);
};
