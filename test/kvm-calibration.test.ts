// Calibration of the running kernel (kvm/calibration.ts): the variant is detected by probes, not
// assumed. On the project machines it is linux-6.18-pvm on an AMD host without PKU; elsewhere the
// test checks that the calibration is exact and says what it found. When a catalogue lacks the
// right variant, a `this-calibrated` variant is derived and the differing probes are listed.
import * as os from 'node:os';
import { KERNELS, kernelById } from '../model';
import { getThisMachine } from '../cases/resolve';
import { MachineCalibration, calibrateMachine, describeCalibration } from '../kvm/calibration';
import { XsaveExecutor } from '../kvm/executor';
import { kvmTestAvailability } from '../kvm/testkit';
import { withCalibratedExecutor } from './calibratedExecutor';

const avail = kvmTestAvailability('test/kvm-calibration');
const describeKvm = avail.ok ? describe : describe.skip;
const REFERENCE_RELEASE = '6.18.44-fc-v669';
const onReference = os.release() === REFERENCE_RELEASE;

describeKvm('calibration of the running kernel', () => {
  let ex: XsaveExecutor;
  let cal: MachineCalibration;
  withCalibratedExecutor(async (e, c) => {
    ex = e;
    cal = c;
  }, 20_000);

  it('finds a variant that reproduces every probe step, and installs it as `this`', () => {
    expect(cal.exact).toBe(true);
    expect(cal.probeSteps).toBeGreaterThan(1000);
    expect(getThisMachine().kernel).toBe(cal.kernel);
    expect(getThisMachine().host).toBe(cal.host);
    if (!onReference) console.warn(`[test/kvm-calibration] not the reference machine: ${describeCalibration(cal)}`);
  });

  (onReference ? it : it.skip)('picks linux-6.18-pvm on the project machine, host 0xe7 AMD without PKU', () => {
    expect(cal.chosen).toBe('linux-6.18-pvm');
    expect(cal.kernel).toBe(kernelById('linux-6.18-pvm'));
    expect(cal.host.xcr0).toBe(0xe7n);
    expect(cal.host.vendor).toBe('amd');
    expect(cal.host.mxcsrMask).toBe(0x2ffff);
    expect(cal.host.kernelXrstor).toBe('compacted');
    expect(cal.catalogueHost).toBe('zen4-nopku');
    expect(cal.size).toBe(4096);
    // Every upstream 6.6+ variant fails on the guest-supported XCR0 rule (the PVM kernel's own).
    const l612 = cal.candidates.find((c) => c.id === 'linux-6.12')!;
    expect(l612.differing).toBeGreaterThan(0);
    expect(l612.examples.join('\n')).toMatch(/xcr0\/|get-mask\//);
  });

  it('without the right variant in the catalogue, derives `this-calibrated` and says what differs', async () => {
    const without = KERNELS.filter((k) => k.id !== cal.chosen);
    const c2 = await calibrateMachine(ex, { install: false, catalogue: without });
    expect(c2.chosen).toBe('this-calibrated');
    expect(c2.kernel.id).toBe('this-calibrated');
    expect(c2.exact).toBe(true);
    expect(c2.derivedFrom).not.toBeNull();
    expect(c2.derivedFrom!.changes.length).toBeGreaterThan(0);
    expect(c2.derivedFrom!.differingProbes.length).toBeGreaterThan(0);
    if (onReference) {
      // The derivation finds the PVM rule: upstream 6.12's rules with the guest-supported XCR0 rule changed.
      expect(c2.derivedFrom!.changes).toEqual([{ field: 'gsx', from: 'cpuid', to: 'host-after-cpuid' }]);
      const { id: _a, title: _b, unconfirmed: _c, ...rules } = c2.kernel;
      const { id: _d, title: _e, unconfirmed: _f, ...pvm } = kernelById('linux-6.18-pvm')!;
      expect(rules).toEqual(pvm);
    }
    expect(getThisMachine().kernel).toBe(cal.kernel); // install: false left `this` alone
  }, 25_000);
});
