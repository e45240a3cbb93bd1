/**
 * A migration whose target is the running machine: the source side comes from the model (the
 * guest's state on the source kernel and host, QEMU's KVM_GET_XSAVE parse), the target side is
 * real. The target vCPU is restored in QEMU's order (kvm_arch_put_registers: sregs, regs, xsave,
 * xcrs; CPUID first, at vCPU creation) under QEMU's error policy (< 8.2 ignore a failed step,
 * ≥ 8.2 abort), then the guest runs (bounded in time) and FXSAVEs its x87/SSE state; XMM8-15 and
 * the extended components are read back with KVM_GET_XSAVE after the run, XCR0 with
 * KVM_GET_XCRS. The guest's own view is compared with the source's (model/guestView.ts).
 *
 * Outcomes: 'intact' / 'lost' (every step succeeded; the guest's view equals / differs from the
 * source's), 'incomplete' (a step failed, the VMM ignored it and the guest ran with partial
 * state), 'aborted' (a step failed and the VMM did not run the guest), 'no-checkpoint' (the
 * guest never reached its checkpoint within its time limit: reported, not waited for).
 */
import {
  COMPONENTS,
  Fixup,
  FixupMode,
  GuestSpec,
  GuestView,
  Host,
  KernelVariant,
  MASK,
  MigrationResult,
  MigrationSpec,
  PVE_FIXUP,
  QemuVersion,
  activeFixup,
  bytesEqual,
  cpuidOn,
  createVcpu,
  fixupContext,
  guestSupportedXcr0,
  guestView,
  migrate,
  qemuBuildRegion,
  qemuSave,
  setCpuid,
  setCpuidRefusal,
  slotOf,
  sourceVcpu,
  toHex,
} from '../model';
import type { ThisMachine } from '../cases/resolve';
import { XsaveExecutor } from './executor';
import { diffFx, fxViewOfImage, fxViewOfModel } from './guestFx';
import { CaseResult, CaseSpec, GUEST, Step, errnoName } from './protocol';

export type RealOutcome = 'intact' | 'lost' | 'incomplete' | 'aborted' | 'no-checkpoint';

export interface RealMigration {
  outcome: RealOutcome;
  leaked: boolean;
  fixupFired: boolean;
  /** each restore step as it went: "xsave:EINVAL", "xcrs:skipped", … */
  steps: string[];
  run: { outcome: string; checkpoint: boolean; elapsedUs: number } | null;
  /** parts of the guest's view that differ from the source's (also for 'incomplete' runs) */
  diff: string[];
  savedXstateBv: bigint;
  /** the model's prediction of the same migration */
  model: MigrationResult;
}

export interface RealMigrationSpec {
  vcpu: MigrationSpec['vcpu'];
  source: { kernel: KernelVariant; host: Host };
  fixup: FixupMode;
  vmm: QemuVersion;
  guest: GuestSpec;
  /** guest run time limit (default 500 ms) */
  timeoutMs?: number;
}

interface Prepared {
  spec: CaseSpec;
  leaked: boolean;
  fixupFired: boolean;
  savedXstateBv: bigint;
  sourceView: GuestView;
  names: string[];
  model: MigrationResult;
}

const NAMES: Record<string, string> = { setCpuid2: 'cpuid', setSregs: 'sregs', setRegs: 'regs', setXsave: 'xsave', setXcrs: 'xcrs', run: 'run', getXsave: 'get-xsave', getXcrs: 'get-xcrs' };

export function prepareMigration(machine: ThisMachine, m: RealMigrationSpec, plugin: Fixup = PVE_FIXUP): Prepared {
  const srcCpuid = cpuidOn(m.vcpu, m.source.host, m.source.kernel);
  const src = sourceVcpu(m.source.kernel, m.source.host, srcCpuid, m.guest);
  const saved = qemuSave(src);
  const sourceGsx = guestSupportedXcr0(srcCpuid, src.supportedXcr0);
  const leaked = (saved.env.xstateBv & ~(sourceGsx | MASK.FPSSE)) !== 0n;

  const dst = createVcpu(machine.kernel, machine.host);
  const dstCpuid = cpuidOn(m.vcpu, machine.host, machine.kernel);
  if (dstCpuid && !setCpuidRefusal(machine.kernel, dstCpuid)) setCpuid(dst, dstCpuid);
  const region = qemuBuildRegion(saved.env, dst);
  const fixup = activeFixup(machine.kernel.pvePatch !== null, m.fixup, plugin);
  let buf = region;
  if (fixup) {
    buf = region.slice();
    fixup.fn(fixupContext(dst), buf); // QEMU restores XCRS after XSAVE: the patch sees the reset XCR0
  }
  const steps: Step[] = [
    ...(dstCpuid ? [{ op: 'setCpuid2' } as const] : []),
    { op: 'setSregs', osfxsr: true },
    { op: 'setRegs' },
    { op: 'setXsave', region: buf },
    { op: 'setXcrs', xcr0: saved.env.xcr0 },
    { op: 'run' },
    { op: 'getXsave' },
    { op: 'getXcrs' },
  ];
  const model = migrate({ vcpu: m.vcpu, source: m.source, target: { kernel: machine.kernel, host: machine.host, fixup: m.fixup }, vmm: m.vmm, guest: m.guest }, plugin);
  return {
    spec: { cpuid: dstCpuid ?? [], steps, policy: m.vmm.policy, timeoutMs: m.timeoutMs ?? 500, guestRip: GUEST.codeGpa },
    leaked,
    fixupFired: fixup !== null && !bytesEqual(buf, region),
    savedXstateBv: saved.env.xstateBv,
    sourceView: guestView(src),
    names: steps.map((s) => NAMES[s.op] ?? s.op),
    model,
  };
}

/** The guest's view after the run, compared part by part with the source's. */
function diffAgainstSource(p: Prepared, machine: ThisMachine, real: CaseResult): string[] {
  const ix = (op: string) => p.spec.steps.findIndex((s) => s.op === op);
  const run = real.steps[ix('run')]?.run;
  if (!run?.checkpoint) return ['guest'];
  const out = diffFx(fxViewOfModel(p.sourceView, machine.host), fxViewOfImage(run.fxsave)).map((f) => `guest ${f}`);
  const after = real.steps[ix('getXsave')]?.xsave;
  const sse = p.sourceView.components['SSE'];
  if (after && sse && toHex(after.subarray(160 + 128, 416)) !== sse.slice(256)) out.push('xmm8-15');
  for (const [name, hexBytes] of Object.entries(p.sourceView.components)) {
    if (name === 'FP' || name === 'SSE') continue;
    const i = COMPONENTS.findIndex((c) => c.short === name);
    const slot = i >= 2 ? slotOf(machine.host.layout, i) : undefined;
    if (!after || !slot) {
      out.push(name);
      continue;
    }
    if (toHex(after.subarray(slot.offset, slot.offset + slot.size)) !== hexBytes) out.push(name);
  }
  const xcr0 = real.steps[ix('getXcrs')]?.xcr0;
  if (xcr0 === undefined || '0x' + xcr0.toString(16) !== p.sourceView.xcr0) out.push('xcr0');
  return out;
}

export function judgeMigration(p: Prepared, machine: ThisMachine, real: CaseResult): RealMigration {
  const steps = real.steps.map((s, i) => `${p.names[i]}:${s.skipped ? 'skipped' : errnoName(s.errno)}`);
  const runStep = real.steps[p.spec.steps.findIndex((s) => s.op === 'run')];
  const run = runStep?.run ? { outcome: runStep.run.outcome, checkpoint: runStep.run.checkpoint, elapsedUs: runStep.run.elapsedUs } : null;
  const base = { leaked: p.leaked, fixupFired: p.fixupFired, steps, run, savedXstateBv: p.savedXstateBv, model: p.model };
  if (real.setupErrno !== 0) return { ...base, outcome: 'no-checkpoint', diff: [`vCPU setup errno ${real.setupErrno}`] };
  if (real.stoppedAt !== null) {
    if (real.aborted || runStep?.skipped) return { ...base, outcome: 'aborted', diff: [] };
    return { ...base, outcome: 'incomplete', diff: diffAgainstSource(p, machine, real) };
  }
  if (!run?.checkpoint) return { ...base, outcome: 'no-checkpoint', diff: ['guest'] };
  const diff = diffAgainstSource(p, machine, real);
  return { ...base, outcome: diff.length ? 'lost' : 'intact', diff };
}

/** Runs migrations to the running machine (one executor batch). */
export async function runMigrations(exec: XsaveExecutor, machine: ThisMachine, specs: readonly RealMigrationSpec[], plugin: Fixup = PVE_FIXUP): Promise<RealMigration[]> {
  const prepared = specs.map((m) => prepareMigration(machine, m, plugin));
  const results = await exec.runCases(prepared.map((p) => p.spec));
  return prepared.map((p, i) => judgeMigration(p, machine, results[i]!));
}
