// One machine's conformance check, shared by kvm-check (the running kernel) and kvm-check --lab
// (labCheck.ts): generate, predict, run, compare; print the summary; write each disagreement
// as a case file.
import { CaseOutcome, ConformanceExecutor, ConformanceRun, countByClass, runConformance } from '../kvm/conformance';
import { MachineCalibration } from '../kvm/calibration';
import { FoundTarget, foundCase, writeFoundCase } from '../kvm/foundCase';
import { CCase } from '../kvm/conformance';
import { conformanceSeed } from '../kvm/generate';
import { describeSteps, shrinkDisagreement } from '../kvm/shrink';
import { sampleConformanceCases } from '../properties/arbitraries/conformance';
import { shellSeed } from '../cases/seedText';
import type { ThisMachine } from '../cases/resolve';
import type { Fixup } from '../model';
import { EXIT, UsageError } from './exitCodes';

const MAX_FOUND_FILES = 100;
/** Disagreements shrunk per run (each costs up to --shrink executor runs). */
const MAX_SHRUNK = 3;

export function positiveInt(name: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name}: expected a positive integer, got "${v}"`);
  return Number(v);
}

export interface LeakDemo {
  /** leaked states run without the fixup / refused by the running kernel */
  withoutFixup: number;
  refusedWithoutFixup: number;
  withFixup: number;
  acceptedWithFixup: number;
  /** of those accepted with the fixup, read back (GET_XSAVE, GET_XCRS) as the model predicts */
  readBackAsPredicted: number;
}

function setErrno(c: CCase, o: CaseOutcome): number | null {
  const i = c.steps.findIndex((s) => s.op === 'setXsave');
  const s = o.real?.steps[i + (c.steps.some((x) => x.op === 'run') ? 2 : 0)];
  return s && !s.skipped ? s.errno : null;
}

export function leakDemo(cases: readonly CCase[], run: ConformanceRun): LeakDemo {
  const d: LeakDemo = { withoutFixup: 0, refusedWithoutFixup: 0, withFixup: 0, acceptedWithFixup: 0, readBackAsPredicted: 0 };
  for (const o of run.outcomes) {
    const c = cases[o.index]!;
    const e = setErrno(c, o);
    if (o.cls === 'leaked/no-fixup') {
      d.withoutFixup++;
      if (e === 22) d.refusedWithoutFixup++;
    } else if (o.cls === 'leaked/fixup') {
      d.withFixup++;
      if (e === 0) {
        d.acceptedWithFixup++;
        if (o.status === 'agree') d.readBackAsPredicted++;
      }
    }
  }
  return d;
}

export interface KvmCheckReport {
  seed: string;
  cases: number;
  steps: number;
  agree: number;
  disagree: number;
  infra: number;
  elapsedMs: number;
  generateMs: number;
  casesPerSec: number;
  byClass: ReturnType<typeof countByClass>;
  byCpuid: ReturnType<typeof countByClass>;
  leaked: LeakDemo;
  infraErrors: ConformanceRun['infra'];
  disagreements: Array<{ index: number; cls: string; what: string; details: string[]; file: string | null }>;
  /** with --shrink: the first disagreements, shrunk against the same backend */
  shrunk: ShrunkReport[];
  calibration: Omit<MachineCalibration, 'table' | 'kernel' | 'host'> & { kernel: string; host: { name: string; xcr0: string; vendor: string; mxcsrMask: string; kernelXrstor: string } };
}

export interface ShrunkReport {
  /** the original disagreeing case, and its record in fast-check's run */
  index: number;
  record: number;
  cls: string;
  what: string;
  /** the shrunk case's steps, one line */
  steps: string;
  details: string[];
  /** candidates run on the backend, and whether the budget ran out first */
  shrinkSteps: number;
  exhausted: boolean;
  /** fast-check's path of the shrunk record (with the seed it replays it) */
  path: string | null;
  file: string | null;
  /** reruns the check, which shrinks the same disagreement again */
  rerun: string;
}

export interface CheckOptions {
  n: number;
  chunk: number;
  seed: string;
  plugin: Fixup;
  json: boolean;
  found: string;
  t0: number;
  /** how disagreements are written: the case file's target, and the replay backend */
  target: FoundTarget & { backend: string; release: string; calibratedAs: string };
  onChunk?: (done: number, total: number) => void;
  /** one line of output (default console.log unless json) */
  log?: (s: string) => void;
  /** shrink the first disagreements, each with at most this many candidate runs (0: no shrinking) */
  shrink?: number;
  /** the command that reruns this check (default: kvm-check on the running kernel) */
  rerun?: string;
}

/** Generates, predicts, runs and compares the cases on one machine; prints the summary. */
export async function checkMachine(exec: ConformanceExecutor, cal: MachineCalibration, machine: ThisMachine, o: CheckOptions): Promise<{ report: KvmCheckReport; exit: number }> {
  const { n, chunk, seed, plugin, t0 } = o;
  const log = o.log ?? ((s: string): void => {
    if (!o.json) console.log(s);
  });
  const values = { found: o.found, json: o.json };
  {
    const tg = Date.now();
    // On a kernel that carries the patch in C, the kernel applies it: nothing is applied on the
    // VMM side, and the fixup under test is the model of the kernel's patch (the real one is
    // the reference it is judged against).
    const patched = machine.kernel.pvePatch !== null;
    // Drawn from the fast-check arbitrary (issue 12), so that a disagreement shrinks.
    const fcSeed = conformanceSeed(seed);
    const ctx = { machine, table: cal.table, size: cal.size };
    const sample = sampleConformanceCases(ctx, n, fcSeed);
    const prepare = (c: CCase): CCase => (patched ? { ...c, fixup: false } : c);
    const cases = sample.cases.map(prepare);
    const generateMs = Date.now() - tg;
    log(`kvm-check: seed ${seed}${String(fcSeed) !== seed ? ` (fast-check seed ${fcSeed})` : ''}, ${cases.length} cases, fixup ${plugin.name}${patched ? ` (as the model of the kernel's own patch, ${machine.kernel.pvePatch}; nothing applied on the VMM side)` : ''}`);
    const result = await runConformance(exec, machine, cases, patched ? { kernelPatch: plugin, chunkSize: chunk, onChunk: o.onChunk } : { plugin, chunkSize: chunk, onChunk: o.onChunk });
    for (const e of result.infra) {
      log(`  INFRASTRUCTURE ERROR in chunk ${e.chunk} (cases ${e.firstCase}…): ${e.kind}: ${e.message}${e.recovered ? ' — executor restarted, chunk rerun, earlier results kept' : e.lost ? ' — chunk lost after retrying' : ' — retried'}`);
    }
    const byClass = countByClass(result.outcomes);
    const byCpuid = countByClass(result.outcomes.map((o) => ({ ...o, cls: (cases[o.index]!.what ?? '').split(';')[0]!.replace(/^model\/.*/, 'model/*') })));
    const agree = result.outcomes.filter((o) => o.status === 'agree').length;
    const infra = result.outcomes.filter((o) => o.status === 'infra').length;
    const bad = result.outcomes.filter((o) => o.status === 'disagree');
    const steps = cases.reduce((a, c) => a + c.steps.length, 0);
    const leaked = leakDemo(cases, result);
    const disagreements: KvmCheckReport['disagreements'] = [];
    let written = 0;
    for (const oc of bad) {
      const c = cases[oc.index]!;
      let file: string | null = null;
      if (written < MAX_FOUND_FILES) {
        const f = foundCase(c, oc, result.predictions[oc.index]!, { seed, release: o.target.release, kernelId: o.target.calibratedAs, target: o.target });
        if (f) {
          file = writeFoundCase(values.found, f);
          written++;
        }
      }
      disagreements.push({
        index: oc.index,
        cls: oc.cls,
        what: c.what ?? '',
        details: oc.disagreements.map((d) => `step ${d.step} ${d.op}: ${d.field}: model ${d.expected}, kernel ${d.actual}`),
        file,
      });
    }
    const shrunk: ShrunkReport[] = [];
    if (o.shrink && bad.length) {
      const rerun = `${o.rerun ?? `xsave-harness kvm-check --cases ${n} --seed ${shellSeed(seed)}`} --shrink ${o.shrink}`;
      const done = new Set<number>();
      for (const oc of bad) {
        const record = sample.record[oc.index]!;
        if (done.has(record)) continue; // the other half of a leaked pair
        if (done.size >= MAX_SHRUNK) break;
        done.add(record);
        const r = await shrinkDisagreement(exec, machine, ctx, { seed: fcSeed, record, maxSteps: o.shrink, prepare, ...(patched ? { kernelPatch: plugin } : { plugin }) });
        if (!r) {
          log(`SHRINK case ${oc.index}: no longer disagrees when run again (not shrunk)`);
          continue;
        }
        const c = r.cases[r.at]!;
        let file: string | null = null;
        const f = foundCase(c, r.outcome, r.prediction, { seed, release: o.target.release, kernelId: o.target.calibratedAs, target: o.target });
        if (f) file = writeFoundCase(values.found, f);
        shrunk.push({
          index: oc.index,
          record,
          cls: c.cls,
          what: c.what ?? '',
          steps: describeSteps(c),
          details: r.outcome.disagreements.map((d) => `step ${d.step} ${d.op}: ${d.field}: model ${d.expected}, kernel ${d.actual}`),
          shrinkSteps: r.steps,
          exhausted: r.exhausted,
          path: r.path,
          file,
          rerun,
        });
      }
    }
    const elapsedMs = Date.now() - t0;
    const report: KvmCheckReport = {
      seed,
      cases: cases.length,
      steps,
      agree,
      disagree: bad.length,
      infra,
      elapsedMs,
      generateMs,
      casesPerSec: Math.round((cases.length / Math.max(1, result.elapsedMs)) * 1000),
      byClass,
      byCpuid,
      leaked,
      infraErrors: result.infra,
      disagreements,
      shrunk,
      calibration: (() => {
        const { table: _t, kernel, host, ...rest } = cal;
        void _t;
        return {
          ...rest,
          kernel: kernel.id,
          host: { name: host.name, xcr0: '0x' + host.xcr0.toString(16), vendor: host.vendor, mxcsrMask: '0x' + host.mxcsrMask.toString(16), kernelXrstor: host.kernelXrstor ?? 'standard' },
        };
      })(),
    };
    if (!values.json) {
      const w = Math.max(...byClass.map((c) => c.cls.length), 10);
      const row = (a: string, b: string | number, c: string | number, d: string | number): string => `  ${a.padEnd(w)} ${String(b).padStart(7)} ${String(c).padStart(7)} ${String(d).padStart(9)}`;
      log(row('class', 'cases', 'agree', 'disagree'));
      for (const c of byClass) log(row(c.cls, c.cases, c.agree, c.disagree + (c.infra ? ` +${c.infra} infra` : '')));
      log(`  by CPUID scenario: ${byCpuid.map((c) => `${c.cls} ${c.agree}/${c.cases}`).join(', ')}`);
      log(
        `leaked states on ${o.target.host === 'this' ? 'this host' : `host ${o.target.host}`} (${(cal.host.xcr0 >> 9n) & 1n ? 'with' : 'without'} PKRU): refused without the fixup ${leaked.refusedWithoutFixup}/${leaked.withoutFixup}, ` +
          `accepted with it ${leaked.acceptedWithFixup}/${leaked.withFixup}, read back as the model predicts ${leaked.readBackAsPredicted}/${leaked.acceptedWithFixup}`,
      );
      for (const d of disagreements.slice(0, 20)) {
        log(`DISAGREE case ${d.index} [${d.cls}] ${d.what}`);
        for (const x of d.details.slice(0, 4)) log(`    ${x}`);
        if (d.file) log(`    case file: ${d.file}   (replay: xsave-harness replay --backend ${o.target.backend} ${d.file})`);
      }
      if (disagreements.length > 20) log(`… ${disagreements.length - 20} more disagreements (--json lists all)`);
      if (bad.length > MAX_FOUND_FILES) log(`(only the first ${MAX_FOUND_FILES} disagreements were written as case files)`);
      for (const x of shrunk) {
        log(`SHRUNK case ${x.index} [${x.cls}] in ${x.shrinkSteps} shrink step(s)${x.exhausted ? ` (the --shrink budget ran out: maybe not minimal)` : ''}: ${x.what}`);
        log(`    steps: ${x.steps}`);
        for (const d of x.details.slice(0, 4)) log(`    ${d}`);
        log(`    seed ${seed}, fast-check seed ${fcSeed}, record ${x.record}, shrunk path ${x.path ?? '?'}`);
        if (x.file) log(`    case file: ${x.file}   (replay: xsave-harness replay --backend ${o.target.backend} ${x.file})`);
        log(`    rerun: ${x.rerun}`);
      }
      log(
        `agreement: ${agree}/${cases.length} cases (${((100 * agree) / cases.length).toFixed(2)}%), ${steps} ioctl steps, ` +
          `${infra ? `${infra} cases lost to infrastructure errors, ` : ''}${result.infra.length} infrastructure errors; ` +
          `${(elapsedMs / 1000).toFixed(1)} s in all (generate ${generateMs} ms, predict+run+compare ${result.elapsedMs} ms, ${report.casesPerSec} cases/s)`,
      );
    }
    const exit = infra > 0 ? EXIT.UNUSABLE : bad.length ? EXIT.FAILED : EXIT.OK;
    return { report, exit };
  }
}

