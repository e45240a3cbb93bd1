'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

exports.description = 'also zeroes XCOMP_BV (to "repair" compacted headers), turning a malformed buffer into an accepted one';
exports.expectedKiller = 'P4';
exports.fixup = (ctx, region) => {
  if ((ctx.guestSupportedXcr0 & PKRU) === 0n) writeBv(region, readBv(region) & ~PKRU);
  view(region).writeBigUInt64LE(0n, 520);
};
