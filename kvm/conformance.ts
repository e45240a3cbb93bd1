/**
 * Conformance of the reference model with the running kernel: a conformance case is a short
 * sequence of vCPU ioctls on one fresh vCPU; the model (kernel `this` as calibrated) predicts the
 * return code of every SET step and what every GET step reads back; the executor runs the same
 * sequence for real; the two are compared step by step.
 *
 * What is compared, and nothing else:
 *  - SET_CPUID2 / SET_XCRS / SET_XSAVE: the errno (0, EINVAL, EPERM);
 *  - GET_XSAVE: the whole region, with the model's don't-care ranges (getXsave.ts: MXCSR_MASK and
 *    bytes 416-511) zeroed on both sides;
 *  - GET_XCRS: XCR0;
 *  - RUN: the guest reaches its checkpoint, and its own FXSAVE image of x87/SSE (guestFx.ts)
 *    equals the model's guest view (guestView.ts) projected the same way.
 * The fixup, when a case asks for it, is applied in TypeScript to the buffer before the real
 * KVM_SET_XSAVE, with the context the kernel patch would see: that is the patched kernel's path.
 */
import {
  Fixup,
  PVE_FIXUP,
  Vcpu,
  bytesEqual,
  createVcpu,
  fixupContext,
  getXsave,
  getXsaveLegacy,
  guestView,
  normalised,
  readU64,
  setCpuid,
  setCpuidRefusal,
  setXcrs,
  setXsave,
} from '../model';
import type { ThisMachine } from '../cases/resolve';
import { CasesOutcome, ExecutorInfraError, XsaveExecutor } from './executor';
import { FxView, diffFx, fxViewOfImage, fxViewOfModel } from './guestFx';
import { CaseResult, CaseSpec, GUEST, Step, StepResult, errnoName } from './protocol';
import type { CCase, CStep } from '../properties/arbitraries/conformance';

// The case types live with their generator (properties/arbitraries/conformance.ts, issue 12).
export type { CStep, CCase } from '../properties/arbitraries/conformance';

export interface StepPrediction {
  op: CStep['op'];
  errno: number;
  /** model's rejection reason, when the model refuses */
  reason?: string | null;
  /** GET_XSAVE: the region with don't-care ranges zeroed, and the ranges */
  region?: Uint8Array;
  dontCare?: Array<[number, number]>;
  xcr0?: bigint;
  fx?: FxView;
  fixupFired?: boolean;
}

export interface Prediction {
  steps: StepPrediction[];
  /** per SET_XSAVE step (by step index): the buffer handed to the real ioctl (after the fixup) */
  sent: Map<number, Uint8Array>;
}

const ERRNO: Record<string, number> = { EINVAL: 22, EPERM: 1 };

/**
 * The model's prediction for `c` on `machine`; `plugin` is the fixup under test (applied by the
 * VMM side to cases with `fixup`), `kernelPatch` what a kernel that carries the Proxmox patch
 * applies itself (default the patch as the model states it; the lab's patched kernels are
 * judged against a plug-in here: the real C patch is the reference).
 */
export function predictCase(machine: ThisMachine, c: CCase, plugin: Fixup = PVE_FIXUP, kernelPatch: Fixup = PVE_FIXUP): Prediction {
  let vcpu: Vcpu = createVcpu(machine.kernel, machine.host);
  const steps: StepPrediction[] = [];
  const sent = new Map<number, Uint8Array>();
  c.steps.forEach((s, i) => {
    switch (s.op) {
      case 'setCpuid2': {
        const refusal = setCpuidRefusal(machine.kernel, c.cpuid);
        if (!refusal) setCpuid(vcpu, c.cpuid);
        steps.push({ op: s.op, errno: refusal ? ERRNO[refusal]! : 0, reason: refusal });
        break;
      }
      case 'setCpuid2Host': {
        if (!c.hostTable) throw new Error('conformance case: setCpuid2Host needs hostTable');
        const refusal = setCpuidRefusal(machine.kernel, c.hostTable);
        if (!refusal) setCpuid(vcpu, c.hostTable);
        steps.push({ op: s.op, errno: refusal ? ERRNO[refusal]! : 0, reason: refusal });
        break;
      }
      case 'setXcrs': {
        const r = setXcrs(vcpu, s.xcr0);
        steps.push({ op: s.op, errno: r.rc === 0 ? 0 : ERRNO[r.rc]!, reason: r.reason });
        break;
      }
      case 'setXsave': {
        let buf = s.region;
        let fired = false;
        if (c.fixup) {
          buf = s.region.slice();
          plugin.fn(fixupContext(vcpu), buf);
          fired = !bytesEqual(buf, s.region);
        }
        sent.set(i, buf);
        // A kernel that carries the Proxmox patch applies it itself, on top of what was sent.
        const r = setXsave(vcpu, buf, machine.kernel.pvePatch !== null ? kernelPatch : null);
        vcpu = r.vcpu;
        steps.push({ op: s.op, errno: r.rc === 0 ? 0 : ERRNO[r.rc]!, reason: r.reason, fixupFired: fired });
        break;
      }
      case 'getXsave': {
        const g = s.ioctl === 'xsave' ? getXsaveLegacy(vcpu) : getXsave(vcpu);
        steps.push({ op: s.op, errno: g.rc === 0 ? 0 : ERRNO[g.rc]!, region: normalised(g.region, g.dontCare), dontCare: g.dontCare });
        break;
      }
      case 'getXcrs':
        steps.push({ op: s.op, errno: 0, xcr0: vcpu.xcr0 });
        break;
      case 'run':
        if (i !== c.steps.length - 1) throw new Error('conformance case: run must be the last step');
        steps.push({ op: s.op, errno: 0, fx: fxViewOfModel(guestView(vcpu), machine.host) });
        break;
    }
  });
  return { steps, sent };
}

/** A prediction shell that sends every buffer as it is (for cases without the fixup). */
export function unfixed(c: CCase): Prediction {
  const sent = new Map<number, Uint8Array>();
  c.steps.forEach((s, i) => {
    if (s.op === 'setXsave') sent.set(i, s.region);
  });
  return { steps: [], sent };
}

/** The executor's form of `c` (the buffers as `pred` says they are sent). */
export function toCaseSpec(c: CCase, pred: Prediction): CaseSpec {
  const steps: Step[] = [];
  if (c.steps.some((s) => s.op === 'run')) steps.push({ op: 'setSregs', osfxsr: true }, { op: 'setRegs' });
  c.steps.forEach((s, i) => {
    if (s.op === 'setXsave') steps.push({ op: 'setXsave', region: pred.sent.get(i)! });
    else steps.push(s as Step);
  });
  return { cpuid: c.cpuid, steps, policy: 'continue', timeoutMs: c.timeoutMs ?? 500, guestRip: GUEST.codeGpa };
}

export interface Disagreement {
  step: number;
  op: string;
  field: string;
  expected: string;
  actual: string;
}

function firstDiffs(a: Uint8Array, b: Uint8Array, max = 4): string {
  const out: string[] = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n && out.length < max; i++) if (a[i] !== b[i]) out.push(String(i));
  return out.join(',');
}

const hx = (v: bigint | number): string => '0x' + v.toString(16);

/** Compares the real results of one case with the prediction. */
export function compareCase(c: CCase, pred: Prediction, real: CaseResult): Disagreement[] {
  const out: Disagreement[] = [];
  if (real.setupErrno !== 0) {
    return [{ step: -1, op: 'setup', field: 'vcpu', expected: 'created', actual: `errno ${real.setupErrno}` }];
  }
  const offset = c.steps.some((s) => s.op === 'run') ? 2 : 0;
  for (let k = 0; k < offset; k++) {
    const s = real.steps[k]!;
    if (s.errno !== 0) out.push({ step: -1, op: s.op, field: 'errno', expected: 'OK', actual: errnoName(s.errno) });
  }
  pred.steps.forEach((p, i) => {
    const s: StepResult | undefined = real.steps[i + offset];
    if (!s || s.op !== p.op) {
      out.push({ step: i, op: p.op, field: 'step', expected: p.op, actual: s ? s.op : 'missing' });
      return;
    }
    if (s.skipped) {
      out.push({ step: i, op: p.op, field: 'skipped', expected: 'run', actual: 'skipped' });
      return;
    }
    if (p.op !== 'run' && s.errno !== p.errno) {
      out.push({ step: i, op: p.op, field: 'errno', expected: errnoName(p.errno) + (p.reason ? ` (${p.reason})` : ''), actual: errnoName(s.errno) });
      return;
    }
    if (p.op === 'getXsave' && p.region && s.errno === 0) {
      const got = s.xsave ? normalised(s.xsave, p.dontCare ?? []) : new Uint8Array(0);
      if (!bytesEqual(got, p.region)) {
        const field = got.length === p.region.length ? `region bytes ${firstDiffs(p.region, got)}` : 'region length';
        out.push({
          step: i,
          op: p.op,
          field,
          expected: `XSTATE_BV ${hx(readU64(p.region, 512))}`,
          actual: got.length >= 520 ? `XSTATE_BV ${hx(readU64(got, 512))}` : `${got.length} bytes`,
        });
      }
    }
    if (p.op === 'getXcrs' && p.xcr0 !== undefined && s.xcr0 !== p.xcr0) {
      out.push({ step: i, op: p.op, field: 'xcr0', expected: hx(p.xcr0), actual: s.xcr0 === undefined ? 'none' : hx(s.xcr0) });
    }
    if (p.op === 'run' && p.fx) {
      const run = s.run;
      if (!run || !run.checkpoint) {
        out.push({ step: i, op: p.op, field: 'checkpoint', expected: 'reached', actual: run ? `${run.outcome}, not reached` : 'no run result' });
        return;
      }
      const got = fxViewOfImage(run.fxsave);
      const d = diffFx(p.fx, got);
      if (d.length) {
        const show = (v: FxView): string => d.map((f) => `${f}=${fxField(v, f)}`).join(' ');
        out.push({ step: i, op: p.op, field: `guest ${d.join(',')}`, expected: show(p.fx), actual: show(got) });
      }
    }
  });
  return out;
}

function fxField(v: FxView, f: string): string {
  if (f === 'fcw' || f === 'fsw' || f === 'ftw' || f === 'mxcsr') return hx(v[f]);
  if (f === 'fop/fip/fdp') return String(v.pointers);
  const m = /^(st|xmm)(\d)$/.exec(f);
  if (m) return (m[1] === 'st' ? v.st : v.xmm)[Number(m[2])]!;
  return '?';
}

// ------------------------------------------------------------------ running a set of cases

export interface CaseOutcome {
  index: number;
  cls: string;
  status: 'agree' | 'disagree' | 'infra';
  disagreements: Disagreement[];
  real?: CaseResult;
}

export interface InfraEvent {
  chunk: number;
  firstCase: number;
  kind: string;
  message: string;
  /** the chunk was run again after the executor restarted, and completed */
  recovered: boolean;
  /** the chunk failed every retry: its cases are reported as lost */
  lost?: boolean;
}

export interface ConformanceRun {
  outcomes: CaseOutcome[];
  infra: InfraEvent[];
  predictions: Prediction[];
  elapsedMs: number;
  /** time spent waiting for the executor (encode, ioctls, decode) */
  executorMs: number;
}

/** What a conformance run needs of an executor (a fake kernel in tests answers the same call). */
export type ConformanceExecutor = Pick<XsaveExecutor, '__runCases'>;

export interface RunOptions {
  plugin?: Fixup;
  /** the model of the patch a patched kernel carries (predictCase); default the Proxmox patch */
  kernelPatch?: Fixup;
  chunkSize?: number;
  /** called after each chunk with the number of cases finished */
  onChunk?: (done: number, total: number) => void;
  /** how many times a chunk is retried after an infrastructure error (default 1) */
  retries?: number;
}

/**
 * Predicts, runs and compares `cases`. The cases go to the executor in chunks, pipelined; if the
 * executor dies or hangs (an infrastructure error), the chunks that completed are kept, the
 * executor is restarted and the run continues from the chunk that was lost (retried `retries`
 * times, then counted as lost and skipped).
 */
export async function runConformance(exec: ConformanceExecutor, machine: ThisMachine, cases: readonly CCase[], opts: RunOptions = {}): Promise<ConformanceRun> {
  const t0 = Date.now();
  const plugin = opts.plugin ?? PVE_FIXUP;
  const chunk = Math.max(1, opts.chunkSize ?? 500);
  const retries = opts.retries ?? 1;
  const predictions = cases.map((c) => predictCase(machine, c, plugin, opts.kernelPatch));
  const specs = cases.map((c, i) => toCaseSpec(c, predictions[i]!));
  const results: Array<CaseResult | null> = [];
  const infra: InfraEvent[] = [];
  let executorMs = 0;
  let attemptsHere = 0;
  while (results.length < specs.length) {
    const from = results.length;
    const te = Date.now();
    const r: CasesOutcome = await exec.__runCases(specs.slice(from), {
      chunkSize: chunk,
      onChunk: (done) => opts.onChunk?.(from + done, specs.length),
    });
    executorMs += Date.now() - te;
    results.push(...r.results);
    const open = infra.filter((e) => !e.recovered && !e.lost && e.firstCase < results.length && results[e.firstCase] !== null);
    for (const e of open) e.recovered = true;
    if (r.ok) break;
    const e = r.error;
    const at = results.length;
    if (at > from) attemptsHere = 0;
    infra.push({ chunk: Math.floor(at / chunk), firstCase: at, kind: e instanceof ExecutorInfraError ? e.kind : e.name, message: e.message.split('\n')[0]!, recovered: false });
    if (++attemptsHere > retries) {
      // Give up on this chunk: its cases are reported as lost, the run goes on after it.
      const lost = Math.min(chunk, specs.length - at);
      for (let k = 0; k < lost; k++) results.push(null);
      infra[infra.length - 1]!.lost = true;
      attemptsHere = 0;
    }
  }
  const outcomes: CaseOutcome[] = cases.map((c, index) => {
    const real = results[index];
    if (!real) return { index, cls: c.cls, status: 'infra', disagreements: [] };
    const d = compareCase(c, predictions[index]!, real);
    return { index, cls: c.cls, status: d.length ? 'disagree' : 'agree', disagreements: d, real };
  });
  return { outcomes, infra, predictions, elapsedMs: Date.now() - t0, executorMs };
}

export interface ClassCount {
  cls: string;
  cases: number;
  agree: number;
  disagree: number;
  infra: number;
}

export function countByClass(outcomes: readonly CaseOutcome[]): ClassCount[] {
  const m = new Map<string, ClassCount>();
  for (const o of outcomes) {
    const c = m.get(o.cls) ?? { cls: o.cls, cases: 0, agree: 0, disagree: 0, infra: 0 };
    c.cases++;
    c[o.status === 'agree' ? 'agree' : o.status === 'disagree' ? 'disagree' : 'infra']++;
    m.set(o.cls, c);
  }
  return [...m.values()].sort((a, b) => a.cls.localeCompare(b.cls));
}
