/**
 * Driver for executor/build/xsave-exec: spawns it, sends batches over its stdin, parses replies
 * from its stdout. One request is in flight at a time (requests are queued).
 *
 * Errors are typed:
 *  - ExecutorInfraError: the executor could not be spawned, died (e.g. kill -9), hung past the
 *    watchdog, or sent an undecodable reply. The pending batch is lost; the executor is restarted
 *    on the next request (`restarts` counts it). Results of batches (chunks) that completed
 *    earlier are kept and returned alongside the error.
 *  - ExecutorRequestError: the executor answered with an error status (malformed request, limit,
 *    KVM unavailable). The executor keeps running (except for BAD_FRAME, after which it exits).
 *  - ProtocolError: a request could not be encoded (caller error).
 *
 * `__`-prefixed methods return a Result; the plain ones throw (KVM selftests style).
 */
import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import { defaultExecutorPath } from './available';
import {
  CaseResult,
  CaseSpec,
  FrameSplitter,
  LIMITS,
  ProbeInfo,
  ProtocolError,
  Reply,
  decodeReply,
  encodeCases,
  encodePing,
  encodeProbe,
  frame,
} from './protocol';

export type InfraKind = 'spawn' | 'died' | 'timeout' | 'protocol' | 'closed';

export class ExecutorInfraError extends Error {
  constructor(
    readonly kind: InfraKind,
    message: string,
    readonly exitCode: number | null = null,
    readonly signal: NodeJS.Signals | null = null,
    readonly stderrTail = '',
  ) {
    super(`executor ${kind}: ${message}${stderrTail ? `\n--- executor stderr (tail) ---\n${stderrTail}` : ''}`);
    this.name = 'ExecutorInfraError';
  }
}

export class ExecutorRequestError extends Error {
  constructor(
    readonly status: number,
    readonly statusName: string,
    readonly detail: string,
  ) {
    super(`executor refused the request: ${statusName}: ${detail}`);
    this.name = 'ExecutorRequestError';
  }
}

export type ExecutorError = ExecutorInfraError | ExecutorRequestError | ProtocolError;
export type Result<T> = { ok: true; value: T } | { ok: false; error: ExecutorError };

export type CasesOutcome =
  | { ok: true; results: CaseResult[] }
  | { ok: false; error: ExecutorError; /** results of the chunks that completed before the error */ results: CaseResult[] };

/** Thrown by runCases; carries the results received before the failure. */
export class CasesError extends Error {
  constructor(
    readonly error: ExecutorError,
    readonly partial: CaseResult[],
  ) {
    super(`${error.message} (after ${partial.length} completed cases)`);
    this.name = 'CasesError';
  }
}

export interface ExecutorOptions {
  /** Binary path; default executor/build/xsave-exec (or $XSAVE_EXEC). */
  binary?: string;
  /** Extra environment for the executor (e.g. ASAN_OPTIONS). */
  env?: Record<string, string>;
  /** Watchdog base per request, added to the guest run time budget; default 10 s. */
  baseTimeoutMs?: number;
  /** Cases per request; default 512. */
  chunkSize?: number;
}

export interface RunCasesOptions {
  chunkSize?: number;
  /** Called after each chunk completes with the number of cases done so far. */
  onChunk?: (done: number, total: number) => void;
}

interface Pending {
  proc: ChildProcessWithoutNullStreams;
  seq: number;
  resolve: (r: Reply) => void;
  reject: (e: ExecutorInfraError) => void;
  timer: NodeJS.Timeout;
}

const STDERR_TAIL = 4096;

function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

function asExecutorError(e: unknown): ExecutorError {
  if (e instanceof ExecutorInfraError || e instanceof ExecutorRequestError || e instanceof ProtocolError) return e;
  return new ExecutorInfraError('protocol', e instanceof Error ? e.message : String(e));
}

export class XsaveExecutor {
  readonly binary: string;
  /** Number of times the executor was (re)started after the first start. */
  restarts = 0;
  private starts = 0;
  private proc: ChildProcessWithoutNullStreams | undefined;
  private splitter = new FrameSplitter();
  private pending: Pending | undefined;
  private stderrTail = '';
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly opts: ExecutorOptions;

  constructor(opts: ExecutorOptions = {}) {
    this.opts = opts;
    this.binary = opts.binary ?? defaultExecutorPath();
  }

  /** PID of the running executor, if any. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Recent stderr output of the executor (diagnostics). */
  get stderr(): string {
    return this.stderrTail;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.proc) return this.proc;
    if (this.starts > 0) this.restarts++;
    this.starts++;
    this.splitter = new FrameSplitter();
    this.stderrTail = '';
    const proc = spawn(this.binary, [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...(this.opts.env ?? {}) },
    });
    this.proc = proc;
    proc.stdout.on('data', (chunk: Buffer) => this.onData(proc, chunk));
    proc.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    proc.stdin.on('error', () => {
      /* EPIPE when the executor died; reported through 'close'. */
    });
    proc.on('error', (err) => {
      if (this.proc === proc) this.proc = undefined;
      this.failPending(proc, new ExecutorInfraError('spawn', `${this.binary}: ${err.message}`, null, null, this.stderrTail));
    });
    proc.on('close', (code, signal) => {
      if (this.proc === proc) this.proc = undefined;
      this.failPending(
        proc,
        new ExecutorInfraError('died', `exited with ${signal ? `signal ${signal}` : `code ${code}`}`, code, signal, this.stderrTail),
      );
    });
    return proc;
  }

  private onData(proc: ChildProcessWithoutNullStreams, chunk: Buffer): void {
    if (this.proc !== proc) return;
    let frames: Uint8Array[];
    try {
      frames = this.splitter.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    } catch (e) {
      this.abandon(proc, new ExecutorInfraError('protocol', (e as Error).message, null, null, this.stderrTail));
      return;
    }
    for (const body of frames) {
      const p = this.pending;
      if (!p) {
        this.abandon(proc, new ExecutorInfraError('protocol', 'unsolicited reply', null, null, this.stderrTail));
        return;
      }
      let reply: Reply;
      try {
        reply = decodeReply(body);
      } catch (e) {
        this.abandon(proc, new ExecutorInfraError('protocol', `undecodable reply: ${(e as Error).message}`, null, null, this.stderrTail));
        return;
      }
      // Error replies to unreadable requests carry seq 0; raw requests (seq -1) accept any seq.
      if (p.seq !== -1 && reply.seq !== p.seq && !(reply.kind === 'error' && reply.seq === 0)) {
        this.abandon(proc, new ExecutorInfraError('protocol', `reply seq ${reply.seq}, expected ${p.seq}`, null, null, this.stderrTail));
        return;
      }
      this.pending = undefined;
      clearTimeout(p.timer);
      p.resolve(reply);
    }
  }

  /** Fails the pending request if it was sent to `proc` (a late event of an old process is ignored). */
  private failPending(proc: ChildProcessWithoutNullStreams, err: ExecutorInfraError): void {
    const p = this.pending;
    if (!p || p.proc !== proc) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.reject(err);
  }

  /** Kill the process (it cannot be trusted any more) and fail the pending request. */
  private abandon(proc: ChildProcessWithoutNullStreams, err: ExecutorInfraError): void {
    if (this.proc === proc) this.proc = undefined;
    proc.kill('SIGKILL');
    this.failPending(proc, err);
  }

  /** Sends raw bytes (already framed or not) and waits for one reply. */
  private exchange(bytes: Uint8Array, seq: number, budgetMs: number): Promise<Reply> {
    const run = async (): Promise<Reply> => {
      if (this.closed) throw new ExecutorInfraError('closed', 'executor was closed');
      const proc = this.start();
      return new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.abandon(proc, new ExecutorInfraError('timeout', `no reply within ${budgetMs} ms`, null, null, this.stderrTail));
        }, budgetMs);
        this.pending = { proc, seq, resolve, reject, timer };
        proc.stdin.write(bytes);
      });
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private async request(body: Uint8Array, seq: number, budgetMs: number): Promise<Result<Reply>> {
    try {
      const reply = await this.exchange(frame(body), seq, budgetMs);
      if (reply.kind === 'error') return { ok: false, error: new ExecutorRequestError(reply.status, reply.statusName, reply.message) };
      return ok(reply);
    } catch (e) {
      return { ok: false, error: asExecutorError(e) };
    }
  }

  private base(): number {
    return this.opts.baseTimeoutMs ?? 10_000;
  }

  async __ping(): Promise<Result<{ pid: number; version: number }>> {
    const seq = this.nextSeq();
    const r = await this.request(encodePing(seq), seq, this.base());
    if (!r.ok) return r;
    if (r.value.kind !== 'ping') return { ok: false, error: new ExecutorInfraError('protocol', `ping answered with ${r.value.kind}`) };
    return ok({ pid: r.value.pid, version: r.value.version });
  }

  async ping(): Promise<{ pid: number; version: number }> {
    return unwrap(await this.__ping());
  }

  async __probe(): Promise<Result<ProbeInfo>> {
    const seq = this.nextSeq();
    const r = await this.request(encodeProbe(seq), seq, this.base());
    if (!r.ok) return r;
    if (r.value.kind !== 'probe') return { ok: false, error: new ExecutorInfraError('protocol', `probe answered with ${r.value.kind}`) };
    return ok(r.value.probe);
  }

  async probe(): Promise<ProbeInfo> {
    return unwrap(await this.__probe());
  }

  /** Runs cases in chunks; on failure returns the results of the chunks that completed. */
  async __runCases(cases: readonly CaseSpec[], opts: RunCasesOptions = {}): Promise<CasesOutcome> {
    const chunk = Math.max(1, Math.min(opts.chunkSize ?? this.opts.chunkSize ?? 512, LIMITS.maxCases));
    const results: CaseResult[] = [];
    for (let i = 0; i < cases.length; i += chunk) {
      const part = cases.slice(i, i + chunk);
      const seq = this.nextSeq();
      let body: Uint8Array;
      try {
        body = encodeCases(seq, part);
      } catch (e) {
        return { ok: false, error: asExecutorError(e), results };
      }
      const r = await this.request(body, seq, this.base() + runBudgetMs(part));
      if (!r.ok) return { ok: false, error: r.error, results };
      const reply = r.value;
      if (reply.kind !== 'cases' || reply.cases.length !== part.length) {
        const err = new ExecutorInfraError('protocol', `expected ${part.length} case results, got ${reply.kind}`);
        return { ok: false, error: err, results };
      }
      results.push(...reply.cases);
      opts.onChunk?.(results.length, cases.length);
    }
    return { ok: true, results };
  }

  async runCases(cases: readonly CaseSpec[], opts: RunCasesOptions = {}): Promise<CaseResult[]> {
    const r = await this.__runCases(cases, opts);
    if (!r.ok) throw new CasesError(r.error, r.results);
    return r.results;
  }

  async runCase(c: CaseSpec): Promise<CaseResult> {
    return (await this.runCases([c]))[0];
  }

  /**
   * Sends `bytes` verbatim (no framing added) and waits for one reply: for testing the executor's
   * handling of malformed input. An error status comes back as ok:false with ExecutorRequestError.
   */
  async __rawRequest(bytes: Uint8Array, timeoutMs = this.base()): Promise<Result<Reply>> {
    try {
      const reply = await this.exchange(bytes, -1, timeoutMs);
      if (reply.kind === 'error') return { ok: false, error: new ExecutorRequestError(reply.status, reply.statusName, reply.message) };
      return ok(reply);
    } catch (e) {
      return { ok: false, error: asExecutorError(e) };
    }
  }

  /** Sends a signal to the running executor (tests: simulate a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return this.proc ? this.proc.kill(signal) : false;
  }

  /** Closes stdin (the executor exits cleanly) and waits; SIGKILL after `graceMs`. */
  async close(graceMs = 2000): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    this.closed = true;
    await this.queue;
    const proc = this.proc;
    if (!proc) return undefined;
    return new Promise((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      proc.once('close', (code, signal) => {
        clearTimeout(t);
        resolve({ code, signal });
      });
      proc.stdin.end();
    });
  }
}

function runBudgetMs(cases: readonly CaseSpec[]): number {
  let ms = 0;
  for (const c of cases) {
    const runs = c.steps.filter((s) => s.op === 'run').length;
    ms += runs * ((c.timeoutMs || LIMITS.defaultTimeoutMs) + 100) + 5;
  }
  return ms;
}

export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}
