// Stopping a fuzz run: Ctrl-C leaves a valid report marked partial; a crashing worker is an
// infrastructure error (exit 2) with a report that names it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateReport } from '../report/schema';
import { runCli, startCli, waitForOutput } from './helpers/cli';

const SEED = 777;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-fuzz-sigint-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test(`SIGINT during a run stops the workers and writes a valid report marked partial (seed ${SEED})`, async () => {
  const out = path.join(tmp, 'int');
  const run = startCli(['fuzz', '--seed', String(SEED), '--seconds', '60', '--workers', '2', '--out', out, '--found', path.join(tmp, 'found'), '--progress', 'plain']);
  await waitForOutput(run.stdout, 'fuzz: 2 workers', 10000);
  await new Promise((r) => setTimeout(r, 2500)); // let the workers run some batches
  run.child.kill('SIGINT');
  const r = await run.done;
  expect(r.code).toBe(130);
  expect(r.stdout).toMatch(/SIGINT: stopping the workers/);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(validateReport(report)).toEqual([]);
  expect(report.partial).toBe(true);
  expect(report.partialReasons.join(' ')).toMatch(/interrupted/);
  expect(report.run.stopReason).toBe('interrupted by SIGINT');
  expect(report.coverage.cases).toBeGreaterThan(0);
  expect(report.errors).toEqual([]);
  expect(fs.readFileSync(path.join(out, 'REVIEW.md'), 'utf8')).toContain('PARTIAL REPORT');
});

test(`a worker that crashes makes the run exit 2 with the error in the report (seed ${SEED})`, async () => {
  const out = path.join(tmp, 'crash');
  const r = await runCli(['fuzz', '--seed', String(SEED), '--seconds', '30', '--workers', '2', '--out', out, '--found', path.join(tmp, 'found'), '--progress', 'plain'], {
    env: { XSAVE_HARNESS_TEST_CRASH_AFTER: '2' },
  });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/worker 0/);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(validateReport(report)).toEqual([]);
  expect(report.partial).toBe(true);
  expect(report.errors.join('\n')).toMatch(/worker 0/);
});
