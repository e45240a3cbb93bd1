// One migration end to end: the guest runs on the source, QEMU saves its XSAVE state with
// KVM_GET_XSAVE{2}, and restores it on the target in its order under its error policy.
// Outcome (CASE-FORMAT): intact / aborted / incomplete / lost.
import { CpuidEntry } from './cpuid';
import { Fixup, FixupMode, activeFixup } from './fixup';
import { GuestSpec, sourceVcpu } from './guestState';
import { GuestView, diffViews, guestView } from './guestView';
import { Host } from './hosts';
import { KernelVariant } from './kernels';
import { QemuVersion, RestoreResult, qemuRestore, qemuSave } from './vmm';
import { createVcpu, setCpuid } from './vcpu';
import { guestSupportedXcr0 } from './cpuid';
import { resolveCpuModel } from './cpuModels';
import { MASK } from './xfeatures';

export type Outcome = 'intact' | 'aborted' | 'incomplete' | 'lost';

/** The vCPU's CPUID: a named model (resolved on each host) or exact entries (null = never set). */
export type VcpuCpuid = { cpuModel: string } | { cpuid: CpuidEntry[] };

export interface MigrationSpec {
  vcpu: VcpuCpuid;
  source: { kernel: KernelVariant; host: Host };
  target: { kernel: KernelVariant; host: Host; fixup: FixupMode };
  vmm: QemuVersion;
  guest: GuestSpec;
}

export interface MigrationResult {
  outcome: Outcome;
  leaked: boolean;
  fixupFired: boolean;
  /** XSTATE_BV in the buffer the source's KVM_GET_XSAVE returned */
  savedXstateBv: bigint;
  /** CPUID-derived guest-supported XCR0 on the source */
  sourceGuestSupportedXcr0: bigint;
  restore: RestoreResult;
  sourceView: GuestView;
  targetView: GuestView | null;
  /** parts of the guest view that differ after a complete restore */
  diff: string[];
}

export function cpuidOn(vcpu: VcpuCpuid, host: Host, kernel: KernelVariant): CpuidEntry[] | null {
  if ('cpuModel' in vcpu) return resolveCpuModel(vcpu.cpuModel, host, kernel);
  return vcpu.cpuid.length === 0 ? null : vcpu.cpuid;
}

export function migrate(spec: MigrationSpec, plugin?: Fixup): MigrationResult {
  const { source, target } = spec;
  const srcCpuid = cpuidOn(spec.vcpu, source.host, source.kernel);
  const src = sourceVcpu(source.kernel, source.host, srcCpuid, spec.guest);
  const saved = qemuSave(src);
  const sourceGsx = guestSupportedXcr0(srcCpuid, src.supportedXcr0);
  const leaked = (saved.env.xstateBv & ~(sourceGsx | MASK.FPSSE)) !== 0n;

  const dst = createVcpu(target.kernel, target.host);
  const dstCpuid = cpuidOn(spec.vcpu, target.host, target.kernel);
  if (dstCpuid) setCpuid(dst, dstCpuid);
  const fixup = activeFixup(target.kernel.pvePatch !== null, target.fixup, plugin);
  const restore = qemuRestore(dst, saved.env, fixup);
  const fixupFired = restore.xsave?.fixupFired ?? false;
  const sourceView = guestView(src);
  const targetView = guestView(restore.vcpu);
  // A failed restore is aborted or resumed incomplete by QEMU's policy: no diff is taken then.
  const diff = restore.failed ? [] : diffViews(sourceView, targetView);
  const outcome: Outcome = restore.failed ? (spec.vmm.policy === 'abort' ? 'aborted' : 'incomplete') : diff.length === 0 ? 'intact' : 'lost';
  return { outcome, leaked, fixupFired, savedXstateBv: saved.env.xstateBv, sourceGuestSupportedXcr0: sourceGsx, restore, sourceView, targetView, diff };
}
