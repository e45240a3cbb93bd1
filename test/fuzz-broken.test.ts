// A broken fixup plug-in must be caught within seconds, written as a case file into the
// found folder, and that case must replay as a failure with the plug-in and pass without it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCaseText } from '../cases/caseFormat';
import { validateReport } from '../report/schema';
import { ROOT, runCli } from './helpers/cli';

const SEED = 20230714;
const BROKEN = path.join('test', 'fixtures', 'broken-fixup.js');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-fuzz-broken-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test(`fuzz with a fixup that clears bit 9 unconditionally exits 1 quickly with a replayable case (seed ${SEED})`, async () => {
  const out = path.join(tmp, 'report');
  const found = path.join(tmp, 'found');
  const t0 = Date.now();
  const r = await runCli(['fuzz', '--seed', String(SEED), '--seconds', '60', '--workers', '2', '--fixup', BROKEN, '--out', out, '--found', found, '--progress', 'plain']);
  const took = (Date.now() - t0) / 1000;
  expect(r.code).toBe(1);
  expect(took).toBeLessThan(15);
  expect(r.stdout).toMatch(/^FINDING P[1-5] /m);

  // --max-findings 1 stops the run at the first finding; the other worker may report one more
  // from the batch it was running. Every case is written once, named by its content.
  const files = fs.readdirSync(found).filter((f) => f.endsWith('.json')).sort();
  expect(files.length).toBeGreaterThanOrEqual(1);
  expect(files.length).toBeLessThanOrEqual(4);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(validateReport(report)).toEqual([]);
  expect(report.partial).toBe(false);
  expect(report.run.stopReason).toBe('1 finding (--max-findings 1)');
  expect(report.findings.map((f: { file: string }) => path.basename(f.file)).sort()).toEqual(files);
  expect(report.run.fixup).toEqual({ name: 'broken-fixup.js', path: BROKEN });
  for (const name of files) {
    const file = path.join(found, name);
    const c = parseCaseText(fs.readFileSync(file, 'utf8'), file);
    expect(name).toBe(`${c.id}.json`);
    // The printed replay command names the file and the plug-in.
    expect(r.stdout).toContain(`replay: npx xsave-harness replay --fixup ${BROKEN} ${file}`);
    const f = report.findings.find((x: { caseId: string }) => x.caseId === c.id);
    expect(f.case.id).toBe(c.id);
    expect(report.claims.find((x: { id: string }) => x.id === f.property).result).toBe('fails');
  }
  expect(r.stdout).toMatch(new RegExp(`rerun: {2}npx xsave-harness check --only P[1-5] --seed \\d+ --runs \\d+ --fixup ${BROKEN.replace(/[.]/g, '\\.')}`));
  expect(fs.readFileSync(path.join(out, 'REVIEW.md'), 'utf8')).toContain(files[0]!.replace(/\.json$/, ''));

  // Each case fails under the broken plug-in and holds for the Proxmox patch.
  const file = found;
  const withBroken = await runCli(['replay', '--fixup', path.join(ROOT, BROKEN), file]);
  expect(withBroken.code).toBe(1);
  expect(withBroken.stdout).toContain(`0 passed, ${files.length} failed, 0 unusable`);
  const withPve = await runCli(['replay', file]);
  expect(withPve.stdout).not.toMatch(/^FAIL/m);
  expect(withPve.stdout).toContain(`${files.length} passed, 0 failed, 0 unusable`);
  expect(withPve.code).toBe(0);
});
