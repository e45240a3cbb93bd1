// QEMU's side of a migration (kernel-semantics.md §7): which version treats a failed put as fatal,
// which XSAVE areas it parses into env and writes back, and its restore order with the early
// return after a failed step. Hand-written expectations from the research notes.
import {
  DEFAULT_HOST_PKRU,
  HOSTS,
  INTEL_LAYOUT,
  Host,
  MASK,
  MigrationSpec,
  XCR0_RESET,
  XFEATURE,
  createVcpu,
  kernelById,
  migrate,
  parseQemu,
  QEMU_82_ABORT_UNCONFIRMED,
  qemuBuildRegion,
  qemuSave,
  resolveCpuModel,
  setCpuid,
  sourceVcpu,
} from './index';

describe('parseQemu: "qemu-MAJOR.MINOR" and the failed-put policy (7191f24c7fcf, first in QEMU 8.2)', () => {
  // Before 7191f24c7fcf QEMU discarded kvm_arch_put_registers' error and resumed the guest (§7.2).
  test('before 8.2 a failed put is ignored', () => {
    expect(parseQemu('qemu-8.1')).toEqual({ id: 'qemu-8.1', major: 8, minor: 1, policy: 'ignore' });
    expect(parseQemu('qemu-7.2')?.policy).toBe('ignore');
  });
  test('from 8.2 on a failed put after migration exits', () => {
    expect(parseQemu('qemu-8.2')).toEqual({ id: 'qemu-8.2', major: 8, minor: 2, policy: 'abort', unconfirmed: [QEMU_82_ABORT_UNCONFIRMED] });
    expect(parseQemu('qemu-9.2')?.policy).toBe('abort');
    // 9.x carries the successor of 7191f24c7fcf: only the 8.2 boundary is inferred
    expect(parseQemu('qemu-9.2')?.unconfirmed).toBeUndefined();
  });
  test('two-digit versions: QEMU 10.0 aborts, QEMU 2.12 ignores', () => {
    expect(parseQemu('qemu-10.0')).toEqual({ id: 'qemu-10.0', major: 10, minor: 0, policy: 'abort' });
    expect(parseQemu('qemu-2.12')).toEqual({ id: 'qemu-2.12', major: 2, minor: 12, policy: 'ignore' });
  });
  // cases/resolve.ts turns null into a case error naming the expected form.
  test.each(['qemu', 'qemu-8', '8.2', 'xqemu-8.2', 'pve-qemu-8.2', 'qemu-8.2.1', 'qemu-8.2-rc1', ''])('%j is not a QEMU id', (id) => {
    expect(parseQemu(id)).toBeNull();
  });
});

describe('QEMU parses and writes an extended area only where it fits the buffer (§7.4)', () => {
  // x86_cpu_xrstor_all_areas / x86_cpu_xsave_all_areas copy XTILEDATA only if buflen >= offset +
  // size (the other areas always fit in 4 KiB); x87/SSE travel in env's legacy fields and PKRU in
  // env->pkru, not as areas.
  const spr = HOSTS['sapphire-rapids']!; // host XCR0 0x602e7: XTILEDATA at 2816, 8192 bytes
  const k66 = kernelById('linux-6.6')!;
  const amxGuest = () =>
    sourceVcpu(k66, spr, resolveCpuModel('SapphireRapids', spr, k66), { xcr0: 0x602e7n, inUse: 0x600e7n, pkru: 0, hostPkru: DEFAULT_HOST_PKRU });

  test('a 4 KiB GET buffer (guest without AMX): areas 2, 5-7 and XTILECFG, no XTILEDATA', () => {
    const src = sourceVcpu(k66, spr, resolveCpuModel('qemu64', spr, k66), { xcr0: 0x1n, inUse: MASK.FPSSE, pkru: 0, hostPkru: DEFAULT_HOST_PKRU });
    expect(src.uabiSize).toBe(4096);
    const { env } = qemuSave(src);
    expect([...env.components.keys()]).toEqual([XFEATURE.YMM, XFEATURE.OPMASK, XFEATURE.ZMM_HI256, XFEATURE.HI16_ZMM, XFEATURE.XTILE_CFG]);
  });

  test('an AMX guest (KVM_GET_XSAVE2, 11008 bytes): XTILEDATA is parsed whole', () => {
    const { env } = qemuSave(amxGuest());
    expect([...env.components.keys()]).toEqual([XFEATURE.YMM, XFEATURE.OPMASK, XFEATURE.ZMM_HI256, XFEATURE.HI16_ZMM, XFEATURE.XTILE_CFG, XFEATURE.XTILE_DATA]);
    expect(env.components.get(XFEATURE.XTILE_DATA)!.length).toBe(8192);
  });

  test('putting that env into a 4 KiB buffer skips XTILEDATA and still writes the areas that fit', () => {
    const { env } = qemuSave(amxGuest());
    const target = createVcpu(k66, spr);
    setCpuid(target, resolveCpuModel('qemu64', spr, k66));
    const r = qemuBuildRegion(env, target);
    expect(r.length).toBe(4096);
    const cfg = INTEL_LAYOUT.slots[XFEATURE.XTILE_CFG]!;
    expect(r.subarray(cfg.offset, cfg.offset + cfg.size)).toEqual(env.components.get(XFEATURE.XTILE_CFG));
  });
});

describe('an area that ends exactly at the end of the buffer fits', () => {
  // QEMU's test (xsave_helper.c, for XTILEDATA) is buflen >= offset + size. No catalogue layout has
  // an area ending at 4096; a calibrated host takes its offsets from CPUID 0xD, so the boundary is
  // checked on a made-up layout.
  test('YMM at 3840-4095 of a 4 KiB buffer is parsed and written back', () => {
    const layout = { name: 'ymm-at-end', vendor: 'intel' as const, slots: { [XFEATURE.YMM]: { offset: 3840, size: 256 } } };
    const edge: Host = { name: 'ymm-at-end', vendor: 'intel', xcr0: 0x7n, layout, mxcsrMask: 0xffff };
    const k66 = kernelById('linux-6.6')!;
    const cpuid = [{ leaf: 0xd, subleaf: 0, eax: 0x7, ebx: 0, ecx: 0, edx: 0 }];
    const src = sourceVcpu(k66, edge, cpuid, { xcr0: 0x7n, inUse: 0x7n, pkru: 0, hostPkru: 0 });
    const { env } = qemuSave(src);
    const ymm = env.components.get(XFEATURE.YMM)!;
    expect(ymm.length).toBe(256);
    expect(ymm.some((b) => b !== 0)).toBe(true);
    const target = createVcpu(k66, edge);
    setCpuid(target, cpuid);
    const r = qemuBuildRegion(env, target);
    expect(r.length).toBe(4096);
    expect(r.subarray(3840, 4096)).toEqual(ymm);
  });
});

describe('restore in kvm_arch_put_registers order with an early return on error (§7.1)', () => {
  const spec = (targetHost: string): MigrationSpec => ({
    vcpu: { cpuModel: 'x86-64-v3' }, // XCR0 0x7, no PKU
    source: { kernel: kernelById('pve-5.15')!, host: HOSTS['skylake-sp']! }, // leaks the host's PKRU bit
    target: { kernel: kernelById('linux-6.6')!, host: HOSTS[targetHost]!, fixup: 'kernel-default' },
    vmm: parseQemu('qemu-8.0')!,
    guest: { xcr0: 0x7n, inUse: MASK.FPSSE | MASK.YMM, pkru: 0, hostPkru: DEFAULT_HOST_PKRU },
  });

  test('every step succeeds: all nine run in order, none carries a detail', () => {
    const m = migrate(spec('skylake-sp'));
    expect(m.outcome).toBe('intact');
    expect(m.restore.failed).toBeNull();
    const order = ['sregs', 'regs', 'xsave', 'xcrs', 'msrs', 'vcpu_events', 'mp_state', 'tsc_deadline', 'debugregs'];
    expect(m.restore.steps).toEqual(order.map((step) => ({ step, rc: 0 })));
    expect(m.restore.steps.filter((s) => 'detail' in s)).toEqual([]);
    expect(m.restore.vcpu.xcr0).toBe(0x7n);
  });

  // Dongli Zhang in the Sept 2023 thread: after a failed KVM_SET_XSAVE the XCRS, MSRs, events … are never put.
  test('KVM_SET_XSAVE refused (leaked PKRU bit, target without PKU): the later steps are skipped, XCR0 stays at reset', () => {
    const m = migrate(spec('zen4-nopku'));
    expect(m.outcome).toBe('incomplete');
    expect(m.restore.failed).toBe('xsave');
    expect(m.restore.steps).toEqual([
      { step: 'sregs', rc: 0 },
      { step: 'regs', rc: 0 },
      { step: 'xsave', rc: 'EINVAL', detail: 'outside-supported' },
      { step: 'xcrs', rc: 'skipped' },
      { step: 'msrs', rc: 'skipped' },
      { step: 'vcpu_events', rc: 'skipped' },
      { step: 'mp_state', rc: 'skipped' },
      { step: 'tsc_deadline', rc: 'skipped' },
      { step: 'debugregs', rc: 'skipped' },
    ]);
    expect(m.restore.vcpu.xcr0).toBe(XCR0_RESET);
    // no guest-view diff is taken for a failed restore
    expect(m.diff).toEqual([]);
  });
});
