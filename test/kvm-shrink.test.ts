// kvm-check draws its cases from a fast-check arbitrary and shrinks a disagreement against the
// backend that ran it (issue 12). No /dev/kvm here: the backend is a fake kernel (the model with
// a planted bug, test/helpers/fakeKernel.ts); without the bug it must agree on every case (the
// negative control: the fake is faithful, so what is found is the planted bug).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ThisMachine } from '../cases/resolve';
import { MachineCalibration } from '../kvm/calibration';
import { conformanceSeed, generateCases } from '../kvm/generate';
import { shrinkDisagreement } from '../kvm/shrink';
import { HOSTS, PVE_FIXUP, kernelById, resolveCpuModel } from '../model';
import { sampleConformanceCases } from '../properties/arbitraries/conformance';
import { EXIT } from '../cli/exitCodes';
import { checkMachine } from '../cli/checkMachine';
import { REFUSES_AVX_XCR0, fakeKernel } from './helpers/fakeKernel';

const machine: ThisMachine = { kernel: kernelById('linux-6.12')!, host: HOSTS['skylake-sp']! };
const table = resolveCpuModel('host', machine.host, machine.kernel);
const ctx = { machine, table, size: 4096 };
const cal = { table, size: 4096, host: machine.host, kernel: machine.kernel, release: 'fake', chosen: machine.kernel.id } as unknown as MachineCalibration;
const SEED = 'nightly-1';
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const N = 300;

function check(bug: typeof REFUSES_AVX_XCR0 | null, shrink: number): Promise<{ report: Awaited<ReturnType<typeof checkMachine>>['report']; exit: number; lines: string[]; found: string }> {
  const found = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-shrink-'));
  dirs.push(found);
  const lines: string[] = [];
  return checkMachine(fakeKernel(machine, table, bug), cal, machine, {
    n: N,
    chunk: 100,
    seed: SEED,
    plugin: PVE_FIXUP,
    json: false,
    found,
    t0: Date.now(),
    target: { kernel: 'this', host: 'this', backend: 'kvm', release: 'fake', calibratedAs: machine.kernel.id },
    shrink,
    log: (s) => void lines.push(s),
  }).then((r) => ({ ...r, lines, found }));
}

test('the same seed (any string) gives the same cases; another seed other cases', () => {
  const key = (cs: ReturnType<typeof generateCases>): string => JSON.stringify(cs, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
  const a = generateCases(ctx, 120, SEED);
  expect(key(generateCases(ctx, 120, SEED))).toBe(key(a));
  expect(key(generateCases(ctx, 120, 'nightly-2'))).not.toBe(key(a));
  expect(conformanceSeed('42')).toBe(42);
  expect(conformanceSeed(SEED)).not.toBe(conformanceSeed('nightly-2'));
  // leaked pairs stay whole, and every case names its record in fast-check's run
  const s = sampleConformanceCases(ctx, 121, conformanceSeed(SEED));
  expect(s.cases).toHaveLength(121);
  s.cases.forEach((c, i) => {
    if (c.cls === 'leaked/no-fixup') expect(s.cases[i + 1]?.cls).toBe('leaked/fixup');
  });
  expect(s.record).toEqual([...s.record].sort((x, y) => x - y));
});

test('negative control: the fake kernel without a planted bug agrees on every case of every class', async () => {
  const r = await check(null, 50);
  expect(r.report.disagreements.map((d) => `${d.cls} ${d.what} ${d.details[0]}`)).toEqual([]);
  expect(r.exit).toBe(EXIT.OK);
  expect(r.report.byClass.length).toBeGreaterThanOrEqual(12);
  expect(r.report.byClass.map((c) => c.cls)).toEqual(expect.arrayContaining(['guest-run', 'leaked/fixup', 'xcr0', 'cpuid-after-xsave']));
  expect(r.report.shrunk).toEqual([]);
});

test('a planted bug is found and shrunk: the shrunk case, the seed and the rerun command are printed', async () => {
  const r = await check(REFUSES_AVX_XCR0, 200);
  expect(r.exit).toBe(EXIT.FAILED);
  expect(r.report.disagreements.length).toBeGreaterThan(0);
  expect(r.report.shrunk.length).toBeGreaterThan(0);
  for (const x of r.report.shrunk) {
    expect(x.shrinkSteps).toBeLessThanOrEqual(200);
    // what is left is the bug: a KVM_SET_XCRS of an XCR0 with AVX that the model accepts
    expect(x.details[0]).toMatch(/^step \d+ setXcrs: errno: model OK, kernel EINVAL$/);
    expect(x.steps).toMatch(/setXcrs 0x7\b/);
    expect(x.rerun).toBe(`xsave-harness kvm-check --cases ${N} --seed ${SEED} --shrink 200`);
    expect(x.file).not.toBeNull();
    expect(JSON.parse(fs.readFileSync(x.file!, 'utf8')).format).toBeDefined();
  }
  const out = r.lines.join('\n');
  expect(out).toMatch(/^SHRUNK case \d+ \[/m);
  expect(out).toContain(`seed ${SEED}, fast-check seed ${conformanceSeed(SEED)}, record `);
  expect(out).toContain(`rerun: xsave-harness kvm-check --cases ${N} --seed ${SEED} --shrink 200`);
  // shrinking moved away from the drawn case (towards simpler draws: fast-check's shrinker
  // re-draws a record, so a shrunk case may hold more steps, never more than the bug needs)
  const original = generateCases(ctx, N, SEED);
  expect(r.report.shrunk.some((x) => x.what !== original[x.index]!.what)).toBe(true);
});

test('shrinking is deterministic and bounded by --shrink', async () => {
  const s = sampleConformanceCases(ctx, N, conformanceSeed(SEED));
  const fake = fakeKernel(machine, table, REFUSES_AVX_XCR0);
  // the first disagreeing record: shrinking with budget 0 only reruns it
  let record = -1;
  for (const k of [...new Set(s.record)]) {
    const r0 = await shrinkDisagreement(fake, machine, ctx, { seed: conformanceSeed(SEED), record: k, maxSteps: 0 });
    if (r0) {
      record = k;
      expect(r0.steps).toBe(0);
      break;
    }
  }
  expect(record).toBeGreaterThanOrEqual(0);
  const a = await shrinkDisagreement(fake, machine, ctx, { seed: conformanceSeed(SEED), record, maxSteps: 100 });
  const b = await shrinkDisagreement(fake, machine, ctx, { seed: conformanceSeed(SEED), record, maxSteps: 100 });
  expect(a!.path).toBe(b!.path);
  expect(a!.steps).toBe(b!.steps);
  const ran = fake.ran;
  const one = await shrinkDisagreement(fake, machine, ctx, { seed: conformanceSeed(SEED), record, maxSteps: 1 });
  expect(one!.steps).toBeLessThanOrEqual(1);
  // the original run and at most one candidate reached the backend (a record is one or two cases)
  expect(fake.ran - ran).toBeLessThanOrEqual(4);
  // without the planted bug nothing disagrees: nothing to shrink
  expect(await shrinkDisagreement(fakeKernel(machine, table), machine, ctx, { seed: conformanceSeed(SEED), record, maxSteps: 10 })).toBeNull();
});
