// KVM_SET_XSAVE, step by step in kernel order (kernel-semantics.md §4), on a byte buffer.
// The fixup runs where the Proxmox patch does: after the confidential check (and, in 7.0's
// variant C, after the 6.19 XFD pre-mask), before the FPU layer validates the buffer.
import { BIGINT_OPS, SET_REASONS, SetLimits, SetSteps, SetVcpuValues, XsaveFields, setXsaveDecision } from './bitLogic';
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
  // The decision is bitLogic.ts's setXsaveDecision, the composition the prover checks; the steps
  // below are its byte side: a. confidential early return, b. 6.19's XFD pre-mask, c. the fixup
  // (Proxmox patch or plug-in), then the FPU layer's checks.
  const steps = new KernelCopy(input, region, size, fixup);
  const d = setXsaveDecision(BIGINT_OPS, kernel, setVcpuValues(input), regionFields(steps.user), steps);
  const out = d.outcome;
  const kernelCopy = !opts.keepKernelCopy ? null : input.confidential ? region.slice(0, size) : new Uint8Array(steps.kbuf!);
  // new Uint8Array(kbuf), not kbuf.slice(): kbuf is a Buffer, whose slice() is a view of the
  // reused scratch (found by Stryker: the returned copy changed with the next call).
  if (out.ignored) return result(0, null, input, false, true, kernelCopy);
  if (out.rejected) return result('EINVAL', reasonOf(out.reasonIs), input, steps.fixupFired, false, kernelCopy);
  // Accepted: the new state is a copy of the vCPU with the kernel's copy loaded into it (it
  // depends on the fixup only through those bytes).
  const kbuf = steps.kbuf!;
  const vcpu = cloneVcpu(input);
  if (kernel.set === 'load-5.15') load515(vcpu, kbuf);
  else copyUabiToXstate(vcpu, kbuf);
  return result(0, null, vcpu, steps.fixupFired, false, kernelCopy);
}

function reasonOf(reasonIs: Record<SetXsaveRejection, boolean>): SetXsaveRejection | null {
  for (const r of SET_REASONS) if (reasonIs[r]) return r;
  return null;
}

/** The byte side of SET's steps: memdup_user into a reused buffer, the pre-mask and the fixup edit it. */
class KernelCopy implements SetSteps<bigint, boolean> {
  readonly user: Uint8Array;
  kbuf: Uint8Array | null = null;
  fixupFired = false;
  #edited = false;
  constructor(
    private readonly vcpu: Vcpu,
    region: Uint8Array,
    private readonly size: number,
    private readonly plugin: Fixup | null,
  ) {
    this.user = region.length === size ? region : region.subarray(0, size);
  }

  copyIn(input: XsaveFields<bigint, boolean>, xstateBv: bigint | null): XsaveFields<bigint, boolean> {
    // memdup_user(uabi_size)
    const kbuf = inFixup ? new Uint8Array(this.size) : (kbufScratch = scratch(kbufScratch, this.size));
    kbuf.set(this.user);
    this.kbuf = kbuf;
    if (xstateBv !== null && xstateBv !== input.xstateBv) {
      writeU64(kbuf, OFF.XSTATE_BV, xstateBv);
      this.#edited = true;
    }
    return regionFields(kbuf);
  }

  fixup(copy: XsaveFields<bigint, boolean>): XsaveFields<bigint, boolean> {
    const fixup = this.plugin;
    if (!fixup) return copy;
    const kbuf = this.kbuf!;
    const size = this.size;
    // What the fixup is given, to tell whether it changed anything: the caller's buffer itself,
    // unless the pre-mask has already edited the copy.
    let before = this.user;
    if (this.#edited) {
      before = inFixup ? new Uint8Array(size) : (beforeScratch = scratch(beforeScratch, size));
      before.set(kbuf);
    }
    const outer = inFixup;
    inFixup = true;
    try {
      fixup.fn(fixupContext(this.vcpu), kbuf);
    } finally {
      inFixup = outer;
    }
    if (kbuf.length !== size) throw new Error(`fixup '${fixup.name}' changed the region's length`);
    this.fixupFired = !bytesEqual(kbuf, before); // kbuf first: a Buffer, compared without wrapping
    return regionFields(kbuf);
  }
}

/** The vCPU values SET reads, for bitLogic.ts. */
export function setVcpuValues(vcpu: Vcpu): SetVcpuValues<bigint, boolean> {
  return { supportedXcr0: vcpu.supportedXcr0, userXfeatures: vcpu.userXfeatures, mxcsrMask: BigInt(vcpu.host.mxcsrMask >>> 0), confidential: vcpu.confidential, xfd: vcpu.xfd };
}

/** SET's limits for a vCPU, as values for bitLogic.ts's checks. */
export function setLimits(vcpu: Vcpu): SetLimits<bigint> {
  return { supportedXcr0: vcpu.supportedXcr0, userXfeatures: vcpu.userXfeatures, mxcsrMask: BigInt(vcpu.host.mxcsrMask >>> 0) };
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
