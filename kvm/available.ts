/**
 * Whether real-KVM tests can run here: /dev/kvm present and openable read-write, and the
 * executor binary built. Tests use this to skip with a reason, never to pass vacuously.
 */
import * as fs from 'fs';
import * as path from 'path';

export type Availability = { ok: true } | { ok: false; reason: string };

/** Repository root: this file lives in kvm/ (ts-jest) or dist/kvm/ (compiled). */
function repoRoot(): string {
  for (const cand of [path.resolve(__dirname, '..'), path.resolve(__dirname, '..', '..')]) {
    if (fs.existsSync(path.join(cand, 'executor', 'xsave-exec.c'))) return cand;
  }
  return path.resolve(__dirname, '..');
}

export function executorDir(): string {
  return path.join(repoRoot(), 'executor');
}

/** Path of the executor binary; XSAVE_EXEC overrides it. `asan` selects the sanitizer build. */
export function defaultExecutorPath(asan = false): string {
  if (!asan && process.env.XSAVE_EXEC) return process.env.XSAVE_EXEC;
  return path.join(executorDir(), 'build', asan ? 'xsave-exec-asan' : 'xsave-exec');
}

/**
 * The KVM device checked for availability: /dev/kvm, or $XSAVE_KVM_DEV (tests point it at a
 * missing path to exercise the no-KVM paths on a machine that has KVM).
 */
export function kvmDevice(): string {
  return process.env.XSAVE_KVM_DEV || '/dev/kvm';
}

export function kvmAvailability(binary: string = defaultExecutorPath()): Availability {
  const dev = kvmDevice();
  if (process.platform !== 'linux') return { ok: false, reason: `KVM needs Linux (platform is ${process.platform})` };
  if (!fs.existsSync(dev)) return { ok: false, reason: `${dev} does not exist (no KVM in this kernel or container)` };
  try {
    const fd = fs.openSync(dev, 'r+');
    fs.closeSync(fd);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, reason: `${dev} cannot be opened read-write: ${err.code ?? err.message}` };
  }
  try {
    fs.accessSync(binary, fs.constants.X_OK);
  } catch {
    return { ok: false, reason: `executor binary ${binary} is missing or not executable (run: make -C executor)` };
  }
  return { ok: true };
}
