// The incident run for real: a state saved by a leaky source (model: pve-5.15 on a Skylake-SP
// host with PKU, QEMU's parse of KVM_GET_XSAVE) is restored on the running machine in QEMU's
// order (CPUID, sregs, regs, xsave, xcrs) under both error policies, the guest runs and
// FXSAVEs, and its own view of x87/SSE (plus YMM/XCR0 read back after the run) is compared
// with the source's:
//   no fixup + QEMU < 8.2 (ignore)  → the guest resumes with the wrong (reset) state: incomplete;
//   no fixup + QEMU ≥ 8.2 (abort)   → the guest is not run: aborted;
//   the fixup                       → the guest reaches its checkpoint with its state intact.
// Every guest run is bounded in time; one that never reaches its checkpoint is reported.
import { DEFAULT_HOST_PKRU, hostByName, kernelById, parseQemu } from '../model';
import { MachineCalibration } from '../kvm/calibration';
import { XsaveExecutor } from '../kvm/executor';
import { RealMigration, RealMigrationSpec, runMigrations } from '../kvm/migrationReal';
import { kvmTestAvailability } from '../kvm/testkit';
import { withCalibratedExecutor } from './calibratedExecutor';

const avail = kvmTestAvailability('test/kvm-guest');
const describeKvm = avail.ok ? describe : describe.skip;

const source = { kernel: kernelById('pve-5.15')!, host: hostByName('skylake-sp')! };
const guest = (model: string): RealMigrationSpec['guest'] =>
  model === 'x86-64-v3'
    ? { xcr0: 0x7n, inUse: 0x7n, pkru: 0, hostPkru: DEFAULT_HOST_PKRU, mxcsr: 0x9fc0 }
    : { xcr0: 0x1n, inUse: 0x3n, pkru: 0, hostPkru: DEFAULT_HOST_PKRU, mxcsr: 0x9fc0 };
const spec = (model: string, vmm: string, fixup: 'none' | 'pve'): RealMigrationSpec => ({
  vcpu: { cpuModel: model },
  source,
  fixup,
  vmm: parseQemu(vmm)!,
  guest: guest(model),
});

describeKvm('guest runs after a migration to the running machine', () => {
  let ex: XsaveExecutor;
  let cal: MachineCalibration;
  const runs = new Map<string, RealMigration>();
  const grid: Array<[string, string, 'none' | 'pve']> = [];
  for (const model of ['qemu64', 'x86-64-v3']) for (const vmm of ['qemu-8.0', 'qemu-8.2']) for (const fixup of ['none', 'pve'] as const) grid.push([model, vmm, fixup]);
  withCalibratedExecutor(async (e, c) => {
    ex = e;
    cal = c;
    const res = await runMigrations(ex, { kernel: cal.kernel, host: cal.host }, grid.map(([m, v, f]) => spec(m, v, f)));
    grid.forEach((g, i) => runs.set(g.join('/'), res[i]!));
  }, 20_000);
  const get = (k: string): RealMigration => runs.get(k)!;

  it('the source saved a leaked state (PKRU bit) and this host has no PKU', () => {
    for (const r of runs.values()) {
      expect(r.leaked).toBe(true);
      expect(r.savedXstateBv & 0x200n).toBe(0x200n);
    }
    expect(cal.host.xcr0 & 0x200n).toBe(0n);
  });

  it.each(['qemu64', 'x86-64-v3'])('%s, no fixup, QEMU 8.0 (ignore): KVM_SET_XSAVE fails, the guest still runs, with the wrong state', (model) => {
    const r = get(`${model}/qemu-8.0/none`);
    expect(r.outcome).toBe('incomplete');
    expect(r.model.outcome).toBe('incomplete');
    expect(r.steps.filter((s) => /^(xsave|xcrs|run):/.test(s))).toEqual(['xsave:EINVAL', 'xcrs:skipped', 'run:OK']);
    expect(r.run).toMatchObject({ outcome: 'hlt', checkpoint: true });
    // The guest's own FXSAVE differs from its source state: x87 control word, MXCSR, XMM.
    expect(r.diff).toEqual(expect.arrayContaining(['guest fcw', 'guest mxcsr', 'guest xmm0']));
    expect(r.fixupFired).toBe(false);
  });

  it.each(['qemu64', 'x86-64-v3'])('%s, no fixup, QEMU 8.2 (abort): the guest is not run', (model) => {
    const r = get(`${model}/qemu-8.2/none`);
    expect(r.outcome).toBe('aborted');
    expect(r.model.outcome).toBe('aborted');
    expect(r.run).toBeNull();
    expect(r.steps).toContain('run:skipped');
  });

  it.each(['qemu-8.0', 'qemu-8.2'])('with the fixup, %s: every step succeeds and the guest reaches its checkpoint with its state intact', (vmm) => {
    for (const model of ['qemu64', 'x86-64-v3']) {
      const r = get(`${model}/${vmm}/pve`);
      expect([model, r.outcome, r.diff]).toEqual([model, 'intact', []]);
      expect(r.model.outcome).toBe('intact');
      expect(r.fixupFired).toBe(true);
      expect(r.steps.every((s) => s.endsWith(':OK'))).toBe(true);
      expect(r.run).toMatchObject({ outcome: 'hlt', checkpoint: true });
    }
  });

  it('a guest that never reaches its checkpoint is reported within its time limit, not waited for', async () => {
    // No CPUID leaf 1 on this kernel: the guest's FXSAVE takes #UD and it loops through the IVT.
    const t0 = Date.now();
    const [r] = await runMigrations(ex, { kernel: cal.kernel, host: cal.host }, [
      { ...spec('qemu64', 'qemu-8.2', 'pve'), vcpu: { cpuid: [{ leaf: 0xd, subleaf: 0, eax: 0x3, ebx: 0, ecx: 0, edx: 0 }] }, timeoutMs: 100 },
    ]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r!.outcome).toBe('no-checkpoint');
    expect(r!.run!.checkpoint).toBe(false);
    expect(['timeout', 'too_many_exits']).toContain(r!.run!.outcome);
    expect(r!.run!.elapsedUs).toBeLessThan(1_000_000);
  });
});
