// The lab from the command line: kvm-check --lab and replay --backend lab:K:H, their exit codes
// (0 agreement, 1 a disagreement or failed expectation, 3 usage, 4 QEMU missing), and the record
// the review reads.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers/cli';
import { labDescribe } from './helpers/labSuite';

describe('lab CLI without a VM', () => {
  test('usage errors name the flag and the known values (exit 3)', async () => {
    const a = await runCli(['kvm-check', '--lab', 'debian-9.9', '--host', 'pku', '--cases', '10']);
    expect(a.code).toBe(3);
    expect(a.stderr).toMatch(/--lab: unknown "debian-9.9" \(known: debian-6.1, debian-6.12/);
    const b = await runCli(['kvm-check', '--lab', 'debian-6.1', '--host', 'amd', '--cases', '10']);
    expect(b.code).toBe(3);
    expect(b.stderr).toMatch(/--host: unknown "amd" \(known: pku, nopku, noavx, all\)/);
    const c = await runCli(['replay', '--backend', 'lab:debian-6.1', 'corpus/lab']);
    expect(c.code).toBe(3);
    const d = await runCli(['lab', 'frobnicate']);
    expect(d.code).toBe(3);
  }, 60_000);

  test('QEMU missing: exit 4 with a one-line reason', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-qemu-'));
    const a = await runCli(['kvm-check', '--lab', 'debian-6.1', '--host', 'pku', '--cases', '10'], { env: { PATH: empty } });
    expect(a.code).toBe(4);
    expect(a.stderr).toMatch(/qemu-system-x86_64 is not installed \(run: xsave-harness lab setup\)/);
    const b = await runCli(['replay', '--backend', 'lab:debian-6.1:pku', 'corpus/lab'], { env: { PATH: empty } });
    expect(b.code).toBe(4);
    fs.rmSync(empty, { recursive: true, force: true });
  }, 60_000);

  test('lab list names every lab kernel, host and where it came from', async () => {
    const r = await runCli(['lab', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('debian-6.1: ');
    expect(r.stdout).toContain('linux-image-6.12.118+deb12-amd64-unsigned 6.12.118-1~deb12u1');
    expect(r.stdout).toMatch(/nopku: -cpu max,-pku → lab-nopku \(XCR0 0x7\)/);
  }, 60_000);
});

const d = labDescribe('test/lab-cli');

d('lab CLI with a VM', () => {
  test('kvm-check --lab debian-6.1 --host nopku: full agreement, exit 0, a record for the review', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-cli-'));
    const rec = path.join(dir, 'lab.json');
    const r = await runCli(['kvm-check', '--lab', 'debian-6.1', '--host', 'nopku', '--cases', '300', '--seed', '5', '--found', dir, '--record', rec]);
    expect(r.stdout).toContain('agreement: 300/300 cases (100.00%)');
    expect(r.stdout).toMatch(/debian-6.1\s+nopku\s+300\s+300\s+host ok, kernel ok\s+agree/);
    expect(r.stdout).toContain('rerun: xsave-harness kvm-check --lab debian-6.1 --host nopku --cases 300 --seed 5');
    expect(r.code).toBe(0);
    const j = JSON.parse(fs.readFileSync(rec, 'utf8'));
    expect(j.pairs).toHaveLength(1);
    expect(j.pairs[0]).toMatchObject({ kernel: 'debian-6.1', host: 'nopku', cases: 300, agree: 300, verdict: 'agree', infra: null });
    fs.rmSync(dir, { recursive: true, force: true });
  }, 600_000);

  test('replay --backend lab: cases of this kernel and host pass, others are skipped with the reason; a wrong expectation fails (exit 1)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-replay-'));
    const src = JSON.parse(fs.readFileSync('corpus/lab/lab.debian-6.1.nopku.leaked-pkru.einval.json', 'utf8'));
    fs.writeFileSync(path.join(dir, 'wrong.json'), JSON.stringify({ ...src, id: 'lab.wrong-expectation', expect: { result: 'ok' } }));
    const ok = await runCli(['replay', '--backend', 'lab:debian-6.1:nopku', 'corpus/lab']);
    expect(ok.stdout).toMatch(/PASS\s+lab\.debian-6\.1\.nopku\.leaked-pkru\.einval/);
    expect(ok.stdout).toMatch(/SKIP\s+lab\.debian-6\.12\.nopku\.leaked-pkru\.einval .*target kernel debian-6\.12/);
    const others = require('node:fs').readdirSync('corpus/lab').filter((f: string) => !f.startsWith('lab.debian-6.1.nopku.')).length;
    expect(ok.stdout).toContain(`2 passed, 0 failed, ${others} skipped, 0 unusable`);
    expect(ok.code).toBe(0);
    const bad = await runCli(['replay', '--backend', 'lab:debian-6.1:nopku', dir]);
    expect(bad.stdout).toMatch(/FAIL\s+lab\.wrong-expectation/);
    expect(bad.stdout).toMatch(/expect\.result: expected ok, the running kernel gives einval/);
    expect(bad.code).toBe(1);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 600_000);
});
