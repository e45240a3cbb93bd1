'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

// The PKRU component's standard-format offset on Intel (CPUID.(0xD,9).EBX = 2688).
const PKRU_AREA_INTEL = 2688;

exports.description = 'writes the PKRU area: zeroes the PKRU dword (at the Intel offset) when it clears the bit';
exports.expectedKiller = 'P3';
// What a real kernel carrying the patch cannot show (xsave-harness lab mutants): KVM reads the
// PKRU area only when XSTATE_BV bit 9 is set (kernel-semantics.md §4.2 step 5), and this mutant
// zeroes it only when it clears that bit, so no ioctl outcome differs; P3 sees the bytes.
exports.invisibleToIoctls = 'the kernel ignores the PKRU area once bit 9 is clear, so only the bytes of its copy differ (P3)';
exports.fixup = (ctx, region) => {
  const bv = readBv(region);
  if ((ctx.guestSupportedXcr0 & PKRU) !== 0n || (bv & PKRU) === 0n) return;
  writeBv(region, bv & ~PKRU);
  view(region).writeUInt32LE(0, PKRU_AREA_INTEL);
};
