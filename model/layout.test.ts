// The standard-format layout (layout.ts) against cpu-data.md §1b: the vendor's default layout,
// the legacy-area slots of x87 and SSE, and the standard-format size CPUID.(EAX=0DH,ECX=0):EBX
// reports for an XCR0 (SDM Vol. 1 §13.2: the size needed for the enabled components, i.e. the
// end of the furthest one). Expectations are written by hand.
import {
  AMD_LAYOUT,
  HOSTS,
  INTEL_LAYOUT,
  Layout,
  XFEATURE,
  MASK,
  componentsWithoutArea,
  customHost,
  kernelById,
  layoutFor,
  resolveCpuModel,
  slotOf,
  standardSize,
} from './index';

describe('vendor default layout (cpu-data.md §1b: Intel keeps the MPX hole, AMD packs it)', () => {
  test('Intel: MPX at 960/1024, AVX-512 from 1088, PKRU at 2688', () => {
    const l = layoutFor('intel');
    expect(l).toBe(INTEL_LAYOUT);
    expect(slotOf(l, XFEATURE.BNDREGS)).toEqual({ offset: 960, size: 64 });
    expect(slotOf(l, XFEATURE.OPMASK)).toEqual({ offset: 1088, size: 64 });
    expect(slotOf(l, XFEATURE.PKRU)).toEqual({ offset: 2688, size: 8 });
  });
  test('AMD: no MPX area, AVX-512 from 832, PKRU at 2432', () => {
    const l = layoutFor('amd');
    expect(l).toBe(AMD_LAYOUT);
    expect(slotOf(l, XFEATURE.BNDREGS)).toBeUndefined();
    expect(slotOf(l, XFEATURE.OPMASK)).toEqual({ offset: 832, size: 64 });
    expect(slotOf(l, XFEATURE.PKRU)).toEqual({ offset: 2432, size: 8 });
  });
});

describe('legacy-area slots (SDM Vol. 1 §13.4.1), the same on every host', () => {
  test.each([
    ['intel', INTEL_LAYOUT],
    ['amd', AMD_LAYOUT],
  ])('%s: x87 is bytes 0-159, SSE (XMM0-15) bytes 160-415', (_name, l) => {
    expect(slotOf(l, XFEATURE.FP)).toEqual({ offset: 0, size: 160 });
    expect(slotOf(l, XFEATURE.SSE)).toEqual({ offset: 160, size: 256 });
  });
});

describe('standard-format size for an XCR0 (CPUID.0xD.0:EBX, cpu-data.md §1b)', () => {
  test('x87/SSE only is the legacy area plus header (576); with AVX 832', () => {
    expect(standardSize(INTEL_LAYOUT, 0x3n)).toBe(576);
    expect(standardSize(INTEL_LAYOUT, 0x7n)).toBe(832);
    expect(standardSize(AMD_LAYOUT, 0x7n)).toBe(832);
  });
  test('Xeon Gold 6148: 0xff gives 2688, with PKRU 0x2ff gives 2696 (EBX 0xA80 / ECX 0xA88)', () => {
    expect(standardSize(INTEL_LAYOUT, 0xffn)).toBe(2688);
    expect(standardSize(INTEL_LAYOUT, 0x2ffn)).toBe(2696);
  });
  test('a guest CPU model with AVX is told 832 in leaf 0xD (Haswell on a Haswell host)', () => {
    const host = HOSTS['haswell']!;
    const e = resolveCpuModel('Haswell', host, kernelById('linux-6.6')!).find((x) => x.leaf === 0xd && x.subleaf === 0)!;
    expect([e.eax, e.ebx, e.ecx]).toEqual([0x7, 832, 832]);
  });
  test('the size is the end of the furthest component, not of the highest-numbered one (APX at 960)', () => {
    // APX (component 19) re-uses the MPX area at offset 960 (cpu-data.md §1b, table row 19), so
    // on an APX host the highest component number is not the last in memory.
    const { [XFEATURE.BNDREGS]: _r, [XFEATURE.BNDCSR]: _c, ...rest } = INTEL_LAYOUT.slots;
    const apxHost: Layout = { name: 'apx', vendor: 'intel', slots: { ...rest, [XFEATURE.APX]: { offset: 960, size: 128 } } };
    expect(standardSize(apxHost, 0x802e7n)).toBe(2696);
    expect(standardSize(apxHost, 0x80007n)).toBe(1088);
  });
});

// A host enables only components its CPUID.0xD enumerates (SDM Vol. 1 §13.2): AMD has no MPX or
// AMX area, so such a host is refused rather than silently given components without an area.
describe('customHost refuses XCR0 bits the vendor layout has no area for', () => {
  test('MPX and AMX on AMD are named', () => {
    expect(componentsWithoutArea(MASK.FPSSE | MASK.MPX | MASK.PKRU, 'amd')).toEqual([3, 4]);
    expect(() => customHost(MASK.FPSSE | MASK.XTILE, 'amd')).toThrow('XCR0 bits 17, 18 have no save area in the amd layout');
  });
  test('the same bits on Intel, and AVX-512 + PKU on AMD, are accepted', () => {
    expect(customHost(MASK.FPSSE | MASK.MPX | MASK.XTILE, 'intel').layout.name).toBe('intel');
    expect(componentsWithoutArea(0x2e7n, 'amd')).toEqual([]);
  });
});
