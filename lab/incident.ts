/**
 * The July 2023 incident on real kernels (`xsave-harness lab incident`). A real guest runs on the
 * leaky source kernel (debian-6.1-leaky, a PKU host) with a qemu64-like CPUID (no XSAVE), and its
 * state is saved as QEMU saves it (KVM_GET_XSAVE, KVM_GET_XCRS; QEMU's parse into env). Each
 * target kernel × host then restores it in QEMU's order (CPUID at vCPU creation; sregs, regs,
 * xsave, xcrs) under QEMU 7.2's policy (a failed step is ignored, the guest resumes) and 8.2's
 * (a failed step aborts), the guest runs to its checkpoint, and its own FXSAVE view is compared
 * with the one it had on the source. Each cell is the real outcome beside the model's
 * prediction (model/migration.ts) of the same migration.
 */
import {
  DEFAULT_HOST_PKRU,
  GuestSpec,
  MigrationResult,
  Outcome,
  PKRU_BIT,
  createVcpu,
  cpuidOn,
  hostByName,
  kernelById,
  migrate,
  parseQemu,
  qemuBuildRegion,
  qemuParse,
  readU32,
  readU64,
  setCpuid,
  setCpuidRefusal,
  slotOf,
  XFEATURE,
} from '../model';
import { diffFx, FxView, fxViewOfImage, describeFx } from '../kvm/guestFx';
import { CaseResult, CaseSpec, GUEST, Step, errnoName } from '../kvm/protocol';
import { makeRegion, xmmFill } from '../kvm/region';
import { labHost } from './catalogue';
import { LabSession, openLab } from './session';
import { Progress } from './progress';

/**
 * The source: the leaky kernel on a PKU host without AVX and MPX (lab/catalogue.ts `noavx`): TCG
 * saves every enabled component as in use, so on `max` the leak would be 0x217 (AVX, BNDCSR
 * too) where hardware leaks x87|SSE|PKRU; without them the emulated leak is the real one.
 */
export const INCIDENT_SOURCE = { kernel: 'debian-6.1-leaky', host: 'noavx' } as const;
export const INCIDENT_TARGETS: ReadonlyArray<{ kernel: string; host: string }> = [
  { kernel: 'debian-6.1-2023', host: 'pku' },
  { kernel: 'debian-6.1-2023+pve', host: 'pku' },
  { kernel: 'debian-6.1', host: 'pku' },
  { kernel: 'debian-6.1', host: 'nopku' },
  { kernel: 'debian-6.12', host: 'pku' },
  { kernel: 'debian-6.12', host: 'nopku' },
  { kernel: 'debian-6.1+pve', host: 'pku' },
  { kernel: 'debian-6.1+pve', host: 'nopku' },
  { kernel: 'debian-6.12+pve', host: 'pku' },
  { kernel: 'debian-6.12+pve', host: 'nopku' },
];
export const INCIDENT_VMMS = ['qemu-7.2', 'qemu-8.2'] as const;

/** The guest: qemu64 (no XSAVE in its CPUID), x87 and SSE in use, its own PKRU 0. */
export const VCPU = { cpuModel: 'qemu64' };
export const GUEST_SPEC: GuestSpec = { xcr0: 0x1n, inUse: 0x3n, pkru: 0, hostPkru: DEFAULT_HOST_PKRU };

export type RealIncidentOutcome = Outcome | 'no-checkpoint';

export interface SourceState {
  kernel: string;
  host: string;
  release: string;
  /** the guest reached its checkpoint on the source */
  ran: boolean;
  view: FxView | null;
  savedXstateBv: bigint;
  /** the PKRU area of the saved region */
  savedPkru: number;
  xcr0: bigint;
  /** the saved XSTATE_BV holds PKRU although the guest's CPUID has no XSAVE */
  leaked: boolean;
  /** the model's GET on the same source */
  model: { savedXstateBv: bigint; leaked: boolean };
  region: Uint8Array;
  steps: string[];
}

export interface IncidentCell {
  kernel: string;
  host: string;
  vmm: string;
  real: RealIncidentOutcome;
  model: Outcome;
  agree: boolean;
  steps: string[];
  diff: string[];
  modelDetail: MigrationResult;
}

const hx = (v: bigint | number): string => '0x' + v.toString(16);

/** Saves a real guest's state on the source session. */
export async function saveOnSource(s: LabSession): Promise<SourceState> {
  const kernel = s.machine.kernel;
  const host = s.machine.host;
  const cpuid = cpuidOn(VCPU, host, kernel);
  // The guest's state before it runs: x87 and SSE with values of its own.
  const initial = makeRegion(s.cal.size, { xstateBv: 0x3n, fcw: 0x027f, mxcsr: 0x1fa0, xmm: { 0: xmmFill(0x11), 3: xmmFill(0x33), 7: xmmFill(0x77) }, patch: [[32, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0x3f)]] });
  const steps: Step[] = [
    ...(cpuid ? [{ op: 'setCpuid2' } as const] : []),
    { op: 'setSregs', osfxsr: true },
    { op: 'setRegs' },
    { op: 'setXsave', region: initial },
    { op: 'run' },
    { op: 'getXsave' },
    { op: 'getXcrs' },
  ] as Step[];
  const spec: CaseSpec = { cpuid: cpuid ?? [], steps, policy: 'continue', timeoutMs: 2000, guestRip: GUEST.codeGpa };
  const [r] = await s.vm.exec.runCases([spec]);
  const res = r!;
  const names: string[] = steps.map((x) => x.op);
  const at = (op: string): CaseResult['steps'][number] | undefined => res.steps[names.indexOf(op)];
  const run = at('run')?.run;
  const got = at('getXsave');
  if (!got?.xsave || got.errno !== 0) throw new Error(`source ${s.kernel.id}/${s.host.id}: KVM_GET_XSAVE failed (${got ? errnoName(got.errno) : 'no result'})`);
  const region = got.xsave.slice();
  const pkruSlot = slotOf(host.layout, XFEATURE.PKRU);
  const savedXstateBv = readU64(region, 512);
  // The model's save of the same guest on the same kernel and host.
  const m = migrate({ vcpu: VCPU, source: { kernel, host }, target: { kernel, host, fixup: 'kernel-default' }, vmm: parseQemu('qemu-7.2')!, guest: GUEST_SPEC });
  return {
    kernel: s.kernel.id,
    host: s.host.id,
    release: s.cal.release,
    ran: !!run?.checkpoint,
    view: run?.checkpoint ? fxViewOfImage(run.fxsave) : null,
    savedXstateBv,
    savedPkru: pkruSlot ? readU32(region, pkruSlot.offset) : 0,
    xcr0: at('getXcrs')?.xcr0 ?? 0x1n,
    leaked: (savedXstateBv & PKRU_BIT) !== 0n,
    model: { savedXstateBv: m.savedXstateBv, leaked: m.leaked },
    region,
    steps: res.steps.map((x, i) => `${names[i]}:${x.skipped ? 'skipped' : errnoName(x.errno)}`),
  };
}

/**
 * What a real restore did, from the executor's result of steps [..., run, getXcrs, ...]: aborted
 * (the VMM stopped at a failed step), incomplete (a failed step was ignored and the guest ran),
 * no-checkpoint, lost (the guest's own view differs from the source's) or intact.
 */
export function classifyRestore(r: CaseResult, names: readonly string[], src: { view: FxView | null; xcr0: bigint }): { real: RealIncidentOutcome; diff: string[]; steps: string[] } {
  const steps = r.steps.map((x, j) => `${names[j]}:${x.skipped ? 'skipped' : errnoName(x.errno)}`);
  const run = r.steps[names.indexOf('run')];
  const compare = (): string[] => {
    if (!run?.run?.checkpoint || !src.view) return ['guest did not reach its checkpoint'];
    const d = diffFx(src.view, fxViewOfImage(run.run.fxsave));
    const xcr0 = r.steps[names.indexOf('getXcrs')]?.xcr0;
    if (xcr0 !== undefined && xcr0 !== src.xcr0) d.push(`xcr0 ${hx(xcr0)} (source ${hx(src.xcr0)})`);
    return d;
  };
  if (r.stoppedAt !== null) {
    if (r.aborted || run?.skipped) return { real: 'aborted', diff: [], steps };
    return { real: 'incomplete', diff: compare(), steps };
  }
  if (!run?.run?.checkpoint) return { real: 'no-checkpoint', diff: ['guest did not reach its checkpoint'], steps };
  const diff = compare();
  return { real: diff.length ? 'lost' : 'intact', diff, steps };
}

/** Restores the saved state on one target session under each VMM policy; one executor batch. */
/**
 * QEMU's restore of a saved state on a target session, as executor steps: CPUID at vCPU creation,
 * then sregs, regs, xsave (the region QEMU rebuilds from its parse of the saved one), xcrs, and a
 * run to the guest's checkpoint; `after` adds steps (a save for the next hop of a chain).
 */
export function restoreSteps(s: LabSession, src: Pick<SourceState, 'kernel' | 'host' | 'region' | 'xcr0'>, after: Step[] = []): { cpuid: CaseSpec['cpuid']; steps: Step[]; names: string[] } {
  const kernel = s.machine.kernel;
  const host = s.machine.host;
  const srcHost = hostByName(labHost(src.host)!.catalogueHost)!;
  const srcKernel = kernelById(src.kernel)!;
  const env = qemuParse(src.region.slice(), srcHost, srcHost.xcr0 & srcKernel.kvmSupportedXcr0, src.xcr0);
  const cpuid = cpuidOn(VCPU, host, kernel);
  const dst = createVcpu(kernel, host);
  if (cpuid && !setCpuidRefusal(kernel, cpuid)) setCpuid(dst, cpuid);
  const region = qemuBuildRegion(env, dst);
  const steps: Step[] = [
    ...(cpuid ? [{ op: 'setCpuid2' } as const] : []),
    { op: 'setSregs', osfxsr: true },
    { op: 'setRegs' },
    { op: 'setXsave', region },
    { op: 'setXcrs', xcr0: env.xcr0 },
    { op: 'run' },
    { op: 'getXcrs' },
    ...after,
  ] as Step[];
  return { cpuid: cpuid ?? [], steps, names: steps.map((x) => x.op) };
}

/** Restores the saved state on one target session under each VMM policy; one executor batch. */
export async function restoreOnTarget(s: LabSession, src: SourceState): Promise<IncidentCell[]> {
  const kernel = s.machine.kernel;
  const host = s.machine.host;
  const srcHost = hostByName(labHost(src.host)!.catalogueHost)!;
  const srcKernel = kernelById(src.kernel)!;
  const { cpuid, steps, names } = restoreSteps(s, src);
  const specs: CaseSpec[] = INCIDENT_VMMS.map((v) => ({ cpuid, steps, policy: parseQemu(v)!.policy, timeoutMs: 2000, guestRip: GUEST.codeGpa }));
  const results = await s.vm.exec.runCases(specs);
  return INCIDENT_VMMS.map((v, i) => {
    const r = results[i]!;
    const { real, diff, steps: stepWords } = classifyRestore(r, names, src);
    const model = migrate(
      { vcpu: VCPU, source: { kernel: srcKernel, host: srcHost }, target: { kernel, host, fixup: 'kernel-default' }, vmm: parseQemu(v)!, guest: GUEST_SPEC },
    );
    return { kernel: s.kernel.id, host: s.host.id, vmm: v, real, model: model.outcome, agree: real === model.outcome, steps: stepWords, diff, modelDetail: model };
  });
}

export interface IncidentRun {
  source: SourceState;
  cells: IncidentCell[];
  /** targets that could not be run (infrastructure), with why */
  failed: Array<{ kernel: string; host: string; error: string }>;
}

/** The whole table: the source once, then every target (up to `jobs` VMs at once). */
export async function runIncident(opts: { targets?: ReadonlyArray<{ kernel: string; host: string }>; jobs?: number; progress: (label: string) => Progress }): Promise<IncidentRun> {
  const targets = opts.targets ?? INCIDENT_TARGETS;
  const p = opts.progress(`${INCIDENT_SOURCE.kernel}/${INCIDENT_SOURCE.host} (source)`);
  const srcSession = await openLab(INCIDENT_SOURCE.kernel, INCIDENT_SOURCE.host, { progress: p, calibrate: false });
  let source: SourceState;
  try {
    source = await saveOnSource(srcSession);
    p.done(`guest ran: ${source.ran}; saved XSTATE_BV ${hx(source.savedXstateBv)}, PKRU area ${hx(source.savedPkru)}`);
  } finally {
    await srcSession.close();
  }
  const cells: IncidentCell[] = [];
  const failed: IncidentRun['failed'] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const t = targets[next++]!;
      const tp = opts.progress(`${t.kernel}/${t.host}`);
      try {
        const s = await openLab(t.kernel, t.host, { progress: tp, calibrate: false });
        try {
          if (!s.check.hostAgrees) throw new Error(`host check failed: ${s.check.hostDetail}`);
          const c = await restoreOnTarget(s, source);
          cells.push(...c);
          tp.done(c.map((x) => `${x.vmm} ${x.real} (model ${x.model})`).join(', '));
        } finally {
          await s.close();
        }
      } catch (e) {
        failed.push({ kernel: t.kernel, host: t.host, error: (e as Error).message });
        tp.done(`INFRASTRUCTURE ERROR: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs ?? 2, targets.length)) }, worker));
  const order = (k: string, h: string): number => targets.findIndex((t) => t.kernel === k && t.host === h);
  cells.sort((a, b) => order(a.kernel, a.host) - order(b.kernel, b.host) || a.vmm.localeCompare(b.vmm));
  return { source, cells, failed };
}

export function describeSource(s: SourceState): string {
  return (
    `source ${s.kernel} (${s.release}) on host ${s.host}, guest qemu64: ran ${s.ran ? 'to its checkpoint' : 'NOT to its checkpoint'}; ` +
    `saved XSTATE_BV ${hx(s.savedXstateBv)} (model ${hx(s.model.savedXstateBv)}), PKRU area ${hx(s.savedPkru)}, XCR0 ${hx(s.xcr0)}; ` +
    `leaked: ${s.leaked} (model ${s.model.leaked})${s.view ? `; guest view ${describeFx(s.view)}` : ''}`
  );
}
