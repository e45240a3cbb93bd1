// Host catalogue: the host's XCR0 (user features the host kernel enables) and its layout.
// KVM's supported XCR0 on a host is hostXcr0 ∩ the kernel's KVM_SUPPORTED_XCR0
// (kernel-semantics.md §2.1). Figures from cpu-data.md §2.
import { AMD_LAYOUT, INTEL_LAYOUT, Layout, TCG_LAYOUT, Vendor, ZEN2_LAYOUT, layoutFor, slotOf } from './layout';
import { bitsOf } from './xfeatures';

export interface Host {
  name: string;
  vendor: Vendor;
  /** user XSAVE features enabled by the host kernel (XCR0) */
  xcr0: bigint;
  layout: Layout;
  /** MXCSR_MASK as FXSAVE reports it (0xFFFF on every part in the catalogue) */
  mxcsrMask: number;
  note?: string;
  /**
   * Measured: which XRSTOR form's MXCSR rule the host kernel's restore of the guest fpstate
   * follows (xrstor.ts XrstorEnv.form). Set by the real-KVM calibration (kvm/calibration.ts)
   * from a guest run; absent = 'standard'. Linux restores with XRSTORS (the compacted form)
   * whenever it uses XSAVES, so the SDM (Vol. 1 §13.8.2) predicts 'compacted' on such hosts
   * too; only the project machine is measured (docs/kvm-findings.md §12.1).
   */
  kernelXrstor?: 'standard' | 'compacted';
  /**
   * Who executes the guest's own FXSAVE: the processor ('hardware', the default), or QEMU's TCG
   * emulator ('qemu-tcg': the kernel lab's hosts, where the L2 guest is emulated). QEMU 7.2's
   * FXSAVE never stores FOP (bytes 6-7 keep what memory held) and stores FIP/FDP as 0, whatever
   * FSW.ES says; measured in the lab (docs/lab.md §3): FOP read back as the executor's 0xa5 fill.
   */
  fxsave?: 'hardware' | 'qemu-tcg';
}

function host(name: string, vendor: Vendor, xcr0: bigint, note: string, layout?: Layout): Host {
  return { name, vendor, xcr0, layout: layout ?? layoutFor(vendor), mxcsrMask: 0xffff, note };
}

function labHost(name: string, xcr0: bigint, note: string): Host {
  return { ...host(name, 'amd', xcr0, note, TCG_LAYOUT), fxsave: 'qemu-tcg' };
}

export const HOSTS: Readonly<Record<string, Host>> = {
  haswell: host('haswell', 'intel', 0x7n, 'Haswell: AVX, no MPX, no PKU'),
  'skylake-client': host('skylake-client', 'intel', 0x1fn, 'Core i5-6600: AVX + MPX, no PKU'),
  'skylake-sp': host('skylake-sp', 'intel', 0x2ffn, 'Xeon Gold 6148: AVX-512, MPX, PKU'),
  'cascadelake-sp': host('cascadelake-sp', 'intel', 0x2ffn, 'Xeon Gold 6252: AVX-512, MPX, PKU'),
  'icelake-sp': host('icelake-sp', 'intel', 0x2e7n, 'Ice Lake-SP: AVX-512, PKU, no MPX'),
  'alderlake': host('alderlake', 'intel', 0x207n, 'i7-12700K: AVX, PKU, no AVX-512'),
  'sapphire-rapids': host('sapphire-rapids', 'intel', 0x602e7n, 'Sapphire Rapids: AVX-512, PKU, AMX'),
  zen1: host('zen1', 'amd', 0x7n, 'EPYC 7601: AVX only'),
  // Zen 2 advertises bit 9 in leaf 0xD but PKU = 0; Linux masks PKRU, so the host set is 0x7.
  zen2: host('zen2', 'amd', 0x7n, 'Ryzen 9 3900X / EPYC 7402P: leaf 0xD lists PKRU, PKU=0', ZEN2_LAYOUT),
  zen3: host('zen3', 'amd', 0x207n, 'Ryzen 9 5900X / EPYC Milan: AVX, PKU'),
  zen4: host('zen4', 'amd', 0x2e7n, 'Ryzen 7 7700X / EPYC Genoa: AVX-512, PKU'),
  'zen4-nopku': host('zen4-nopku', 'amd', 0xe7n, 'Zen 4 guest without PKU, as on the project machines (real-kvm-here.md)'),
  // The kernel lab's hosts: KVM inside a QEMU TCG guest (lab/catalogue.ts). What KVM offers there
  // is measured at every lab boot and compared with these entries (lab-tcg.md; docs/lab.md).
  'lab-pku': labHost('lab-pku', 0x207n, 'kernel lab: QEMU TCG -cpu max (x87, SSE, AVX, PKRU)'),
  'lab-nopku': labHost('lab-nopku', 0x7n, 'kernel lab: QEMU TCG -cpu max,-pku (x87, SSE, AVX)'),
  'lab-noavx': labHost('lab-noavx', 0x203n, 'kernel lab: QEMU TCG -cpu max without AVX (x87, SSE, PKRU)'),
};

export function hostByName(name: string): Host | undefined {
  return Object.prototype.hasOwnProperty.call(HOSTS, name) ? HOSTS[name] : undefined;
}

/**
 * XCR0 components of `supportedXcr0` the vendor's layout has no save area for. A real host enables
 * only components its CPUID.0xD enumerates (SDM Vol. 1 §13.2), so such a host cannot exist: MPX or
 * AMX on the AMD layout, for instance.
 */
export function componentsWithoutArea(supportedXcr0: bigint, vendor: Vendor): number[] {
  const layout = layoutFor(vendor);
  return bitsOf(supportedXcr0).filter((i) => slotOf(layout, i) === undefined);
}

/** Why no host of `vendor` can have this supported XCR0, or null when one can. */
export function hostAreaProblem(supportedXcr0: bigint, vendor: Vendor): string | null {
  const missing = componentsWithoutArea(supportedXcr0, vendor);
  if (!missing.length) return null;
  const many = missing.length > 1;
  return `XCR0 bit${many ? 's' : ''} ${missing.join(', ')} ha${many ? 've' : 's'} no save area in the ${vendor} layout`;
}

/** A host given by its supported XCR0 and vendor; throws when the vendor's layout cannot hold it. */
export function customHost(supportedXcr0: bigint, vendor: Vendor): Host {
  const problem = hostAreaProblem(supportedXcr0, vendor);
  if (problem) throw new RangeError(`custom host 0x${supportedXcr0.toString(16)}: ${problem}`);
  return {
    name: `custom-${vendor}-0x${supportedXcr0.toString(16)}`,
    vendor,
    xcr0: supportedXcr0,
    layout: vendor === 'intel' ? INTEL_LAYOUT : AMD_LAYOUT,
    mxcsrMask: 0xffff,
  };
}
