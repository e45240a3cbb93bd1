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
  /** the vCPU after the ioctl (a new object; the input vCPU is not modified) */
  vcpu: Vcpu;
  /** the kernel's copy of the buffer after the fixup (what the FPU layer validated) */
  kernelCopy: Uint8Array;
}

export class RegionSizeError extends Error {}

export function setXsave(input: Vcpu, region: Uint8Array, fixup: Fixup | null): SetXsaveResult {
  const vcpu = cloneVcpu(input);
  if (region.length < vcpu.uabiSize) {
    // The kernel copies uabi_size bytes from userspace; a shorter buffer is a bug of the caller.
    throw new RegionSizeError(`region is ${region.length} bytes, the vCPU's uabi size is ${vcpu.uabiSize}`);
  }
  const kbuf = region.slice(0, vcpu.uabiSize); // memdup_user(uabi_size)
  const kernel = vcpu.kernel;
  const done = (rc: 0 | 'EINVAL', reason: SetXsaveRejection | null, fixupFired = false, ignored = false): SetXsaveResult => ({
    rc,
    reason,
    fixupFired,
    ignored,
    vcpu: rc === 0 ? vcpu : input,
    kernelCopy: kbuf,
  });

  // a. Confidential fpstate: silently ignored; -EINVAL with has_protected_state from 6.12.
  if (vcpu.confidential) {
    const c = confidentialOutcome(kernel.confidential);
    return c.reason ? done('EINVAL', c.reason) : done(0, null, false, c.ignored);
  }

  // b. 6.19: drop XSTATE_BV bits armed in XFD (XRSTOR would #NM otherwise).
  if (kernel.xfdPremask && vcpu.xfd !== 0n) {
    writeU64(kbuf, OFF.XSTATE_BV, xfdPremaskLogic(BIGINT_OPS, kernel.xfdPremask, vcpu.xfd, readU64(kbuf, OFF.XSTATE_BV)));
  }

  // c. The Proxmox patch (or the plug-in under test) edits the kernel's copy.
  let fixupFired = false;
  if (fixup) {
    const before = kbuf.slice();
    fixup.fn(fixupContext(vcpu), kbuf);
    if (kbuf.length !== before.length) throw new Error(`fixup '${fixup.name}' changed the region's length`);
    fixupFired = !bytesEqual(before, kbuf);
  }

  const reason = kernel.set === 'load-5.15' ? validate515(vcpu, kbuf) : validateFpuUabi(vcpu, kbuf);
  if (reason) return done('EINVAL', reason, fixupFired);
  if (kernel.set === 'load-5.15') load515(vcpu, kbuf);
  else copyUabiToXstate(vcpu, kbuf);
  return done(0, null, fixupFired);
}

/** SET's limits for a vCPU, as values for bitLogic.ts's checks. */
export function setLimits(vcpu: Vcpu): SetLimits<bigint> {
  return { supportedXcr0: vcpu.supportedXcr0, userXfeatures: vcpu.userXfeatures, mxcsrMask: BigInt(vcpu.host.mxcsrMask >>> 0) };
}

// The checks themselves, in kernel order, are bitLogic.ts's setChecks (shared with the prover).

// 5.15 kvm_vcpu_ioctl_x86_set_xsave: only supported XCR0 and (unconditionally) MXCSR are
// checked; XCOMP_BV, the reserved header bytes and guest CPUID are not.
function validate515(vcpu: Vcpu, kbuf: Uint8Array): SetXsaveRejection | null {
  return firstFailure(setChecks(BIGINT_OPS, 'load-5.15', setLimits(vcpu), regionFields(kbuf)));
}

// fpu_copy_uabi_to_guest_fpstate → copy_uabi_to_xstate → validate_user_xstate_header. The FPU
// layer is called with xcr0 = kvm_caps.supported_xcr0, not the guest's set; then
// user_xfeatures, XCOMP_BV, the reserved header bytes, and MXCSR only when a component that
// uses it (FP/SSE/YMM) is present.
function validateFpuUabi(vcpu: Vcpu, kbuf: Uint8Array): SetXsaveRejection | null {
  return firstFailure(setChecks(BIGINT_OPS, 'fpu-uabi', setLimits(vcpu), regionFields(kbuf)));
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
    if (!slot) continue; // cannot happen: XSTATE_BV ⊆ supported XCR0 ⊆ the host's components
    if (i === XFEATURE.PKRU) {
      // The PKRU dword goes to vcpu->arch.pkru (not the fpstate). With the bit clear KVM passes
      // a NULL pkru pointer ("KVM's odd ABI"): vcpu->arch.pkru is left unchanged.
      vcpu.pkru = readU32(kbuf, slot.offset);
    } else {
      vcpu.fpu.image.set(kbuf.subarray(slot.offset, slot.offset + slot.size), slot.offset);
    }
  }
}
