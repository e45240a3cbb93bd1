// The model's vCPU: what KVM keeps per vCPU that the XSAVE ioctls read and write. The guest
// fpstate is held as a standard-format image in the host's layout (a simplification of the
// kernel's compacted buffer): bytes of components whose XSTATE_BV bit is clear are stale and
// never guest-visible, as in the kernel.
import { CpuidEntry, cpuidXcr0, findCpuid, guestSupportedXcr0 } from './cpuid';
import { Host } from './hosts';
import { KernelVariant } from './kernels';
import { OFF, XSAVE_REGION_SIZE, standardSize } from './layout';
import { allocBytes, copyBytes, writeU16, writeU32 } from './region';
import { XCR0_RESET } from './xcr0';
import { MASK, USER_MASK } from './xfeatures';

export interface FpState {
  xstateBv: bigint;
  image: Uint8Array;
}

export interface Vcpu {
  kernel: KernelVariant;
  host: Host;
  /** KVM's supported XCR0 on this host (kvm_caps.supported_xcr0): host XCR0 ∩ KVM_SUPPORTED_XCR0 */
  supportedXcr0: bigint;
  /**
   * entries set with KVM_SET_CPUID2, or null when never set. KVM_SET_CPUID2 replaces the table
   * and the model never edits one, so clones share it; the array is frozen, and plug-ins get a
   * copy (fixup.ts).
   */
  cpuid: readonly Readonly<CpuidEntry>[] | null;
  /**
   * CPUID(0xD,0) EDX:EAX of `cpuid` (0 when the leaf is absent or CPUID was never set), taken
   * when the table is set: the patch's helper needs it on every KVM_SET_XSAVE.
   */
  cpuidXcr0: bigint;
  /** vcpu->arch.guest_supported_xcr0, as this kernel derives it */
  guestSupportedXcr0: bigint;
  /** guest fpstate->user_xfeatures (0 on 5.15, where the concept does not exist) */
  userXfeatures: bigint;
  xcr0: bigint;
  /** guest IA32_XFD; QEMU restores MSRs after XSAVE, so it is 0 during a restore */
  xfd: bigint;
  confidential: boolean;
  fpu: FpState;
  /** vcpu->arch.pkru (zero-allocated at creation) */
  pkru: number;
  /** guest_fpu.uabi_size: bytes KVM_SET_XSAVE copies in and KVM_GET_XSAVE2 copies out */
  uabiSize: number;
}

export function kvmSupportedXcr0(kernel: KernelVariant, host: Host): bigint {
  return host.xcr0 & kernel.kvmSupportedXcr0;
}

function resetImage(size: number): Uint8Array {
  const image = allocBytes(size);
  writeU16(image, OFF.FCW, 0x037f); // fpstate_init_user: x87 control word default
  writeU32(image, OFF.MXCSR, 0x1f80); // MXCSR_DEFAULT
  return image;
}

export function createVcpu(kernel: KernelVariant, host: Host, opts: { confidential?: boolean } = {}): Vcpu {
  const vcpu: Vcpu = {
    kernel,
    host,
    supportedXcr0: kvmSupportedXcr0(kernel, host),
    cpuid: null,
    cpuidXcr0: 0n,
    guestSupportedXcr0: 0n,
    userXfeatures: 0n,
    xcr0: XCR0_RESET,
    xfd: 0n,
    confidential: opts.confidential ?? false,
    fpu: { xstateBv: 0n, image: resetImage(XSAVE_REGION_SIZE) },
    pkru: 0,
    uabiSize: XSAVE_REGION_SIZE,
  };
  deriveFromCpuid(vcpu);
  return vcpu;
}

/**
 * Guest-supported XCR0 as upstream KVM and the Proxmox patch's helper compute it from the vCPU's
 * CPUID: CPUID(0xD,0) EDX:EAX ∩ KVM's supported XCR0 (cpuid.ts guestSupportedXcr0, on the
 * value kept at KVM_SET_CPUID2).
 */
export function cpuidGuestSupportedXcr0(vcpu: Vcpu): bigint {
  return vcpu.cpuidXcr0 & vcpu.supportedXcr0;
}

/** Why KVM_SET_CPUID2 refuses a table (the errno it returns). */
export type SetCpuidRefusal = 'EINVAL' | 'EPERM';

/**
 * KVM_SET_CPUID2's own checks of the table (kvm_check_cpuid), in kernel order; null = accepted.
 * A refused table leaves the vCPU's previous CPUID (never set, or the last accepted table).
 * Measured on the project's 6.18 PVM kernel (docs/kvm-findings.md §1 and §12):
 * - CPUID 0x80000008 EAX[15:8] (virtual-address bits) other than 0, 48 or 57 → EINVAL;
 * - CPUID(0xD,0) EDX:EAX asking for XTILE_DATA (bit 18, the only dynamic user feature) → EPERM,
 *   because the VMM did not request the guest permission (ARCH_REQ_XCOMP_GUEST_PERM); bit 17
 *   alone is accepted. Only on kernels that know AMX (5.17+). The harness never requests the
 *   permission, so the model takes it as absent.
 * The other variants are assumed to check the same (kvm_check_cpuid, UNCONFIRMED by measurement).
 */
export function setCpuidRefusal(kernel: KernelVariant, entries: readonly CpuidEntry[]): SetCpuidRefusal | null {
  const e8 = findCpuid(entries, 0x80000008);
  if (e8) {
    const vaddrBits = (e8.eax >>> 8) & 0xff;
    if (vaddrBits !== 0 && vaddrBits !== 48 && vaddrBits !== 57) return 'EINVAL';
  }
  if ((kernel.kvmSupportedXcr0 & MASK.XTILE_DATA) !== 0n && (cpuidXcr0(entries) & MASK.XTILE_DATA) !== 0n) return 'EPERM';
  return null;
}

/** KVM_SET_CPUID2 → kvm_vcpu_after_set_cpuid: guest-supported XCR0, user_xfeatures, AMX realloc. */
export function setCpuid(vcpu: Vcpu, entries: CpuidEntry[]): void {
  // Entries copied field by field: a spread copy is several times slower, and this runs for
  // every generated case. (Freezing each entry cost ~20 µs a table; only the array is frozen.)
  vcpu.cpuid = Object.freeze(entries.map((e) => ({ leaf: e.leaf, subleaf: e.subleaf, eax: e.eax, ebx: e.ebx, ecx: e.ecx, edx: e.edx })));
  vcpu.cpuidXcr0 = cpuidXcr0(vcpu.cpuid);
  deriveFromCpuid(vcpu);
}

/**
 * The 6.18 PVM kernel here (docs/kvm-findings.md, finding 1): the whole host set as soon as the
 * CPUID table holds a leaf 1 or a leaf 0xD.0 entry, whatever their contents; 0 otherwise.
 */
function pvmGuestSupported(entries: Vcpu['cpuid'], sx: bigint): bigint {
  if (!entries) return 0n;
  return findCpuid(entries, 1) || findCpuid(entries, 0xd, 0) ? sx : 0n;
}

/** vcpu->arch.guest_supported_xcr0 as `kernel` derives it from a CPUID table (null: never set). */
export function derivedGuestSupportedXcr0(kernel: KernelVariant, supportedXcr0: bigint, entries: readonly CpuidEntry[] | null): bigint {
  return kernel.gsx === 'host-after-cpuid' ? pvmGuestSupported(entries, supportedXcr0) : guestSupportedXcr0(entries, supportedXcr0);
}

function deriveFromCpuid(vcpu: Vcpu): void {
  const { kernel, host } = vcpu;
  const sx = vcpu.supportedXcr0;
  vcpu.guestSupportedXcr0 = derivedGuestSupportedXcr0(kernel, sx, vcpu.cpuid);
  const gsx = vcpu.guestSupportedXcr0;
  // A guest given AMX gets its fpstate reallocated (fpu_enable_guest_xfd_features), which adds
  // XTILE_DATA to user_xfeatures and grows uabi_size past 4096 (KVM_CAP_XSAVE2, 5.17+). Nothing
  // shrinks it again (kernel-semantics.md §3.1), so a later table without AMX keeps both.
  const amx = kernel.xsave2 && ((gsx & MASK.XTILE_DATA) !== 0n || vcpu.uabiSize > XSAVE_REGION_SIZE);
  const hostDefault = (host.xcr0 & USER_MASK & ~MASK.XTILE_DATA) | (amx ? MASK.XTILE_DATA : 0n);
  switch (kernel.userXfeatures) {
    case 'none':
      vcpu.userXfeatures = 0n;
      break;
    case 'host':
      vcpu.userXfeatures = hostDefault;
      break;
    // These rules are applied in kvm_vcpu_after_set_cpuid only. Before the first KVM_SET_CPUID2
    // the guest fpstate keeps what __fpstate_reset gave it: the host's default user features.
    // Measured in the kernel lab on debian-6.1-2023 (docs/lab-kernels.md: a never-set vCPU
    // accepts XSTATE_BV 0x203; an empty KVM_SET_CPUID2 narrows it to x87|SSE).
    case 'gsx':
      vcpu.userXfeatures = vcpu.cpuid === null ? hostDefault : gsx; // ad856280ddea
      break;
    case 'gsx+fpsse':
      vcpu.userXfeatures = vcpu.cpuid === null ? hostDefault : gsx | MASK.FPSSE; // a1020a25e697
      break;
  }
  const size = amx ? Math.max(XSAVE_REGION_SIZE, standardSize(host.layout, sx)) : XSAVE_REGION_SIZE;
  if (size !== vcpu.uabiSize) {
    const image = resetImage(size);
    image.set(vcpu.fpu.image.subarray(0, Math.min(size, vcpu.fpu.image.length)));
    vcpu.fpu = { xstateBv: vcpu.fpu.xstateBv, image };
    vcpu.uabiSize = size;
  }
}

/** A copy whose fpstate can be written without touching `v` (the CPUID table is shared, see `cpuid`). */
export function cloneVcpu(v: Vcpu): Vcpu {
  return { ...v, fpu: { xstateBv: v.fpu.xstateBv, image: copyBytes(v.fpu.image) } };
}

/**
 * KVM_SET_MSRS of IA32_XFD from userspace (host-initiated), as a case's `xfd` sets it before
 * KVM_SET_XSAVE: fpu_update_guest_xfd stores it in fpstate->xfd. Refused unless the value is
 * within the guest-supported dynamic features (XTILE_DATA, only with AMX in guest-supported
 * XCR0), and on kernels without XFD (5.15: the MSR came with AMX in 5.17). From kvm_set_msr_common
 * (MSR_IA32_XFD) and kvm_guest_supported_xfd; UNCONFIRMED: not in kernel-semantics.md.
 */
export function setXfd(vcpu: Vcpu, value: bigint): { rc: 0 | 'EINVAL'; reason: string | null } {
  if (!vcpu.kernel.xsave2) return { rc: 'EINVAL', reason: 'no IA32_XFD on this kernel (added with AMX in 5.17)' };
  const allowed = vcpu.guestSupportedXcr0 & MASK.XTILE_DATA;
  if ((value & ~allowed) !== 0n) return { rc: 'EINVAL', reason: `outside the guest-supported dynamic features 0x${allowed.toString(16)}` };
  vcpu.xfd = value;
  return { rc: 0, reason: null };
}
