// P2's source kernels are exactly those its statement names (the PVE 7-era leak, no AMX), and
// why the lab's AMX-capable leaky kernel is not one: with it, P2's domain would hold guests that
// use AMX bound for kernels without AMX (a counterexample found at seed 767047338).
import fc from 'fast-check';
import { kernelById, migrate } from '../model';
import { P2_SOURCE_KERNELS, LEAKY_KERNELS, leakScenarioArb } from './arbitraries/scenarios';
import { P2, leakSpec } from './properties';

test('P2 sources are the kernels its statement names', () => {
  expect(P2_SOURCE_KERNELS.map((k) => k.id)).toEqual(['linux-5.16', 'pve-5.15']);
  for (const k of P2_SOURCE_KERNELS) expect(P2.statement).toContain(k.id);
  expect(LEAKY_KERNELS.map((k) => k.id)).toContain('debian-6.1-leaky');
});

test('control: from debian-6.1-leaky, an AMX guest bound for linux-5.15 fails for a reason that is not PKRU', () => {
  const arb = leakScenarioArb().map((s) => ({ ...s, sourceKernel: kernelById('debian-6.1-leaky')!, targetKernel: kernelById('linux-5.15')! }));
  const found = fc.sample(arb, { numRuns: 3000, seed: 767047338 }).find((s) => {
    const r = migrate(leakSpec(s));
    return r.outcome !== 'intact' && r.restore.steps.some((x) => x.step === 'xcrs' && x.rc === 'EINVAL');
  });
  expect(found).toBeDefined();
  expect(leakSpec(found!).guest.xcr0 & 0x60000n).toBe(0x60000n); // the guest uses AMX
});
