// Scenarios the properties quantify over, built from the smaller arbitraries. A scenario is
// plain data (so fast-check can shrink and print it); `build…` turns it into model objects.
import fc from 'fast-check';
import {
  DEFAULT_HOST_PKRU,
  GuestSpec,
  HOSTS,
  allocBytes,
  Host,
  KERNELS,
  KernelVariant,
  MASK,
  OFF,
  QemuVersion,
  Vcpu,
  XFEATURE,
  createVcpu,
  componentsWithoutArea,
  customHost,
  guestSupportedXcr0,
  cpuidGuestSupportedXcr0,
  isLeaky,
  kvmSupportedXcr0,
  parseQemu,
  setCpuid,
  setXcrs,
  setXfd,
  slotOf,
  writeU32,
  writeU64,
} from '../../model';
import { CpuidChoice, cpuidChoiceArb, cpuidFor, noPkruCpuidChoiceArb } from './cpuid';
import { hostArb, pkuHostArb, randomHostArb } from './hosts';
import { maskArb, repairXcr0 } from './xcr0';

export const kernelArb: fc.Arbitrary<KernelVariant> = fc.constantFrom(...KERNELS);

export type BvKind = 'valid' | 'leaked' | 'random';

export interface IoctlScenario {
  kernel: KernelVariant;
  host: Host;
  cpuid: CpuidChoice;
  confidential: boolean;
  xcr0Candidate: bigint;
  bvKind: BvKind;
  bvBits: bigint;
  xcompBv: bigint;
  /** a non-zero byte in the reserved header (528-575), or null */
  reserved: { offset: number; value: number } | null;
  mxcsr: number;
  /** seed of the component contents written over the whole region */
  fill: number;
  pkruArea: number;
  /**
   * IA32_XFD set with KVM_SET_MSRS before KVM_SET_XSAVE (issue 14 item 7): reaches 6.19's XFD
   * pre-mask. KVM refuses a value outside the guest-supported dynamic features (setXfd); the
   * vCPU then keeps XFD 0, as it does when QEMU restores MSRs after XSAVE (model/vmm.ts).
   */
  xfd: bigint;
}

export type IoctlClass = 'valid' | 'leaked' | 'other';

export interface BuiltIoctl {
  vcpu: Vcpu;
  region: Uint8Array;
  /** CPUID-derived guest-supported XCR0 (what a non-leaky GET masks with) */
  guestSupported: bigint;
  cls: IoctlClass;
}

const mxcsrArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);

export function ioctlScenarioArb(kinds: readonly BvKind[] = ['valid', 'leaked', 'random'], opts: { cleanHeader?: boolean } = {}): fc.Arbitrary<IoctlScenario> {
  const header = opts.cleanHeader
    ? fc.record({ xcompBv: fc.constant(0n), reserved: fc.constant(null) })
    : fc.record({
        xcompBv: fc.oneof({ weight: 8, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: maskArb }),
        reserved: fc.oneof(
          { weight: 8, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: fc.record({ offset: fc.integer({ min: 528, max: 575 }), value: fc.integer({ min: 1, max: 255 }) }) },
        ),
      });
  return fc
    .record({
      vcpu: fc.oneof(
        { weight: 19, arbitrary: fc.record({ kernel: kernelArb, host: hostArb, cpuid: cpuidChoiceArb, xfd: xfdArb }) },
        { weight: 1, arbitrary: amxVcpuArb },
      ),
      confidential: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      xcr0Candidate: maskArb,
      bvKind: fc.constantFrom(...kinds),
      bvBits: maskArb,
      header,
      mxcsr: opts.cleanHeader ? fc.integer({ min: 0, max: 0xffff }) : mxcsrArb,
      fill: fc.integer({ min: 0, max: 0xffff }),
      pkruArea: fc.integer({ min: 0, max: 0xffffffff }),
    })
    // Fields listed one by one: a rest/spread copy here cost a tenth of a generated case.
    .map((r) => ({
      kernel: r.vcpu.kernel,
      host: r.vcpu.host,
      cpuid: r.vcpu.cpuid,
      confidential: r.confidential,
      xcr0Candidate: r.xcr0Candidate,
      bvKind: r.bvKind,
      bvBits: r.bvBits,
      mxcsr: r.mxcsr,
      fill: r.fill,
      pkruArea: r.pkruArea,
      xcompBv: r.header.xcompBv,
      reserved: r.header.reserved,
      xfd: r.vcpu.xfd,
    }));
}

/** IA32_XFD: 0 (QEMU's restore order, the common case), XTILE_DATA armed, or any 64-bit value. */
export const xfdArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0n) },
  { weight: 2, arbitrary: fc.constant(MASK.XTILE_DATA) },
  { weight: 1, arbitrary: maskArb },
);

/**
 * An AMX vCPU (a kernel with XSAVE2, a host and a leaf 0xD offering both tile bits) with XFD
 * drawn: drawn independently, XFD is accepted in about 1 case in 100 and meets a tile bit of
 * XSTATE_BV on 6.19 in 1 in 2,500, too rare for a batch to reach the pre-mask.
 */
const amxVcpuArb = fc.record({
  // half of them on kernels with the pre-mask (6.19 and later), half on the others with AMX
  kernel: fc.oneof(
    fc.constantFrom(...KERNELS.filter((k) => k.xfdPremask)),
    fc.constantFrom(...KERNELS.filter((k) => k.xsave2 && !k.xfdPremask && (k.kvmSupportedXcr0 & MASK.XTILE) === MASK.XTILE)),
  ),
  host: fc.oneof(fc.constantFrom(...Object.values(HOSTS).filter((h) => (h.xcr0 & MASK.XTILE) === MASK.XTILE)), randomHostArb.map((h) => (h.vendor === 'intel' ? customHost(h.xcr0 | MASK.XTILE, 'intel') : h))),
  cpuid: fc.record({ eax: fc.integer({ min: 0, max: 0xffffffff }), edx: fc.constant(0), pku: fc.boolean() }).map((r) => ({ kind: 'leaf0d' as const, eax: ((r.eax & 0x602ff) | 0x60003) >>> 0, edx: 0, pku: r.pku })),
  xfd: fc.oneof({ weight: 3, arbitrary: fc.constant(MASK.XTILE_DATA) }, { weight: 1, arbitrary: xfdArb }),
});

/**
 * Deterministic pseudo-random bytes (xorshift32) seeded by `seed`, four bytes per step (little
 * endian, so the same on any machine): a byte per step made this the largest cost of a
 * generated case.
 */
export function fillBytes(b: Uint8Array, seed: number, from = 0, to = b.length): void {
  let x = (seed * 0x9e3779b1 + 0x6d2b79f5) >>> 0 || 1;
  for (let i = from; i < to; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x;
    if (i + 1 < to) b[i + 1] = x >>> 8;
    if (i + 2 < to) b[i + 2] = x >>> 16;
    if (i + 3 < to) b[i + 3] = x >>> 24;
  }
}

export function xstateBvFor(kind: BvKind, bits: bigint, guestSupported: bigint): bigint {
  const allowed = guestSupported | MASK.FPSSE;
  switch (kind) {
    case 'valid':
      return bits & allowed;
    case 'leaked':
      return (guestSupported & MASK.PKRU) !== 0n ? bits & allowed : (bits & allowed) | MASK.PKRU;
    case 'random':
      return bits;
  }
}

export function classify(xstateBv: bigint, guestSupported: bigint): IoctlClass {
  const allowed = guestSupported | MASK.FPSSE;
  if ((xstateBv & ~allowed) === 0n) return 'valid';
  if ((guestSupported & MASK.PKRU) === 0n && (xstateBv & ~(allowed | MASK.PKRU)) === 0n) return 'leaked';
  return 'other';
}

export function buildIoctl(s: IoctlScenario): BuiltIoctl {
  const vcpu = createVcpu(s.kernel, s.host, { confidential: s.confidential });
  const cpuid = cpuidFor(s.cpuid, s.host, s.kernel);
  if (cpuid) setCpuid(vcpu, cpuid);
  // repairXcr0 uses the CPUID-derived set; the PVM variant accepts more, never less.
  const xcr0 = repairXcr0(s.xcr0Candidate, vcpu.guestSupportedXcr0);
  if (xcr0 !== vcpu.xcr0) setXcrs(vcpu, xcr0);
  if (s.xfd !== 0n) setXfd(vcpu, s.xfd); // refused (EINVAL): XFD stays 0
  const guestSupported = cpuidGuestSupportedXcr0(vcpu);
  const region = allocBytes(vcpu.uabiSize); // every byte is written below
  fillBytes(region, s.fill);
  const xstateBv = xstateBvFor(s.bvKind, s.bvBits, guestSupported);
  region.fill(0, OFF.XSTATE_BV, OFF.EXTENDED);
  writeU64(region, OFF.XSTATE_BV, xstateBv);
  writeU64(region, OFF.XCOMP_BV, s.xcompBv);
  if (s.reserved) region[s.reserved.offset] = s.reserved.value;
  writeU32(region, OFF.MXCSR, s.mxcsr);
  const pkru = slotOf(s.host.layout, XFEATURE.PKRU);
  if (pkru) writeU32(region, pkru.offset, s.pkruArea);
  return { vcpu, region, guestSupported, cls: classify(xstateBv, guestSupported) };
}

// ---- migrations -------------------------------------------------------------------------

export const LEAKY_KERNELS = KERNELS.filter(isLeaky);
/**
 * P2's sources, as its statement names them: the leaky kernels of the PVE 7 era (linux-5.16,
 * pve-5.15), whose KVM offers no AMX. The kernel lab's debian-6.1-leaky also leaks, but knows AMX:
 * with it as a source the domain would hold AMX guests bound for kernels without AMX, which QEMU
 * cannot even start there (its CPU model check), whatever the PKRU bit. Its migrations are checked
 * on real kernels by `xsave-harness lab incident` instead.
 */
export const P2_SOURCE_KERNELS = LEAKY_KERNELS.filter((k) => (k.kvmSupportedXcr0 & MASK.XTILE) === 0n);
export const QEMU_VERSIONS: readonly QemuVersion[] = ['qemu-7.2', 'qemu-8.0', 'qemu-8.2', 'qemu-9.2'].map((v) => parseQemu(v)!);

export interface GuestChoice {
  xcr0Candidate: bigint;
  inUse: bigint;
  pkru: number;
  hostPkru: number;
  mxcsr: number;
}

export const guestChoiceArb = (opts: { hostPkruNonZero: boolean }): fc.Arbitrary<GuestChoice> =>
  fc.record({
    xcr0Candidate: maskArb,
    inUse: maskArb,
    pkru: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })),
    hostPkru: opts.hostPkruNonZero
      ? fc.oneof(fc.constant(DEFAULT_HOST_PKRU), fc.integer({ min: 1, max: 0xffffffff }))
      : fc.oneof(fc.constant(DEFAULT_HOST_PKRU), fc.integer({ min: 0, max: 0xffffffff })),
    mxcsr: fc.oneof(fc.constant(0x1f80), fc.integer({ min: 0, max: 0xffff })),
  });

/** A guest state valid for a vCPU whose kernel-derived guest-supported XCR0 is `gsx`. */
export function guestSpecFor(g: GuestChoice, gsx: bigint): GuestSpec {
  const xcr0 = repairXcr0(g.xcr0Candidate, gsx);
  return {
    xcr0,
    inUse: g.inUse & (xcr0 | MASK.FPSSE) & ~MASK.PKRU,
    pkru: (xcr0 & MASK.PKRU) !== 0n ? g.pkru : 0,
    hostPkru: g.hostPkru,
    mxcsr: g.mxcsr,
  };
}

export interface LeakScenario {
  sourceKernel: KernelVariant;
  sourceHost: Host;
  targetKernel: KernelVariant;
  /** a host drawn at random; the target host is it widened to carry the guest's features */
  targetBase: Host;
  vmm: QemuVersion;
  cpuid: CpuidChoice;
  guest: GuestChoice;
}

/** Target kernels P2 speaks for: all but linux-5.17, whose separate FP/SSE bug (fixed by a1020a25e697) refuses any non-XSAVE guest. */
export const P2_TARGET_KERNELS = KERNELS.filter((k) => k.id !== 'linux-5.17');

export function leakScenarioArb(targets: readonly KernelVariant[] = P2_TARGET_KERNELS, targetHosts: fc.Arbitrary<Host> = hostArb): fc.Arbitrary<LeakScenario> {
  return fc.record({
    sourceKernel: fc.constantFrom(...P2_SOURCE_KERNELS),
    sourceHost: pkuHostArb,
    targetKernel: fc.constantFrom(...targets),
    targetBase: targetHosts,
    vmm: fc.constantFrom(...QEMU_VERSIONS),
    cpuid: noPkruCpuidChoiceArb,
    guest: guestChoiceArb({ hostPkruNonZero: true }),
  });
}

/** The target host: the drawn one, widened to carry the guest's CPUID-derived features (Intel when the base vendor's layout has no area for one, e.g. MPX or AMX on AMD). */
export function targetHostFor(base: Host, guestFeatures: bigint): Host {
  if ((guestFeatures & ~base.xcr0) === 0n) return base;
  const xcr0 = base.xcr0 | guestFeatures;
  return customHost(xcr0, componentsWithoutArea(xcr0, base.vendor).length ? 'intel' : base.vendor);
}

export function sourceGuestFeatures(s: LeakScenario): bigint {
  const cpuid = cpuidFor(s.cpuid, s.sourceHost, s.sourceKernel);
  return guestSupportedXcr0(cpuid, kvmSupportedXcr0(s.sourceKernel, s.sourceHost));
}

