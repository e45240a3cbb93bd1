// The fixup plug-in interface (shared/CASE-FORMAT.md, "The fixup plug-in") and the built-in
// fixup: the Proxmox patch "kvm: xsave set: mask-out PKRU bit in xfeatures if vCPU has no
// support" (pve-kernel 1559d22f3510, variants A/B/C identical in effect; kernel-semantics.md §6).
import { BIGINT_OPS, pveMaskLogic } from './bitLogic';
import type { CpuidEntry } from './cpuid';
import { OFF } from './layout';
import { readU64, writeU64 } from './region';
import { Vcpu, cpuidGuestSupportedXcr0 } from './vcpu';

export interface FixupContext {
  /** the vCPU's CPUID entries, as set with KVM_SET_CPUID2 */
  cpuid: CpuidEntry[];
  /** CPUID(0xD,0) EDX:EAX ∩ host supported XCR0; 0n if leaf absent */
  guestSupportedXcr0: bigint;
  /** KVM's supported XCR0 on this host */
  hostSupportedXcr0: bigint;
  /** the vCPU's XCR0 when the ioctl runs */
  xcr0: bigint;
  confidential: boolean;
}

export type FixupFn = (ctx: FixupContext, region: Uint8Array) => void;

export interface Fixup {
  name: string;
  fn: FixupFn;
}

/**
 * The patch's decision on bit-level values (64-bit XSTATE_BV and guest-supported XCR0): the new
 * XSTATE_BV the patch leaves behind. When the CPUID-derived guest-supported XCR0 lacks PKRU,
 * bit 9 is cleared; nothing else. The logic itself is bitLogic.ts's pveMaskLogic, which
 * `xsave-harness prove` checks symbolically; this is its concrete instance.
 */
export function pveMaskXstateBv(guestSupported: bigint, xstateBv: bigint): bigint {
  return pveMaskLogic(BIGINT_OPS, guestSupported, xstateBv);
}

/**
 * The Proxmox patch as a plug-in: it edits XSTATE_BV in the kernel's copy of the buffer
 * (`xsave.header.xfeatures`), leaving the PKRU area bytes as they are. This is bitLogic.ts's
 * pveFixupLogic on the buffer: that logic changes XSTATE_BV only (P3, proved by `prove`), so
 * only XSTATE_BV is read and written back (liftFieldFixup(pveFixupLogic) gives the same bytes,
 * test/prove.test.ts, but is about 20 times slower).
 */
export function pveFixup(ctx: FixupContext, region: Uint8Array): void {
  const xstateBv = readU64(region, OFF.XSTATE_BV);
  const masked = pveMaskXstateBv(ctx.guestSupportedXcr0, xstateBv);
  if (masked !== xstateBv) writeU64(region, OFF.XSTATE_BV, masked);
}

export const PVE_FIXUP: Fixup = { name: 'pve', fn: pveFixup };

/**
 * The context the patch sees. Its helper recomputes guest-supported XCR0 from the vCPU's
 * CPUID entries ∩ KVM's supported XCR0 instead of reading vcpu->arch.guest_supported_xcr0, so
 * on a kernel that derives the latter differently (the PVM 6.18 here) the two can disagree.
 */
export function fixupContext(vcpu: Vcpu): FixupContext {
  return new IoctlFixupContext(vcpu);
}

// A class with `cpuid` as an accessor: a plug-in gets its own copy of the table (it may sort or
// edit it), made only when it looks. The patch never does, and a copy per ioctl, or an object
// literal with a getter (~40 times slower to create than this), was a measurable part of
// the ioctl path's cost (bench/bench.json).
class IoctlFixupContext implements FixupContext {
  readonly guestSupportedXcr0: bigint;
  readonly hostSupportedXcr0: bigint;
  readonly xcr0: bigint;
  readonly confidential: boolean;
  readonly #vcpu: Vcpu;
  #cpuid: CpuidEntry[] | null = null;

  constructor(vcpu: Vcpu) {
    this.#vcpu = vcpu;
    this.guestSupportedXcr0 = cpuidGuestSupportedXcr0(vcpu);
    this.hostSupportedXcr0 = vcpu.supportedXcr0;
    this.xcr0 = vcpu.xcr0;
    this.confidential = vcpu.confidential;
  }

  get cpuid(): CpuidEntry[] {
    return (this.#cpuid ??= (this.#vcpu.cpuid ?? []).map((e) => ({ ...e })));
  }
}

/** `target.fixup` of a case: what the target kernel carries, forced off, or forced on. */
export type FixupMode = 'kernel-default' | 'none' | 'pve';

/** The fixup active on a kernel for a mode; `plugin` replaces the Proxmox patch where it is active. */
export function activeFixup(kernelCarriesPatch: boolean, mode: FixupMode, plugin: Fixup = PVE_FIXUP): Fixup | null {
  if (mode === 'none') return null;
  if (mode === 'pve') return plugin;
  return kernelCarriesPatch ? plugin : null;
}
