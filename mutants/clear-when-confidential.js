'use strict';
// Deliberately broken fixup plug-in (shared/CASE-FORMAT.md "The fixup plug-in"); part of the
// mutant catalogue that `xsave-harness mutants` runs P1-P5 against (docs/mutation.md).
const PKRU = 1n << 9n;
const view = (r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength);
const readBv = (r) => view(r).readBigUInt64LE(512);
const writeBv = (r, v) => view(r).writeBigUInt64LE(BigInt.asUintN(64, v), 512);

exports.description = 'also clears bit 9 for confidential vCPUs whatever the guest supports';
exports.equivalent =
  'the plug-in runs after KVM_SET_XSAVE\'s confidential early return (kernel-semantics.md §4.2 a before c; setXsave step a), so the extra clearing never reaches the FPU layer; called directly (P3) it still only clears bit 9, idempotently. `xsave-harness prove --mutant clear-when-confidential` proves P1, P3 and P4 for it.';
exports.fixup = (ctx, region) => {
  if (ctx.confidential || (ctx.guestSupportedXcr0 & PKRU) === 0n) writeBv(region, readBv(region) & ~PKRU);
};
