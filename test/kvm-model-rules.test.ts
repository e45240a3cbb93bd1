// The model rules added from real-KVM measurements (docs/kvm-findings.md §12), as unit tests
// that need no KVM: the compacted-form XRSTOR MXCSR rule and its use in the guest view, and
// KVM_SET_CPUID2's own refusals.
import {
  HOSTS,
  OFF,
  createVcpu,
  guestView,
  kernelById,
  kernelXrstorForm,
  setCpuid,
  setCpuidRefusal,
  setXsave,
  writeU32,
  writeU64,
  xrstorStandard,
  AMD_LAYOUT,
} from '../model';

const prior = { comps: new Map<number, Uint8Array>(), mxcsr: 0x1f80 };
function mem(xstateBv: bigint, mxcsr: number): Uint8Array {
  const m = new Uint8Array(4096);
  writeU32(m, OFF.MXCSR, mxcsr);
  writeU64(m, OFF.XSTATE_BV, xstateBv);
  return m;
}
const env = { xcr0: 0xe7n, request: 0xe7n, mxcsrMask: 0x2ffff };
const mx = (r: ReturnType<typeof xrstorStandard>): number | string => (r.fault === null ? r.regs.mxcsr : r.fault);

describe('XRSTOR MXCSR rule by form (SDM Vol. 1 §13.8.1 / §13.8.2)', () => {
  test.each([
    [0x1n, 0x9fc0, 0x1f80],
    [0x4n, 0x9fc0, 0x1f80],
    [0x5n, 0x9fc0, 0x1f80],
    [0x0n, 0x9fc0, 0x1f80],
    [0x2n, 0x9fc0, 0x9fc0],
    [0x6n, 0x9fc0, 0x9fc0],
  ])('compacted: XSTATE_BV %s, MXCSR %s in memory → %s (XSTATE_BV[1] decides)', (xbv, m, want) => {
    expect(mx(xrstorStandard(mem(xbv, m), AMD_LAYOUT, { ...env, form: 'compacted' }, prior))).toBe(want);
  });
  test('standard: MXCSR is loaded with RFBM[1]|RFBM[2] whatever XSTATE_BV says (unchanged default)', () => {
    expect(mx(xrstorStandard(mem(0x4n, 0x9fc0), AMD_LAYOUT, env, prior))).toBe(0x9fc0);
    expect(mx(xrstorStandard(mem(0x4n, 0x9fc0), AMD_LAYOUT, { ...env, form: 'standard' }, prior))).toBe(0x9fc0);
  });
  test('compacted: an illegal MXCSR faults only when it would be loaded', () => {
    expect(mx(xrstorStandard(mem(0x2n, 0x40000), AMD_LAYOUT, { ...env, form: 'compacted' }, prior))).toBe('#GP:mxcsr');
    expect(mx(xrstorStandard(mem(0x4n, 0x40000), AMD_LAYOUT, { ...env, form: 'compacted' }, prior))).toBe(0x1f80);
  });
});

describe('guest view: the host says which form its kernel restores with', () => {
  const kernel = kernelById('linux-6.18-pvm')!;
  const base = { ...HOSTS['zen4-nopku']!, name: 'this', mxcsrMask: 0x2ffff };
  const view = (kernelXrstor: 'standard' | 'compacted' | undefined, xbv: bigint): string => {
    const host = kernelXrstor ? { ...base, kernelXrstor } : base;
    const v = createVcpu(kernel, host);
    setCpuid(v, [{ leaf: 1, subleaf: 0, eax: 0, ebx: 0, ecx: 0, edx: 0 }]);
    const r = setXsave(v, mem(xbv, 0x9fc0), null);
    expect(r.rc).toBe(0);
    return guestView(r.vcpu).mxcsr;
  };
  test('absent = standard (catalogue hosts are unmeasured)', () => {
    expect(kernelXrstorForm(base)).toBe('standard');
    expect(view(undefined, 0x4n)).toBe('0x9fc0');
  });
  test('compacted (measured on the project machine): YMM or x87 without SSE → the guest sees 0x1f80', () => {
    expect(view('compacted', 0x4n)).toBe('0x1f80');
    expect(view('compacted', 0x1n)).toBe('0x1f80');
    expect(view('compacted', 0x6n)).toBe('0x9fc0');
  });
});

describe('KVM_SET_CPUID2 refusals (kvm_check_cpuid)', () => {
  const k618 = kernelById('linux-6.18-pvm')!;
  const d0 = (eax: number) => [{ leaf: 0xd, subleaf: 0, eax, ebx: 0, ecx: 0, edx: 0 }];
  test('XTILE_DATA (bit 18) in leaf 0xD.0 without permission: EPERM; XTILE_CFG alone is accepted', () => {
    expect(setCpuidRefusal(k618, d0(0x400e7))).toBe('EPERM');
    expect(setCpuidRefusal(k618, d0(0x600e7))).toBe('EPERM');
    expect(setCpuidRefusal(k618, d0(0x200e7))).toBeNull();
    expect(setCpuidRefusal(k618, d0(0xe7))).toBeNull();
    expect(setCpuidRefusal(kernelById('linux-5.15')!, d0(0x600e7))).toBeNull(); // no AMX in 5.15
  });
  test('virtual-address bits in 0x80000008 other than 0, 48, 57: EINVAL', () => {
    const e8 = (vb: number) => [{ leaf: 0x80000008, subleaf: 0, eax: (vb << 8) | 0x30, ebx: 0, ecx: 0, edx: 0 }];
    expect([0, 48, 57].map((v) => setCpuidRefusal(k618, e8(v)))).toEqual([null, null, null]);
    expect([40, 64, 1].map((v) => setCpuidRefusal(k618, e8(v)))).toEqual(['EINVAL', 'EINVAL', 'EINVAL']);
  });
});
