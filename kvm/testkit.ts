/**
 * Helpers for tests that need real KVM: build the executor, decide whether to run or skip (with
 * the reason printed), and standard guest-restore case builders.
 */
import { Availability, defaultExecutorPath, kvmAvailability } from './available';
import { buildExecutor } from './build';
import { CaseSpec, CpuidEntry, GUEST, Policy, Step } from './protocol';

export { buildExecutor };

/**
 * Availability for KVM tests: builds the executor when /dev/kvm is usable, then checks.
 * When not available, prints the reason once so the skip is visible.
 */
export function kvmTestAvailability(suite: string, asan = false): Availability {
  const binary = defaultExecutorPath(asan);
  let avail = kvmAvailability(binary);
  const kvmProblem = !avail.ok && !avail.reason.startsWith('executor binary');
  if (!kvmProblem) {
    // /dev/kvm is usable: bring the binary up to date (a no-op when it is).
    const err = buildExecutor(asan ? 'asan' : undefined);
    avail = err ? { ok: false, reason: err } : kvmAvailability(binary);
  }
  if (!avail.ok) console.warn(`[${suite}] SKIPPED (real KVM unavailable): ${avail.reason}`);
  return avail;
}

/**
 * A guest restore in QEMU's put_registers order (sregs → regs → xsave → xcrs, after CPUID),
 * followed by a guest run and GET_XSAVE; `order` overrides the step list before the run.
 */
export function restoreAndRun(opts: {
  cpuid: readonly CpuidEntry[] | null;
  region: Uint8Array;
  xcr0?: bigint;
  policy: Policy;
  timeoutMs?: number;
  order?: Step[];
}): CaseSpec {
  const restore: Step[] = opts.order ?? [
    ...(opts.cpuid ? [{ op: 'setCpuid2' } as const] : []),
    { op: 'setSregs', osfxsr: true },
    { op: 'setRegs' },
    { op: 'setXsave', region: opts.region },
    ...(opts.xcr0 !== undefined ? [{ op: 'setXcrs', xcr0: opts.xcr0 } as const] : []),
  ];
  return {
    cpuid: opts.cpuid ?? [],
    policy: opts.policy,
    timeoutMs: opts.timeoutMs ?? 500,
    guestRip: GUEST.codeGpa,
    steps: [...restore, { op: 'run' }, { op: 'getXsave' }],
  };
}
