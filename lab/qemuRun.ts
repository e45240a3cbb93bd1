/**
 * `lab qemu`, the run: one source boot (savevm, then a live migration into a file on a shared
 * raw disk), then one boot per target (`-incoming` from that disk, observe; `-loadvm`, observe),
 * one outer VM at a time. Each restore is classified (qemuConsole.ts) and set beside the model's
 * prediction (qemuPlan.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { labHost, labKernel, LabKernel } from './catalogue';
import { classifyRestore, OuterConsole, RestoreObservation, savePoint, streamXstateBv } from './qemuConsole';
import { caseId, CaseJson, cellCase, compareCell, Endpoint, label, predict, Prediction, Restore, RESTORES, unavailable } from './qemuPlan';
import { concatInitrd, ensureOuterBase, ensureOuterKernel, Log, makeDisks, outerProblem, OuterRun, runOuter } from './qemuVmm';
import { labAccel } from './vm';
import { ensureKvmModules } from './artefacts';

export interface LabQemuOptions {
  source: Endpoint;
  targets: Endpoint[];
  /** seconds of CPU measurement per phase (init-outer.sh) */
  observe: number;
  guest: 'hlt' | 'busy';
  strace: boolean;
  /** per outer boot, ms */
  limitMs: number;
  /** keep consoles and disks here (default: a temporary folder, removed unless something failed) */
  keep?: string;
  log: Log;
}

export interface StreamInfo {
  xstateBv: string | null;
  offset: number | null;
  error: string | null;
  /** XSTATE_BV carries a bit outside x87|SSE (qemu64's guest-supported XCR0 is 0) */
  leaked: boolean | null;
}

export interface Cell {
  id: string;
  source: Endpoint;
  target: Endpoint;
  restore: Restore;
  /** null when the cell did not run (skipped or infrastructure) */
  observed: RestoreObservation | null;
  predicted: Prediction | null;
  agree: boolean | null;
  differences: string[];
  /** why it did not run */
  problem: string | null;
  case: CaseJson | null;
}

export interface LabQemuResult {
  date: string;
  accel: string;
  qemu: string | null;
  source: Endpoint & { release: string | null; bootMs: number | null; roundAtSavevm: number | null; roundAtMigrate: number | null; problem: string | null };
  stream: Record<Restore, StreamInfo>;
  cells: Cell[];
  workDir: string;
}

const LEAK_MASK = ~0x3n;

function readStream(file: string, restore: Restore): StreamInfo {
  try {
    const buf = fs.readFileSync(file);
    const r = streamXstateBv(buf);
    if ('error' in r) return { xstateBv: null, offset: null, error: `${restore}: ${r.error}`, leaked: null };
    return { xstateBv: '0x' + r.xstateBv.toString(16), offset: r.offset, error: null, leaked: (r.xstateBv & LEAK_MASK) !== 0n };
  } catch (e) {
    return { xstateBv: null, offset: null, error: (e as Error).message, leaked: null };
  }
}

/** Patched KVM modules of a lab kernel that has a build (lab/build/build-kvm.sh, cached); none for the stock kernels. */
async function kvmOverrides(k: LabKernel, log: Log): Promise<Map<string, string>> {
  return k.build ? ensureKvmModules(k, k.build, log) : new Map();
}

function summary(o: RestoreObservation, leaked: boolean | null, xstateBv: string | null): string {
  const bits = [
    `rounds ${o.firstRound ?? '-'}..${o.lastRound ?? '-'} (${o.lines} lines) after ${o.roundAtSave ?? '?'}`,
    o.badLines ? `check=BAD ${o.badLines}/${o.lines}${o.fpuReset ? ' (x87/SSE reset state)' : ''}` : 'checks ok',
    o.tscContinued === null ? 'TSC ?' : o.tscContinued ? 'TSC went on' : 'TSC started again',
    `kvmclock ${o.kvmclockAtSaveMs ?? '?'} -> ${o.kvmclockFirstMs ?? '?'} ms`,
    `vCPU ${o.vcpuPct ?? '?'}%`,
    `status ${o.vmStatus ?? '?'}`,
    `stderr ${o.qemuStderr.length ? JSON.stringify(o.qemuStderr.join(' | ')) : 'none'}`,
  ];
  if (o.strace.length) bits.push(`failed ioctls: ${o.strace.map((s) => /ioctl\(\d+, (\w+)/.exec(s)?.[1] ?? s).join(', ')}`);
  bits.push(`stream XSTATE_BV ${xstateBv ?? '?'}${leaked ? ' (leaked)' : ''}`);
  return bits.join('; ');
}

export async function runLabQemu(o: LabQemuOptions): Promise<LabQemuResult> {
  const work = o.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-lab-qemu-'));
  fs.mkdirSync(work, { recursive: true });
  const res: LabQemuResult = {
    date: new Date().toISOString(),
    accel: labAccel(),
    qemu: null,
    source: { ...o.source, release: null, bootMs: null, roundAtSavevm: null, roundAtMigrate: null, problem: null },
    stream: { migrate: { xstateBv: null, offset: null, error: 'not run', leaked: null }, savevm: { xstateBv: null, offset: null, error: 'not run', leaked: null } },
    cells: [],
    workDir: work,
  };
  const cellsFor = (t: Endpoint, problem: string | null): Cell[] =>
    RESTORES.map((restore) => ({ id: caseId(o.source, t, restore), source: o.source, target: t, restore, observed: null, predicted: null, agree: null, differences: [], problem, case: null }));

  const srcWhy = unavailable(o.source);
  if (srcWhy) {
    res.source.problem = srcWhy;
    for (const t of o.targets) res.cells.push(...cellsFor(t, `source: ${srcWhy}`));
    return res;
  }
  const base = await ensureOuterBase(o.log);
  res.qemu = base.version;
  const kernelFiles = async (e: Endpoint): Promise<{ initrd: string; vmlinuz: string }> => {
    const k = labKernel(e.kernel)!;
    const kf = await ensureOuterKernel(k, await kvmOverrides(k, o.log), o.log);
    return { vmlinuz: kf.vmlinuz, initrd: concatInitrd([base.file, kf.modules], path.join(work, `initrd-${e.kernel}.gz`)) };
  };
  const common = { observe: o.observe, guest: o.guest, strace: o.strace, limitMs: o.limitMs };

  // ---- source ----
  const disks = await makeDisks(work);
  const sk = await kernelFiles(o.source);
  o.log(`source ${label(o.source)}: booting (savevm, then migrate)`);
  let src: OuterRun;
  try {
    src = await runOuter({ role: 'source', ...sk, host: labHost(o.source.host)!, disks, consoleFile: path.join(work, 'source.console'), ...common });
  } catch (e) {
    res.source.problem = `source: ${(e as Error).message}`;
    for (const t of o.targets) res.cells.push(...cellsFor(t, res.source.problem));
    return res;
  }
  res.source.bootMs = src.ms;
  res.source.release = src.console.boot?.kernel ?? null;
  const sc: OuterConsole = src.console;
  let problem = outerProblem(src, `source ${label(o.source)}`);
  if (!problem && !sc.snapshotListed) problem = `source ${label(o.source)}: savevm left no snapshot xsg1 (console: ${src.consoleFile})`;
  if (!problem && (!sc.migrationCompleted || !sc.migrateBytes)) problem = `source ${label(o.source)}: the migration did not complete (console: ${src.consoleFile})`;
  const atSavevm = savePoint(sc, 'savevm');
  const atMigrate = savePoint(sc, 'migrate');
  res.source.roundAtSavevm = atSavevm?.round ?? null;
  res.source.roundAtMigrate = atMigrate?.round ?? null;
  if (problem) {
    res.source.problem = problem;
    for (const t of o.targets) res.cells.push(...cellsFor(t, problem));
    return res;
  }
  o.log(`source ${label(o.source)}: ${sc.boot?.kernel}, ${src.ms} ms, migrated at round ${atMigrate?.round}, saved at round ${atSavevm?.round}, stream ${sc.migrateBytes} bytes`);
  res.stream.migrate = readStream(disks.state, 'migrate');
  res.stream.savevm = readStream(disks.snap, 'savevm');
  const orig = { state: `${disks.state}.orig`, snap: `${disks.snap}.orig` };
  fs.copyFileSync(disks.state, orig.state);
  fs.copyFileSync(disks.snap, orig.snap);

  // ---- targets, one outer VM at a time ----
  for (const t of o.targets) {
    const why = unavailable(t);
    if (why) {
      res.cells.push(...cellsFor(t, why));
      continue;
    }
    fs.copyFileSync(orig.state, disks.state);
    fs.copyFileSync(orig.snap, disks.snap);
    const name = `target-${t.kernel}-${t.host}`;
    let run: OuterRun | null = null;
    let tp: string | null = null;
    try {
      const tk = await kernelFiles(t);
      o.log(`target ${label(t)}: booting (-incoming, then -loadvm)`);
      const boot = async (n: number): Promise<OuterRun> =>
        runOuter({ role: 'target', ...tk, host: labHost(t.host)!, disks, consoleFile: path.join(work, `${name}${n ? `.retry${n}` : ''}.console`), ...common });
      run = await boot(0);
      // A kernel that never reached /init (a TCG boot flake) touched neither disk: boot it once more.
      if (!run.console.boot && !run.timedOut) {
        o.log(`target ${label(t)}: the outer kernel did not reach /init (console ${run.consoleFile}); booting once more`);
        run = await boot(1);
      }
      tp = outerProblem(run, `target ${label(t)}`);
    } catch (e) {
      tp = `target ${label(t)}: ${(e as Error).message}`;
    }
    if (tp || !run) {
      res.cells.push(...cellsFor(t, tp));
      continue;
    }
    const pred = predict(o.source, t);
    for (const restore of RESTORES) {
      const phase = restore === 'migrate' ? 'migrate-in' : 'loadvm';
      const obs = classifyRestore(restore, run.console.phases.get(phase), restore === 'migrate' ? atMigrate : atSavevm);
      const stream = res.stream[restore];
      const cmp = compareCell(obs, stream.leaked, pred);
      const note = `observed ${res.date.slice(0, 10)} by \`xsave-harness lab qemu\` (${base.version}, outer ${res.accel}): ${restore === 'migrate' ? 'live migration into a file, -incoming' : 'savevm on qcow2, -loadvm'}; ${obs.outcome}: ${summary(obs, stream.leaked, stream.xstateBv)}`;
      res.cells.push({
        id: caseId(o.source, t, restore),
        source: o.source,
        target: t,
        restore,
        observed: obs,
        predicted: pred,
        agree: cmp.agree,
        differences: cmp.differences,
        problem: null,
        case: cellCase(o.source, t, restore, { outcome: obs.outcome, leaked: stream.leaked, note }),
      });
    }
    o.log(`target ${label(t)}: ${run.ms} ms`);
  }
  return res;
}

/** One printed line per cell. */
export function cellLine(c: Cell, stream: Record<Restore, StreamInfo>): string {
  const head = `${c.restore.padEnd(7)} ${label(c.source)} -> ${label(c.target).padEnd(24)}`;
  if (!c.observed) return `${head} NOT RUN: ${c.problem}`;
  const verdict = c.agree ? 'agree' : `DISAGREE (${c.differences.join('; ')})`;
  return `${head} observed ${c.observed.outcome.padEnd(11)} model ${c.predicted!.outcome.padEnd(10)} ${verdict}\n    ${summary(c.observed, stream[c.restore].leaked, stream[c.restore].xstateBv)}\n    why: ${c.observed.why.join('; ')}`;
}
