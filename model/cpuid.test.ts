// CPUID lookups the way KVM matches a table entry (arch/x86/kvm/cpuid.c cpuid_entry2_find): the
// function must match, and the index too only for entries flagged KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
// which VMMs set for the indexed functions (asm/cpuid.h cpuid_function_is_indexed: 4, 7, 0xb, 0xd, …).
import { cpuidXcr0, findCpuid } from './cpuid';
import { cpuidEntry as e } from '../test/helpers/xsave';


describe('findCpuid: sub-leaf matching (KVM_CPUID_FLAG_SIGNIFCANT_INDEX)', () => {
  test('leaf 0xD is indexed: sub-leaf 0 is found even when sub-leaf 1 comes first in the table', () => {
    const table = [e(0xd, 1, 0xf), e(0xd, 2, 256), e(0xd, 0, 0x207)];
    expect(findCpuid(table, 0xd, 0)).toBe(table[2]);
    expect(findCpuid(table, 0xd, 2)).toBe(table[1]);
    expect(findCpuid(table, 0xd, 9)).toBeUndefined();
  });
  test('guest XCR0 comes from CPUID(0xD,0), not from another sub-leaf listed before it', () => {
    // 0xD.1 EAX holds XSAVEOPT/XSAVEC/… feature bits, not XCR0 bits (cpu-data.md §1e).
    expect(cpuidXcr0([e(0xd, 1, 0xf), e(0xd, 0, 0x207)])).toBe(0x207n);
  });
  test('leaf 7 is indexed: 7.0 is found behind 7.1', () => {
    const table = [e(7, 1, 0x10), e(7, 0, 0)];
    expect(findCpuid(table, 7, 0)).toBe(table[1]);
  });
  test('leaf 1 is not indexed: its entry matches whatever sub-leaf it carries', () => {
    const table = [e(1, 3, 0x806ec)];
    expect(findCpuid(table, 1)).toBe(table[0]);
    expect(findCpuid(table, 1, 5)).toBe(table[0]);
  });
});
