// The CPUID generator must produce every vCPU CPUID shape the properties need (named models,
// raw leaf 0xD, no leaf 0xD, the Zen 2 quirk, never-set), each built as documented in cpuid.ts.
import fc from 'fast-check';
import { CPU_MODEL_NAMES, CPUID_BITS, CpuidEntry, Host, KernelVariant, MASK, cpuidXcr0, findCpuid, kernelById } from '../../model';
import { CpuidChoice, RawTableChoice, cpuidChoiceArb, cpuidFor, describeCpuid, noPkruCpuidChoiceArb } from './cpuid';

const H = undefined as unknown as Host;
const K = undefined as unknown as KernelVariant;
const K619 = kernelById('linux-6.19')!;
const K515 = kernelById('linux-5.15')!;
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
    expect([...kinds(cpuidChoiceArb)].sort()).toEqual(['leaf0d', 'model', 'never-set', 'no-leaf0d', 'table', 'zen2-quirk']);
  });
  test('noPkruCpuidChoiceArb produces every kind but the quirk, never PKRU in leaf 0xD', () => {
    expect([...kinds(noPkruCpuidChoiceArb)].sort()).toEqual(['leaf0d', 'model', 'never-set', 'no-leaf0d', 'table']);
    for (const c of fc.sample(noPkruCpuidChoiceArb, { seed: 7, numRuns: 300 })) {
      if (c.kind === 'leaf0d') expect(c.eax & 0x200).toBe(0);
      if (c.kind === 'table') for (const e of cpuidFor(c, H, K619) ?? []) if (e.leaf === 0xd) expect(e.eax & 0x200).toBe(0);
    }
  });
});

// Issue 14 item 3: tables a VMM may hand to KVM_SET_CPUID2 unfiltered, and what KVM makes of them.
describe('raw tables (kind "table")', () => {
  const base: RawTableChoice = { kind: 'table', leaf1Xsave: true, leaf0d: { eax: 0x207, edx: 0 }, dup0d: null, pku: false, mpx: false, reversed: false, amxPermission: true };
  test('leaf 0, leaf 1, leaf 7 and leaf 0xD in order; reversed gives the same entries backwards', () => {
    const t = cpuidFor(base, H, K619)!;
    expect(t.map((e) => e.leaf)).toEqual([0, 1, 7, 0xd]);
    expect(t[1]!.ecx).toBe(CPUID_BITS.XSAVE);
    expect(cpuidFor({ ...base, reversed: true }, H, K619)).toEqual([...t].reverse());
  });
  test('a duplicate 0xD.0 entry is kept, and the first one is what guest-supported XCR0 reads (UNCONFIRMED first match)', () => {
    const t = cpuidFor({ ...base, dup0d: { eax: 0x3, edx: 0 } }, H, K619)!;
    expect(t.filter((e) => e.leaf === 0xd).length).toBe(2);
    expect(cpuidXcr0(t)).toBe(0x207n);
    expect(cpuidXcr0(cpuidFor({ ...base, dup0d: { eax: 0x3, edx: 0 }, reversed: true }, H, K619))).toBe(0x3n);
  });
  test('leaf 1 says XSAVE with leaf 0xD absent: no 0xD entry, guest-supported XCR0 0', () => {
    const t = cpuidFor({ ...base, leaf0d: null }, H, K619)!;
    expect(findCpuid(t, 0xd, 0)).toBeUndefined();
    expect(cpuidXcr0(t)).toBe(0n);
  });
  test('XTILE_DATA without the AMX permission: refused (EPERM) where KVM knows AMX, so no table; accepted on 5.15', () => {
    const amx = { ...base, leaf0d: { eax: 0x60007, edx: 0 }, amxPermission: false };
    expect(cpuidFor(amx, H, K619)).toBeNull();
    expect(cpuidFor({ ...amx, amxPermission: true }, H, K619)).not.toBeNull();
    expect(cpuidFor(amx, H, K515)).not.toBeNull();
  });
  test('the generator draws every shape the issue lists', () => {
    const xs = fc.sample(cpuidChoiceArb, { seed: 42, numRuns: 3000 }).filter((c): c is RawTableChoice => c.kind === 'table');
    const tables = xs.map((c) => ({ c, t: cpuidFor(c, H, K619) }));
    const leaf0d = (t: CpuidEntry[] | null) => (t ? cpuidXcr0(t) : 0n);
    const shapes: Record<string, boolean> = {
      'PKRU in 0xD with PKU clear': tables.some(({ c, t }) => (leaf0d(t) & MASK.PKRU) !== 0n && !c.pku),
      'PKU set without PKRU in 0xD': tables.some(({ c, t }) => t !== null && (leaf0d(t) & MASK.PKRU) === 0n && c.pku),
      'MPX in 0xD': tables.some(({ t }) => (leaf0d(t) & MASK.MPX) !== 0n),
      'AMX refused for want of permission': tables.some(({ c, t }) => t === null && !c.amxPermission),
      '0xD absent, leaf 1 XSAVE': tables.some(({ c }) => c.leaf0d === null && c.dup0d === null && c.leaf1Xsave === true),
      'EDX bits': tables.some(({ c }) => (c.leaf0d?.edx ?? 0) !== 0),
      duplicate: tables.some(({ c }) => c.leaf0d !== null && c.dup0d !== null),
      reversed: tables.some(({ c }) => c.reversed),
      'no leaf 1': tables.some(({ c }) => c.leaf1Xsave === null),
    };
    expect(Object.entries(shapes).filter(([, v]) => !v).map(([k]) => k)).toEqual([]);
  });
});
