// The leaked-state demonstration on the running machine (a host without PKU): states saved by a
// leaky source kernel (pve-5.15 on PKU hosts, the Proxmox VE 7 incident) and rebuilt by QEMU for
// this host are refused by the unpatched running kernel; with the Proxmox fixup applied to the
// kernel's copy of the buffer before the real KVM_SET_XSAVE (what the patched kernel does) they
// are accepted, and what KVM_GET_XSAVE / KVM_GET_XCRS read back is what the model predicts.
// Control: a fixup that does nothing changes nothing.
import { DEFAULT_HOST_PKRU, Fixup, MASK, PVE_FIXUP, createVcpu, hostByName, kernelById, qemuBuildRegion, qemuSave, resolveCpuModel, setCpuid, sourceVcpu } from '../model';
import { MachineCalibration } from '../kvm/calibration';
import { CCase, runConformance } from '../kvm/conformance';
import { XsaveExecutor } from '../kvm/executor';
import { kvmTestAvailability } from '../kvm/testkit';
import { withCalibratedExecutor } from './calibratedExecutor';

const avail = kvmTestAvailability('test/kvm-leak');
const describeKvm = avail.ok ? describe : describe.skip;

const GUESTS: Array<{ model: string; xcr0: bigint; inUse: bigint }> = [
  { model: 'qemu64', xcr0: 0x1n, inUse: 0x3n },
  { model: 'kvm64', xcr0: 0x1n, inUse: 0x1n },
  { model: 'x86-64-v2-AES', xcr0: 0x1n, inUse: 0x3n },
  { model: 'x86-64-v3', xcr0: 0x7n, inUse: 0x7n },
  { model: 'x86-64-v4', xcr0: 0xe7n, inUse: 0x27n },
  { model: 'EPYC', xcr0: 0x7n, inUse: 0x3n },
];
const SOURCES = ['skylake-sp', 'icelake-sp', 'zen3', 'zen4'];
const NOOP: Fixup = { name: 'noop', fn: () => undefined };

describeKvm('leaked states on the running machine', () => {
  let ex: XsaveExecutor;
  let cal: MachineCalibration;
  let leaked: Array<{ what: string; cpuid: ReturnType<typeof resolveCpuModel>; region: Uint8Array }>;
  withCalibratedExecutor(async (e, c) => {
    ex = e;
    cal = c;
    leaked = [];
    const src = kernelById('pve-5.15')!;
    for (const hostName of SOURCES) {
      const sh = hostByName(hostName)!;
      for (const g of GUESTS) {
        const scpuid = resolveCpuModel(g.model, sh, src);
        const probe = createVcpu(src, sh);
        setCpuid(probe, scpuid);
        if ((g.xcr0 & ~(probe.guestSupportedXcr0 | 1n)) !== 0n) continue; // guest cannot have that XCR0 there
        for (const mxcsr of [0x1f80, 0x9fc0]) {
          const v = sourceVcpu(src, sh, scpuid, { xcr0: g.xcr0, inUse: g.inUse, pkru: 0, hostPkru: DEFAULT_HOST_PKRU, mxcsr });
          const env = qemuSave(v).env;
          const target = createVcpu(cal.kernel, cal.host);
          const cpuid = resolveCpuModel(g.model, cal.host, cal.kernel);
          setCpuid(target, cpuid);
          leaked.push({ what: `${g.model} from ${hostName}, MXCSR 0x${mxcsr.toString(16)}, saved XSTATE_BV 0x${env.xstateBv.toString(16)}`, cpuid, region: qemuBuildRegion(env, target) });
        }
      }
    }
  }, 20_000);

  const cases = (fixup: boolean): CCase[] =>
    leaked.map((l) => ({ cls: fixup ? 'leaked/fixup' : 'leaked/no-fixup', cpuid: l.cpuid, steps: [{ op: 'setCpuid2' }, { op: 'setXsave', region: l.region }, { op: 'getXsave' }, { op: 'getXcrs' }], fixup, what: l.what }));

  it('builds leaked states: every saved buffer carries the PKRU bit, which this host does not support', () => {
    expect(leaked.length).toBeGreaterThanOrEqual(30);
    for (const l of leaked) expect(new DataView(l.region.buffer, l.region.byteOffset, l.region.byteLength).getBigUint64(512, true) & MASK.PKRU).toBe(MASK.PKRU);
    expect(cal.host.xcr0 & MASK.PKRU).toBe(0n);
  });

  it('without the fixup every one is refused (EINVAL) and the vCPU keeps its reset state, as the model predicts', async () => {
    const r = await runConformance(ex, { kernel: cal.kernel, host: cal.host }, cases(false));
    expect(r.outcomes.filter((o) => o.status !== 'agree').map((o) => `${leaked[o.index]!.what}: ${JSON.stringify(o.disagreements)}`)).toEqual([]);
    for (const o of r.outcomes) {
      expect(o.real!.steps[1]!.errno).toBe(22);
      expect(new DataView(o.real!.steps[2]!.xsave!.buffer, o.real!.steps[2]!.xsave!.byteOffset, o.real!.steps[2]!.xsave!.byteLength).getBigUint64(512, true)).toBe(0n);
    }
  });

  it('with the fixup every one is accepted and read back exactly as the model predicts', async () => {
    const r = await runConformance(ex, { kernel: cal.kernel, host: cal.host }, cases(true), { plugin: PVE_FIXUP });
    expect(r.outcomes.filter((o) => o.status !== 'agree').map((o) => `${leaked[o.index]!.what}: ${JSON.stringify(o.disagreements)}`)).toEqual([]);
    r.outcomes.forEach((o) => {
      expect(r.predictions[o.index]!.steps[1]!.fixupFired).toBe(true);
      expect(o.real!.steps[1]!.errno).toBe(0);
      const got = new DataView(o.real!.steps[2]!.xsave!.buffer, o.real!.steps[2]!.xsave!.byteOffset, o.real!.steps[2]!.xsave!.byteLength).getBigUint64(512, true);
      expect(got & MASK.PKRU).toBe(0n);
    });
  });

  it('control: a fixup that does nothing leaves them refused', async () => {
    const r = await runConformance(ex, { kernel: cal.kernel, host: cal.host }, cases(true), { plugin: NOOP });
    for (const o of r.outcomes) expect([o.status, o.real!.steps[1]!.errno]).toEqual(['agree', 22]);
  });
});
