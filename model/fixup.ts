// The fixup plug-in interface (shared/CASE-FORMAT.md, "The fixup plug-in") and the built-in
// fixup: the Proxmox patch "kvm: xsave set: mask-out PKRU bit in xfeatures if vCPU has no
// support" (pve-kernel 1559d22f3510, variants A/B/C identical in effect; kernel-semantics.md §6).
import { BIGINT_OPS, ByteOps, pveMaskLogic, whenBytes } from './bitLogic';
import type { CpuidEntry } from './cpuid';
import { OFF } from './layout';
import { BYTE_OPS } from './byteOps';
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
 * The Proxmox patch over bytes, written once for every byte implementation: it reads XSTATE_BV
 * of the kernel's copy (`xsave.header.xfeatures`), and writes it back masked when the mask
 * changed it, leaving every other byte (the PKRU area too) as it is. pveFixup runs it on the
 * buffer; `xsave-harness prove` runs it on a z3 array of bytes (the byte-level P1 and P3).
 */
export function pveFixupBytes<V, B, R>(o: ByteOps<V, B, R>, guestSupportedXcr0: V, region: R): R {
  const xstateBv = o.readU64(region, OFF.XSTATE_BV);
  const masked = pveMaskLogic(o, guestSupportedXcr0, xstateBv);
  return whenBytes(o, o.bnot(o.eq(masked, xstateBv)), region, (r) => o.writeU64(r, OFF.XSTATE_BV, masked));
}

/** The Proxmox patch as a plug-in: pveFixupBytes on the kernel's copy. */
export function pveFixup(ctx: FixupContext, region: Uint8Array): void {
  pveFixupBytes(BYTE_OPS, ctx.guestSupportedXcr0, region);
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
