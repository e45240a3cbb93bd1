/**
 * A lab VM: QEMU running a lab kernel whose /init runs the executor on a virtio serial port
 * wired to QEMU's own stdin/stdout (chardev stdio). To the executor driver (kvm/executor.ts)
 * the VM is just a process that speaks the executor's protocol, so batching, watchdogs and
 * restarts work unchanged. The guest console goes to a log file whose tail is attached to
 * infrastructure errors.
 *
 * Nothing outlives the command: QEMU runs under `setpriv --pdeathsig KILL` (it is killed when
 * the process that started it dies, even by SIGKILL); closing its stdin ends the executor,
 * /init then reboots and -no-reboot makes QEMU exit; the driver SIGKILLs it after a grace time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kvmDevice } from '../kvm/available';
import { XsaveExecutor } from '../kvm/executor';
import { BootFiles } from './artefacts';
import { LabHost } from './catalogue';

export const QEMU = 'qemu-system-x86_64';

/** Whether QEMU can be run here (the lab's tests skip with this reason otherwise). */
export function qemuAvailability(): { ok: true; path: string } | { ok: false; reason: string } {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, QEMU);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return { ok: true, path: p };
    } catch {
      /* next */
    }
  }
  return { ok: false, reason: `${QEMU} is not installed (run: xsave-harness lab setup)` };
}

/** -accel kvm (nested) where this machine has a usable /dev/kvm, else TCG. */
export function labAccel(): 'kvm' | 'tcg' {
  if (process.env.XSAVE_LAB_ACCEL === 'tcg' || process.env.XSAVE_LAB_ACCEL === 'kvm') return process.env.XSAVE_LAB_ACCEL;
  try {
    const fd = fs.openSync(kvmDevice(), 'r+');
    fs.closeSync(fd);
    return 'kvm';
  } catch {
    return 'tcg';
  }
}

export interface VmSpec {
  boot: BootFiles;
  host: LabHost;
  accel?: 'kvm' | 'tcg';
  memMb?: number;
  /** guest console log; default a temporary file */
  consoleLog?: string;
  /** added to the kernel command line (bench/lab.ts: xslab.raw=N) */
  append?: string;
}

export function qemuArgs(spec: VmSpec, consoleLog: string): string[] {
  const accel = spec.accel ?? labAccel();
  return [
    '-accel', accel,
    '-cpu', spec.host.cpu,
    '-m', String(spec.memMb ?? 512),
    '-smp', '1',
    '-nodefaults', '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-serial', `file:${consoleLog}`,
    '-chardev', 'stdio,id=xsave,signal=off',
    '-device', 'virtio-serial-pci',
    '-device', 'virtserialport,chardev=xsave,name=xsave',
    '-kernel', spec.boot.vmlinuz,
    '-initrd', spec.boot.initrd,
    // mitigations=off: speculative-execution defences cost much under TCG and touch nothing of KVM's XSAVE ABI.
    '-append', `console=ttyS0 quiet panic=-1 mitigations=off${spec.append ? ` ${spec.append}` : ''}`,
  ];
}

/** Last `bytes` of a file (empty when it does not exist). */
export function tail(file: string, bytes = 4096): string {
  try {
    const st = fs.statSync(file);
    const fd = fs.openSync(file, 'r');
    try {
      const n = Math.min(bytes, st.size);
      const b = Buffer.alloc(n);
      fs.readSync(fd, b, 0, n, st.size - n);
      return b.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

export interface LabVm {
  exec: XsaveExecutor;
  consoleLog: string;
  label: string;
  /** closes the executor (the VM ends) and removes the console log unless `keepLog` */
  close(keepLog?: boolean): Promise<void>;
}

export interface LabVmOptions {
  /** watchdog base per request (default 30 s: emulated ioctls are slower than real ones) */
  baseTimeoutMs?: number;
  /** boot budget added to the first request after every (re)start (default 120 s) */
  bootTimeoutMs?: number;
  chunkSize?: number;
}

/** An executor whose process is a lab VM (started on the first request, restarted after a crash). */
export function labVm(spec: VmSpec, opts: LabVmOptions = {}): LabVm {
  const consoleLog = spec.consoleLog ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-lab-')), 'console.log');
  const label = `${spec.boot.kernel.id}/${spec.host.id}`;
  const exec = new XsaveExecutor({
    binary: `${QEMU} (lab ${label})`,
    command: { file: 'setpriv', args: ['--pdeathsig', 'KILL', '--', QEMU, ...qemuArgs(spec, consoleLog)] },
    startupMs: opts.bootTimeoutMs ?? 120_000,
    baseTimeoutMs: opts.baseTimeoutMs ?? 30_000,
    chunkSize: opts.chunkSize,
    diagnostics: () => {
      const t = tail(consoleLog, 2048).trim();
      return t ? `--- lab ${label} console (tail) ---\n${t}` : '';
    },
  });
  return {
    exec,
    consoleLog,
    label,
    async close(keepLog = false): Promise<void> {
      await exec.close(5000);
      if (!keepLog && !spec.consoleLog) fs.rmSync(path.dirname(consoleLog), { recursive: true, force: true });
    },
  };
}
