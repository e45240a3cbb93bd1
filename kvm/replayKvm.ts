/**
 * `replay --backend kvm`: corpus cases replayed against the running kernel.
 *
 * A case runs for real when its target is the running machine: target.kernel `this` (or the
 * catalogue id the calibration chose), and target.host `this` or a host the running machine can
 * stand in for (same supported XCR0, vendor and offsets, and the model predicts the same result
 * for the case on both). Everything else is skipped with a one-line reason.
 *  - ioctl cases: [KVM_SET_CPUID2] [KVM_SET_XCRS] KVM_SET_XSAVE (the fixup applied to the buffer
 *    first, per target.fixup) KVM_GET_XSAVE; then KVM_SET_CPUID2 with the host's own table and
 *    KVM_GET_XSAVE again, which reads back the vCPU's XSTATE_BV unmasked (`expect.xstateBv`).
 *    `expect.pkru` is observable only on a host whose supported set has PKRU; `expect.reason` is
 *    the model's own vocabulary and never observable. Unobservable fields are listed, not checked.
 *  - migration cases: the source side from the model, the target side real (migrationReal.ts).
 */
import * as fs from 'node:fs';
import {
  CpuidEntry,
  DEFAULT_HOST_PKRU,
  Fixup,
  GuestSpecError,
  MASK,
  OFF,
  PVE_FIXUP,
  XFEATURE,
  activeFixup,
  bytesEqual,
  createVcpu,
  fixupContext,
  hex,
  readU32,
  readU64,
  resolveCpuModel,
  setCpuid,
  setCpuidRefusal,
  setXcrs,
  slotOf,
} from '../model';
import { Case, CaseError, IoctlCase, MigrationCase, parseCaseText } from '../cases/caseFormat';
import { caseRegion, evaluateCase } from '../cases/evaluate';
import { collectCaseFiles } from '../cases/files';
import { ThisMachine, checkCpuModel, resolveHost, resolveKernel, resolveVmm } from '../cases/resolve';
import { MachineCalibration, sameHostShape } from './calibration';
import { XsaveExecutor } from './executor';
import { RealMigrationSpec, judgeMigration, prepareMigration } from './migrationReal';
import { CaseResult, CaseSpec, Step, errnoName } from './protocol';

export type KvmReplayStatus = 'pass' | 'fail' | 'skip' | 'error';

export interface KvmMismatch {
  field: string;
  expected: string;
  actual: string;
}

export interface KvmReplayResult {
  file: string;
  id: string | null;
  kind: 'ioctl' | 'migration' | 'lifecycle' | null;
  status: KvmReplayStatus;
  /** skip/error: why */
  reason: string | null;
  mismatches: KvmMismatch[];
  /** what the running kernel did, in the case's vocabulary */
  observed: Record<string, string>;
  /** expect fields that cannot be observed on this machine */
  unchecked: string[];
}

export interface KvmReplaySummary {
  results: KvmReplayResult[];
  missing: string[];
  passed: number;
  failed: number;
  skipped: number;
  errors: number;
}

/** Why the running machine cannot stand in for the case's target, or null when it can. */
export function standInReason(c: IoctlCase | MigrationCase, cal: MachineCalibration): string | null {
  const k = c.target.kernel;
  const kernelOk = k === 'this' || (cal.chosen !== 'this-calibrated' && k === cal.chosen);
  if (!kernelOk) return `target kernel ${k} is not the running kernel (calibrated as ${cal.chosen})`;
  const ref = c.target.host;
  if ('name' in ref && ref.name === 'this') return null;
  const host = resolveHost(c.file, 'target.host', ref);
  if (!sameHostShape(host, cal.host)) {
    return `target host ${'name' in ref ? ref.name : `custom ${hex(host.xcr0)}/${host.vendor}`} is not this machine (supported XCR0 ${hex(cal.host.xcr0)}, ${cal.host.vendor} offsets)`;
  }
  const asThis: Case = { ...c, target: { ...c.target, kernel: 'this', host: { name: 'this' } } } as Case;
  const a = JSON.stringify(evaluateCase(c).computed);
  const b = JSON.stringify(evaluateCase(asThis).computed);
  if (a !== b) return `the model predicts differently for the case's host and this machine (e.g. MXCSR mask ${hex(host.mxcsrMask)} vs ${hex(cal.host.mxcsrMask)})`;
  return null;
}

interface Planned {
  spec: CaseSpec;
  judge: (r: CaseResult) => Omit<KvmReplayResult, 'file' | 'id' | 'kind'>;
}

const resultWord = (errno: number): string => (errno === 0 ? 'ok' : errno === 22 ? 'einval' : `errno ${errnoName(errno)}`);

function planIoctl(c: IoctlCase, cal: MachineCalibration, plugin: Fixup): Planned | { skip: string } {
  if (c.vcpu.confidential) return { skip: 'a protected-state (confidential) vCPU cannot be created here' };
  if (c.xfd !== undefined && c.xfd !== 0n) return { skip: 'the executor does not set IA32_XFD (KVM_SET_MSRS), and no lab host has AMX' };
  const machine: ThisMachine = { kernel: cal.kernel, host: cal.host };
  const vcpu = createVcpu(machine.kernel, machine.host);
  let cpuid: CpuidEntry[] | null = null;
  if (c.vcpu.cpuModel !== undefined) {
    checkCpuModel(c.file, 'vcpu.cpuModel', c.vcpu.cpuModel);
    cpuid = resolveCpuModel(c.vcpu.cpuModel, machine.host, machine.kernel);
  } else if (c.vcpu.cpuid && c.vcpu.cpuid.length > 0) cpuid = c.vcpu.cpuid;
  if (cpuid && !setCpuidRefusal(machine.kernel, cpuid)) setCpuid(vcpu, cpuid);
  if (c.xcr0 !== undefined) setXcrs(vcpu, c.xcr0);
  if ('hex' in c.xsave && c.xsave.hex.length !== cal.size) {
    return { skip: `its region is ${c.xsave.hex.length} bytes; KVM_SET_XSAVE here takes ${cal.size}` };
  }
  const region = caseRegion(c, cal.size);
  const fixup = activeFixup(machine.kernel.pvePatch !== null, c.target.fixup, plugin);
  let buf = region;
  if (fixup) {
    buf = region.slice();
    fixup.fn(fixupContext(vcpu), buf);
  }
  const fired = fixup !== null && !bytesEqual(buf, region);
  const steps: Step[] = [
    ...(cpuid ? [{ op: 'setCpuid2' } as const] : []),
    ...(c.xcr0 !== undefined ? [{ op: 'setXcrs', xcr0: c.xcr0 } as const] : []),
    { op: 'setXsave', region: buf },
    // expect.getXstateBv / getResult are KVM_GET_XSAVE's (CASE-FORMAT.md), not GET2's: say so, as
    // the executor's auto would pick GET2 once the region has grown past 4096
    { op: 'getXsave', ioctl: 'xsave' },
    { op: 'setCpuid2Host' },
    { op: 'getXsave' },
  ];
  const pre = steps.length - 4;
  return {
    spec: { cpuid: cpuid ?? [], steps, policy: 'continue' },
    judge: (r) => {
      const mismatches: KvmMismatch[] = [];
      const observed: Record<string, string> = {};
      const unchecked: string[] = [];
      for (let i = 0; i < pre; i++) {
        const s = r.steps[i]!;
        if (s.errno !== 0) mismatches.push({ field: `setup ${s.op}`, expected: 'OK (the case takes it for granted)', actual: errnoName(s.errno) });
      }
      const set = r.steps[pre]!;
      const get = r.steps[pre + 1]!;
      const host = r.steps[pre + 2]!;
      const unmasked = r.steps[pre + 3]!;
      observed['result'] = resultWord(set.errno);
      observed['fixupFired'] = String(fired);
      if (get.errno === 0 && get.xsave) observed['getXstateBv'] = hex(readU64(get.xsave, OFF.XSTATE_BV));
      observed['getResult'] = resultWord(get.errno);
      const canUnmask = host.errno === 0 && unmasked.errno === 0 && unmasked.xsave !== undefined;
      if (set.errno === 0 && canUnmask) observed['xstateBv'] = hex(readU64(unmasked.xsave!, OFF.XSTATE_BV));
      const pkruSlot = slotOf(cal.host.layout, XFEATURE.PKRU);
      if (canUnmask && pkruSlot && (cal.host.xcr0 & MASK.PKRU) !== 0n && (readU64(unmasked.xsave!, OFF.XSTATE_BV) & MASK.PKRU) !== 0n) {
        observed['pkru'] = hex(readU32(unmasked.xsave!, pkruSlot.offset));
      }
      const e = c.expect;
      const want: Record<string, string | undefined> = {
        result: e.result,
        fixupFired: e.fixupFired === undefined ? undefined : String(e.fixupFired),
        getXstateBv: e.getXstateBv === undefined ? undefined : hex(e.getXstateBv),
        getResult: e.getResult,
        get2XstateBv: e.get2XstateBv === undefined ? undefined : hex(e.get2XstateBv),
        xstateBv: e.xstateBv === undefined ? undefined : hex(e.xstateBv),
        pkru: e.pkru === undefined ? undefined : hex(e.pkru),
      };
      for (const [field, w] of Object.entries(want)) {
        if (w === undefined) continue;
        const got = observed[field];
        if (got === undefined) {
          unchecked.push(field === 'pkru' ? 'pkru (not observable: this host has no PKRU state)' : `${field} (not observable here)`);
          continue;
        }
        if (got !== w) mismatches.push({ field: `expect.${field}`, expected: w, actual: got });
      }
      if (e.reason !== undefined) unchecked.push('reason (the model\'s name for a refusal; the kernel only says EINVAL)');
      return { status: mismatches.length ? 'fail' : 'pass', reason: null, mismatches, observed, unchecked };
    },
  };
}

function planMigration(c: MigrationCase, cal: MachineCalibration, plugin: Fixup): Planned {
  if (c.vcpu.confidential) throw new CaseError(c.file, 'vcpu.confidential', 'not supported in migration cases');
  if (c.vcpu.cpuModel !== undefined) checkCpuModel(c.file, 'vcpu.cpuModel', c.vcpu.cpuModel);
  const machine: ThisMachine = { kernel: cal.kernel, host: cal.host };
  const m: RealMigrationSpec = {
    vcpu: c.vcpu.cpuModel !== undefined ? { cpuModel: c.vcpu.cpuModel } : { cpuid: c.vcpu.cpuid ?? [] },
    source: { kernel: resolveKernel(c.file, 'source.kernel', c.source.kernel), host: resolveHost(c.file, 'source.host', c.source.host) },
    fixup: c.target.fixup,
    vmm: resolveVmm(c.file, 'vmm', c.vmm),
    guest: {
      xcr0: c.guest.xcr0,
      inUse: c.guest.inUse,
      pkru: Number(c.guest.pkru),
      hostPkru: c.guest.hostPkru !== undefined ? Number(c.guest.hostPkru) : DEFAULT_HOST_PKRU,
      ...(c.guest.mxcsr !== undefined ? { mxcsr: Number(c.guest.mxcsr) } : {}),
    },
  };
  let p;
  try {
    p = prepareMigration(machine, m, plugin);
  } catch (e) {
    if (e instanceof GuestSpecError) throw new CaseError(c.file, e.field, e.message);
    throw e;
  }
  return {
    spec: p.spec,
    judge: (r) => {
      const j = judgeMigration(p, machine, r);
      const observed: Record<string, string> = {
        outcome: j.outcome,
        leaked: String(j.leaked),
        fixupFired: String(j.fixupFired),
        steps: j.steps.join(' '),
        ...(j.run ? { run: `${j.run.outcome}${j.run.checkpoint ? '+checkpoint' : ''} in ${j.run.elapsedUs} µs` } : {}),
        ...(j.diff.length ? { differs: j.diff.join(',') } : {}),
      };
      const mismatches: KvmMismatch[] = [];
      const e = c.expect;
      if (e.outcome !== undefined && e.outcome !== j.outcome) mismatches.push({ field: 'expect.outcome', expected: e.outcome, actual: j.outcome });
      if (e.leaked !== undefined && e.leaked !== j.leaked) mismatches.push({ field: 'expect.leaked', expected: String(e.leaked), actual: String(j.leaked) });
      if (e.fixupFired !== undefined && e.fixupFired !== j.fixupFired) mismatches.push({ field: 'expect.fixupFired', expected: String(e.fixupFired), actual: String(j.fixupFired) });
      return { status: mismatches.length ? 'fail' : 'pass', reason: null, mismatches, observed, unchecked: [] };
    },
  };
}

/** Replays case files against the running kernel (one executor batch for every runnable case). */
export async function replayKvmPaths(exec: XsaveExecutor, paths: string[], cal: MachineCalibration, plugin: Fixup = PVE_FIXUP): Promise<KvmReplaySummary> {
  const { files, missing } = collectCaseFiles(paths);
  const results: KvmReplayResult[] = [];
  const planned: Array<{ at: number; plan: Planned }> = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const base = { file, id: null as string | null, kind: null as KvmReplayResult['kind'], mismatches: [], observed: {}, unchecked: [] };
    try {
      const c = parseCaseText(fs.readFileSync(file, 'utf8'), file);
      const other = seen.get(c.id);
      if (other !== undefined) throw new CaseError(file, 'id', `"${c.id}" is already used by ${other}`);
      seen.set(c.id, file);
      base.id = c.id;
      base.kind = c.kind;
      if (c.kind === 'lifecycle') {
        // A story restores on several kernels and hosts in turn; one running kernel cannot play
        // them all. The kernel lab replays a story restore by restore (model/lifecycle.ts restoresOf).
        results.push({ ...base, status: 'skip', reason: 'a lifecycle story needs a kernel and host per restore; this backend runs one: replay it with the model (the kernel lab replays its restores one by one)' });
        continue;
      }
      const why = standInReason(c, cal);
      if (why) {
        results.push({ ...base, status: 'skip', reason: why });
        continue;
      }
      const plan = c.kind === 'ioctl' ? planIoctl(c, cal, plugin) : planMigration(c, cal, plugin);
      if ('skip' in plan) {
        results.push({ ...base, status: 'skip', reason: plan.skip });
        continue;
      }
      results.push({ ...base, status: 'pass', reason: null });
      planned.push({ at: results.length - 1, plan });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (e instanceof CaseError || err.code) {
        results.push({ ...base, status: 'error', reason: e instanceof CaseError ? e.message : `${file}: ${err.message}` });
        continue;
      }
      throw e;
    }
  }
  if (planned.length) {
    const real = await exec.runCases(planned.map((p) => p.plan.spec));
    planned.forEach((p, i) => {
      results[p.at] = { ...results[p.at]!, ...p.plan.judge(real[i]!) };
    });
  }
  return {
    results,
    missing,
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    skipped: results.filter((r) => r.status === 'skip').length,
    errors: results.filter((r) => r.status === 'error').length + missing.length,
  };
}

export function formatKvmResult(r: KvmReplayResult): string {
  const what = `${r.id ?? '?'} (${r.file})`;
  if (r.status === 'error') return `ERROR ${r.reason}`;
  if (r.status === 'skip') return `SKIP  ${what}: ${r.reason}`;
  const lines = [`${r.status === 'pass' ? 'PASS ' : 'FAIL '} ${what} [kvm: ${Object.entries(r.observed).map(([k, v]) => `${k}=${v}`).join(', ')}]`];
  for (const m of r.mismatches) lines.push(`      ${m.field}: expected ${m.expected}, the running kernel gives ${m.actual}`);
  for (const u of r.unchecked) lines.push(`      unchecked: ${u}`);
  return lines.join('\n');
}
