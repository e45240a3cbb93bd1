// The model against the research tables, row by row (shared/research/kernel-semantics.md and
// cpu-data.md). These are hand-written expectations from the documents, not model output.
import {
  HOSTS,
  INTEL_LAYOUT,
  MASK,
  OFF,
  PVE_FIXUP,
  XCR0_RESET,
  createVcpu,
  cpuidXcr0,
  getXsave,
  hex,
  kernelById,
  readU64,
  resolveCpuModel,
  setCpuid,
  setXcrs,
  setXsave,
  writeU32,
  writeU64,
  xcr0Violation,
  xrstorStandard,
  activeFixup,
} from './index';

function leakedBuffer(size = 4096): Uint8Array {
  const r = new Uint8Array(size);
  writeU64(r, OFF.XSTATE_BV, MASK.FPSSE | MASK.PKRU);
  writeU32(r, OFF.MXCSR, 0x1f80);
  return r;
}

// §4.3: XSTATE_BV = FP|SSE|PKRU, guest CPUID without PKU (qemu64).
describe('§4.3 failure matrix for a leaked PKRU bit', () => {
  const rows: Array<[string, string, 0 | 'EINVAL']> = [
    ['linux-5.15', 'skylake-sp', 0],
    ['linux-5.15', 'haswell', 'EINVAL'],
    ['linux-6.2', 'skylake-sp', 'EINVAL'],
    ['linux-6.2', 'haswell', 'EINVAL'],
    ['linux-6.6', 'skylake-sp', 0],
    ['linux-6.6', 'zen4-nopku', 'EINVAL'],
    ['pve-6.2-2023-10', 'skylake-sp', 0],
    ['pve-6.2-2023-07', 'skylake-sp', 0],
    ['pve-6.2-2023-07', 'haswell', 0],
    ['pve-6.8', 'zen4-nopku', 0],
    ['pve-7.0', 'zen4-nopku', 0],
  ];
  test.each(rows)('%s on %s: rc %s', (kid, hid, rc) => {
    const kernel = kernelById(kid)!;
    const host = HOSTS[hid]!;
    const vcpu = createVcpu(kernel, host);
    setCpuid(vcpu, resolveCpuModel('qemu64', host, kernel));
    const r = setXsave(vcpu, leakedBuffer(), activeFixup(kernel.pvePatch !== null, 'kernel-default'));
    expect(r.rc).toBe(rc);
    if (kernel.pvePatch) {
      // the patch clears the bit: kernel XSTATE_BV loses PKRU, vcpu->arch.pkru untouched
      expect(r.fixupFired).toBe(true);
      expect(r.vcpu.fpu.xstateBv).toBe(MASK.FPSSE);
      expect(r.vcpu.pkru).toBe(0);
    }
  });
});

describe('§6: the patch does not fire for guests whose CPUID offers PKRU', () => {
  test('Skylake-Server guest on skylake-sp, pve-6.8', () => {
    const kernel = kernelById('pve-6.8')!;
    const vcpu = createVcpu(kernel, HOSTS['skylake-sp']!);
    setCpuid(vcpu, resolveCpuModel('Skylake-Server', HOSTS['skylake-sp']!, kernel));
    const buf = leakedBuffer();
    writeU32(buf, INTEL_LAYOUT.slots[9]!.offset, 0x55555554);
    const r = setXsave(vcpu, buf, PVE_FIXUP);
    expect(r.fixupFired).toBe(false);
    expect(r.rc).toBe(0);
    expect(r.vcpu.pkru).toBe(0x55555554); // PKRU bit set: vcpu->arch.pkru ← the area
  });
});

describe('§3: what KVM_GET_XSAVE emits for a guest without XSAVE whose fpstate holds PKRU', () => {
  // kbuf XSTATE_BV = FP|SSE|PKRU (host PKRU non-zero at save time, §3.5)
  test.each([
    ['linux-5.15', '0x3'], // fill_xsave masks with gsx|FPSSE: upstream 5.15 does not leak
    ['linux-5.16', '0x203'], // user_xfeatures = host features: leaks
    ['pve-5.15', '0x203'],
    ['linux-5.17', '0x0'], // uxf = gsx = 0: even x87/SSE are dropped (a1020a25e697's bug)
    ['linux-6.2', '0x3'],
    ['linux-6.6', '0x3'],
  ])('%s emits %s', (kid, bv) => {
    const kernel = kernelById(kid)!;
    const vcpu = createVcpu(kernel, HOSTS['skylake-sp']!);
    setCpuid(vcpu, resolveCpuModel('qemu64', HOSTS['skylake-sp']!, kernel));
    vcpu.fpu.xstateBv = MASK.FPSSE | MASK.PKRU;
    expect(hex(readU64(getXsave(vcpu).region, OFF.XSTATE_BV))).toBe(bv);
  });
});

describe('§5.2 XCR0 rules', () => {
  const all = 0x602ffn;
  test.each([
    [0x0n, 'x87-clear'],
    [0x1n, null],
    [0x5n, 'ymm-without-sse'],
    [0x7n, null],
    [0xbn, 'mpx-pair'],
    [0x27n, 'avx512-partial-or-without-ymm'],
    [0xe3n, 'avx512-partial-or-without-ymm'],
    [0xe7n, null],
    [0x20207n, 'amx-pair'],
    [0x60207n, null],
  ])('%s → %s', (x, v) => {
    expect(xcr0Violation(x, all, { amxPairRule: true })).toBe(v);
  });
  test('bits outside guest-supported are refused, but x87 is always allowed', () => {
    expect(xcr0Violation(0x1n, 0n, { amxPairRule: true })).toBeNull();
    expect(xcr0Violation(0x3n, 0n, { amxPairRule: true })).toBe('outside-guest-supported');
  });
  test('KVM_SET_XCRS leaves XCR0 unchanged when it refuses (reset value 0x1)', () => {
    const vcpu = createVcpu(kernelById('linux-6.6')!, HOSTS['icelake-sp']!);
    expect(setXcrs(vcpu, 0x7n).rc).toBe('EINVAL'); // no CPUID: gsx = 0
    expect(vcpu.xcr0).toBe(XCR0_RESET);
  });
});

describe('cpu-data.md §3b: XCR0 offered by the named models', () => {
  test.each([
    ['qemu64', 'skylake-sp', 0x0n],
    ['kvm64', 'skylake-sp', 0x0n],
    ['x86-64-v2-AES', 'skylake-sp', 0x0n],
    ['x86-64-v3', 'skylake-sp', 0x7n],
    ['x86-64-v4', 'skylake-sp', 0xe7n],
    ['Skylake-Server', 'skylake-sp', 0x2e7n],
    ['EPYC-Milan', 'zen3', 0x207n],
    ['SapphireRapids', 'sapphire-rapids', 0x602e7n],
    ['host', 'icelake-sp', 0x2e7n],
    ['Skylake-Server', 'haswell', 0x7n], // features the host lacks are dropped
  ])('%s on %s → %s', (name, hid, x) => {
    expect(cpuidXcr0(resolveCpuModel(name, HOSTS[hid]!, kernelById('linux-6.6')!))).toBe(x);
  });
  test('AMX guests get the XSAVE2 size (11008 bytes on Sapphire Rapids), not on 5.15', () => {
    const host = HOSTS['sapphire-rapids']!;
    const v66 = createVcpu(kernelById('linux-6.6')!, host);
    setCpuid(v66, resolveCpuModel('SapphireRapids', host, kernelById('linux-6.6')!));
    expect(v66.uabiSize).toBe(11008);
    const v515 = createVcpu(kernelById('linux-5.15')!, host);
    setCpuid(v515, resolveCpuModel('SapphireRapids', host, kernelById('linux-5.15')!));
    expect(v515.uabiSize).toBe(4096);
  });
});

describe('§8.3 XRSTOR standard form', () => {
  const env = { xcr0: 0x7n, request: 0x7n, mxcsrMask: 0xffff };
  const prior = { comps: new Map<number, Uint8Array>(), mxcsr: 0x1f80 };
  const mem = () => {
    const m = new Uint8Array(4096);
    writeU32(m, OFF.MXCSR, 0x1f80);
    return m;
  };
  test('XSTATE_BV outside XCR0 faults (any bit, not only RFBM)', () => {
    const m = mem();
    writeU64(m, OFF.XSTATE_BV, 0x200n);
    expect(xrstorStandard(m, INTEL_LAYOUT, { ...env, request: 0x1n }, prior).fault).toBe('#GP:xstate-bv-outside-xcr0');
  });
  test('header bytes 8-23 must be zero; 24-63 are not checked by hardware', () => {
    const a = mem();
    a[OFF.XCOMP_BV + 15] = 1;
    expect(xrstorStandard(a, INTEL_LAYOUT, env, prior).fault).toBe('#GP:header');
    const b = mem();
    b[OFF.XCOMP_BV + 16] = 1;
    expect(xrstorStandard(b, INTEL_LAYOUT, env, prior).fault).toBeNull();
  });
  test('MXCSR is loaded even with XSTATE_BV[1] = 0, and reserved bits fault', () => {
    const m = mem();
    writeU32(m, OFF.MXCSR, 0x9f80);
    const r = xrstorStandard(m, INTEL_LAYOUT, env, prior);
    expect(r.fault === null && r.regs.mxcsr).toBe(0x9f80);
    writeU32(m, OFF.MXCSR, 0x10000);
    expect(xrstorStandard(m, INTEL_LAYOUT, env, prior).fault).toBe('#GP:mxcsr');
  });
  test('a component with its bit clear is initialised (x87: FCW 0x037F)', () => {
    const m = mem();
    m[0] = 0x7f;
    m[1] = 0x02;
    const r = xrstorStandard(m, INTEL_LAYOUT, env, prior);
    expect(r.fault === null && Array.from(r.regs.comps.get(0)!.subarray(0, 2))).toEqual([0x7f, 0x03]);
  });
});
