// The kernel lab under failure: a QEMU killed mid-run, a QEMU that hangs, a kernel that panics
// at boot. Each is an infrastructure error naming the kernel and host, with a bounded wait; the
// VM is restarted and results already in are kept; no QEMU outlives the executor.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runConformance } from '../kvm/conformance';
import { ExecutorInfraError } from '../kvm/executor';
import { generateCases } from '../kvm/generate';
import { ensureBootFiles } from '../lab/artefacts';
import { labHost, labKernel } from '../lab/catalogue';
import { labVm } from '../lab/vm';
import { alive, labDescribe, withLab } from './helpers/labSuite';
import { waitForOutput, ROOT } from './helpers/cli';
import { spawn } from 'node:child_process';

const d = labDescribe('test/lab-reliability');

d('lab VM failures are infrastructure errors, recovered without losing results', () => {
  const lab = withLab('debian-6.1', 'pku');

  test('QEMU killed (SIGKILL) mid-run: the VM is restarted, the lost chunk rerun, every case still judged', async () => {
    const s = lab();
    const cases = generateCases({ machine: s.machine, table: s.cal.table, size: s.cal.size }, 600, 11);
    const before = s.vm.exec.restarts;
    let killed: number | undefined;
    const run = await runConformance(s.vm.exec, s.machine, cases, {
      chunkSize: 100,
      onChunk: (done) => {
        if (killed === undefined && done >= 200) {
          killed = s.vm.exec.pid;
          process.kill(killed!, 'SIGKILL');
        }
      },
    });
    expect(killed).toBeDefined();
    expect(alive(killed)).toBe(false);
    expect(s.vm.exec.restarts).toBe(before + 1);
    expect(run.infra.length).toBeGreaterThanOrEqual(1);
    expect(run.infra.every((e) => e.recovered)).toBe(true);
    expect(run.outcomes.filter((o) => o.status !== 'agree')).toEqual([]);
  }, 600_000);

  test('QEMU hangs (SIGSTOP): the watchdog fires within its budget, names the lab VM, and the next request boots a new VM', async () => {
    const boot = await ensureBootFiles(labKernel('debian-6.1')!);
    const vm = labVm({ boot, host: labHost('pku')! }, { baseTimeoutMs: 3000, bootTimeoutMs: 300_000 });
    try {
      await vm.exec.ping();
      const pid = vm.exec.pid!;
      process.kill(pid, 'SIGSTOP');
      const t0 = Date.now();
      const r = await vm.exec.__ping();
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(r.ok).toBe(false);
      const e = (r as { ok: false; error: ExecutorInfraError }).error;
      expect(e).toBeInstanceOf(ExecutorInfraError);
      expect(e.kind).toBe('timeout');
      expect(e.message).toContain('lab debian-6.1/pku');
      await new Promise((res) => setTimeout(res, 500));
      expect(alive(pid)).toBe(false);
      await vm.exec.ping();
      expect(vm.exec.restarts).toBe(1);
    } finally {
      const pid = vm.exec.pid;
      await vm.close();
      expect(alive(pid)).toBe(false);
    }
  }, 600_000);

  test('a kernel that panics at boot: "died" with the console tail, the wait bounded, nothing left running', async () => {
    const boot = await ensureBootFiles(labKernel('debian-6.1')!);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-panic-'));
    const bad = path.join(dir, 'initrd.gz');
    fs.writeFileSync(bad, Buffer.alloc(4096, 0x5a)); // not an initramfs: no init, the kernel panics
    const vm = labVm({ boot: { ...boot, initrd: bad }, host: labHost('pku')! }, { bootTimeoutMs: 180_000 });
    try {
      const r = await vm.exec.__ping();
      expect(r.ok).toBe(false);
      const e = (r as { ok: false; error: ExecutorInfraError }).error;
      expect(e.kind).toBe('died');
      expect(e.message).toMatch(/lab debian-6\.1\/pku console/);
      expect(e.message).toMatch(/panic|VFS|init/i);
    } finally {
      await vm.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(alive(vm.exec.pid)).toBe(false);
  }, 600_000);

  test('the command that started QEMU is SIGKILLed: QEMU dies with it (setpriv --pdeathsig)', async () => {
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'scripts', 'ts-register.js'), path.join(ROOT, 'test', 'fixtures', 'lab-orphan.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise((res) => child.on('close', res));
    await waitForOutput(() => out, 'QEMU_PID ', 300_000);
    const pid = Number(/QEMU_PID (\d+)/.exec(out)![1]);
    expect(alive(pid)).toBe(true);
    child.kill('SIGKILL');
    await exited;
    const t0 = Date.now();
    while (alive(pid) && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 100));
    expect(alive(pid)).toBe(false);
  }, 600_000);
});
