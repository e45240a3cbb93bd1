/**
 * Driver for executor/build/xsave-exec: spawns it, sends batches over its stdin, parses replies
 * from its stdout. Operations are queued (one at a time); within __runCases up to `pipeline`
 * chunk requests (default 2) are in flight, so that TypeScript encodes and decodes one chunk
 * while the executor runs the next. Replies come back in request order; each request's watchdog
 * starts when it reaches the head of the line.
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
  /** Chunk requests in flight at once in __runCases; default 2 (1 = strictly one at a time). */
  pipeline?: number;
  /**
   * Spawn this instead of the binary: a program that speaks the executor's protocol on its
   * stdin/stdout, e.g. a QEMU VM whose guest runs the executor on a virtio port wired to QEMU's
   * stdio (lab/vm.ts). `binary` is then only a label.
   */
  command?: { file: string; args: string[] };
  /** Added to the watchdog of the first request after each (re)start: the VM's boot time. */
  startupMs?: number;
  /** Extra text for infrastructure errors (e.g. the tail of a VM's console). */
  diagnostics?: () => string;
}

export interface RunCasesOptions {
  chunkSize?: number;
  /** chunk requests in flight at once (default: the executor's option, else 2) */
  pipeline?: number;
  /** Called after each chunk completes with the number of cases done so far. */
  onChunk?: (done: number, total: number) => void;
}

interface Pending {
  proc: ChildProcessWithoutNullStreams;
  seq: number;
  resolve: (r: Reply) => void;
  reject: (e: ExecutorInfraError) => void;
  budgetMs: number;
  timer: NodeJS.Timeout | undefined;
}

/** Processes whose first reply has not come yet (their first request gets startupMs more). */
const booting = new WeakSet<ChildProcessWithoutNullStreams>();

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
  /** requests sent and not yet answered, in order */
  private pendings: Pending[] = [];
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

  /** Recent stderr output of the executor (diagnostics), and the `diagnostics` option's text. */
  get stderr(): string {
    const extra = this.opts.diagnostics?.() ?? '';
    return extra ? `${this.stderrTail}${this.stderrTail ? '\n' : ''}${extra}` : this.stderrTail;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.proc) return this.proc;
    if (this.starts > 0) this.restarts++;
    this.starts++;
    this.splitter = new FrameSplitter();
    this.stderrTail = '';
    const cmd = this.opts.command ?? { file: this.binary, args: [] };
    const proc = spawn(cmd.file, cmd.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...(this.opts.env ?? {}) },
    });
    this.proc = proc;
    if (this.opts.startupMs) booting.add(proc);
    proc.stdout.on('data', (chunk: Buffer) => this.onData(proc, chunk));
    proc.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    proc.stdin.on('error', () => {
      /* EPIPE when the executor died; reported through 'close'. */
    });
    proc.on('error', (err) => {
      if (this.proc === proc) this.proc = undefined;
      this.failPending(proc, new ExecutorInfraError('spawn', `${this.binary}: ${err.message}`, null, null, this.stderr));
    });
    proc.on('close', (code, signal) => {
      if (this.proc === proc) this.proc = undefined;
      this.failPending(
        proc,
        new ExecutorInfraError('died', `exited with ${signal ? `signal ${signal}` : `code ${code}`}`, code, signal, this.stderr),
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
      this.abandon(proc, new ExecutorInfraError('protocol', (e as Error).message, null, null, this.stderr));
      return;
    }
    if (frames.length) booting.delete(proc);
    for (const body of frames) {
      const p = this.pendings[0];
      if (!p || p.proc !== proc) {
        this.abandon(proc, new ExecutorInfraError('protocol', 'unsolicited reply', null, null, this.stderr));
        return;
      }
      let reply: Reply;
      try {
        reply = decodeReply(body);
      } catch (e) {
        this.abandon(proc, new ExecutorInfraError('protocol', `undecodable reply: ${(e as Error).message}`, null, null, this.stderr));
        return;
      }
      // Error replies to unreadable requests carry seq 0; raw requests (seq -1) accept any seq.
      if (p.seq !== -1 && reply.seq !== p.seq && !(reply.kind === 'error' && reply.seq === 0)) {
        this.abandon(proc, new ExecutorInfraError('protocol', `reply seq ${reply.seq}, expected ${p.seq}`, null, null, this.stderr));
        return;
      }
      this.pendings.shift();
      clearTimeout(p.timer);
      this.armHead();
      p.resolve(reply);
    }
  }

  /** Starts the watchdog of the request at the head of the line (it is the one executing). */
  private armHead(): void {
    const h = this.pendings[0];
    if (!h || h.timer) return;
    const budget = h.budgetMs + (booting.has(h.proc) ? (this.opts.startupMs ?? 0) : 0);
    h.timer = setTimeout(() => {
      this.abandon(h.proc, new ExecutorInfraError('timeout', `no reply within ${budget} ms`, null, null, this.stderr));
    }, budget);
  }

  /** Fails every request sent to `proc` (a late event of an old process is ignored). */
  private failPending(proc: ChildProcessWithoutNullStreams, err: ExecutorInfraError): void {
    const mine = this.pendings.filter((p) => p.proc === proc);
    if (!mine.length) return;
    this.pendings = this.pendings.filter((p) => p.proc !== proc);
    for (const p of mine) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.armHead();
  }

  /** Kill the process (it cannot be trusted any more) and fail the pending request. */
  private abandon(proc: ChildProcessWithoutNullStreams, err: ExecutorInfraError): void {
    if (this.proc === proc) this.proc = undefined;
    proc.kill('SIGKILL');
    this.failPending(proc, err);
  }

  /** Runs `op` after every earlier operation has finished (operations never interleave). */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const p = this.queue.then(op, op);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Sends raw bytes (already framed or not) without waiting for earlier requests' replies.
   * With `expected`, the bytes go only to that process: if it is gone, nothing is sent (and no
   * new process is started).
   */
  private send(bytes: Uint8Array, seq: number, budgetMs: number, expected?: ChildProcessWithoutNullStreams): { proc: ChildProcessWithoutNullStreams | undefined; reply: Promise<Reply> } {
    if (this.closed) return { proc: undefined, reply: Promise.reject(new ExecutorInfraError('closed', 'executor was closed')) };
    if (expected && this.proc !== expected) {
      return { proc: undefined, reply: Promise.reject(new ExecutorInfraError('died', 'executor exited while requests were in flight')) };
    }
    const proc = this.start();
    const reply = new Promise<Reply>((resolve, reject) => {
      this.pendings.push({ proc, seq, resolve, reject, budgetMs, timer: undefined });
      this.armHead();
      proc.stdin.write(bytes);
    });
    return { proc, reply };
  }

  /** Sends raw bytes and waits for one reply, as one serial operation. */
  private exchange(bytes: Uint8Array, seq: number, budgetMs: number): Promise<Reply> {
    return this.serial(() => this.send(bytes, seq, budgetMs).reply);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private async request(body: Uint8Array, seq: number, budgetMs: number): Promise<Result<Reply>> {
    return settle(this.exchange(frame(body), seq, budgetMs));
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

  /**
   * Runs cases in chunks, up to `pipeline` chunks in flight; on failure returns the results of
   * the chunks that completed before it (chunks after a failed one are not used).
   */
  __runCases(cases: readonly CaseSpec[], opts: RunCasesOptions = {}): Promise<CasesOutcome> {
    return this.serial(() => this.runChunks(cases, opts));
  }

  private async runChunks(cases: readonly CaseSpec[], opts: RunCasesOptions): Promise<CasesOutcome> {
    const chunk = Math.max(1, Math.min(opts.chunkSize ?? this.opts.chunkSize ?? 512, LIMITS.maxCases));
    const depth = Math.max(1, opts.pipeline ?? this.opts.pipeline ?? 2);
    const results: CaseResult[] = [];
    const inflight: Array<{ part: readonly CaseSpec[]; reply: Promise<Result<Reply>> }> = [];
    let next = 0;
    let proc: ChildProcessWithoutNullStreams | undefined;
    let failure: ExecutorError | undefined;
    const sendNext = (): void => {
      const part = cases.slice(next, next + chunk);
      next += part.length;
      const seq = this.nextSeq();
      let body: Uint8Array;
      try {
        body = encodeCases(seq, part);
      } catch (e) {
        inflight.push({ part, reply: Promise.resolve({ ok: false, error: asExecutorError(e) }) });
        return;
      }
      // Every chunk of one call goes to one process: after a crash the rest is not sent.
      const s = this.send(frame(body), seq, this.base() + runBudgetMs(part), proc);
      proc ??= s.proc;
      inflight.push({ part, reply: settle(s.reply) });
    };
    while (!failure && (next < cases.length || inflight.length)) {
      while (!failure && next < cases.length && inflight.length < depth) sendNext();
      const head = inflight.shift();
      if (!head) break;
      const r = await head.reply;
      if (!r.ok) {
        failure = r.error;
        break;
      }
      const reply = r.value;
      if (reply.kind !== 'cases' || reply.cases.length !== head.part.length) {
        failure = new ExecutorInfraError('protocol', `expected ${head.part.length} case results, got ${reply.kind}`);
        break;
      }
      results.push(...reply.cases);
      opts.onChunk?.(results.length, cases.length);
    }
    if (failure) {
      // Requests still in flight went to the same (now failed or abandoned) process; their
      // outcomes are not used. Wait for them so that no reply is left unclaimed.
      await Promise.all(inflight.map((x) => x.reply));
      return { ok: false, error: failure, results };
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
    return settle(this.exchange(bytes, -1, timeoutMs));
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

/** A reply as a Result: error statuses become ExecutorRequestError, throws become ok:false. */
async function settle(p: Promise<Reply>): Promise<Result<Reply>> {
  try {
    const reply = await p;
    if (reply.kind === 'error') return { ok: false, error: new ExecutorRequestError(reply.status, reply.statusName, reply.message) };
    return ok(reply);
  } catch (e) {
    return { ok: false, error: asExecutorError(e) };
  }
}

export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}
