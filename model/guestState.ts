// A guest's architectural state on the source, as a migration case describes it
// (`guest`: xcr0, inUse, pkru, hostPkru), turned into the source vCPU the way the hardware
// and a leaky or non-leaky kernel would leave it after the guest ran.
import { CpuidEntry } from './cpuid';
import { Host } from './hosts';
import { KernelVariant } from './kernels';
import { OFF, slotOf } from './layout';
import { writeU16, writeU32 } from './region';
import { Vcpu, createVcpu, setCpuid } from './vcpu';
import { setXcrs } from './setXcrs';
import { MASK, XFEATURE, bitsOf, hex } from './xfeatures';

export interface GuestSpec {
  xcr0: bigint;
  /** components holding non-initial values (XINUSE) */
  inUse: bigint;
  /** the guest's own PKRU value (vcpu->arch.pkru) */
  pkru: number;
  /** the host's PKRU register when the guest fpstate is saved (Linux default 0x55555554) */
  hostPkru: number;
  /** the guest's MXCSR (default 0x1f80) */
  mxcsr?: number;
}

export const DEFAULT_HOST_PKRU = 0x55555554;

export class GuestSpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Deterministic non-initial contents of component i (a recognisable per-component pattern). */
export function writeGuestComponent(image: Uint8Array, vcpu: Vcpu, i: number): void {
  const slot = slotOf(vcpu.host.layout, i);
  if (!slot) return;
  if (i === XFEATURE.FP) {
    writeU16(image, OFF.FCW, 0x027f); // round-to-nearest, 53-bit precision: not the 0x037f default
    writeU16(image, OFF.FSW, 0x3800); // TOP = 7: one value pushed
    image[OFF.FTW] = 0x80; // abridged tag: ST7 (physical) valid
    for (let j = 0; j < 10; j++) image[OFF.ST + j] = (0x3f + j * 7) & 0xff;
    return;
  }
  if (i === XFEATURE.PKRU) return; // held in vcpu->arch.pkru, not in the fpstate image
  for (let j = 0; j < slot.size; j++) image[slot.offset + j] = (i * 0x1d + j * 0x3b + 1) & 0xff || 0xa5;
  if (i === XFEATURE.XTILE_CFG) {
    image.fill(0, slot.offset, slot.offset + slot.size);
    image[slot.offset] = 1; // palette 1, no tiles configured: a valid non-init TILECFG
  }
}

/**
 * The source vCPU after the guest ran: its fpstate XSTATE_BV is the guest's XINUSE plus the
 * PKRU bit whenever the host enables PKRU and its PKRU register is non-zero, because the guest
 * fpstate is saved after KVM has switched PKRU back to the host value (kernel-semantics.md §3.5).
 */
export function sourceVcpu(kernel: KernelVariant, host: Host, cpuid: CpuidEntry[] | null, guest: GuestSpec): Vcpu {
  const vcpu = createVcpu(kernel, host);
  if (cpuid) setCpuid(vcpu, cpuid);
  const xr = setXcrs(vcpu, guest.xcr0);
  if (xr.rc !== 0) throw new GuestSpecError('guest.xcr0', `XCR0 ${hex(guest.xcr0)} is not valid for this guest on the source (${xr.reason})`);
  const usable = guest.xcr0 | MASK.FPSSE;
  if ((guest.inUse & ~usable) !== 0n) {
    throw new GuestSpecError('guest.inUse', `inUse ${hex(guest.inUse)} has components outside XCR0 | x87 | SSE (${hex(usable)})`);
  }
  // inUse is "which components hold non-initial values" (CASE-FORMAT.md): PKRU's is guest.pkru,
  // so bit 9 may be given when it agrees with it. Only the contradiction is refused. (Bit 9 clear
  // with a non-zero pkru is accepted too: older cases left PKRU to guest.pkru alone.)
  if ((guest.inUse & MASK.PKRU) !== 0n && guest.pkru === 0) {
    throw new GuestSpecError('guest.inUse', `inUse ${hex(guest.inUse)} says PKRU holds a non-initial value, but guest.pkru is 0x0 (PKRU's initial value): give a non-zero guest.pkru or clear bit 9`);
  }
  if ((guest.xcr0 & MASK.PKRU) === 0n && guest.pkru !== 0) {
    throw new GuestSpecError('guest.pkru', 'a guest without XCR0.PKRU cannot hold a non-zero PKRU');
  }
  const image = vcpu.fpu.image;
  for (const i of bitsOf(guest.inUse)) writeGuestComponent(image, vcpu, i);
  const mxcsr = guest.mxcsr ?? 0x1f80;
  writeU32(image, OFF.MXCSR, mxcsr);
  // SSE's initial configuration is XMM0-15 = 0 *and* MXCSR = 0x1F80 (SDM Vol. 1 §13.6), so a
  // non-default MXCSR keeps XINUSE[1] set and XSAVE records SSE in XSTATE_BV.
  // PKRU is not in the saved fpstate's XINUSE: KVM has put the host's PKRU back when it is saved
  // (kernel-semantics.md §3.5), so bit 9 of inUse only restates guest.pkru.
  const xinuse = (guest.inUse & ~MASK.PKRU) | (mxcsr !== 0x1f80 ? MASK.SSE : 0n);
  const pkruSlot = slotOf(host.layout, XFEATURE.PKRU);
  const hostPku = (host.xcr0 & MASK.PKRU) !== 0n;
  if (pkruSlot && hostPku) writeU32(image, pkruSlot.offset, guest.hostPkru);
  vcpu.fpu.xstateBv = xinuse | (hostPku && guest.hostPkru !== 0 ? MASK.PKRU : 0n);
  vcpu.pkru = guest.pkru;
  return vcpu;
}
