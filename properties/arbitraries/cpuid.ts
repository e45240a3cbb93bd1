// The vCPU's CPUID: QEMU's named models resolved on the host, raw leaf-0xD values (including
// ones that disagree with the host), an absent leaf 0xD, the Zen 2 quirk (leaf 0xD lists PKRU
// while CPUID.7 PKU = 0) and a vCPU whose CPUID was never set. qemu64 comes first so that
// shrinking ends at the incident's guest.
import fc from 'fast-check';
import { CPU_MODEL_NAMES, CpuidEntry, CPUID_BITS, Host, KernelVariant, MASK, resolveCpuModel } from '../../model';

export type CpuidChoice =
  | { kind: 'model'; name: string }
  | { kind: 'leaf0d'; eax: number; edx: number; pku: boolean }
  | { kind: 'no-leaf0d' }
  | { kind: 'zen2-quirk' }
  | { kind: 'never-set' };

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
  }
}

export function describeCpuid(choice: CpuidChoice): string {
  switch (choice.kind) {
    case 'model':
      return choice.name;
    case 'leaf0d':
      return `leaf0d(eax=0x${choice.eax.toString(16)},edx=0x${choice.edx.toString(16)},pku=${choice.pku})`;
    default:
      return choice.kind;
  }
}

const userBits = Number(0xffffffffn & (MASK.FPSSE | MASK.YMM | MASK.MPX | MASK.AVX512 | MASK.PKRU | MASK.XTILE));

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
);

/** CPUID choices that never offer PKRU through leaf 0xD (named models without PKU, raw values without bit 9). */
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
);
