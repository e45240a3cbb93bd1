// What the model computes for a case, and how that compares with the case's `expect`.
import {
  DEFAULT_HOST_PKRU,
  Fixup,
  GuestSpecError,
  OFF,
  RegionSizeError,
  activeFixup,
  createVcpu,
  getXsave,
  getXsaveLegacy,
  hex,
  migrate,
  readU64,
  resolveCpuModel,
  setCpuid,
  setXcrs,
  setXfd,
  setXsave,
  writeU32,
  writeU64,
} from '../model';
import { CaseError, Case, IoctlCase, MigrationCase } from './caseFormat';
import { checkCpuModel, resolveHost, resolveKernel, resolveVmm } from './resolve';
import { LifecycleComputed, evaluateLifecycle } from './lifecycleCase';

export interface IoctlComputed {
  result: 'ok' | 'einval';
  reason: string | null;
  fixupFired: boolean;
  /** XSTATE_BV of the vCPU's FPU state after the ioctl (null when the ioctl failed) */
  xstateBv: string | null;
  pkru: string;
  /** XSTATE_BV a following KVM_GET_XSAVE reports (null when GET fails) */
  getXstateBv: string | null;
  /** the following KVM_GET_XSAVE's return: einval once the region is larger than 4096 (AMX) */
  getResult: 'ok' | 'einval';
  /** XSTATE_BV a following KVM_GET_XSAVE2 reports (null when it fails) */
  get2XstateBv: string | null;
  ignored: boolean;
}

export interface MigrationComputed {
  outcome: 'intact' | 'aborted' | 'incomplete' | 'lost';
  leaked: boolean;
  fixupFired: boolean;
  savedXstateBv: string;
  steps: string[];
  diff: string[];
}

export type Computed = IoctlComputed | MigrationComputed | LifecycleComputed;

export interface Mismatch {
  field: string;
  expected: string;
  actual: string;
}

export interface Evaluation {
  computed: Computed;
  mismatches: Mismatch[];
}

const fmt = (v: unknown): string => (typeof v === 'bigint' ? hex(v) : v === null ? 'null' : String(v));

/** Build the region a case describes, sized for the vCPU (the sparse form fills the uabi size). */
export function caseRegion(c: IoctlCase, uabiSize: number): Uint8Array {
  const x = c.xsave;
  if ('hex' in x) {
    if (x.hex.length < uabiSize) {
      throw new CaseError(c.file, 'xsave.hex', `region is ${x.hex.length} bytes; this vCPU's KVM_SET_XSAVE copies ${uabiSize}`);
    }
    return x.hex.slice();
  }
  const region = new Uint8Array(uabiSize);
  writeU32(region, OFF.MXCSR, x.mxcsr);
  writeU64(region, OFF.XSTATE_BV, x.xstateBv);
  writeU64(region, OFF.XCOMP_BV, x.xcompBv);
  for (const b of x.bytes) {
    if (b.offset + b.data.length > uabiSize) {
      throw new CaseError(c.file, `xsave.bytes.${b.offset}`, `bytes end at ${b.offset + b.data.length}, past the region of ${uabiSize}`);
    }
    region.set(b.data, b.offset);
  }
  return region;
}

export function evaluateIoctl(c: IoctlCase, plugin?: Fixup): IoctlComputed {
  const kernel = resolveKernel(c.file, 'target.kernel', c.target.kernel);
  const host = resolveHost(c.file, 'target.host', c.target.host);
  const vcpu = createVcpu(kernel, host, { confidential: c.vcpu.confidential });
  if (c.vcpu.cpuModel !== undefined) {
    checkCpuModel(c.file, 'vcpu.cpuModel', c.vcpu.cpuModel);
    setCpuid(vcpu, resolveCpuModel(c.vcpu.cpuModel, host, kernel));
  } else if (c.vcpu.cpuid && c.vcpu.cpuid.length > 0) {
    setCpuid(vcpu, c.vcpu.cpuid);
  }
  if (c.xcr0 !== undefined) {
    const r = setXcrs(vcpu, c.xcr0);
    if (r.rc !== 0) throw new CaseError(c.file, 'xcr0', `KVM_SET_XCRS refuses ${hex(c.xcr0)} on this vCPU (${r.reason})`);
  }
  if (c.xfd !== undefined) {
    const r = setXfd(vcpu, c.xfd);
    if (r.rc !== 0) throw new CaseError(c.file, 'xfd', `KVM_SET_MSRS refuses IA32_XFD ${hex(c.xfd)} on this vCPU (${r.reason})`);
  }
  const region = caseRegion(c, vcpu.uabiSize);
  const fixup = activeFixup(kernel.pvePatch !== null, c.target.fixup, plugin);
  let r;
  try {
    r = setXsave(vcpu, region, fixup);
  } catch (e) {
    if (e instanceof RegionSizeError) throw new CaseError(c.file, 'xsave', e.message);
    throw e;
  }
  const got = getXsaveLegacy(r.vcpu);
  const got2 = getXsave(r.vcpu);
  return {
    result: r.rc === 0 ? 'ok' : 'einval',
    reason: r.reason,
    fixupFired: r.fixupFired,
    xstateBv: r.rc === 0 ? hex(r.vcpu.fpu.xstateBv) : null,
    pkru: hex(r.vcpu.pkru),
    getXstateBv: got.rc === 0 ? hex(readU64(got.region, OFF.XSTATE_BV)) : null,
    getResult: got.rc === 0 ? 'ok' : 'einval',
    get2XstateBv: got2.rc === 0 ? hex(readU64(got2.region, OFF.XSTATE_BV)) : null,
    ignored: r.ignored,
  };
}

export function evaluateMigration(c: MigrationCase, plugin?: Fixup): MigrationComputed {
  if (c.vcpu.confidential) {
    throw new CaseError(c.file, 'vcpu.confidential', 'not supported in migration cases: protected FPU state does not travel through KVM_GET/SET_XSAVE');
  }
  if (c.vcpu.cpuModel !== undefined) checkCpuModel(c.file, 'vcpu.cpuModel', c.vcpu.cpuModel);
  const vcpu = c.vcpu.cpuModel !== undefined ? { cpuModel: c.vcpu.cpuModel } : { cpuid: c.vcpu.cpuid ?? [] };
  try {
    const r = migrate(
      {
        vcpu,
        source: { kernel: resolveKernel(c.file, 'source.kernel', c.source.kernel), host: resolveHost(c.file, 'source.host', c.source.host) },
        target: {
          kernel: resolveKernel(c.file, 'target.kernel', c.target.kernel),
          host: resolveHost(c.file, 'target.host', c.target.host),
          fixup: c.target.fixup,
        },
        vmm: resolveVmm(c.file, 'vmm', c.vmm),
        guest: {
          xcr0: c.guest.xcr0,
          inUse: c.guest.inUse,
          pkru: Number(c.guest.pkru),
          hostPkru: c.guest.hostPkru !== undefined ? Number(c.guest.hostPkru) : DEFAULT_HOST_PKRU,
          ...(c.guest.mxcsr !== undefined ? { mxcsr: Number(c.guest.mxcsr) } : {}),
        },
      },
      plugin,
    );
    return {
      outcome: r.outcome,
      leaked: r.leaked,
      fixupFired: r.fixupFired,
      savedXstateBv: hex(r.savedXstateBv),
      steps: r.restore.steps.map((s) => `${s.step}:${s.rc}${s.detail ? `(${s.detail})` : ''}`),
      diff: r.diff,
    };
  } catch (e) {
    if (e instanceof GuestSpecError) throw new CaseError(c.file, e.field, e.message);
    throw e;
  }
}

function compare(expect: Record<string, unknown>, computed: Record<string, unknown>): Mismatch[] {
  const out: Mismatch[] = [];
  for (const [field, want] of Object.entries(expect)) {
    if (want === undefined) continue;
    const got = computed[field];
    const w = fmt(want);
    const g = fmt(got);
    if (w !== g) out.push({ field: `expect.${field}`, expected: w, actual: g });
  }
  return out;
}

export function evaluateCase(c: Case, plugin?: Fixup): Evaluation {
  if (c.kind === 'ioctl') {
    const computed = evaluateIoctl(c, plugin);
    return { computed, mismatches: compare({ ...c.expect }, { ...computed }) };
  }
  if (c.kind === 'lifecycle') {
    const computed = evaluateLifecycle(c, plugin);
    return { computed, mismatches: compare({ ...c.expect }, { ...computed }) };
  }
  const computed = evaluateMigration(c, plugin);
  return { computed, mismatches: compare({ ...c.expect }, { ...computed }) };
}
