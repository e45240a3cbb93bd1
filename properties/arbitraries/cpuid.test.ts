// The CPUID generator must produce every vCPU CPUID shape the properties need (named models,
// raw leaf 0xD, no leaf 0xD, the Zen 2 quirk, never-set), each built as documented in cpuid.ts.
import fc from 'fast-check';
import { CPU_MODEL_NAMES, CPUID_BITS, Host, KernelVariant } from '../../model';
import { CpuidChoice, cpuidChoiceArb, cpuidFor, describeCpuid, noPkruCpuidChoiceArb } from './cpuid';

const H = undefined as unknown as Host;
const K = undefined as unknown as KernelVariant;
const leaf7 = (pku: boolean) => ({ leaf: 7, subleaf: 0, eax: 0, ebx: 0, ecx: pku ? CPUID_BITS.PKU : 0, edx: 0 });

describe('cpuidFor builds the documented tables', () => {
  test('raw leaf 0xD with CPUID.7 PKU as chosen', () => {
    expect(cpuidFor({ kind: 'leaf0d', eax: 0x207, edx: 0, pku: true }, H, K)).toEqual([
      { leaf: 0xd, subleaf: 0, eax: 0x207, ebx: 0, ecx: 0, edx: 0 },
      leaf7(true),
    ]);
  });
  test('no leaf 0xD: max basic leaf 7, PKU clear', () => {
    expect(cpuidFor({ kind: 'no-leaf0d' }, H, K)).toEqual([{ leaf: 0, subleaf: 0, eax: 7, ebx: 0, ecx: 0, edx: 0 }, leaf7(false)]);
  });
  // Zen 2 quirk: leaf 0xD lists PKRU (bit 9) while CPUID.7 PKU = 0.
  test('zen2 quirk lists PKRU in leaf 0xD with PKU clear', () => {
    expect(cpuidFor({ kind: 'zen2-quirk' }, H, K)).toEqual([{ leaf: 0xd, subleaf: 0, eax: 0x207, ebx: 0x340, ecx: 0x380, edx: 0 }, leaf7(false)]);
  });
  test('never-set gives no CPUID at all', () => {
    expect(cpuidFor({ kind: 'never-set' }, H, K)).toBeNull();
  });
});

describe('describeCpuid names a choice for failure reports', () => {
  test('model, leaf0d and other kinds', () => {
    expect(describeCpuid({ kind: 'model', name: 'qemu64' })).toBe('qemu64');
    expect(describeCpuid({ kind: 'leaf0d', eax: 0x207, edx: 0x1, pku: false })).toBe('leaf0d(eax=0x207,edx=0x1,pku=false)');
    expect(describeCpuid({ kind: 'zen2-quirk' })).toBe('zen2-quirk');
  });
});

function kinds(arb: fc.Arbitrary<CpuidChoice>): Set<string> {
  const seen = new Set<string>();
  for (const c of fc.sample(arb, { seed: 42, numRuns: 600 })) {
    seen.add(c.kind);
    if (c.kind === 'model') expect(CPU_MODEL_NAMES).toContain(c.name);
    if (c.kind === 'leaf0d') expect([typeof c.eax, typeof c.edx, typeof c.pku]).toEqual(['number', 'number', 'boolean']);
  }
  return seen;
}

describe('generator coverage', () => {
  test('cpuidChoiceArb produces every kind', () => {
    expect([...kinds(cpuidChoiceArb)].sort()).toEqual(['leaf0d', 'model', 'never-set', 'no-leaf0d', 'zen2-quirk']);
  });
  test('noPkruCpuidChoiceArb produces every kind but the quirk, never PKRU in leaf 0xD', () => {
    expect([...kinds(noPkruCpuidChoiceArb)].sort()).toEqual(['leaf0d', 'model', 'never-set', 'no-leaf0d']);
    for (const c of fc.sample(noPkruCpuidChoiceArb, { seed: 7, numRuns: 300 })) if (c.kind === 'leaf0d') expect(c.eax & 0x200).toBe(0);
  });
});
