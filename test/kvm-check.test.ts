// kvm-check: the model (kernel `this` as calibrated) against the running kernel on ~3000
// generated cases of every class; full agreement is required. Also the CLI: its report, and its
// exit code 4 when /dev/kvm is not usable.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getThisMachine, setThisMachine } from '../cases/resolve';
import { MachineCalibration } from '../kvm/calibration';
import { ConformanceRun, countByClass, runConformance } from '../kvm/conformance';
import { XsaveExecutor } from '../kvm/executor';
import { generateCases } from '../kvm/generate';
import { kvmTestAvailability } from '../kvm/testkit';
import { EXIT } from '../cli/exitCodes';
import { leakDemo, run as kvmCheck } from '../cli/commands/kvm-check';
import { withCalibratedExecutor } from './calibratedExecutor';

const avail = kvmTestAvailability('test/kvm-check');
const describeKvm = avail.ok ? describe : describe.skip;

function captureLog(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  return {
    lines,
    restore: () => {
      log.mockRestore();
      err.mockRestore();
    },
  };
}

describeKvm('kvm-check: model vs running kernel', () => {
  let ex: XsaveExecutor;
  let cal: MachineCalibration;
  let cases: ReturnType<typeof generateCases>;
  let run: ConformanceRun;
  const saved = getThisMachine(); // the kvm-check command test below restores it itself
  withCalibratedExecutor(async (e, c) => {
    ex = e;
    cal = c;
    const machine = { kernel: cal.kernel, host: cal.host };
    cases = generateCases({ machine, table: cal.table, size: cal.size }, 3000, 20261124);
    run = await runConformance(ex, machine, cases);
  }, 28_000);

  it('covers every class, several CPUID scenarios and guest runs', () => {
    const classes = countByClass(run.outcomes).map((c) => c.cls);
    expect(classes).toEqual(
      expect.arrayContaining([
        'valid',
        'valid/fixup-silent',
        'leaked/no-fixup',
        'leaked/fixup',
        'refused/outside-host-set',
        'refused/xcomp-bv',
        'refused/header-reserved',
        'refused/mxcsr-reserved',
        'accepted/mxcsr-reserved-unchecked',
        'refused/after-accepted',
        'xcr0',
        'cpuid-refused',
        'cpuid-after-xsave',
        'guest-run',
      ]),
    );
    const kinds = new Set(cases.map((c) => (c.what ?? '').split(';')[0]!.split('/')[0]));
    expect([...kinds]).toEqual(expect.arrayContaining(['never-set', 'empty-table', 'host-table', 'minimal', 'model']));
    expect(cases.length).toBe(3000);
  });

  it('agrees on every case (100%), with no infrastructure error', () => {
    const bad = run.outcomes.filter((o) => o.status !== 'agree');
    const show = bad.slice(0, 5).map((o) => `${o.index} ${o.cls} ${cases[o.index]!.what}: ${JSON.stringify(o.disagreements.slice(0, 2))}`);
    expect(show).toEqual([]);
    expect(run.infra).toEqual([]);
  });

  it('every leaked state is refused without the fixup, accepted with it, and read back as the model predicts', () => {
    const d = leakDemo(cases, run);
    expect(d.withoutFixup).toBeGreaterThan(100);
    expect(d.withFixup).toBe(d.withoutFixup);
    if ((cal.host.xcr0 & 0x200n) === 0n) {
      expect(d.refusedWithoutFixup).toBe(d.withoutFixup);
      expect(d.acceptedWithFixup).toBe(d.withFixup);
    }
    expect(d.readBackAsPredicted).toBe(d.acceptedWithFixup);
  });

  it('the CLI reports agreement as JSON and exits 0; disagreement files are not written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-check-'));
    const cap = captureLog();
    let code: number;
    try {
      code = await kvmCheck(['--cases', '300', '--seed', '5', '--json', '--found', dir]);
    } finally {
      cap.restore();
    }
    expect(code).toBe(EXIT.OK);
    const report = JSON.parse(cap.lines.join('\n')) as { cases: number; agree: number; leaked: { refusedWithoutFixup: number; withoutFixup: number }; calibration: { chosen: string } };
    expect(report.cases).toBe(300);
    expect(report.agree).toBe(300);
    expect(report.calibration.chosen).toBe(cal.chosen);
    expect(fs.readdirSync(dir)).toEqual([]);
    setThisMachine(saved);
  }, 20_000);
});

describe('kvm-check without KVM', () => {
  it('exits 4 with a one-line reason when /dev/kvm is missing', async () => {
    const prev = process.env.XSAVE_KVM_DEV;
    process.env.XSAVE_KVM_DEV = '/nonexistent/kvm';
    const cap = captureLog();
    let code: number;
    try {
      code = await kvmCheck(['--cases', '10']);
    } finally {
      cap.restore();
      if (prev === undefined) delete process.env.XSAVE_KVM_DEV;
      else process.env.XSAVE_KVM_DEV = prev;
    }
    expect(code).toBe(EXIT.NO_KVM);
    expect(cap.lines).toHaveLength(1);
    expect(cap.lines[0]).toMatch(/kvm-check: real KVM is not available: \/nonexistent\/kvm does not exist/);
  });
});

describe('kvm-check --shrink', () => {
  it('takes a positive bound on shrink steps, and refuses anything else before touching /dev/kvm', async () => {
    const prev = process.env.XSAVE_KVM_DEV;
    process.env.XSAVE_KVM_DEV = '/nonexistent/kvm';
    try {
      await expect(kvmCheck(['--cases', '10', '--shrink', '0'])).rejects.toThrow(/--shrink: expected a positive integer, got "0"/);
      await expect(kvmCheck(['--cases', '10', '--shrink', 'many'])).rejects.toThrow(/--shrink: expected a positive integer/);
      const cap = captureLog();
      try {
        expect(await kvmCheck(['--cases', '10', '--shrink', '50'])).toBe(EXIT.NO_KVM);
      } finally {
        cap.restore();
      }
    } finally {
      if (prev === undefined) delete process.env.XSAVE_KVM_DEV;
      else process.env.XSAVE_KVM_DEV = prev;
    }
  });
});
