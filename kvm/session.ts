/**
 * Opening the real-KVM backend for a command: /dev/kvm usable (else the caller exits with
 * EXIT.NO_KVM and a one-line reason), the executor built (make -C executor when missing), the
 * running machine calibrated and installed as kernel/host `this`.
 */
import { Availability, defaultExecutorPath, kvmAvailability } from './available';
import { MachineCalibration, calibrateMachine } from './calibration';
import { ExecutorOptions, ExecutorRequestError, XsaveExecutor } from './executor';
import { buildExecutor } from './build';

export type KvmSession =
  | { ok: true; exec: XsaveExecutor; cal: MachineCalibration }
  | { ok: false; noKvm: boolean; reason: string };

/** /dev/kvm usable and the executor built (building it when only the binary is missing). */
export function ensureKvm(): Availability & { noKvm?: boolean } {
  const binary = defaultExecutorPath();
  let a = kvmAvailability(binary);
  if (!a.ok && a.reason.startsWith('executor binary')) {
    const err = buildExecutor();
    a = err ? { ok: false, reason: err } : kvmAvailability(binary);
    return a.ok ? a : { ...a, noKvm: false };
  }
  return a.ok ? a : { ...a, noKvm: true };
}

export async function openKvm(opts: ExecutorOptions = {}): Promise<KvmSession> {
  const a = ensureKvm();
  if (!a.ok) return { ok: false, noKvm: a.noKvm ?? true, reason: a.reason };
  const exec = new XsaveExecutor(opts);
  try {
    const cal = await calibrateMachine(exec);
    return { ok: true, exec, cal };
  } catch (e) {
    await exec.close();
    const noKvm = e instanceof ExecutorRequestError && e.statusName === 'KVM_UNAVAILABLE';
    return { ok: false, noKvm, reason: noKvm ? e.detail : `calibration failed: ${(e as Error).message}` };
  }
}
