// KVM_SET_XSAVE, step by step in kernel order (kernel-semantics.md §4), on a byte buffer.
// The fixup runs where the Proxmox patch does: after the confidential check (and, in 7.0's
// variant C, after the 6.19 XFD pre-mask), before the FPU layer validates the buffer.
import { BIGINT_OPS, SetLimits, confidentialOutcome, firstFailure, setChecks, xfdPremaskLogic } from './bitLogic';
import { Fixup, fixupContext } from './fixup';
import { OFF, slotOf } from './layout';
import { bytesEqual, readU32, readU64, writeU64 } from './region';
import { Vcpu, cloneVcpu } from './vcpu';
import { MASK, XFEATURE, bitsOf, hasBit } from './xfeatures';
import { regionFields } from './xsaveFields';

export type SetXsaveRejection =
  | 'protected-state' // 6.12+: confidential vCPU with has_protected_state
  | 'outside-supported' // XSTATE_BV ⊄ KVM's supported XCR0
  | 'outside-user-xfeatures' // XSTATE_BV ⊄ fpstate->user_xfeatures (6.2: the leaked-PKRU rejection)
  | 'xcomp-bv' // XCOMP_BV ≠ 0 (5.16+)
  | 'header-reserved' // header bytes 528-575 not zero (5.16+)
  | 'mxcsr-reserved'; // MXCSR bits outside mxcsr_feature_mask

export interface SetXsaveResult {
  rc: 0 | 'EINVAL';
  reason: SetXsaveRejection | null;
  /** the fixup changed the kernel's copy of the buffer */
  fixupFired: boolean;
  /** the ioctl returned 0 without touching the state (confidential vCPU before 6.12) */
  ignored: boolean;
  /** the vCPU after the ioctl (a new object when accepted; the input vCPU is not modified) */
  vcpu: Vcpu;
  /**
   * with `keepKernelCopy`: the kernel's copy of the buffer after the pre-mask and the fixup
   * (what the FPU layer validated). Otherwise null: the ioctl path does not need it.
   */
  kernelCopy: Uint8Array | null;
}

export interface SetXsaveOptions {
  /** return the kernel's copy in the result (a diagnostic; costs a copy per ioctl) */
  keepKernelCopy?: boolean;
}

export class RegionSizeError extends Error {}

// The kernel's copy (memdup_user) lives in a buffer reused from call to call, and so does the
// snapshot that tells whether the fixup changed it: allocating both per ioctl was most of the
// model's cost (bench/bench.json, "before optimisation"). Only a plug-in can re-enter setXsave
// while they are in use; then fresh buffers are taken.
let kbufScratch: Uint8Array = new Uint8Array(0);
let beforeScratch: Uint8Array = new Uint8Array(0);
let inFixup = false;

function scratch(buf: Uint8Array, size: number): Uint8Array {
  return buf.length === size ? buf : Buffer.alloc(size); // a Buffer: bytesEqual compares it natively
}

function result(rc: 0 | 'EINVAL', reason: SetXsaveRejection | null, vcpu: Vcpu, fixupFired = false, ignored = false, kernelCopy: Uint8Array | null = null): SetXsaveResult {
  return { rc, reason, fixupFired, ignored, vcpu, kernelCopy };
}

export function setXsave(input: Vcpu, region: Uint8Array, fixup: Fixup | null, opts: SetXsaveOptions = {}): SetXsaveResult {
  const size = input.uabiSize;
  if (region.length < size) {
    // The kernel copies uabi_size bytes from userspace; a shorter buffer is a bug of the caller.
    throw new RegionSizeError(`region is ${region.length} bytes, the vCPU's uabi size is ${size}`);
  }
  const kernel = input.kernel;

  // a. Confidential fpstate: silently ignored; -EINVAL with has_protected_state from 6.12.
  if (input.confidential) {
    const c = confidentialOutcome(kernel.confidential);
    const kernelCopy = opts.keepKernelCopy ? region.slice(0, size) : null;
    return c.reason ? result('EINVAL', c.reason, input, false, false, kernelCopy) : result(0, null, input, false, c.ignored, kernelCopy);
  }

  // memdup_user(uabi_size)
  const kbuf = inFixup ? new Uint8Array(size) : (kbufScratch = scratch(kbufScratch, size));
  kbuf.set(region.length === size ? region : region.subarray(0, size));
  let edited = false;

  // b. 6.19: drop XSTATE_BV bits armed in XFD (XRSTOR would #NM otherwise).
  if (kernel.xfdPremask && input.xfd !== 0n) {
    const bv = readU64(kbuf, OFF.XSTATE_BV);
    const masked = xfdPremaskLogic(BIGINT_OPS, kernel.xfdPremask, input.xfd, bv);
    if (masked !== bv) {
      writeU64(kbuf, OFF.XSTATE_BV, masked);
      edited = true;
    }
  }

  // c. The Proxmox patch (or the plug-in under test) edits the kernel's copy.
  let fixupFired = false;
  if (fixup) {
    // What the fixup is given, to tell whether it changed anything: the caller's buffer itself,
    // unless the pre-mask has already edited the copy.
    let before = region.length === size ? region : region.subarray(0, size);
    if (edited) {
      before = inFixup ? new Uint8Array(size) : (beforeScratch = scratch(beforeScratch, size));
      before.set(kbuf);
    }
    const outer = inFixup;
    inFixup = true;
    try {
      fixup.fn(fixupContext(input), kbuf);
    } finally {
      inFixup = outer;
    }
    if (kbuf.length !== size) throw new Error(`fixup '${fixup.name}' changed the region's length`);
    fixupFired = !bytesEqual(kbuf, before); // kbuf first: a Buffer, compared without wrapping
  }
  // new Uint8Array(kbuf), not kbuf.slice(): kbuf is a Buffer, whose slice() is a view of the
  // reused scratch (found by Stryker: the returned copy changed with the next call).
  const kernelCopy = opts.keepKernelCopy ? new Uint8Array(kbuf) : null;

  const reason = kernel.set === 'load-5.15' ? validate515(input, kbuf) : validateFpuUabi(input, kbuf);
  if (reason) return result('EINVAL', reason, input, fixupFired, false, kernelCopy);
  // Accepted: the new state is a copy of the vCPU with the buffer loaded into it.
  const vcpu = cloneVcpu(input);
  if (kernel.set === 'load-5.15') load515(vcpu, kbuf);
  else copyUabiToXstate(vcpu, kbuf);
  return result(0, null, vcpu, fixupFired, false, kernelCopy);
}

/** SET's limits for a vCPU, as values for bitLogic.ts's checks. */
export function setLimits(vcpu: Vcpu): SetLimits<bigint> {
  return { supportedXcr0: vcpu.supportedXcr0, userXfeatures: vcpu.userXfeatures, mxcsrMask: BigInt(vcpu.host.mxcsrMask >>> 0) };
}

// The checks themselves, in kernel order, are bitLogic.ts's setChecks (shared with the prover).

// 5.15 kvm_vcpu_ioctl_x86_set_xsave: only supported XCR0 and (unconditionally) MXCSR are
// checked; XCOMP_BV, the reserved header bytes and guest CPUID are not.
function validate515(vcpu: Vcpu, kbuf: Uint8Array): SetXsaveRejection | null {
  return firstFailure(setChecks('load-5.15'), setLimits(vcpu), regionFields(kbuf));
}

// fpu_copy_uabi_to_guest_fpstate → copy_uabi_to_xstate → validate_user_xstate_header. The FPU
// layer is called with xcr0 = kvm_caps.supported_xcr0, not the guest's set; then
// user_xfeatures, XCOMP_BV, the reserved header bytes, and MXCSR only when a component that
// uses it (FP/SSE/YMM) is present.
function validateFpuUabi(vcpu: Vcpu, kbuf: Uint8Array): SetXsaveRejection | null {
  return firstFailure(setChecks('fpu-uabi'), setLimits(vcpu), regionFields(kbuf));
}

// 5.15 load_xsave: legacy bytes verbatim, XSTATE_BV as given, extended components copied;
// PKRU goes to vcpu->arch.pkru only when its bit is set.
function load515(vcpu: Vcpu, kbuf: Uint8Array): void {
  const xstateBv = readU64(kbuf, OFF.XSTATE_BV);
  vcpu.fpu.image.set(kbuf.subarray(0, 512), 0);
  vcpu.fpu.xstateBv = xstateBv;
  copyExtended(vcpu, kbuf, xstateBv);
}

function copyUabiToXstate(vcpu: Vcpu, kbuf: Uint8Array): void {
  const xstateBv = readU64(kbuf, OFF.XSTATE_BV);
  const image = vcpu.fpu.image;
  // SSE/YMM need MXCSR: stored even when FP (whose bytes 0-159 carry it) is absent.
  if ((xstateBv & MASK.MXCSR_USERS) !== 0n && !hasBit(xstateBv, XFEATURE.FP)) {
    image.set(kbuf.subarray(OFF.MXCSR, OFF.ST), OFF.MXCSR);
  }
  if (hasBit(xstateBv, XFEATURE.FP)) image.set(kbuf.subarray(0, 160), 0);
  if (hasBit(xstateBv, XFEATURE.SSE)) image.set(kbuf.subarray(OFF.XMM, OFF.XMM + 256), OFF.XMM);
  copyExtended(vcpu, kbuf, xstateBv);
  // Supervisor bits of the kernel buffer are kept; the model's guest fpstate has none (XSS = 0).
  vcpu.fpu.xstateBv = xstateBv;
}

function copyExtended(vcpu: Vcpu, kbuf: Uint8Array, xstateBv: bigint): void {
  for (const i of bitsOf(xstateBv)) {
    if (i < 2) continue;
    const slot = slotOf(vcpu.host.layout, i);
    if (!slot) continue; // a Host built by hand whose layout lacks the area (customHost and case files refuse those)
    if (i === XFEATURE.PKRU) {
      // The PKRU dword goes to vcpu->arch.pkru (not the fpstate). With the bit clear KVM passes
      // a NULL pkru pointer ("KVM's odd ABI"): vcpu->arch.pkru is left unchanged.
      vcpu.pkru = readU32(kbuf, slot.offset);
    } else {
      vcpu.fpu.image.set(kbuf.subarray(slot.offset, slot.offset + slot.size), slot.offset);
    }
  }
}
