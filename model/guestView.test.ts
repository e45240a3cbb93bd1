// What the guest itself sees after the kernel restores its fpstate (guestView.ts), and how two
// such views are compared (diffViews, the migration's "lost" parts). Expectations are written by
// hand from kernel-semantics.md §3.5 and the SDM's XRSTOR rules (Vol. 1 §13.8.1).
import {
  HOSTS,
  MASK,
  OFF,
  createVcpu,
  customHost,
  diffViews,
  guestView,
  kernelById,
  resolveCpuModel,
  setCpuid,
  setXcrs,
  setXsave,
  sourceVcpu,
  writeU32,
  writeU64,
  DEFAULT_HOST_PKRU,
} from './index';

describe('PKRU is part of the guest view only with XCR0.PKRU', () => {
  // KVM writes the guest's PKRU into the register only if guest XCR0.PKRU or CR4.PKE (CR4.PKE is
  // not modelled); otherwise the guest runs with whatever PKRU it cannot read (kernel-semantics.md §3.5).
  test('5.15 takes a leaked PKRU area into vcpu->arch.pkru, but a guest without PKU does not see it', () => {
    const kernel = kernelById('linux-5.15')!;
    const host = HOSTS['skylake-sp']!;
    const v = createVcpu(kernel, host);
    setCpuid(v, resolveCpuModel('Haswell', host, kernel));
    const region = new Uint8Array(4096);
    writeU32(region, OFF.MXCSR, 0x1f80);
    writeU64(region, OFF.XSTATE_BV, MASK.FPSSE | MASK.PKRU);
    writeU32(region, host.layout.slots[9]!.offset, DEFAULT_HOST_PKRU);
    const r = setXsave(v, region, null);
    expect(r.rc).toBe(0);
    expect(r.vcpu.pkru).toBe(DEFAULT_HOST_PKRU);
    expect(guestView(r.vcpu).pkru).toBeNull();
    expect(setXcrs(r.vcpu, 0x7n).rc).toBe(0);
    expect(guestView(r.vcpu).pkru).toBeNull();
  });
  test('with XCR0.PKRU the guest reads vcpu->arch.pkru', () => {
    const kernel = kernelById('linux-6.6')!;
    const host = HOSTS['skylake-sp']!;
    const v = sourceVcpu(kernel, host, resolveCpuModel('Skylake-Server', host, kernel), { xcr0: 0x207n, inUse: 0n, pkru: 0xc, hostPkru: DEFAULT_HOST_PKRU });
    expect(guestView(v).pkru).toBe('0xc');
  });
});

test('a host whose XCR0 is x87 only: the kernel’s XRSTOR never loads MXCSR (RFBM[1] = RFBM[2] = 0), the guest keeps 0x1F80', () => {
  // A case file may name such a host ({"supportedXcr0": "0x1", ...}); SDM Vol. 1 §13.8.1 loads
  // MXCSR only with RFBM[1] or RFBM[2], so the register keeps its reset value.
  const v = createVcpu(kernelById('linux-6.6')!, customHost(MASK.FP, 'intel'));
  const view = guestView(v);
  expect(view.mxcsr).toBe('0x1f80');
  expect(view.xcr0).toBe('0x1');
  expect(Object.keys(view.components)).toEqual(['FP', 'SSE']);
});

describe('diffViews names each part of the guest view that differs', () => {
  const kernel = kernelById('linux-6.6')!;
  const host = HOSTS['haswell']!;
  const cpuid = resolveCpuModel('Haswell', host, kernel);
  const view = (xcr0: bigint, mxcsr: number) => guestView(sourceVcpu(kernel, host, cpuid, { xcr0, inUse: MASK.FPSSE, pkru: 0, hostPkru: DEFAULT_HOST_PKRU, mxcsr }));
  test('equal views: nothing', () => {
    expect(diffViews(view(0x3n, 0x1fa0), view(0x3n, 0x1fa0))).toEqual([]);
  });
  test('XCR0 alone (x87 and SSE are visible under both)', () => {
    expect(diffViews(view(0x3n, 0x1f80), view(0x1n, 0x1f80))).toEqual(['xcr0']);
  });
  test('MXCSR alone (a lost MXCSR is a lost SSE state)', () => {
    expect(diffViews(view(0x3n, 0x1fa0), view(0x3n, 0x1f80))).toEqual(['mxcsr']);
  });
});
