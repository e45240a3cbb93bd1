'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

// CPUID.(EAX=7,ECX=0):ECX bit 3 (PKU).
const leaf7Pku = (cpuid) => cpuid.some((e) => e.leaf === 7 && e.subleaf === 0 && (e.ecx & (1 << 3)) !== 0);

exports.description = 'decides on the CPUID leaf 7 PKU bit instead of leaf 0xD: leaf 0xD may list PKRU without PKU (Zen 2, raw CPUID) and vice versa';
exports.expectedKiller = 'P1';
exports.fixup = (ctx, region) => {
  if (!leaf7Pku(ctx.cpuid)) writeBv(region, readBv(region) & ~PKRU);
};
