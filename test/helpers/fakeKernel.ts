// A kernel in a test: answers the executor's cases with the reference model, optionally with a
// planted bug. With no bug it must agree with kvm-check on every case (the fake is faithful);
// with one, kvm-check must find it and shrink it (issue 12: no /dev/kvm on the project's CI
// machine, so shrinking against a backend is tested against this).
import type { ThisMachine } from '../../cases/resolve';
import { CasesOutcome, RunCasesOptions } from '../../kvm/executor';
import type { ConformanceExecutor } from '../../kvm/conformance';
import { fxViewOfModel } from '../../kvm/guestFx';
import { CaseResult, CaseSpec, CpuidEntry, StepResult } from '../../kvm/protocol';
import { PVE_FIXUP, Vcpu, createVcpu, getXsave, getXsaveLegacy, guestView, setCpuid, setCpuidRefusal, setXcrs, setXsave } from '../../model';

const ERRNO: Record<string, number> = { EINVAL: 22, EPERM: 1 };

/** A bug the fake kernel carries: it may override the answer to KVM_SET_XCRS. */
export interface PlantedBug {
  name: string;
  /** an errno to return instead of calling the model (the state stays as it was), or null */
  setXcrs?: (vcpu: Vcpu, xcr0: bigint) => number | null;
}

/** The planted bug the tests use: KVM_SET_XCRS refuses any XCR0 with AVX (bit 2). */
export const REFUSES_AVX_XCR0: PlantedBug = { name: 'SET_XCRS refuses AVX', setXcrs: (_v, xcr0) => ((xcr0 & 4n) !== 0n ? 22 : null) };

/** The image a real-mode guest's FXSAVE would write for the model's state (guestFx.ts reads it back). */
function fxsaveImage(vcpu: Vcpu, machine: ThisMachine): Uint8Array {
  const v = fxViewOfModel(guestView(vcpu), machine.host);
  const img = new Uint8Array(512);
  const dv = new DataView(img.buffer);
  dv.setUint16(0, v.fcw, true);
  dv.setUint16(2, v.fsw, true);
  img[4] = v.ftw;
  if (v.pointers) img.set(Buffer.from(v.pointers, 'hex'), 6);
  dv.setUint32(24, v.mxcsr, true);
  v.st.forEach((h, i) => img.set(Buffer.from(h, 'hex'), 32 + 16 * i));
  v.xmm.forEach((h, i) => img.set(Buffer.from(h, 'hex'), 160 + 16 * i));
  return img;
}

function runCase(machine: ThisMachine, table: readonly CpuidEntry[], spec: CaseSpec, bug: PlantedBug | null): CaseResult {
  let vcpu = createVcpu(machine.kernel, machine.host);
  const steps: StepResult[] = [];
  let stoppedAt: number | null = null;
  spec.steps.forEach((s, i) => {
    let errno = 0;
    const r: StepResult = { op: s.op, skipped: false, errno: 0 };
    switch (s.op) {
      case 'setCpuid2':
      case 'setCpuid2Host': {
        const entries = [...(s.op === 'setCpuid2' ? (spec.cpuid ?? []) : table)];
        const refusal = setCpuidRefusal(machine.kernel, entries);
        if (refusal) errno = ERRNO[refusal]!;
        else setCpuid(vcpu, entries);
        break;
      }
      case 'setXcrs': {
        const planted = bug?.setXcrs?.(vcpu, s.xcr0) ?? null;
        if (planted !== null) errno = planted;
        else {
          const x = setXcrs(vcpu, s.xcr0);
          if (x.rc !== 0) errno = ERRNO[x.rc]!;
        }
        break;
      }
      case 'setXsave': {
        const x = setXsave(vcpu, s.region, machine.kernel.pvePatch !== null ? PVE_FIXUP : null);
        vcpu = x.vcpu;
        if (x.rc !== 0) errno = ERRNO[x.rc]!;
        break;
      }
      case 'getXsave': {
        const g = s.ioctl === 'xsave' ? getXsaveLegacy(vcpu) : getXsave(vcpu);
        if (g.rc !== 0) errno = ERRNO[g.rc]!;
        else r.xsave = g.region;
        break;
      }
      case 'getXcrs':
        r.xcrs = [{ xcr: 0, value: vcpu.xcr0 }];
        r.xcr0 = vcpu.xcr0;
        break;
      case 'run':
        r.run = { outcome: 'hlt', checkpoint: true, started: true, runErrno: 0, elapsedUs: 1, exits: [], fxsave: fxsaveImage(vcpu, machine) };
        break;
      default:
        break; // setSregs, setRegs: accepted
    }
    r.errno = errno;
    if (errno !== 0 && stoppedAt === null && s.op.startsWith('set')) stoppedAt = i;
    steps.push(r);
  });
  return { setupErrno: 0, aborted: false, stoppedAt, steps };
}

/** An executor whose kernel is the model of `machine`, with `bug` planted; counts the cases it ran. */
export function fakeKernel(machine: ThisMachine, table: readonly CpuidEntry[], bug: PlantedBug | null = null): ConformanceExecutor & { ran: number } {
  const fake = {
    ran: 0,
    async __runCases(cases: readonly CaseSpec[], opts: RunCasesOptions = {}): Promise<CasesOutcome> {
      const results = cases.map((c) => runCase(machine, table, c, bug));
      fake.ran += cases.length;
      opts.onChunk?.(cases.length, cases.length);
      return { ok: true, results };
    },
  };
  return fake;
}
