'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

exports.description = 'wrong offset: clears bit 1 of byte 512 (the low byte of XSTATE_BV, i.e. the SSE bit) instead of bit 1 of byte 513';
exports.expectedKiller = 'P3';
exports.fixup = (ctx, region) => {
  if ((ctx.guestSupportedXcr0 & PKRU) === 0n && (region[513] & 0x02) !== 0) region[512] &= ~0x02;
};
