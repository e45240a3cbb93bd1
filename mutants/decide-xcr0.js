'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

exports.description = 'decides on the vCPU XCR0 (ctx.xcr0) instead of guest-supported XCR0: QEMU restores XCRS after XSAVE, so at SET time XCR0 is the reset 0x1 and PKRU is cleared even for PKU guests';
exports.expectedKiller = 'P1';
exports.fixup = (ctx, region) => {
  if ((ctx.xcr0 & PKRU) === 0n) writeBv(region, readBv(region) & ~PKRU);
};
