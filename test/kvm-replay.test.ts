// corpus/real-kvm: cases whose target is the running machine (kernel and host `this`). They pass
// with the model backend (no KVM needed: `this` defaults to the variant measured on the project
// machines) and, where /dev/kvm works, with `replay --backend kvm` against the running kernel.
// Cases for other targets are skipped by the kvm backend with a one-line reason.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoctlCase, MigrationCase, parseCaseText } from '../cases/caseFormat';
import { formatResult, replayPaths } from '../cases/replay';
import { MachineCalibration } from '../kvm/calibration';
import { XsaveExecutor } from '../kvm/executor';
import { replayKvmPaths } from '../kvm/replayKvm';
import { kvmTestAvailability } from '../kvm/testkit';
import { EXIT } from '../cli/exitCodes';
import { run as replay } from '../cli/commands/replay';
import { withCalibratedExecutor } from './calibratedExecutor';

const DIR = path.resolve(__dirname, '..', 'corpus', 'real-kvm');
const FILES = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => path.join(DIR, f));
const CASES = FILES.map((f) => parseCaseText(fs.readFileSync(f, 'utf8'), f));

function captureLog(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  return { lines, restore: () => (log.mockRestore(), err.mockRestore()) };
}

describe('corpus/real-kvm', () => {
  it('holds at least 8 cases for `this`, among them a leaked state refused without the fixup and accepted with it, and a migration incident', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(8);
    for (const c of CASES) {
      expect(c.kind).not.toBe('lifecycle');
      if (c.kind === 'lifecycle') continue;
      expect([c.id, c.target.kernel, c.target.host]).toEqual([c.id, 'this', { name: 'this' }]);
      expect(path.basename(c.file)).toBe(`${c.id}.json`);
    }
    const io = CASES.filter((c): c is IoctlCase => c.kind === 'ioctl');
    const leakedPkru = io.filter((c) => !('hex' in c.xsave) && (c.xsave.xstateBv & 0x200n) !== 0n);
    expect(leakedPkru.filter((c) => c.target.fixup === 'none' && c.expect.result === 'einval').length).toBeGreaterThan(0);
    expect(leakedPkru.filter((c) => c.target.fixup === 'pve' && c.expect.result === 'ok' && c.expect.fixupFired).length).toBeGreaterThan(0);
    const mig = CASES.filter((c): c is MigrationCase => c.kind === 'migration');
    expect(new Set(mig.map((c) => c.expect.outcome))).toEqual(new Set(['incomplete', 'aborted', 'intact']));
  });

  it.each(FILES.map((f) => [path.basename(f), f] as const))('%s passes with the model backend', (_n, file) => {
    const s = replayPaths([file]);
    expect(s.results.map(formatResult)).toEqual([expect.stringMatching(/^PASS/)]);
  });
});

const avail = kvmTestAvailability('test/kvm-replay');
const describeKvm = avail.ok ? describe : describe.skip;

describeKvm('replay --backend kvm', () => {
  let ex: XsaveExecutor;
  let cal: MachineCalibration;
  withCalibratedExecutor(async (e, c) => {
    ex = e;
    cal = c;
  }, 20_000);

  it('every corpus/real-kvm case passes against the running kernel', async () => {
    const s = await replayKvmPaths(ex, [DIR], cal);
    expect(s.results.map((r) => [r.id, r.status, r.mismatches])).toEqual(s.results.map((r) => [r.id, 'pass', []]));
    const obs = Object.fromEntries(s.results.map((r) => [r.id, r.observed]));
    expect(obs['real-kvm.leaked-pkru.no-fixup.refused']).toMatchObject({ result: 'einval', fixupFired: 'false' });
    expect(obs['real-kvm.leaked-pkru.fixup.accepted']).toMatchObject({ result: 'ok', fixupFired: 'true', getXstateBv: '0x3' });
    expect(obs['real-kvm.migration.pve74-qemu64.qemu-8.0.incomplete']!['differs']).toMatch(/guest fcw/);
  });

  it('cases for other machines are skipped with a one-line reason; the CLI exits 0', async () => {
    const cap = captureLog();
    let code: number;
    try {
      code = await replay(['--backend', 'kvm', DIR, path.resolve(__dirname, '..', 'corpus', 'pvm'), path.resolve(__dirname, '..', 'corpus', 'incident')]);
    } finally {
      cap.restore();
    }
    expect(code).toBe(EXIT.OK);
    const skips = cap.lines.filter((l) => l.startsWith('SKIP'));
    expect(skips.length).toBeGreaterThan(10);
    for (const l of skips) expect(l).not.toMatch(/\n/);
    expect(skips.some((l) => /target kernel .* is not the running kernel/.test(l))).toBe(true);
    expect(cap.lines[cap.lines.length - 1]).toMatch(new RegExp(`^${FILES.length} passed, 0 failed, \\d+ skipped, 0 unusable$`));
  }, 20_000);

  it('a case whose expectation the running kernel contradicts fails (exit 1)', async () => {
    const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'kvm-replay-'));
    const src = JSON.parse(fs.readFileSync(path.join(DIR, 'real-kvm.get.leaf-0xd-0x3.no-mask.json'), 'utf8'));
    src.id = 'wrong.upstream-mask';
    src.expect.getXstateBv = '0x3'; // what upstream would do; this kernel reports 0x7
    fs.writeFileSync(path.join(tmp, 'wrong.upstream-mask.json'), JSON.stringify(src));
    const cap = captureLog();
    let code: number;
    try {
      code = await replay(['--backend', 'kvm', tmp]);
    } finally {
      cap.restore();
    }
    expect(code).toBe(EXIT.FAILED);
    expect(cap.lines.join('\n')).toMatch(/expect\.getXstateBv: expected 0x3, the running kernel gives 0x7/);
  }, 20_000);
});

describe('replay --backend kvm without KVM', () => {
  it('exits 4 with a one-line reason', async () => {
    const prev = process.env.XSAVE_KVM_DEV;
    process.env.XSAVE_KVM_DEV = '/nonexistent/kvm';
    const cap = captureLog();
    let code: number;
    try {
      code = await replay(['--backend', 'kvm', DIR]);
    } finally {
      cap.restore();
      if (prev === undefined) delete process.env.XSAVE_KVM_DEV;
      else process.env.XSAVE_KVM_DEV = prev;
    }
    expect(code).toBe(EXIT.NO_KVM);
    expect(cap.lines).toEqual([expect.stringMatching(/^xsave-harness replay: real KVM is not available: /)]);
  });
});
