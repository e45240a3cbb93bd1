/**
 * What a lab VM boots: the kernel image from the pinned Debian package, and an initramfs with
 * busybox, the executor (built static from executor/) and the modules KVM and the virtio port
 * need, plus /init (guestInit.ts). Both are cached by the hash of every input (cache.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { executorDir } from '../kvm/available';
import { cacheRoot, ensureArtefact, keyOf, sha256, sha256File } from './cache';
import { BOOT_MODULES, BUSYBOX, KvmBuild, LabKernel } from './catalogue';
import { cpioNewc, CpioEntry } from './cpio';
import { ensureDeb, extractDeb } from './debian';
import { GUEST_INIT } from './guestInit';
import { builtinModules, indexModules, moduleClosure } from './modules';
import { runCommand } from './run';

/** Bump when the way artefacts are built changes (it is part of every key). */
const BUILDER = 'lab-artefacts/1';

const EXEC_FLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-static'];

export type Log = (s: string) => void;

/**
 * The executor, and the raw C loop of bench/lab.ts (executor/raw-bench.c), linked statically
 * (the initramfs has no C library). Returns the executor's path; the raw loop lies beside it.
 */
export async function ensureStaticExecutor(log: Log = () => undefined): Promise<string> {
  const src = path.join(executorDir(), 'xsave-exec.c');
  const rawSrc = path.join(executorDir(), 'raw-bench.c');
  const srcHash = sha256File(src);
  const rawHash = sha256File(rawSrc);
  let cc = 'cc';
  try {
    cc = (await runCommand('cc', ['--version'], { timeoutMs: 10_000 })).split('\n')[0]!;
  } catch {
    throw new Error('a C compiler (cc) is needed to build the executor: run `xsave-harness lab setup`');
  }
  const a = await ensureArtefact({
    kind: 'executor',
    key: keyOf([BUILDER, srcHash, rawHash, cc, ...EXEC_FLAGS]),
    inputs: { source: `executor/xsave-exec.c sha256 ${srcHash}`, raw: `executor/raw-bench.c sha256 ${rawHash}`, compiler: cc, flags: EXEC_FLAGS.join(' ') },
    build: async (tmp) => {
      log('building the static executor');
      await runCommand('cc', [...EXEC_FLAGS, '-o', path.join(tmp, 'xsave-exec'), src], { timeoutMs: 120_000 });
      await runCommand('cc', [...EXEC_FLAGS, '-o', path.join(tmp, 'xsave-raw-bench'), rawSrc], { timeoutMs: 120_000 });
    },
    onCorrupt: (why) => log(`cached executor is corrupt (${why}): rebuilding`),
  });
  return a.file('xsave-exec');
}

/** The repository root (lab/ patches and scripts are read from it). */
function repoRoot(): string {
  return path.dirname(executorDir());
}

/**
 * KVM modules (kvm.ko, kvm-amd.ko) rebuilt from Debian's source with the lab's patches, against
 * Debian's matching headers so that they load into the stock image (lab/build/build-kvm.sh).
 * Cached by the hash of the source and header packages, the patches and the script.
 */
export async function ensureKvmModules(k: LabKernel, b: KvmBuild, log: Log = () => undefined): Promise<Map<string, string>> {
  const source = await ensureDeb(b.source, log);
  const headers: Array<Awaited<ReturnType<typeof ensureDeb>>> = [];
  for (const h of b.headers) headers.push(await ensureDeb(h, log));
  const script = path.join(repoRoot(), 'lab', 'build', 'build-kvm.sh');
  const patches = b.patches.map((p) => path.join(repoRoot(), p));
  for (const p of [script, ...patches]) if (!fs.existsSync(p)) throw new Error(`${k.id}: ${path.relative(repoRoot(), p)} is missing`);
  const inputs: Record<string, string> = {
    source: `${b.source.name} ${b.source.version} sha256 ${source.sha256}`,
    ...Object.fromEntries(b.headers.map((h, i) => [`headers ${h.name}`, `${h.version} sha256 ${headers[i]!.sha256}`])),
    ...Object.fromEntries(b.patches.map((p, i) => [`patch ${i + 1}`, `${p} sha256 ${sha256File(patches[i]!)}`])),
    script: `lab/build/build-kvm.sh sha256 ${sha256File(script)}`,
  };
  const a = await ensureArtefact({
    kind: `kvm-${k.id.replace(/[^a-z0-9.-]/g, '_')}`,
    key: keyOf([BUILDER, ...Object.entries(inputs).map(([x, y]) => `${x}=${y}`)]),
    inputs,
    build: async (tmp) => {
      log(`building KVM modules for ${k.id} (${b.patches.map((p) => path.basename(p)).join(', ')})`);
      const out = path.join(tmp, 'out');
      fs.mkdirSync(path.join(cacheRoot(), 'work'), { recursive: true });
      // A work tree of this build's own (the unpacked source and the object files), removed
      // afterwards: builds sharing one tree, from two commands or two checkouts sharing the
      // cache, deleted each other's object files mid-build (fixdep: missing .o.d).
      const work = fs.mkdtempSync(path.join(cacheRoot(), 'work', `${b.source.name}-`));
      try {
        await runCommand(
          'bash',
          [script, '--id', k.id, '--source', source.file, ...headers.flatMap((h) => ['--headers', h.file]), ...patches.flatMap((p) => ['--patch', p]), '--out', out, '--work', work, '--jobs', '2'],
          { timeoutMs: 60 * 60_000 },
        );
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
      for (const f of ['kvm.ko', 'kvm-amd.ko', 'build-info.txt']) fs.copyFileSync(path.join(out, f), path.join(tmp, f));
      fs.rmSync(out, { recursive: true, force: true });
    },
    onCorrupt: (why) => log(`cached KVM modules of ${k.id} are corrupt (${why}): rebuilding`),
  });
  return new Map([
    ['kvm', a.file('kvm.ko')],
    ['kvm_amd', a.file('kvm-amd.ko')],
  ]);
}

export interface BootFiles {
  kernel: LabKernel;
  vmlinuz: string;
  initrd: string;
  key: string;
  /** true when this call built anything (false: all from the cache) */
  built: boolean;
  /** modules in load order */
  modules: string[];
}

export interface BootOptions {
  /** replacement module files, canonical name → path (patched KVM) */
  moduleOverrides?: ReadonlyMap<string, string>;
  log?: Log;
}

/** The kernel image and initramfs for `k`, from the cache or built now. */
export async function ensureBootFiles(k: LabKernel, opts: BootOptions = {}): Promise<BootFiles> {
  const log = opts.log ?? (() => undefined);
  if (k.build && !opts.moduleOverrides) return ensureBootFiles(k, { ...opts, moduleOverrides: await ensureKvmModules(k, k.build, log) });
  const image = await ensureDeb(k.image, log);
  const busybox = await ensureDeb(BUSYBOX, log);
  const executor = await ensureStaticExecutor(log);
  const overrides = [...(opts.moduleOverrides ?? new Map<string, string>()).entries()].sort();
  const inputs: Record<string, string> = {
    image: `${k.image.name} ${k.image.version} sha256 ${image.sha256}`,
    busybox: `${BUSYBOX.name} ${BUSYBOX.version} sha256 ${busybox.sha256}`,
    executor: `sha256 ${sha256File(executor)}`,
    raw: `sha256 ${sha256File(path.join(path.dirname(executor), 'xsave-raw-bench'))}`,
    init: `sha256 ${sha256(GUEST_INIT)}`,
    modules: BOOT_MODULES.join(','),
  };
  for (const [name, file] of overrides) inputs[`module ${name}`] = `${file} sha256 ${sha256File(file)}`;
  const key = keyOf([BUILDER, k.id, ...Object.entries(inputs).map(([a, b]) => `${a}=${b}`)]);
  let modules: string[] = [];
  const a = await ensureArtefact({
    kind: `boot-${k.id}`,
    key,
    inputs,
    build: async (tmp) => {
      log(`building the initramfs for ${k.id}`);
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-lab-unpack-'));
      try {
        await extractDeb(image.file, path.join(work, 'image'));
        await extractDeb(busybox.file, path.join(work, 'busybox'));
        const vmlinuz = path.join(work, 'image', 'boot', `vmlinuz-${k.release}`);
        if (!fs.existsSync(vmlinuz)) throw new Error(`${k.image.name}: no boot/vmlinuz-${k.release} in the package`);
        fs.copyFileSync(vmlinuz, path.join(tmp, 'vmlinuz'));
        const index = indexModules(path.join(work, 'image'), k.release);
        const mods = await moduleClosure(index, BOOT_MODULES, new Map(overrides), builtinModules(path.join(work, 'image'), k.release));
        modules = mods.map((m) => m.name);
        const entries: CpioEntry[] = [
          ...['bin', 'dev', 'proc', 'sys', 'lib', 'lib/mod'].map((name): CpioEntry => ({ name, type: 'dir', mode: 0o755 })),
          { name: 'bin/busybox', type: 'file', mode: 0o755, data: fs.readFileSync(path.join(work, 'busybox', 'bin', 'busybox')) },
          { name: 'xsave-exec', type: 'file', mode: 0o755, data: fs.readFileSync(executor) },
          { name: 'xsave-raw-bench', type: 'file', mode: 0o755, data: fs.readFileSync(path.join(path.dirname(executor), 'xsave-raw-bench')) },
          { name: 'init', type: 'file', mode: 0o755, data: Buffer.from(GUEST_INIT) },
          { name: 'modules.order', type: 'file', mode: 0o644, data: Buffer.from(modules.join('\n') + '\n') },
          ...mods.map((m): CpioEntry => ({ name: `lib/mod/${m.name}.ko`, type: 'file', mode: 0o644, data: m.image })),
        ];
        fs.writeFileSync(path.join(tmp, 'initrd.gz'), gzipSync(cpioNewc(entries), { level: 1 }));
        fs.writeFileSync(path.join(tmp, 'modules.txt'), modules.join('\n') + '\n');
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
    onCorrupt: (why) => log(`cached boot files of ${k.id} are corrupt (${why}): rebuilding`),
  });
  if (!modules.length) modules = fs.readFileSync(a.file('modules.txt'), 'utf8').trim().split('\n');
  return { kernel: k, vmlinuz: a.file('vmlinuz'), initrd: a.file('initrd.gz'), key, built: a.built, modules };
}
