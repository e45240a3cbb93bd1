// KVM_GET_XSAVE / KVM_GET_XSAVE2: the buffer the kernel hands to userspace, per kernel rule
// (kernel-semantics.md §3). Bytes the kernel fills with data the model does not track are
// reported as don't-care ranges (MXCSR_MASK, the reserved/software bytes 416-511).
import { GetRule } from './kernels';
import { OFF, XSAVE_REGION_SIZE, slotOf } from './layout';
import { allocBytes, readU64, writeU16, writeU32, writeU64 } from './region';
import type { Vcpu } from './vcpu';
import { MASK, XFEATURE, bitsOf, hasBit } from './xfeatures';

export interface GetXsaveResult {
  rc: 0 | 'EINVAL';
  region: Uint8Array;
  /** byte ranges [from, to) whose contents the model does not predict */
  dontCare: Array<[number, number]>;
}

const DONT_CARE: Array<[number, number]> = [
  [OFF.MXCSR_MASK, OFF.ST],
  [OFF.LEGACY_RESERVED, OFF.XSTATE_BV],
];

/** The XSTATE_BV a GET emits: the kernel's XSTATE_BV under this kernel's mask. */
export function emittedXstateBv(vcpu: Vcpu): bigint {
  return vcpu.fpu.xstateBv & getMask(vcpu, vcpu.kernel.get);
}

function getMask(vcpu: Vcpu, rule: GetRule): bigint {
  const guestMask = vcpu.guestSupportedXcr0 | MASK.FPSSE;
  switch (rule) {
    case 'fill-5.15':
      return guestMask; // fill_xsave: kbuf ∩ (gsx | FPSSE); upstream 5.15 does not leak
    case 'uabi-uxf':
      return vcpu.userXfeatures; // 5.16: uxf = host features → leaks; a1020a25e697: gsx | FPSSE
    case 'uabi-masked':
      return vcpu.userXfeatures & guestMask; // 18164f66e6c5 + 8647c52e9504
  }
}

/**
 * KVM_GET_XSAVE2 (5.17+): a region of the vCPU's uabi size. It is also what KVM_GET_XSAVE
 * returns while the uabi size is 4096 (always, before AMX; always on 5.15): see getXsaveLegacy.
 */
export function getXsave(vcpu: Vcpu): GetXsaveResult {
  const size = vcpu.uabiSize;
  const region = allocBytes(size);
  if (vcpu.confidential) {
    // guest_fpu NULL (5.15) / confidential fpstate: zero buffer, rc 0; -EINVAL from 6.12.
    return vcpu.kernel.confidential === 'einval'
      ? { rc: 'EINVAL', region, dontCare: [] }
      : { rc: 0, region, dontCare: [] };
  }
  const image = vcpu.fpu.image;
  const layout = vcpu.host.layout;
  const xstateBv = emittedXstateBv(vcpu);
  if (vcpu.kernel.get === 'fill-5.15') {
    region.set(image.subarray(0, 512), 0); // legacy bytes copied verbatim whatever XSTATE_BV says
    writeU64(region, OFF.XSTATE_BV, xstateBv);
    for (const i of bitsOf(xstateBv)) if (i >= 2) writeComponent(vcpu, region, i);
    return { rc: 0, region, dontCare: DONT_CARE };
  }
  // __copy_xstate_to_uabi_buf: legacy parts from the fpstate where present, else init values.
  if (hasBit(xstateBv, XFEATURE.FP)) {
    region.set(image.subarray(0, OFF.MXCSR), 0);
    region.set(image.subarray(OFF.ST, OFF.XMM), OFF.ST);
  } else {
    writeU16(region, OFF.FCW, 0x037f);
  }
  if ((xstateBv & (MASK.SSE | MASK.YMM)) !== 0n) region.set(image.subarray(OFF.MXCSR, OFF.MXCSR + 4), OFF.MXCSR);
  else writeU32(region, OFF.MXCSR, 0x1f80);
  if (hasBit(xstateBv, XFEATURE.SSE)) region.set(image.subarray(OFF.XMM, OFF.XMM + 256), OFF.XMM);
  writeU64(region, OFF.XSTATE_BV, xstateBv);
  // 5.16-6.5 loop over user_xfeatures and write the PKRU area whenever PKRU is in it, even if
  // the XSTATE_BV bit is clear; 6.6+ loop over the emitted bits only.
  const loop = vcpu.kernel.get === 'uabi-uxf' ? vcpu.userXfeatures : xstateBv;
  for (const i of bitsOf(loop)) {
    if (i < 2 || !slotOf(layout, i)) continue;
    if (i === XFEATURE.PKRU || hasBit(xstateBv, i)) writeComponent(vcpu, region, i);
    // else: the init state of every extended component is all zeros
  }
  return { rc: 0, region, dontCare: DONT_CARE };
}

function writeComponent(vcpu: Vcpu, region: Uint8Array, i: number): void {
  const slot = slotOf(vcpu.host.layout, i);
  if (!slot || slot.offset + slot.size > region.length) return;
  if (i === XFEATURE.PKRU) writeU32(region, slot.offset, vcpu.pkru);
  else region.set(vcpu.fpu.image.subarray(slot.offset, slot.offset + slot.size), slot.offset);
}

/** Region bytes with the don't-care ranges zeroed, for comparing a prediction with a reading. */
export function normalised(region: Uint8Array, dontCare: Array<[number, number]>): Uint8Array {
  const out = region.slice();
  for (const [a, b] of dontCare) out.fill(0, a, Math.min(b, out.length));
  return out;
}

export const xstateBvOfRegion = (r: Uint8Array): bigint => readU64(r, OFF.XSTATE_BV);

/**
 * KVM_GET_XSAVE, the fixed 4096-byte `struct kvm_xsave`: -EINVAL once the vCPU's uabi size has
 * grown past 4096 (an AMX guest after the fpstate realloc), checked in the ioctl handler before
 * anything else, the confidential check included (kernel-semantics.md §3: "KVM_GET_XSAVE: fails
 * with -EINVAL when guest_fpu.uabi_size > 4096"). Otherwise the same buffer as KVM_GET_XSAVE2.
 */
export function getXsaveLegacy(vcpu: Vcpu): GetXsaveResult {
  if (vcpu.uabiSize > XSAVE_REGION_SIZE) return { rc: 'EINVAL', region: allocBytes(XSAVE_REGION_SIZE), dontCare: [] };
  return getXsave(vcpu);
}
