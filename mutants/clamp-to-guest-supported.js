'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

exports.description = 'over-broad: clamps XSTATE_BV to guest-supported XCR0, forgetting that x87/SSE are always allowed';
exports.expectedKiller = 'P1';
exports.fixup = (ctx, region) => {
  writeBv(region, readBv(region) & ctx.guestSupportedXcr0);
};
