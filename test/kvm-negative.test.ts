// Negative controls for kvm-check: deliberately wrong models of the running kernel must
// disagree with it, and their disagreements become case files that replay as the kernel
// behaves (pass on the real kernel and under the right model, fail under the wrong one).
//  - a calibration that claims upstream's guest-supported XCR0 rule (CPUID leaf 0xD.0);
//  - the XRSTOR MXCSR rule of the standard form (the model before this was measured).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { replayPaths } from '../cases/replay';
import { ThisMachine, setThisMachine } from '../cases/resolve';
import { MachineCalibration } from '../kvm/calibration';
import { ConformanceRun, countByClass, runConformance } from '../kvm/conformance';
import { XsaveExecutor } from '../kvm/executor';
import { foundCase, writeFoundCase } from '../kvm/foundCase';
import { generateCases } from '../kvm/generate';
import { replayKvmPaths } from '../kvm/replayKvm';
import { kvmTestAvailability } from '../kvm/testkit';
import { withCalibratedExecutor } from './calibratedExecutor';

const avail = kvmTestAvailability('test/kvm-negative');
const describeKvm = avail.ok ? describe : describe.skip;

describeKvm('kvm-check negative controls', () => {
  let ex: XsaveExecutor;
  let cal: MachineCalibration;
  let right: ThisMachine;
  let cases: ReturnType<typeof generateCases>;
  withCalibratedExecutor(async (e, c) => {
    ex = e;
    cal = c;
    right = { kernel: cal.kernel, host: cal.host };
    cases = generateCases({ machine: right, table: cal.table, size: cal.size }, 1200, 77);
  }, 20_000);

  const disagreeing = (r: ConformanceRun) => r.outcomes.filter((o) => o.status === 'disagree');

  it('the right model agrees (the control of the controls)', async () => {
    const r = await runConformance(ex, right, cases);
    expect(disagreeing(r).length).toBe(0);
  }, 15_000);

  it('upstream guest-supported XCR0 rules disagree; the disagreements replay as the kernel behaves', async () => {
    // Only meaningful where the running kernel does not follow upstream's rule.
    if (cal.kernel.gsx === 'cpuid') return;
    const wrong: ThisMachine = { kernel: { ...cal.kernel, id: 'broken-upstream-gsx', gsx: 'cpuid' }, host: cal.host };
    const r = await runConformance(ex, wrong, cases);
    const bad = disagreeing(r);
    expect(bad.length).toBeGreaterThan(50);
    const fields = new Set(bad.flatMap((o) => o.disagreements.map((d) => `${d.op}`)));
    expect([...fields]).toEqual(expect.arrayContaining(['getXsave', 'setXcrs']));
    // Write some disagreements as case files (target this/this), then replay them.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-found-'));
    let n = 0;
    for (const o of bad) {
      if (n >= 12) break;
      const c = cases[o.index]!;
      if (c.steps.some((s) => s.op === 'run')) continue;
      const f = foundCase(c, o, r.predictions[o.index]!, { seed: 77, release: cal.release, kernelId: wrong.kernel.id });
      if (!f) continue;
      writeFoundCase(dir, f);
      n++;
    }
    expect(n).toBeGreaterThan(5);
    // On the real kernel every file passes: its expect is what the kernel did.
    const kvm = await replayKvmPaths(ex, [dir], cal);
    expect(kvm.results.map((x) => [x.id, x.status, x.mismatches])).toEqual(kvm.results.map((x) => [x.id, 'pass', []]));
    // Under the right model they pass too; under the wrong one some fail.
    setThisMachine(right);
    const good = replayPaths([dir]);
    expect(good.results.filter((x) => x.status !== 'pass').map((x) => x.file)).toEqual([]);
    setThisMachine(wrong);
    const broken = replayPaths([dir]);
    expect(broken.failed).toBeGreaterThan(0);
    setThisMachine(right);
  }, 20_000);

  it('the standard-form XRSTOR MXCSR rule disagrees with what guests see', async () => {
    const wrong: ThisMachine = { kernel: cal.kernel, host: { ...cal.host, kernelXrstor: 'standard' } };
    const r = await runConformance(ex, wrong, cases);
    const bad = disagreeing(r);
    if (cal.host.kernelXrstor !== 'compacted') return;
    expect(bad.length).toBeGreaterThan(0);
    expect(countByClass(bad).map((c) => c.cls)).toEqual(['guest-run']);
    expect(new Set(bad.flatMap((o) => o.disagreements.map((d) => d.field)))).toEqual(new Set(['guest mxcsr']));
    // In every one, the state the guest runs with has SSE clear in XSTATE_BV (the last SET the
    // kernel accepted): the standard form loads the kernel image's MXCSR, the compacted form 0x1f80.
    for (const o of bad) {
      const c = cases[o.index]!;
      const accepted = c.steps
        .map((s, i) => ({ s, real: o.real!.steps[i + 2]! }))
        .filter((x) => x.s.op === 'setXsave' && x.real.errno === 0);
      const last = accepted[accepted.length - 1]!.s;
      const xbv = last.op === 'setXsave' ? new DataView(last.region.buffer, last.region.byteOffset, last.region.byteLength).getBigUint64(512, true) : -1n;
      expect(xbv & 2n).toBe(0n);
    }
  }, 15_000);
});
