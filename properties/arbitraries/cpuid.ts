// The vCPU's CPUID: QEMU's named models resolved on the host, raw leaf-0xD values (including
// ones that disagree with the host), an absent leaf 0xD, the Zen 2 quirk (leaf 0xD lists PKRU
// while CPUID.7 PKU = 0), a vCPU whose CPUID was never set, and raw tables a VMM may hand to
// KVM_SET_CPUID2 unfiltered (issue 14 item 3: a plug-in reads the raw table, not only
// guest-supported XCR0). qemu64 comes first so that shrinking ends at the incident's guest.
import fc from 'fast-check';
import { CPU_MODEL_NAMES, CpuidEntry, CPUID_BITS, Host, KernelVariant, MASK, resolveCpuModel, setCpuidRefusal } from '../../model';

export type CpuidChoice =
  | { kind: 'model'; name: string }
  | { kind: 'leaf0d'; eax: number; edx: number; pku: boolean }
  | { kind: 'no-leaf0d' }
  | { kind: 'zen2-quirk' }
  | { kind: 'never-set' }
  | RawTableChoice;

/**
 * A raw table as a VMM may hand it to KVM_SET_CPUID2 without filtering it against the host:
 * leaf 0xD.0 bits the host lacks (PKRU without PKU, MPX on AMD, AMX), CPUID.7 PKU disagreeing
 * with leaf 0xD, leaf 1 saying XSAVE with leaf 0xD absent, EDX bits, a duplicate 0xD.0 entry,
 * entries in reverse order. What the kernel does with it (model/cpuid.ts, model/vcpu.ts):
 * guest-supported XCR0 = the first 0xD.0 entry's EDX:EAX ∩ KVM's supported XCR0 (a host bit the
 * host lacks is dropped; a duplicate after the first is not read: first match, as
 * cpuid_entry2_find scans, UNCONFIRMED: not in kernel-semantics.md, and kvm_check_cpuid is
 * assumed not to refuse duplicates, UNCONFIRMED); leaf 1 and leaf 7 do not enter it (§2.2), but
 * the PVM kernel's does (any leaf 1 or 0xD.0 entry). XTILE_DATA without the guest permission
 * (`amxPermission` false) is refused with EPERM on kernels that know AMX (setCpuidRefusal,
 * measured on 6.18 PVM): the vCPU then keeps no CPUID, and `cpuidFor` returns null.
 */
export interface RawTableChoice {
  kind: 'table';
  /** leaf 1 ECX.XSAVE, or null for no leaf 1 entry */
  leaf1Xsave: boolean | null;
  /** CPUID(0xD,0) EAX/EDX, or null for no leaf 0xD entry */
  leaf0d: { eax: number; edx: number } | null;
  /** a second CPUID(0xD,0) entry after the first, or null */
  dup0d: { eax: number; edx: number } | null;
  pku: boolean;
  /** CPUID.7.0:EBX.MPX */
  mpx: boolean;
  reversed: boolean;
  /** the VMM requested ARCH_REQ_XCOMP_GUEST_PERM (QEMU does for AMX models) */
  amxPermission: boolean;
}

const leaf7 = (pku: boolean): CpuidEntry => ({ leaf: 7, subleaf: 0, eax: 0, ebx: 0, ecx: pku ? CPUID_BITS.PKU : 0, edx: 0 });

export function cpuidFor(choice: CpuidChoice, host: Host, kernel: KernelVariant): CpuidEntry[] | null {
  switch (choice.kind) {
    case 'model':
      return resolveCpuModel(choice.name, host, kernel);
    case 'leaf0d':
      return [{ leaf: 0xd, subleaf: 0, eax: choice.eax, ebx: 0, ecx: 0, edx: choice.edx }, leaf7(choice.pku)];
    case 'no-leaf0d':
      return [{ leaf: 0, subleaf: 0, eax: 7, ebx: 0, ecx: 0, edx: 0 }, leaf7(false)];
    case 'zen2-quirk':
      return [{ leaf: 0xd, subleaf: 0, eax: 0x207, ebx: 0x340, ecx: 0x380, edx: 0 }, leaf7(false)];
    case 'never-set':
      return null;
    case 'table':
      return rawTable(choice, kernel);
  }
}

function rawTable(c: RawTableChoice, kernel: KernelVariant): CpuidEntry[] | null {
  const t: CpuidEntry[] = [{ leaf: 0, subleaf: 0, eax: c.leaf0d || c.dup0d ? 0xd : 7, ebx: 0, ecx: 0, edx: 0 }];
  if (c.leaf1Xsave !== null) t.push({ leaf: 1, subleaf: 0, eax: 0, ebx: 0, ecx: c.leaf1Xsave ? CPUID_BITS.XSAVE : 0, edx: 0 });
  t.push({ leaf: 7, subleaf: 0, eax: 0, ebx: c.mpx ? CPUID_BITS.MPX : 0, ecx: c.pku ? CPUID_BITS.PKU : 0, edx: 0 });
  if (c.leaf0d) t.push({ leaf: 0xd, subleaf: 0, eax: c.leaf0d.eax, ebx: 0, ecx: 0, edx: c.leaf0d.edx });
  if (c.dup0d) t.push({ leaf: 0xd, subleaf: 0, eax: c.dup0d.eax, ebx: 0, ecx: 0, edx: c.dup0d.edx });
  if (c.reversed) t.reverse();
  // KVM_SET_CPUID2 refuses XTILE_DATA without the permission: the vCPU keeps no table.
  if (!c.amxPermission && setCpuidRefusal(kernel, t) === 'EPERM') return null;
  return t;
}

export function describeCpuid(choice: CpuidChoice): string {
  switch (choice.kind) {
    case 'model':
      return choice.name;
    case 'leaf0d':
      return `leaf0d(eax=0x${choice.eax.toString(16)},edx=0x${choice.edx.toString(16)},pku=${choice.pku})`;
    case 'table': {
      const r = (x: { eax: number; edx: number } | null) => (x ? `0x${x.edx.toString(16)}:${x.eax.toString(16)}` : 'absent');
      return `table(leaf1.xsave=${choice.leaf1Xsave},0xd=${r(choice.leaf0d)},dup=${r(choice.dup0d)},pku=${choice.pku},mpx=${choice.mpx},reversed=${choice.reversed},amxPerm=${choice.amxPermission})`;
    }
    default:
      return choice.kind;
  }
}

const userBits = Number(0xffffffffn & (MASK.FPSSE | MASK.YMM | MASK.MPX | MASK.AVX512 | MASK.PKRU | MASK.XTILE));

const leaf0dValueArb = (eaxMask: number): fc.Arbitrary<{ eax: number; edx: number }> =>
  fc.record({
    eax: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }).map((v) => (v & userBits & eaxMask) >>> 0), fc.integer({ min: 0, max: 0xffffffff }).map((v) => (v & eaxMask) >>> 0)),
    edx: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
  });

/** Raw tables (RawTableChoice); `eaxMask` keeps bits out of every leaf 0xD entry. */
export const rawTableChoiceArb = (eaxMask = 0xffffffff): fc.Arbitrary<RawTableChoice> =>
  fc.record({
    leaf1Xsave: fc.constantFrom(null, true, false),
    leaf0d: fc.oneof({ weight: 4, arbitrary: leaf0dValueArb(eaxMask) }, { weight: 1, arbitrary: fc.constant(null) }),
    dup0d: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: leaf0dValueArb(eaxMask) }),
    pku: fc.boolean(),
    mpx: fc.boolean(),
    reversed: fc.boolean(),
    amxPermission: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  }).map((r) => ({ kind: 'table' as const, ...r }));

export const cpuidChoiceArb: fc.Arbitrary<CpuidChoice> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CPU_MODEL_NAMES).map((name) => ({ kind: 'model' as const, name })) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        eax: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }).map((v) => (v & userBits) >>> 0), fc.integer({ min: 0, max: 0xffffffff })),
        edx: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
        pku: fc.boolean(),
      })
      .map((r) => ({ kind: 'leaf0d' as const, ...r })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'no-leaf0d' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'zen2-quirk' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'never-set' as const }) },
  { weight: 3, arbitrary: rawTableChoiceArb() },
);

/** CPUID choices that never offer PKRU through leaf 0xD (named models without PKU, raw values and tables without bit 9 in any 0xD entry). */
export const noPkruCpuidChoiceArb: fc.Arbitrary<CpuidChoice> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .constantFrom('qemu64', 'kvm64', 'x86-64-v2-AES', 'x86-64-v3', 'x86-64-v4', 'Haswell', 'Skylake-Client', 'EPYC', 'EPYC-Rome')
      .map((name) => ({ kind: 'model' as const, name })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ eax: fc.integer({ min: 0, max: 0xffffffff }).map((v) => (v & userBits & ~0x200) >>> 0), edx: fc.constant(0), pku: fc.boolean() })
      .map((r) => ({ kind: 'leaf0d' as const, ...r })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'no-leaf0d' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'never-set' as const }) },
  { weight: 2, arbitrary: rawTableChoiceArb(~0x200) },
);
