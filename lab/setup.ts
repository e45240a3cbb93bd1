/**
 * `lab setup`: the system packages the lab needs, installed with apt-get when running as root
 * (else the exact apt-get line is printed), then every lab kernel's boot files fetched and built
 * into the cache, so that later runs download and build nothing.
 */
import { execFileSync } from 'node:child_process';
import { ensureBootFiles } from './artefacts';
import { LAB_KERNELS } from './catalogue';
import { aptSha256 } from './debian';
import { Progress } from './progress';
import { runCommand } from './run';

/**
 * Debian packages: the emulator; the executor's static build; the KVM module builds
 * (lab/build/build-kvm.sh: make, patch, and libelf for linux-kbuild's prebuilt tools); the
 * modules' decompressor; setpriv; for `lab qemu`: qemu-img (the savevm disk) and strace (--strace).
 */
export const SYSTEM_PACKAGES = ['qemu-system-x86', 'qemu-utils', 'strace', 'gcc', 'libc6-dev', 'make', 'patch', 'libelf-dev', 'xz-utils', 'util-linux'] as const;

/** Packages (of SYSTEM_PACKAGES) that dpkg does not list as installed. */
export function missingPackages(pkgs: readonly string[] = SYSTEM_PACKAGES): string[] {
  return pkgs.filter((p) => {
    try {
      const out = execFileSync('dpkg-query', ['-W', '-f=${Status}', p], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
      return !/install ok installed/.test(out);
    } catch {
      return true;
    }
  });
}

export function aptInstallLine(pkgs: readonly string[]): string {
  return `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

export interface SetupResult {
  installed: string[];
  /** set when packages are missing and this process may not install them */
  needRoot: string | null;
  kernels: Array<{ id: string; built: boolean; key: string }>;
}

export async function labSetup(p: Progress, opts: { install?: boolean } = {}): Promise<SetupResult> {
  const res: SetupResult = { installed: [], needRoot: null, kernels: [] };
  const missing = missingPackages();
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (missing.length) {
    if (!root || opts.install === false) {
      res.needRoot = aptInstallLine(missing);
      return res;
    }
    p.update(`apt-get install ${missing.join(' ')}`);
    await runCommand('apt-get', ['update', '-q'], { timeoutMs: 10 * 60_000 });
    await runCommand('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
      timeoutMs: 20 * 60_000,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
    res.installed = missing;
  }
  // The pinned kernel packages must be in apt's lists (a fresh machine has none until update).
  try {
    await aptSha256(LAB_KERNELS[0]!.image);
  } catch {
    if (!root) {
      res.needRoot = 'apt-get update';
      return res;
    }
    p.update('apt-get update');
    await runCommand('apt-get', ['update', '-q'], { timeoutMs: 10 * 60_000 });
  }
  for (const k of LAB_KERNELS) {
    const b = await ensureBootFiles(k, { log: (s) => p.update(`${k.id}: ${s}`) });
    res.kernels.push({ id: k.id, built: b.built, key: b.key });
  }
  return res;
}
