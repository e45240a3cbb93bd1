// The fuzz command end to end (CLI in a child process, workers forked by it): a clean run with
// the Proxmox patch, its report against the schema, and the kvm backend's refusal.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateReport } from '../report/schema';
import { runCli } from './helpers/cli';

const SEED = 424242;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-fuzz-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test(`fuzz with the Proxmox fixup for 5 s on 2 workers finds nothing and exits 0 (seed ${SEED})`, async () => {
  const out = path.join(tmp, 'pve');
  const found = path.join(tmp, 'found');
  const r = await runCli(['fuzz', '--seed', String(SEED), '--seconds', '5', '--workers', '2', '--out', out, '--found', found, '--progress', 'plain']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n')[0]).toBe(`seed ${SEED}`);
  expect(r.stdout).toMatch(/no finding in [\d,]+ runs/);
  expect(fs.existsSync(found) ? fs.readdirSync(found) : []).toEqual([]);

  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(validateReport(report)).toEqual([]);
  expect(report.schema).toBe('xsave-report/1');
  expect(report.kind).toBe('fuzz');
  expect(report.partial).toBe(false);
  expect(report.run.seed).toBe(SEED);
  expect(report.run.workers).toBe(2);
  expect(report.run.stopReason).toBe('time budget spent');
  expect(report.findings).toEqual([]);
  // Both workers ran every property, and the ioctl classes add up.
  expect(report.coverage.cases).toBeGreaterThan(5000);
  for (const id of ['P1', 'P2', 'P3', 'P4', 'P5']) {
    const p = report.coverage.byProperty[id];
    expect(p.cases).toBeGreaterThan(0);
    expect(report.claims.find((c: { id: string }) => c.id === id).result).toBe('holds');
    expect(Object.values(p.classes as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(p.cases);
    // the decision-space counts (issue 14 item 3) cover every case, and report.json's table holds them
    expect(Object.values(p.decision as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(p.cases);
    expect(report.decisionSpace.byProperty[id].cases).toBe(p.cases);
  }
  expect(r.stdout).toContain('## Decision space');
  const io = report.coverage.ioctl;
  expect(io.valid + io.leaked + io.other).toBe(io.cases);
  expect(io.leaked).toBeGreaterThan(0);
  expect(io.rejected).toBeGreaterThan(0);
  expect(report.environment.node).toBe(process.version);
  expect(fs.readFileSync(path.join(out, 'REVIEW.md'), 'utf8')).toContain(`seed ${SEED}`);
  expect(fs.readFileSync(path.join(out, 'review.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
});

test('fuzz --backend kvm exits 4 with a message instead of pretending', async () => {
  const r = await runCli(['fuzz', '--backend', 'kvm', '--seconds', '1', '--out', path.join(tmp, 'kvm')]);
  expect(r.code).toBe(4);
  expect(r.stderr).toMatch(/real-KVM conformance backend is not available/);
  expect(fs.existsSync(path.join(tmp, 'kvm'))).toBe(false);
});

test('fuzz rejects a malformed --shard with a usage error', async () => {
  const r = await runCli(['fuzz', '--shard', '3/2', '--seconds', '1']);
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/--shard/);
});
