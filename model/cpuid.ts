// CPUID entries as handed to KVM_SET_CPUID2, and the per-vCPU guest-supported XCR0 that KVM
// derives from them (kvm_vcpu_after_set_cpuid → cpuid_get_supported_xcr0; 5.15 through 6.19,
// kernel-semantics.md §2.2).

export interface CpuidEntry {
  leaf: number;
  subleaf: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** Leaves whose sub-leaf is significant (KVM_CPUID_FLAG_SIGNIFCANT_INDEX); others match any sub-leaf. */
export const INDEXED_LEAVES: ReadonlySet<number> = new Set([0x4, 0x7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1d, 0x1e, 0x1f, 0x24, 0x8000001d]);

export function findCpuid(entries: readonly CpuidEntry[], leaf: number, subleaf = 0): CpuidEntry | undefined {
  const indexed = INDEXED_LEAVES.has(leaf);
  for (const e of entries) if (e.leaf === leaf && (!indexed || e.subleaf === subleaf)) return e;
  return undefined;
}

/** CPUID(0xD,0) EDX:EAX, the XCR0 bits the vCPU's CPUID advertises; 0 when the leaf is absent. */
export function cpuidXcr0(entries: readonly CpuidEntry[] | null): bigint {
  if (!entries) return 0n;
  const e = findCpuid(entries, 0xd, 0);
  return e ? BigInt(e.eax >>> 0) | (BigInt(e.edx >>> 0) << 32n) : 0n;
}

/**
 * Guest-supported XCR0 as upstream KVM and the Proxmox patch's helper compute it:
 * CPUID(0xD,0) EDX:EAX ∩ KVM's supported XCR0, 0 when the leaf is absent or CPUID was never set.
 */
export function guestSupportedXcr0(entries: readonly CpuidEntry[] | null, hostSupportedXcr0: bigint): bigint {
  return cpuidXcr0(entries) & hostSupportedXcr0;
}

export const CPUID_BITS = {
  /** CPUID.1:ECX */
  XSAVE: 1 << 26,
  OSXSAVE: 1 << 27,
  AVX: 1 << 28,
  /** CPUID.7.0:EBX */
  MPX: 1 << 14,
  AVX512F: 1 << 16,
  /** CPUID.7.0:ECX */
  PKU: 1 << 3,
  OSPKE: 1 << 4,
  /** CPUID.7.0:EDX */
  AMX_TILE: 1 << 24,
} as const;
