// `xsave-harness lab qemu`: the exit codes without QEMU and on usage errors (always run), and one
// stock migration end to end with real QEMU 7.2 inside lab VMs (Debian 6.1 on the PKU host ->
// Debian 6.12 without PKU, both restores), skipped with the reason where QEMU is missing.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCase } from '../cases/caseFormat';
import { evaluateCase } from '../cases/evaluate';
import { runCli } from './helpers/cli';
import { labDescribe } from './helpers/labSuite';

describe('lab qemu: exit codes', () => {
  test('QEMU missing: exit 4 with the reason', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-nopath-'));
    const r = await runCli(['lab', 'qemu', '--no-record'], { env: { PATH: empty } });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/qemu-system-x86_64 is not installed/);
  });
  test('usage errors: exit 3', async () => {
    expect((await runCli(['lab', 'qemu', '--only', 'debian-6.12:mars', '--no-record'])).code).toBe(3);
    expect((await runCli(['lab', 'qemu', '--guest', 'spin', '--no-record'])).code).toBe(3);
    expect((await runCli(['lab', 'qemu', '--source', 'debian-6.1', '--no-record'])).code).toBe(3);
  });
});

labDescribe('lab qemu (QEMU 7.2 inside lab VMs)')('lab qemu: one stock migration end to end', () => {
  test('debian-6.1 on pku -> debian-6.12 on nopku: both restores intact, as the model says', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-lab-qemu-test-'));
    const record = path.join(dir, 'record.json');
    const r = await runCli(['lab', 'qemu', '--source', 'debian-6.1:pku', '--only', 'debian-6.12:nopku', '--observe', '3', '--record', record, '--keep', path.join(dir, 'work')]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr + r.stdout }).toEqual({ code: 0, stderr: '' });
    const rec = JSON.parse(fs.readFileSync(record, 'utf8'));
    expect(rec.stream.migrate).toMatchObject({ xstateBv: '0x3', leaked: false });
    expect(rec.stream.savevm).toMatchObject({ xstateBv: '0x3', leaked: false });
    expect(rec.cells).toHaveLength(2);
    for (const c of rec.cells) {
      expect(c.agree).toBe(true);
      expect(c.observed.outcome).toBe('intact');
      expect(c.observed.firstRound).toBeGreaterThan(c.observed.roundAtSave);
      expect(c.observed.tscContinued).toBe(true);
      expect(c.observed.qemuStderr).toEqual([]);
    }
    // The cases written replay against the model without a mismatch (CASE-FORMAT v1).
    expect(rec.cases).toHaveLength(2);
    for (const json of rec.cases) expect(evaluateCase(parseCase(json, json.id)).mismatches).toEqual([]);
  }, 600_000);
});

labDescribe('lab qemu (QEMU 7.2 inside lab VMs)')('lab qemu: the two decisive migrations of the incident', () => {
  test('leaky source -> debian-6.1-2023: incomplete (x87/SSE reset, clock broken); -> debian-6.1-2023+pve: intact; both as the model says', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-lab-qemu-decisive-'));
    const record = path.join(dir, 'record.json');
    const r = await runCli(['lab', 'qemu', '--only', 'debian-6.1-2023:pku,debian-6.1-2023+pve:pku', '--observe', '3', '--record', record, '--keep', path.join(dir, 'work')]);
    expect({ code: r.code, out: r.code === 0 ? '' : r.stderr + r.stdout }).toEqual({ code: 0, out: '' });
    const rec = JSON.parse(fs.readFileSync(record, 'utf8'));
    expect(rec.source.kernel).toBe('debian-6.1-leaky');
    expect(rec.stream.migrate).toMatchObject({ xstateBv: '0x203', leaked: true });
    const cell = (k: string, how: string) => rec.cells.find((c: { target: { kernel: string }; restore: string }) => c.target.kernel === k && c.restore === how);
    for (const how of ['migrate', 'savevm']) {
      const bad = cell('debian-6.1-2023', how);
      expect(bad.observed.outcome).toBe('incomplete');
      expect(bad.observed.fpuReset).toBe(true);
      expect(bad.agree).toBe(true);
      const good = cell('debian-6.1-2023+pve', how);
      expect(good.observed.outcome).toBe('intact');
      expect(good.agree).toBe(true);
    }
  }, 900_000);
});

