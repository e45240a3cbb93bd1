// The fuzz parent: forks the workers, adds up their coverage, writes each finding as a case
// file the moment it arrives, shows progress, and writes the report when the time budget is
// spent, a finding limit is reached, a worker fails or the user presses Ctrl-C.
import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import { Fixup } from '../model';
import { loadFixup } from '../cases/fixupLoader';
import { MigrationMatrix, computeMatrix, computeMatrixYielding } from '../properties/matrix';
import { PROPERTY_IDS } from '../properties/claims';
import { PropertyId } from '../properties/properties';
import { Coverage, addCoverage, emptyCoverage } from '../properties/coverage';
import { FindingRecord, findingKey, findingRecord, writeFindingCase } from './findings';
import { ParentMessage, StartMessage, WorkerMessage } from './protocol';
import { Shard } from './seeds';

/** Exit status of an interrupted run without findings (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export interface FuzzOptions {
  seed: number;
  seedSource: 'date' | 'option';
  /** --seed as given when it is a string, not an integer (seed is then derived from it) */
  seedText?: string;
  seconds: number;
  workers: number;
  fixupPath: string | null;
  shard: Shard | null;
  outDir: string;
  foundDir: string;
  maxFindings: number;
  batchRuns: number;
  properties: PropertyId[];
  /** 'tty': one self-updating line; 'plain': a line every progressMs */
  progress: 'tty' | 'plain';
  progressMs: number;
  /** a worker silent for this long is killed (a hung fixup) */
  stallSeconds: number;
  /** rewrite the report (marked partial) this often while running */
  checkpointMs: number;
  /** test hook: worker 0 throws after this many batches */
  crashAfterBatches?: number;
}

export interface FuzzIo {
  out(line: string): void;
  err(line: string): void;
  /** write without a newline (the TTY progress line) */
  raw(text: string): void;
  /** terminal width: the TTY line is cut to it so that it never wraps */
  columns?: number;
}

/**
 * The run so far, as the runner hands it to its reporter: at each checkpoint (final false) and
 * once at the end (final true).
 */
export interface FuzzSnapshot {
  final: boolean;
  fixup: Fixup;
  /** Date.now() at the start and now */
  started: number;
  finished: number;
  interrupted: boolean;
  /** why the run ended (null until it has) */
  stopReason: string | null;
  coverage: Coverage;
  findings: FindingRecord[];
  matrix: MigrationMatrix;
  errors: string[];
}

/** What a reporter says about the report it wrote. */
export interface FuzzReportWritten {
  files: { json: string; markdown: string; html: string };
  /** a finding or a failed claim: the run exits 1 */
  failed: boolean;
  /** the reasons the report is partial (empty: complete) */
  partialReasons: string[];
  /** the claims decided without random generation that fail (M1-M3), with one line each */
  failingClaims: string[];
  /** the decision-space table of the run, as text lines (report/decisionSpace.ts) */
  decisionSpace: string[];
}

/**
 * Builds and writes report.json, REVIEW.md and review.html from a snapshot. The runner is an
 * engine and knows no report format: the CLI hands one in (cli/fuzzReport.ts).
 */
export type FuzzReporter = (snapshot: FuzzSnapshot, opts: FuzzOptions) => FuzzReportWritten;

export interface FuzzResult {
  exitCode: number;
  written: FuzzReportWritten;
}

interface WorkerState {
  index: number;
  child: ChildProcess;
  done: boolean;
  exited: boolean;
  lastHeard: number;
  /** we killed it (after the stop grace period, a stall, or a second Ctrl-C) */
  killed: boolean;
}

const STOP_GRACE_MS = 15000;

function workerScript(): string {
  // worker.js next to this file in dist/, worker.ts under a TypeScript loader.
  return path.join(__dirname, `worker${path.extname(__filename)}`);
}

function progressLine(cov: Coverage, elapsedS: number, budgetS: number, findings: number): string {
  const rate = elapsedS > 0 ? Math.round(cov.cases / elapsedS) : 0;
  const fmtInt = (n: number): string => n.toLocaleString('en-US');
  const per = PROPERTY_IDS.map((id) => `${id} ${fmtInt(cov.byProperty[id].cases)}`).join(' ');
  const io = cov.ioctl;
  return `[${Math.floor(elapsedS)}s/${budgetS}s] ${fmtInt(cov.cases)} runs, ${fmtInt(rate)}/s | ${per} | valid ${fmtInt(io.valid)} leaked ${fmtInt(io.leaked)} other ${fmtInt(io.other)} rejected ${fmtInt(io.rejected)} | findings ${findings}`;
}

export async function runFuzz(opts: FuzzOptions, io: FuzzIo, reporter: FuzzReporter): Promise<FuzzResult> {
  const fixup: Fixup = await loadFixup(opts.fixupPath ?? undefined);
  const started = Date.now();
  const coverage = emptyCoverage();
  const findings: FindingRecord[] = [];
  const seen = new Set<string>();
  const errors: string[] = [];
  let interrupted = false;
  let stopReason: string | null = null;
  let lastProgressLen = 0;
  let matrix: MigrationMatrix | null = null;

  const clearTty = (): void => {
    if (opts.progress === 'tty' && lastProgressLen > 0) {
      io.raw('\r\x1b[K');
      lastProgressLen = 0;
    }
  };
  const say = (line: string): void => {
    clearTty();
    io.out(line);
  };

  const snapshot = (final: boolean): FuzzSnapshot => ({
    final,
    fixup,
    started,
    finished: Date.now(),
    interrupted,
    stopReason: final ? stopReason : null,
    coverage,
    findings,
    matrix: matrix ?? (matrix = computeMatrix(fixup)),
    errors,
  });

  const workers: WorkerState[] = [];
  let resolveAll!: () => void;
  const allExited = new Promise<void>((r) => (resolveAll = r));

  const stopAll = (reason: string): void => {
    if (stopReason !== null) return;
    stopReason = reason;
    for (const w of workers) {
      if (w.exited) continue;
      try {
        const m: ParentMessage = { type: 'stop' };
        if (w.child.connected) w.child.send(m);
      } catch {
        /* it is going away anyway */
      }
    }
    setTimeout(() => {
      for (const w of workers) {
        if (w.exited) continue;
        errors.push(`worker ${w.index} did not stop within ${STOP_GRACE_MS / 1000} s and was killed`);
        w.killed = true;
        w.child.kill('SIGKILL');
      }
    }, STOP_GRACE_MS).unref();
  };

  const onFinding = (w: WorkerState, raw: Extract<WorkerMessage, { type: 'finding' }>['finding']): void => {
    const key = findingKey(raw);
    if (seen.has(key)) return; // another worker found the same case in this run
    seen.add(key);
    let written: { file: string | null; duplicate: boolean };
    try {
      written = writeFindingCase(raw, opts.foundDir);
    } catch (e) {
      errors.push(`cannot write the case of ${key}: ${(e as Error).message}`);
      written = { file: null, duplicate: false };
    }
    const rec = findingRecord(raw, { ...written, fixupPath: opts.fixupPath, shard: opts.shard?.index ?? null });
    findings.push(rec);
    say(`FINDING ${rec.property} (${rec.title}): ${rec.reason}`);
    if (rec.error) say(`  exception: ${rec.error.split('\n')[0]}`);
    say(`  worker ${w.index}, seed ${rec.seed}, ${rec.numRuns} runs, fast-check path ${rec.path ?? 'n/a'}`);
    say(`  rerun:  ${rec.rerun}`);
    if (rec.file) say(`  case:   ${rec.file}${rec.duplicate ? ' (identical file already there: duplicate dropped)' : ''}`);
    if (rec.replay) say(`  replay: ${rec.replay}`);
    if (rec.caseError) say(`  no case file: ${rec.caseError}`);
    if (findings.length >= opts.maxFindings) stopAll(`${findings.length} finding${findings.length > 1 ? 's' : ''} (--max-findings ${opts.maxFindings})`);
  };

  const onExit = (w: WorkerState, code: number | null, signal: NodeJS.Signals | null): void => {
    w.exited = true;
    if (!w.done && !w.killed) {
      errors.push(`worker ${w.index} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})`);
      stopAll('a worker failed');
    }
    if (workers.every((x) => x.exited)) resolveAll();
  };

  for (let i = 0; i < opts.workers; i++) {
    const child = fork(workerScript(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.execArgv });
    const w: WorkerState = { index: i, child, done: false, exited: false, lastHeard: Date.now(), killed: false };
    workers.push(w);
    child.on('message', (m: WorkerMessage) => {
      w.lastHeard = Date.now();
      switch (m.type) {
        case 'ready':
          break;
        case 'progress':
          addCoverage(coverage, m.delta);
          break;
        case 'done':
          addCoverage(coverage, m.delta);
          w.done = true;
          break;
        case 'finding':
          onFinding(w, m.finding);
          break;
        case 'error':
          errors.push(`worker ${w.index}: ${m.message.split('\n')[0]}`);
          stopAll('a worker failed');
          break;
      }
    });
    child.on('error', (e) => {
      errors.push(`worker ${i}: ${e.message}`);
      stopAll('a worker failed');
    });
    child.on('exit', (code, signal) => onExit(w, code, signal));
    const start: StartMessage = {
      type: 'start',
      worker: i,
      baseSeed: opts.seed,
      shard: opts.shard ?? { index: 1, count: 1 },
      fixupPath: opts.fixupPath ? path.resolve(opts.fixupPath) : null,
      batchRuns: opts.batchRuns,
      properties: opts.properties,
      ...(opts.crashAfterBatches !== undefined && i === 0 ? { crashAfterBatches: opts.crashAfterBatches } : {}),
    };
    child.send(start);
  }

  // The matrix is needed for every report; compute it while the workers run, yielding so that
  // their messages (findings, the stop) are handled meanwhile. A report asked for before it is
  // done computes it at once (snapshot).
  computeMatrixYielding(fixup).then(
    (m) => {
      matrix ??= m;
    },
    () => undefined, // left null: the snapshot computes it at once and throws there, as before
  );

  const onSignal = (sig: NodeJS.Signals): void => {
    if (!interrupted) {
      interrupted = true;
      say(`${sig}: stopping the workers and writing a partial report (again to kill them at once)`);
      stopAll(`interrupted by ${sig}`);
    } else {
      for (const w of workers) {
        if (!w.exited) {
          w.killed = true;
          w.child.kill('SIGKILL');
        }
      }
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const deadline = setTimeout(() => {
    stopAll('time budget spent');
  }, opts.seconds * 1000);

  const progress = setInterval(
    () => {
      const line = progressLine(coverage, (Date.now() - started) / 1000, opts.seconds, findings.length);
      if (opts.progress === 'tty') {
        const cut = io.columns && io.columns > 20 && line.length >= io.columns ? `${line.slice(0, io.columns - 2)}…` : line;
        io.raw(`\r\x1b[K${cut}`);
        lastProgressLen = cut.length;
      } else io.out(line);
    },
    opts.progress === 'tty' ? 250 : opts.progressMs,
  );

  const watchdog = setInterval(() => {
    const now = Date.now();
    for (const w of workers) {
      if (w.exited || w.done) continue;
      if (now - w.lastHeard > opts.stallSeconds * 1000) {
        errors.push(`worker ${w.index} sent nothing for ${opts.stallSeconds} s (a hung fixup?) and was killed`);
        w.killed = true;
        w.child.kill('SIGKILL');
        stopAll('a worker stalled');
      }
    }
  }, 1000);

  const checkpoint = setInterval(() => {
    try {
      reporter(snapshot(false), opts);
    } catch (e) {
      errors.push(`checkpoint report: ${(e as Error).message}`);
    }
  }, opts.checkpointMs);

  try {
    await allExited;
  } finally {
    clearTimeout(deadline);
    clearInterval(progress);
    clearInterval(watchdog);
    clearInterval(checkpoint);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  clearTty();

  const written = reporter(snapshot(true), opts);
  const elapsed = (Date.now() - started) / 1000;
  io.out(progressLine(coverage, elapsed, opts.seconds, findings.length));
  for (const line of written.decisionSpace) io.out(line);
  for (const line of written.failingClaims) io.out(line);
  for (const e of errors) io.err(`error: ${e}`);
  io.out(`stopped: ${stopReason ?? 'unknown'}`);
  io.out(`report: ${written.files.json} (${written.partialReasons.length ? `PARTIAL: ${written.partialReasons.join('; ')}` : 'complete'})`);
  io.out(`        ${written.files.markdown}`);
  io.out(`        ${written.files.html}`);
  let exitCode = 0;
  if (written.failed) exitCode = 1;
  else if (errors.length) exitCode = 2;
  else if (interrupted) exitCode = EXIT_INTERRUPTED;
  io.out(
    exitCode === 0
      ? `no finding in ${coverage.cases.toLocaleString('en-US')} runs`
      : exitCode === 1
        ? `${findings.length} finding(s)${written.failingClaims.length ? ' and failing claims' : ''}`
        : exitCode === 2
          ? 'infrastructure error'
          : 'interrupted',
  );
  return { exitCode, written };
}
