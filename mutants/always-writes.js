'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

exports.description = 'writes XSTATE_BV back on every call, even when nothing changed (the patch writes only when the bit was set)';
exports.equivalent =
  'writing back the value just read leaves every byte as it was, so the kernel copy and every ioctl outcome are identical to the patch\'s (bytes are the only interface a plug-in has).';
exports.fixup = (ctx, region) => {
  const bv = readBv(region);
  writeBv(region, (ctx.guestSupportedXcr0 & PKRU) === 0n ? bv & ~PKRU : bv);
};
