/**
 * `lab qemu`, the engine: real QEMU 7.2 as the VMM inside a lab VM (docs/lab-qemu.md).
 *
 * An outer lab VM (a lab kernel under QEMU TCG, KVM inside it) boots an initramfs holding
 * busybox, Debian's qemu-system-x86_64 with every file it needs at its own path, the lab guest
 * (lab/guest, a multiboot ELF built with make) and /init = lab/guest/init-outer.sh, which runs
 * the inner QEMU with `-accel kvm -cpu qemu64` in a role and prints "XSO …" lines:
 *   source: run the guest, `savevm xsg1` onto a qcow2 disk, then `migrate "exec:…"` into a
 *           file copied onto a raw disk;
 *   target: `-incoming` from the raw disk, observe; `-loadvm xsg1`, observe.
 * Both disks are files on this machine shared by the boots (fresh copies for every target).
 * One outer VM at a time; each under `setpriv --pdeathsig KILL` and a hard time limit.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { executorDir } from '../kvm/available';
import { ensureArtefact, keyOf, sha256File } from './cache';
import { BUSYBOX, LabHost, LabKernel } from './catalogue';
import { cpioNewc, CpioEntry } from './cpio';
import { ensureDeb, extractDeb } from './debian';
import { builtinModules, indexModules, moduleClosure } from './modules';
import { OuterConsole, parseOuterConsole } from './qemuConsole';
import { runCommand } from './run';
import { labAccel, QEMU, tail } from './vm';

const BUILDER = 'lab-qemu/1';
// no_timer_check (kernel command line): under TCG on a loaded machine the 6.1 kernel's check of
// the IO-APIC timer can fail and panic ("IO-APIC + timer doesn't work", seen once here).
export type Log = (s: string) => void;

function repoRoot(): string {
  return path.dirname(executorDir());
}
export function guestDir(): string {
  return path.join(repoRoot(), 'lab', 'guest');
}

/** Modules the outer /init loads (with their dependencies): KVM and the virtio disks. */
export const OUTER_MODULES = ['kvm_amd', 'virtio_pci', 'virtio_blk'] as const;

/** What the inner QEMU needs besides its libraries: the TCG module QEMU probes, SeaBIOS, option ROMs. */
const QEMU_FILES = [
  '/usr/bin/qemu-system-x86_64',
  '/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so',
  '/usr/share/seabios/bios-256k.bin',
  '/usr/share/seabios/bios.bin',
  '/usr/share/qemu/kvmvapic.bin',
  '/usr/share/qemu/linuxboot.bin',
  '/usr/share/qemu/linuxboot_dma.bin',
  '/usr/share/qemu/multiboot.bin',
  '/usr/share/qemu/multiboot_dma.bin',
  '/usr/share/qemu/pvh.bin',
];
const STRACE = '/usr/bin/strace';

export class QemuMissing extends Error {}

/** The version line of this machine's qemu-system-x86_64 ("QEMU emulator version 7.2.22 …"). */
export async function qemuVersion(): Promise<string> {
  try {
    return (await runCommand(QEMU, ['--version'], { timeoutMs: 20_000 })).split('\n')[0]!.trim();
  } catch (e) {
    throw new QemuMissing(`${QEMU} does not run: ${(e as Error).message.split('\n')[0]}`);
  }
}

function isElf(f: string): boolean {
  const fd = fs.openSync(f, 'r');
  try {
    const b = Buffer.alloc(4);
    fs.readSync(fd, b, 0, 4, 0);
    return b.toString('latin1') === '\x7fELF';
  } finally {
    fs.closeSync(fd);
  }
}

/** `files` and every shared library ldd names for the ELF ones (paths resolved), sorted. */
export async function libraryClosure(files: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const f of files) {
    if (!fs.existsSync(f)) throw new QemuMissing(`${f} is missing (apt-get install qemu-system-x86${f === STRACE ? ' strace' : ''})`);
    out.add(f);
    if (!isElf(f)) continue; // firmware
    const ldd = await runCommand('ldd', [f], { timeoutMs: 30_000 });
    if (/not found/.test(ldd)) throw new QemuMissing(`ldd ${f}: a library is missing:\n${ldd.split('\n').filter((l) => /not found/.test(l)).join('\n')}`);
    for (const l of ldd.split('\n')) {
      const m = /=>\s+(\/\S+)/.exec(l) ?? /^\s*(\/\S+)\s+\(/.exec(l);
      if (m) out.add(m[1]!);
    }
  }
  return [...out].sort();
}

/** cpio entries for `files` at their own paths (symlinks followed), with every parent folder. */
function filesAtTheirPaths(files: readonly string[], dirs: Set<string>): CpioEntry[] {
  const entries: CpioEntry[] = [];
  const addDir = (d: string): void => {
    if (d === '' || d === '.' || dirs.has(d)) return;
    addDir(path.dirname(d) === '.' ? '' : path.dirname(d));
    dirs.add(d);
    entries.push({ name: d, type: 'dir', mode: 0o755 });
  };
  for (const f of files) {
    const name = f.replace(/^\/+/, '');
    addDir(path.dirname(name) === '.' ? '' : path.dirname(name));
    const st = fs.statSync(f);
    entries.push({ name, type: 'file', mode: st.mode & 0o777, data: fs.readFileSync(f) });
  }
  return entries;
}

/** The lab guest (lab/guest, `make`), cached by the hash of its sources and the compiler. */
export async function ensureGuestElf(log: Log = () => undefined): Promise<string> {
  const dir = guestDir();
  const srcs = fs.readdirSync(dir).filter((n) => /^(Makefile|link\.ld|.*\.[chS])$/.test(n)).sort();
  let cc: string;
  try {
    cc = (await runCommand('gcc', ['--version'], { timeoutMs: 10_000 })).split('\n')[0]!;
  } catch {
    throw new Error('gcc is needed to build the lab guest: run `xsave-harness lab setup`');
  }
  const inputs: Record<string, string> = { compiler: cc };
  for (const s of srcs) inputs[s] = `sha256 ${sha256File(path.join(dir, s))}`;
  const a = await ensureArtefact({
    kind: 'qemu-guest',
    key: keyOf([BUILDER, ...Object.entries(inputs).map(([k, v]) => `${k}=${v}`)]),
    inputs,
    build: async (tmp) => {
      log('building the lab guest (make)');
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-guest-'));
      try {
        await runCommand('make', ['-s', '-C', dir, `OUT=${out}`], { timeoutMs: 120_000 });
        fs.copyFileSync(path.join(out, 'xsave-guest.elf'), path.join(tmp, 'xsave-guest.elf'));
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    },
    onCorrupt: (why) => log(`cached lab guest is corrupt (${why}): rebuilding`),
  });
  return a.file('xsave-guest.elf');
}

/**
 * The common part of the outer initramfs: busybox (Debian's static one), QEMU 7.2's closure,
 * strace's (for --strace), the lab guest and /init. Keyed by every file's hash.
 */
export async function ensureOuterBase(log: Log = () => undefined): Promise<{ file: string; version: string; files: number; key: string }> {
  const version = await qemuVersion();
  const closure = await libraryClosure([...QEMU_FILES, ...(fs.existsSync(STRACE) ? [STRACE] : [])]);
  const busybox = await ensureDeb(BUSYBOX, log);
  const guest = await ensureGuestElf(log);
  const init = path.join(guestDir(), 'init-outer.sh');
  const inputs: Record<string, string> = {
    qemu: version,
    busybox: `${BUSYBOX.name} ${BUSYBOX.version} sha256 ${busybox.sha256}`,
    guest: `sha256 ${sha256File(guest)}`,
    init: `lab/guest/init-outer.sh sha256 ${sha256File(init)}`,
    closure: keyOf(closure.map((f) => `${f}=${sha256File(f)}`)),
  };
  const key = keyOf([BUILDER, ...Object.entries(inputs).map(([k, v]) => `${k}=${v}`)]);
  const a = await ensureArtefact({
    kind: 'qemu-outer-base',
    key,
    inputs: { ...inputs, files: closure.join(' ') },
    build: async (tmp) => {
      log(`building the outer initramfs (QEMU closure: ${closure.length} files)`);
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-busybox-'));
      try {
        await extractDeb(busybox.file, work);
        const dirs = new Set<string>();
        const entries: CpioEntry[] = [
          ...['bin', 'guest', 'dev', 'proc', 'sys', 'run', 'tmp'].map((name): CpioEntry => (dirs.add(name), { name, type: 'dir', mode: 0o755 })),
          { name: 'bin/busybox', type: 'file', mode: 0o755, data: fs.readFileSync(path.join(work, 'bin', 'busybox')) },
          { name: 'bin/sh', type: 'symlink', mode: 0o777, data: Buffer.from('busybox') },
          { name: 'guest/xsave-guest.elf', type: 'file', mode: 0o644, data: fs.readFileSync(guest) },
          { name: 'init', type: 'file', mode: 0o755, data: fs.readFileSync(init) },
          ...filesAtTheirPaths(closure, dirs),
        ];
        fs.writeFileSync(path.join(tmp, 'base.cpio.gz'), gzipSync(cpioNewc(entries), { level: 1 }));
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
    onCorrupt: (why) => log(`cached outer initramfs is corrupt (${why}): rebuilding`),
  });
  return { file: a.file('base.cpio.gz'), version, files: closure.length, key };
}

/** A lab kernel's image and its module part (modules/NAME.ko + modules/order, as init-outer.sh reads them). */
export async function ensureOuterKernel(
  k: LabKernel,
  overrides: ReadonlyMap<string, string> = new Map(),
  log: Log = () => undefined,
): Promise<{ vmlinuz: string; modules: string; order: string[] }> {
  const image = await ensureDeb(k.image, log);
  const ov = [...overrides.entries()].sort();
  const inputs: Record<string, string> = {
    image: `${k.image.name} ${k.image.version} sha256 ${image.sha256}`,
    modules: OUTER_MODULES.join(','),
  };
  for (const [name, file] of ov) inputs[`module ${name}`] = `sha256 ${sha256File(file)}`;
  const a = await ensureArtefact({
    kind: `qemu-outer-${k.id.replace(/[^a-z0-9.-]/g, '_')}`,
    key: keyOf([BUILDER, k.id, ...Object.entries(inputs).map(([x, y]) => `${x}=${y}`)]),
    inputs,
    build: async (tmp) => {
      log(`building the module part for ${k.id}`);
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-qemu-unpack-'));
      try {
        await extractDeb(image.file, work);
        const vmlinuz = path.join(work, 'boot', `vmlinuz-${k.release}`);
        if (!fs.existsSync(vmlinuz)) throw new Error(`${k.image.name}: no boot/vmlinuz-${k.release} in the package`);
        fs.copyFileSync(vmlinuz, path.join(tmp, 'vmlinuz'));
        const mods = await moduleClosure(indexModules(work, k.release), OUTER_MODULES, new Map(ov), builtinModules(work, k.release));
        const entries: CpioEntry[] = [
          { name: 'modules', type: 'dir', mode: 0o755 },
          { name: 'modules/order', type: 'file', mode: 0o644, data: Buffer.from(mods.map((m) => `${m.name}.ko\n`).join('')) },
          ...mods.map((m): CpioEntry => ({ name: `modules/${m.name}.ko`, type: 'file', mode: 0o644, data: m.image })),
        ];
        fs.writeFileSync(path.join(tmp, 'modules.cpio.gz'), gzipSync(cpioNewc(entries), { level: 1 }));
        fs.writeFileSync(path.join(tmp, 'modules.txt'), mods.map((m) => m.name).join('\n') + '\n');
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
    onCorrupt: (why) => log(`cached outer kernel files of ${k.id} are corrupt (${why}): rebuilding`),
  });
  return { vmlinuz: a.file('vmlinuz'), modules: a.file('modules.cpio.gz'), order: fs.readFileSync(a.file('modules.txt'), 'utf8').trim().split('\n').filter(Boolean) };
}

/** The shared disks: a raw one for the migration stream, a qcow2 one (as a raw block device to the outer VM) for savevm. */
export async function makeDisks(dir: string): Promise<{ state: string; snap: string }> {
  const state = path.join(dir, 'state.img');
  const snap = path.join(dir, 'snap.qcow2');
  fs.rmSync(state, { force: true });
  fs.rmSync(snap, { force: true });
  fs.writeFileSync(state, '');
  fs.truncateSync(state, 64 << 20);
  try {
    await runCommand('qemu-img', ['create', '-q', '-f', 'qcow2', snap, '64M'], { timeoutMs: 30_000 });
  } catch (e) {
    throw new QemuMissing(`qemu-img create failed (apt-get install qemu-utils): ${(e as Error).message.split('\n')[0]}`);
  }
  fs.truncateSync(snap, 128 << 20); // room to grow: the outer guest sees a block device
  return { state, snap };
}

export interface OuterRun {
  console: OuterConsole;
  consoleFile: string;
  exitCode: number | null;
  timedOut: boolean;
  ms: number;
}

export interface OuterSpec {
  role: 'source' | 'target';
  vmlinuz: string;
  initrd: string;
  host: LabHost;
  disks: { state: string; snap: string };
  consoleFile: string;
  /** seconds of CPU measurement per phase */
  observe: number;
  guest: 'hlt' | 'busy';
  strace: boolean;
  /** hard limit of the whole outer run, ms */
  limitMs: number;
  memMb?: number;
  onLine?: (line: string) => void;
}

export function outerArgs(s: OuterSpec): string[] {
  return [
    '-accel', labAccel(),
    '-cpu', s.host.cpu,
    '-m', String(s.memMb ?? 1024),
    '-smp', '1',
    '-nodefaults', '-display', 'none', '-no-reboot', '-serial', 'stdio', '-monitor', 'none',
    '-kernel', s.vmlinuz,
    '-initrd', s.initrd,
    '-append', `console=ttyS0 quiet panic=-1 mitigations=off no_timer_check xsg_role=${s.role} xsg_guest=${s.guest} xsg_observe=${s.observe} xsg_strace=${s.strace ? 1 : 0}`,
    '-drive', `file=${s.disks.state},format=raw,if=virtio`,
    '-drive', `file=${s.disks.snap},format=raw,if=virtio`,
  ];
}

/** Boots one outer VM and waits (bounded) until its /init ends it; the console is kept in a file. */
export function runOuter(s: OuterSpec): Promise<OuterRun> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const out = fs.openSync(s.consoleFile, 'w');
    let text = '';
    let partial = '';
    let timedOut = false;
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', QEMU, ...outerArgs(s)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, s.limitMs);
    const onData = (b: Buffer): void => {
      fs.writeSync(out, b);
      const t = b.toString('utf8');
      text += t;
      partial += t;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) s.onLine?.(l.replace(/\r/g, ''));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => {
      clearTimeout(timer);
      fs.closeSync(out);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      fs.closeSync(out);
      resolve({ console: parseOuterConsole(text), consoleFile: s.consoleFile, exitCode: code, timedOut, ms: Date.now() - t0 });
    });
  });
}

/** Why an outer run is unusable as a whole (infrastructure), or null. */
export function outerProblem(r: OuterRun, label: string): string | null {
  const c = r.console;
  const where = `(console: ${r.consoleFile})\n${tail(r.consoleFile, 1500).trim()}`;
  if (r.timedOut) return `${label}: the outer VM hit its ${'limit'} and was killed ${where}`;
  if (!c.boot) return `${label}: the outer VM's /init never reported (kernel did not boot?) ${where}`;
  if (!c.boot.kvm) return `${label}: no /dev/kvm in the outer VM${c.insmodErrors.length ? ` (insmod: ${c.insmodErrors.join('; ')})` : ''} ${where}`;
  if (!c.done) return `${label}: /init did not finish its role ${where}`;
  return null;
}

/** The initrd of one outer boot: the common part and the kernel's module part, concatenated (the kernel unpacks both). */
export function concatInitrd(parts: readonly string[], file: string): string {
  fs.writeFileSync(file, Buffer.concat(parts.map((p) => fs.readFileSync(p))));
  return file;
}
