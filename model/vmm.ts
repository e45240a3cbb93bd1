// The VMM side: QEMU's save (KVM_GET_XSAVE{2} parsed into env fields), its restore order and
// its error policy (kernel-semantics.md §7). QEMU < 8.2 ignores a failed put and resumes the
// guest with whatever was loaded; from 8.2 (7191f24c7fcf) a failed put after migration exits.
import { OFF, slotOf } from './layout';
import { allocBytes, readU32, readU64, writeU32, writeU64 } from './region';
import { getXsave } from './getXsave';
import { Fixup } from './fixup';
import { SetXsaveResult, setXsave } from './setXsave';
import { setXcrs } from './setXcrs';
import { Vcpu, cloneVcpu, setXfd } from './vcpu';
import type { Host } from './hosts';
import { XFEATURE, bitsOf } from './xfeatures';

export type QemuPolicy = 'ignore' | 'abort';

export interface QemuVersion {
  id: string;
  major: number;
  minor: number;
  policy: QemuPolicy;
  /** statements about this version that rest on UNCONFIRMED research (as KernelVariant.unconfirmed); absent when none */
  unconfirmed?: string[];
}

/**
 * 7191f24c7fcf was queued on 2023-09-27, after 8.1 (August 2023), and 9.x carries its successor,
 * so only 8.2 being the first release with it is inferred (kernel-semantics.md §7.2).
 */
export const QEMU_82_ABORT_UNCONFIRMED =
  'that 8.2 is the first release that aborts on a failed restore step (7191f24c7fcf) is inferred from a "for-8.2?" regression fix, not checked against the release tag (kernel-semantics.md §7.2)';

export function parseQemu(id: string): QemuVersion | null {
  const m = /^qemu-(\d+)\.(\d+)$/.exec(id);
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const policy: QemuPolicy = major > 8 || (major === 8 && minor >= 2) ? 'abort' : 'ignore';
  const v: QemuVersion = { id, major, minor, policy };
  if (major === 8 && minor >= 2) v.unconfirmed = [QEMU_82_ABORT_UNCONFIRMED];
  return v;
}

/** What QEMU keeps of the vCPU's XSAVE state in env and sends in the migration stream. */
export interface QemuEnv {
  /** legacy area: FCW … XMM15 (bytes 0-415), MXCSR_MASK not kept */
  legacy: Uint8Array;
  /** env->xstate_bv: the header verbatim, never masked with the guest CPUID */
  xstateBv: bigint;
  /** extended components QEMU parsed, by index (only those the source host enumerates) */
  components: Map<number, Uint8Array>;
  /** env->pkru: read from the PKRU area whenever the source host has PKU */
  pkru: number;
  xcr0: bigint;
  /**
   * IA32_XFD as QEMU reads it with the other MSRs (kvm_get_msrs) and puts it back in the `msrs`
   * step, after KVM_SET_XSAVE. QEMU saving and restoring MSR_IA32_XFD (its AMX support, 7.0):
   * UNCONFIRMED, not in kernel-semantics.md; the order (msrs after xsave) is §7.1.
   */
  xfd: bigint;
}

/** x86_cpu_xrstor_all_areas after KVM_GET_XSAVE{2}, plus KVM_GET_XCRS. */
export function qemuSave(vcpu: Vcpu): { rc: 0 | 'EINVAL'; env: QemuEnv } {
  const got = getXsave(vcpu);
  const env = qemuParse(got.region, vcpu.host, vcpu.supportedXcr0, vcpu.xcr0);
  env.xfd = vcpu.xfd;
  return { rc: got.rc, env };
}

/**
 * QEMU's parse of a KVM_GET_XSAVE{2} region into env, on a source host with this layout and
 * KVM supported XCR0 (also for a region a real kernel returned: the kernel lab's incident).
 * Keeps views of `r` (MXCSR_MASK and the x87 reserved bytes are zeroed in place, as env has none).
 */
export function qemuParse(r: Uint8Array, host: Host, supportedXcr0: bigint, xcr0: bigint): QemuEnv {
  r.fill(0, OFF.MXCSR_MASK, OFF.ST);
  const legacy = r.subarray(0, OFF.LEGACY_RESERVED);
  const components = new Map<number, Uint8Array>();
  let pkru = 0;
  for (const i of bitsOf(supportedXcr0)) {
    const slot = i >= 2 ? slotOf(host.layout, i) : undefined;
    if (!slot || slot.offset + slot.size > r.length) continue;
    if (i === XFEATURE.PKRU) pkru = readU32(r, slot.offset);
    else components.set(i, r.subarray(slot.offset, slot.offset + slot.size));
  }
  return { legacy, xstateBv: readU64(r, OFF.XSTATE_BV), components, pkru, xcr0, xfd: 0n };
}

/**
 * x86_cpu_xsave_all_areas on the target: a zeroed buffer of the target's size, legacy area
 * from env, XSTATE_BV = env->xstate_bv, and every area the *target* host enumerates written
 * at the target host's offsets (PKRU area ← env->pkru whenever the target host has PKU).
 */
export function qemuBuildRegion(env: QemuEnv, target: Vcpu): Uint8Array {
  const size = Math.ceil(target.uabiSize / 4096) * 4096;
  const r = allocBytes(size);
  r.set(env.legacy, 0);
  writeU64(r, OFF.XSTATE_BV, env.xstateBv);
  for (const i of bitsOf(target.supportedXcr0)) {
    const slot = i >= 2 ? slotOf(target.host.layout, i) : undefined;
    if (!slot || slot.offset + slot.size > size) continue;
    if (i === XFEATURE.PKRU) writeU32(r, slot.offset, env.pkru);
    else {
      const bytes = env.components.get(i);
      if (bytes && bytes.length === slot.size) r.set(bytes, slot.offset);
    }
  }
  return r;
}

/** QEMU's kvm_arch_put_registers order (≥ 2022): sregs first, then regs, xsave, xcrs, … */
export const RESTORE_STEPS = ['sregs', 'regs', 'xsave', 'xcrs', 'msrs', 'vcpu_events', 'mp_state', 'tsc_deadline', 'debugregs'] as const;
export type RestoreStep = (typeof RESTORE_STEPS)[number];

export interface StepResult {
  step: RestoreStep;
  rc: 0 | 'EINVAL' | 'skipped';
  detail?: string;
}

export interface RestoreResult {
  steps: StepResult[];
  failed: RestoreStep | null;
  vcpu: Vcpu;
  xsave: SetXsaveResult | null;
  /**
   * the vCPU's IA32_XFD when KVM_SET_XSAVE ran (what 6.19's pre-mask reads): the target's own
   * value, since the migrated one comes in the later `msrs` step. 0 on a fresh vCPU (incoming
   * migration); on a vCPU that ran with XFD armed (a snapshot rollback into the running VM) it
   * is the value the guest had, so the pre-mask clears the tile bits of the restored state.
   */
  xfdAtXsave: bigint;
}

/** A step's result; `detail` only when the step failed with a reason. */
function stepResult(step: RestoreStep, rc: 0 | 'EINVAL', reason: string | null): StepResult {
  const r: StepResult = { step, rc };
  if (reason) r.detail = reason;
  return r;
}

/**
 * Put the migrated state into `target` in QEMU's order. Each step returns early on error, so
 * the steps after a failure are never run (the register state they carry stays at reset).
 */
export function qemuRestore(target: Vcpu, env: QemuEnv, fixup: Fixup | null, order: readonly RestoreStep[] = RESTORE_STEPS): RestoreResult {
  const steps: StepResult[] = [];
  let vcpu = target;
  let failed: RestoreStep | null = null;
  let xsave: SetXsaveResult | null = null;
  let xfdAtXsave = 0n;
  for (const step of order) {
    if (failed) {
      steps.push({ step, rc: 'skipped' });
      continue;
    }
    if (step === 'xsave') {
      xfdAtXsave = vcpu.xfd;
      xsave = setXsave(vcpu, qemuBuildRegion(env, vcpu), fixup);
      vcpu = xsave.vcpu;
      steps.push(stepResult(step, xsave.rc, xsave.reason));
      if (xsave.rc !== 0) failed = step;
    } else if (step === 'xcrs') {
      const r = setXcrs(vcpu, env.xcr0);
      steps.push(stepResult(step, r.rc, r.reason));
      if (r.rc !== 0) failed = step;
    } else if (step === 'msrs' && (env.xfd !== 0n || vcpu.xfd !== 0n)) {
      // IA32_XFD only (the other MSRs carry no XSAVE state). KVM_SET_MSRS writing 0 always
      // succeeds; a value the vCPU does not support fails the step (setXfd).
      vcpu = cloneVcpu(vcpu);
      const r = env.xfd === 0n ? ((vcpu.xfd = 0n), { rc: 0 as const, reason: null }) : setXfd(vcpu, env.xfd);
      steps.push(stepResult(step, r.rc, r.reason));
      if (r.rc !== 0) failed = step;
    } else {
      steps.push({ step, rc: 0 }); // not modelled: these carry no XSAVE state and cannot fail here
    }
  }
  return { steps, failed, vcpu, xsave, xfdAtXsave };
}

