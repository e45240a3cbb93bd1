// `xsave-harness lab lifecycle`: the decisive story of the patch's open question (drop it at PVE
// 9.0) on real kernels, with the patch dropped and as shipped, each restore beside the model's;
// the exit codes without QEMU and on usage errors always run, the lab run is skipped with the
// reason where QEMU is missing. The review's reading of the record, with a broken record.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readLabLifecycle } from '../cli/review/lifecycle';
import { lifecycleRealBlocks } from '../report/lifecycle';
import { runCli } from './helpers/cli';
import { labDescribe } from './helpers/labSuite';

describe('lab lifecycle: exit codes', () => {
  test('QEMU missing: exit 4 with the reason', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-nopath-'));
    const r = await runCli(['lab', 'lifecycle'], { env: { PATH: empty } });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/qemu-system-x86_64 is not installed/);
  });
  test('an unknown release: exit 3 naming it', async () => {
    const r = await runCli(['lab', 'lifecycle', '--drop-at', 'pve-6.8']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--drop-at pve-6\.8: unknown release/);
  });
});

describe('the review reads the lab record', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-lab-life-'));
  test('the committed record: every chain of the decisive release agrees, the dropped one fails and the shipped one holds', () => {
    const real = readLabLifecycle(path.join(__dirname, '..', 'reports', 'lab-lifecycle.json'))!;
    const row = real.rows.find((r) => r.release === 'pve9.0')!;
    expect(row.dropped).toMatchObject({ agree: true, notRun: null });
    expect(row.dropped.restores.at(-1)).toMatchObject({ real: 'aborted', model: 'aborted', patched: false });
    expect(row.shipped.restores.at(-1)).toMatchObject({ real: 'intact', model: 'intact', patched: true });
    const text = JSON.stringify(lifecycleRealBlocks(real));
    expect(text).toMatch(/real \*\*aborted\*\*, model aborted/);
  });
  test('negative controls: a disagreeing chain is marked, a broken record names the file and field', () => {
    const f = path.join(dir, 'r.json');
    fs.writeFileSync(f, JSON.stringify({ command: 'c', date: '2026-12-05', rows: [{ release: 'pve9.0', dropped: { agree: false, infrastructure: [], hops: [{ op: 'rollback', kernel: 'pve-6.14', patched: false, lab: 'debian-6.12', host: 'nopku', qemu: 'qemu-10.0', model: 'aborted', real: 'intact' }] }, shipped: { notRun: 'no lab kernel' } }] }));
    const text = JSON.stringify(lifecycleRealBlocks(readLabLifecycle(f)!));
    expect(text).toMatch(/DISAGREES: rollback/);
    expect(text).toMatch(/not run: no lab kernel/);
    fs.writeFileSync(f, JSON.stringify({ command: 'c', date: 'd', rows: [{ release: 'x', dropped: { hops: 3 } }] }));
    expect(() => readLabLifecycle(f)).toThrow(`${f}: field "rows[0].dropped.hops": expected an array`);
    expect(readLabLifecycle(path.join(dir, 'none.json'))).toBeNull();
  });
});

labDescribe('lab lifecycle (real kernels under QEMU)')('lab lifecycle: the decisive story, drop at PVE 9.0', () => {
  test('patch dropped: the rollback aborts on the no-PKU 6.12-rule kernel (snapshot lost); as shipped: intact; both as the model says', async () => {
    const record = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-lab-life-run-')), 'record.json');
    const r = await runCli(['lab', 'lifecycle', '--drop-at', 'pve9.0', '--record', record]);
    expect({ code: r.code, out: r.code === 0 ? '' : r.stderr + r.stdout }).toEqual({ code: 0, out: '' });
    const real = readLabLifecycle(record)!;
    expect(real.rows).toHaveLength(1);
    const [row] = real.rows;
    expect(row!.dropped).toMatchObject({ agree: true, notRun: null });
    expect(row!.shipped).toMatchObject({ agree: true, notRun: null });
    expect(row!.dropped.restores.at(-1)).toMatchObject({ op: 'rollback', lab: 'debian-6.12', host: 'nopku', real: 'aborted' });
    expect(row!.shipped.restores.at(-1)).toMatchObject({ op: 'rollback', lab: 'debian-6.12+pve', host: 'nopku', real: 'intact' });
    expect(r.stdout).toMatch(/2 chains on real kernels, all agree with the model/);
  }, 15 * 60_000);
});
