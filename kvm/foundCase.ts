/**
 * A kvm-check disagreement written as a corpus case (CASE-FORMAT v1, kind "ioctl", target
 * kernel and host "this"), so that `replay --backend kvm` reruns it on the running kernel and
 * `replay` (model) shows what the model still gets wrong. `expect` holds what the running kernel
 * did. A conformance case may hold more than one ioctl; the file keeps the CPUID table, the XCR0
 * in force at the KVM_SET_XSAVE nearest the disagreement, and that buffer. Whatever that
 * projection drops is said in the note.
 */
import * as path from 'node:path';
import { hex, readU64, toHex } from '../model';
import { FORMAT } from '../cases/caseFormat';
import { contentId, writeFileAtomic } from '../cases/files';
import { CCase, CaseOutcome, Prediction } from './conformance';
import { describeStep } from './calibration';
import { CaseResult, errnoName } from './protocol';

/** The case file's target kernel and host (default `this`: the running kernel). */
export interface FoundTarget {
  kernel: string;
  host: string;
}

export interface FoundCase {
  id: string;
  json: string;
  /** what the file cannot express of the original case */
  dropped: string[];
}

function cpuidJson(entries: CCase['cpuid']): object[] {
  return entries.map((e) => ({ leaf: hex(e.leaf), subleaf: e.subleaf, eax: hex(e.eax >>> 0), ebx: hex(e.ebx >>> 0), ecx: hex(e.ecx >>> 0), edx: hex(e.edx >>> 0) }));
}

export function foundCase(c: CCase, o: CaseOutcome, pred: Prediction, meta: { seed: string | number; release: string; kernelId: string; target?: FoundTarget }): FoundCase | null {
  const real: CaseResult | undefined = o.real;
  if (!real) return null;
  const offset = c.steps.some((s) => s.op === 'run') ? 2 : 0;
  const at = (i: number) => real.steps[i + offset];
  const firstBad = Math.max(0, Math.min(...o.disagreements.map((d) => (d.step < 0 ? 0 : d.step))));
  const sets = c.steps.map((s, i) => (s.op === 'setXsave' ? i : -1)).filter((i) => i >= 0);
  if (!sets.length) return null;
  const xi = [...sets].reverse().find((i) => i <= firstBad) ?? sets[0]!;
  const dropped: string[] = [];
  // CPUID: the table if the case set it (and the kernel took it) before that SET_XSAVE.
  const cpuidIdx = c.steps.findIndex((s) => s.op === 'setCpuid2');
  let vcpu: object = { cpuid: [] };
  if (cpuidIdx >= 0 && cpuidIdx < xi && at(cpuidIdx)?.errno === 0) {
    if (c.cpuid.length === 0) dropped.push('an empty CPUID table was set (the format has no way to say so; [] means never set)');
    vcpu = { cpuid: cpuidJson(c.cpuid) };
  } else if (cpuidIdx >= 0) {
    dropped.push(cpuidIdx > xi ? 'KVM_SET_CPUID2 after KVM_SET_XSAVE' : 'a KVM_SET_CPUID2 the kernel refused');
  }
  // XCR0 in force at the SET: the last SET_XCRS before it that the kernel accepted.
  let xcr0: bigint | undefined;
  c.steps.forEach((s, i) => {
    if (s.op === 'setXcrs' && i < xi && at(i)?.errno === 0) xcr0 = s.xcr0;
  });
  if (c.steps.some((s, i) => s.op === 'setXcrs' && i > xi)) dropped.push('KVM_SET_XCRS after KVM_SET_XSAVE');
  if (sets.length > 1) dropped.push(`${sets.length - 1} other KVM_SET_XSAVE call(s)`);
  if (c.steps.some((s) => s.op === 'run')) dropped.push('the guest run and its FXSAVE view');
  const step = c.steps[xi] as Extract<CCase['steps'][number], { op: 'setXsave' }>;
  const setReal = at(xi);
  const expect: Record<string, unknown> = {};
  if (setReal && !setReal.skipped && (setReal.errno === 0 || setReal.errno === 22)) expect['result'] = setReal.errno === 0 ? 'ok' : 'einval';
  if (c.fixup) expect['fixupFired'] = pred.steps[xi]?.fixupFired ?? false;
  const getIdx = c.steps.findIndex((s, i) => i > xi && s.op === 'getXsave');
  const nextSet = sets.find((i) => i > xi) ?? Infinity;
  const getReal = getIdx >= 0 && getIdx < nextSet ? at(getIdx) : undefined;
  // getXstateBv is KVM_GET_XSAVE's: a generated GET of a region past 4096 bytes was KVM_GET_XSAVE2's
  if (getReal?.xsave && getReal.errno === 0) expect[getReal.xsave.length > 4096 ? 'get2XstateBv' : 'getXstateBv'] = hex(readU64(getReal.xsave, 512));
  if (!Object.keys(expect).length) return null;
  const what = o.disagreements
    .slice(0, 3)
    .map((d) => `step ${d.step} ${d.step >= 0 ? describeStep(c.steps[d.step]!) : d.op}: ${d.field}: model ${d.expected}, kernel ${d.actual}`)
    .join('; ');
  const steps = c.steps.map((s, i) => `${describeStep(s)}→${at(i) ? errnoName(at(i)!.errno) : '?'}`).join(', ');
  const body = {
    vcpu,
    target: { kernel: meta.target?.kernel ?? 'this', fixup: c.fixup ? 'pve' : 'none', host: meta.target?.host ?? 'this' },
    ...(xcr0 !== undefined ? { xcr0: hex(xcr0) } : {}),
    xsave: { hex: toHex(step.region) },
    expect,
  };
  const draft = JSON.stringify(body);
  const id = `${meta.target && meta.target.kernel !== 'this' ? `lab.${meta.target.kernel}.${meta.target.host}`.replace(/[^a-z0-9._-]+/g, '.') : 'kvm-check'}.${o.cls.replace(/[^a-z0-9._-]+/g, '.')}.${contentId(draft)}`;
  const note =
    `kvm-check disagreement on kernel ${meta.release} (calibrated as ${meta.kernelId}; seed ${meta.seed}, case ${o.index}, class ${o.cls}, ${c.what ?? ''}). ` +
    `${what}. Steps as run: ${steps}. expect = what the running kernel did (real-KVM backend, CASE-FORMAT).` +
    (dropped.length ? ` Not expressible in this file: ${dropped.join('; ')}.` : '');
  const json = JSON.stringify({ format: FORMAT, kind: 'ioctl', id, note, ...body }, null, 2) + '\n';
  return { id, json, dropped };
}

/** Writes the case into `dir` (atomically, named by its content id); returns the path. */
export function writeFoundCase(dir: string, f: FoundCase): string {
  const file = path.join(dir, `${f.id}.json`);
  writeFileAtomic(file, f.json);
  return file;
}
