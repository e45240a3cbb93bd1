/**
 * Wire protocol of executor/xsave-exec: encoders, decoders and a frame splitter for a byte
 * stream, all pure. The format is written once, in kvm/wire.ts (constants and the field table of
 * every record, checked against the C by test/executor-wire.test.ts); the codecs here read and
 * write records through that table (writeFields/readFields).
 *
 * Policies: 'continue' runs every step; 'ignore' (QEMU < 8.2) skips the SET_* steps after the first
 * failed one but still runs the guest; 'abort' (QEMU ≥ 8.2) also skips RUN and reports aborted.
 * GET_* steps always execute. Every case runs on a fresh vCPU.
 */
import { INDEXED_LEAVES, type CpuidEntry as ModelCpuidEntry } from '../model/cpuid';

import { FXSAVE_IMAGE_BYTES, Fields, GUEST, LIMITS, OP, POLICIES, PROTO_VERSION, REP_MAGIC, REQ_MAGIC, RUN_DATA_SIZE, RUN_OUTCOMES, STATUS_NAMES, STEP_OPS, STEP_STATUS, Values, WIRE, sizeOf } from './wire';

export { GUEST, LIMITS, OP, PROTO_VERSION, REP_MAGIC, REQ_MAGIC, STATUS_NAMES, STEP_OPS };
export type OpName = keyof typeof OP;
export type StatusName = (typeof STATUS_NAMES)[number];
export type StepOpName = keyof typeof STEP_OPS;
const STEP_NAME_BY_CODE = new Map<number, StepOpName>(
  (Object.entries(STEP_OPS) as [StepOpName, number][]).map(([k, v]) => [v, k]),
);

export type Policy = (typeof POLICIES)[number];
export type RunOutcome = NonNullable<(typeof RUN_OUTCOMES)[number]>;

/** KVM exit reasons that the executor can report (linux/kvm.h). */
export const KVM_EXIT = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HLT: 5,
  MMIO: 6,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  INTERNAL_ERROR: 17,
} as const;

export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;
/** Leaves whose sub-leaf is significant (the model's list); used when an entry does not give its flags. */
export { INDEXED_LEAVES };

/** A CPUID entry as given to KVM_SET_CPUID2: the model's entry, with the flags on the wire. */
export interface CpuidEntry extends ModelCpuidEntry {
  /** KVM_CPUID_FLAG_*; when omitted, SIGNIFCANT_INDEX is set for INDEXED_LEAVES. */
  flags?: number;
}

export type Step =
  | { op: 'setCpuid2' }
  | { op: 'setXcrs'; xcr0: bigint }
  | { op: 'setXsave'; region: Uint8Array }
  | { op: 'getXsave'; ioctl?: 'auto' | 'xsave' | 'xsave2' }
  | { op: 'getXcrs' }
  | { op: 'setRegs' }
  | { op: 'setSregs'; osfxsr?: boolean }
  | { op: 'run' }
  | { op: 'setCpuid2Host' };

export interface CaseSpec {
  steps: readonly Step[];
  /** Entries for the setCpuid2 steps (may be empty: KVM_SET_CPUID2 with nent 0). */
  cpuid?: readonly CpuidEntry[];
  policy?: Policy;
  /** Guest run wall-clock limit; default 200 ms. */
  timeoutMs?: number;
  /** RIP loaded by setRegs; default GUEST.codeGpa. GUEST.spinGpa spins forever. */
  guestRip?: number;
}

export interface GuestExit {
  reason: number;
  detail: number;
}

export interface RunResult {
  outcome: RunOutcome;
  /** The guest wrote the "FXSAVE done" checkpoint. */
  checkpoint: boolean;
  /** The guest wrote the "started" checkpoint. */
  started: boolean;
  runErrno: number;
  elapsedUs: number;
  exits: GuestExit[];
  /** Guest memory at GUEST.fxsaveGpa after the run (pre-filled with GUEST.fillByte). */
  fxsave: Uint8Array;
}

export interface XcrEntry {
  xcr: number;
  value: bigint;
}

export interface StepResult {
  op: StepOpName;
  skipped: boolean;
  /** 0 on success, else the positive errno. */
  errno: number;
  xsave?: Uint8Array;
  xcrs?: XcrEntry[];
  /** Convenience: value of XCR0 from xcrs, when present. */
  xcr0?: bigint;
  run?: RunResult;
}

export interface CaseResult {
  /** errno of a VM/vCPU setup failure (then every step is skipped), else 0. */
  setupErrno: number;
  /** A run step was skipped because of policy 'abort'. */
  aborted: boolean;
  /** Index of the first failed SET_* step, or null. */
  stoppedAt: number | null;
  steps: StepResult[];
}

export interface ProbeInfo {
  apiVersion: number;
  capXsave2: number;
  capXcrs: number;
  capMaxVcpus: number;
  xsaveSize: number;
  hostMxcsrMaskRaw: number;
  hostProcessXcr0: bigint;
  release: string;
  supportedCpuid: CpuidEntry[];
}

export type Reply =
  | { kind: 'error'; op: number; seq: number; status: number; statusName: string; message: string }
  | { kind: 'ping'; seq: number; pid: number; version: number }
  | { kind: 'probe'; seq: number; probe: ProbeInfo }
  | { kind: 'cases'; seq: number; cases: CaseResult[] };

/** Thrown by every decoder on truncated or inconsistent input. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = 'ProtocolError';
  }
}

export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  0: 'OK',
  1: 'EPERM',
  2: 'ENOENT',
  4: 'EINTR',
  5: 'EIO',
  7: 'E2BIG',
  9: 'EBADF',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  22: 'EINVAL',
  24: 'EMFILE',
  28: 'ENOSPC',
  95: 'EOPNOTSUPP',
};
export function errnoName(e: number): string {
  return ERRNO_NAMES[e] ?? `errno ${e}`;
}

// ------------------------------------------------------------------ byte helpers

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  len = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }
  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }
  u8(v: number): this {
    this.grow(1);
    this.view.setUint8(this.len, v);
    this.len += 1;
    return this;
  }
  u16(v: number): this {
    this.grow(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.grow(4);
    this.view.setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }
  i32(v: number): this {
    this.grow(4);
    this.view.setInt32(this.len, v, true);
    this.len += 4;
    return this;
  }
  u64(v: bigint): this {
    this.grow(8);
    this.view.setBigUint64(this.len, BigInt.asUintN(64, v), true);
    this.len += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, true);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class ByteReader {
  private readonly view: DataView;
  off: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
    private readonly what = 'message',
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.off = start;
  }
  remaining(): number {
    return this.end - this.off;
  }
  need(n: number, field: string): void {
    if (n < 0 || n > this.end - this.off) {
      throw new ProtocolError(
        `truncated ${this.what}: ${field} needs ${n} bytes, ${this.end - this.off} left`,
        this.off,
      );
    }
  }
  u8(field = 'u8'): number {
    this.need(1, field);
    return this.view.getUint8(this.off++);
  }
  u16(field = 'u16'): number {
    this.need(2, field);
    const v = this.view.getUint16(this.off, true);
    this.off += 2;
    return v;
  }
  u32(field = 'u32'): number {
    this.need(4, field);
    const v = this.view.getUint32(this.off, true);
    this.off += 4;
    return v;
  }
  i32(field = 'i32'): number {
    this.need(4, field);
    const v = this.view.getInt32(this.off, true);
    this.off += 4;
    return v;
  }
  u64(field = 'u64'): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.off, true);
    this.off += 8;
    return v;
  }
  bytes(n: number, field = 'bytes'): Uint8Array {
    this.need(n, field);
    const b = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return b;
  }
}

// ------------------------------------------------------------------ records of the field table

// Each table is compiled once into a straight-line reader and writer (a loop over the table
// with a dynamic method per field made encoding a case a fifth slower: bench/kvm.ts's path).
type Writer = (w: ByteWriter, v: object) => void;
type Reader = (r: ByteReader) => object;
const writers = new WeakMap<Fields, Writer>();
const readers = new WeakMap<Fields, Map<string, Reader>>();

function compiled<T>(cache: WeakMap<Fields, T>, fields: Fields, make: () => T): T {
  let f = cache.get(fields);
  if (!f) cache.set(fields, (f = make()));
  return f;
}

/** Writes one record of `fields` (kvm/wire.ts) from `v`. */
export function writeFields<F extends Fields>(w: ByteWriter, fields: F, v: Values<F>): void {
  // Names and widths come from the table in kvm/wire.ts, never from input.
  compiled(writers, fields, () => new Function('w', 'v', fields.map(([n, wd]) => `w.${wd}(v.${n});`).join('\n')) as Writer)(w, v);
}

/** Reads one record of `fields` (kvm/wire.ts); errors name the record (`what`, a constant) and the field. */
export function readFields<F extends Fields>(r: ByteReader, fields: F, what: string): Values<F> {
  const byName = compiled(readers, fields, () => new Map<string, Reader>());
  let read = byName.get(what);
  if (!read) {
    const label = (n: string): string => JSON.stringify(`${what}.${n}`);
    read = new Function('r', `return { ${fields.map(([n, wd]) => `${n}: r.${wd}(${label(n)})`).join(', ')} };`) as Reader;
    byName.set(what, read);
  }
  return read(r) as Values<F>;
}

// ------------------------------------------------------------------ framing

export function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, true);
  out.set(body, 4);
  return out;
}

/** Splits a byte stream into frame bodies. Throws ProtocolError on an oversized length. */
export class FrameSplitter {
  private chunks: Uint8Array[] = [];
  private have = 0;
  constructor(private readonly maxBody = LIMITS.maxReply + 64) {}
  push(chunk: Uint8Array): Uint8Array[] {
    this.chunks.push(chunk);
    this.have += chunk.length;
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.have < 4) break;
      const head = this.peek(4);
      const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
      if (len > this.maxBody) throw new ProtocolError(`frame length ${len} exceeds ${this.maxBody}`);
      if (this.have < 4 + len) break;
      const all = this.take(4 + len);
      out.push(all.subarray(4));
    }
    return out;
  }
  /** Bytes received that do not yet form a full frame. */
  pending(): number {
    return this.have;
  }
  private flatten(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0];
    const b = new Uint8Array(this.have);
    let o = 0;
    for (const c of this.chunks) {
      b.set(c, o);
      o += c.length;
    }
    this.chunks = [b];
    return b;
  }
  private peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first.length >= n) return first.subarray(0, n);
    return this.flatten().subarray(0, n);
  }
  private take(n: number): Uint8Array {
    const b = this.flatten();
    const out = b.slice(0, n);
    const rest = b.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    return out;
  }
}

// ------------------------------------------------------------------ requests

function header(w: ByteWriter, op: number, seq: number, count: number): void {
  writeFields(w, WIRE.requestHeader, { magic: REQ_MAGIC, version: PROTO_VERSION, op, seq, count });
}

export function encodePing(seq: number): Uint8Array {
  const w = new ByteWriter(16);
  header(w, OP.ping, seq, 0);
  return w.finish();
}

export function encodeProbe(seq: number): Uint8Array {
  const w = new ByteWriter(16);
  header(w, OP.probe, seq, 0);
  return w.finish();
}

function cpuidFlags(e: CpuidEntry): number {
  if (e.flags !== undefined) return e.flags;
  return INDEXED_LEAVES.has(e.leaf >>> 0) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
}

function writeCpuidEntry(w: ByteWriter, e: CpuidEntry): void {
  writeFields(w, WIRE.cpuidEntry, { function: e.leaf, index: e.subleaf, flags: cpuidFlags(e), eax: e.eax, ebx: e.ebx, ecx: e.ecx, edx: e.edx });
}

function readCpuidEntry(r: ByteReader): CpuidEntry {
  const e = readFields(r, WIRE.cpuidEntry, 'cpuid');
  return { leaf: e.function, subleaf: e.index, flags: e.flags, eax: e.eax, ebx: e.ebx, ecx: e.ecx, edx: e.edx };
}

function checkInt(v: number, lo: number, hi: number, what: string): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ProtocolError(`${what} = ${v} outside [${lo}, ${hi}]`);
}

/** Encodes one case record; validates against LIMITS (throws ProtocolError). */
export function encodeCase(w: ByteWriter, c: CaseSpec): void {
  const xcr0s: bigint[] = [];
  const xcr0Index = new Map<bigint, number>();
  const regions: Uint8Array[] = [];
  const regionIndex = new Map<Uint8Array, number>();
  const steps: [number, number][] = [];
  for (const s of c.steps) {
    switch (s.op) {
      case 'setXcrs': {
        const v = BigInt.asUintN(64, s.xcr0);
        let i = xcr0Index.get(v);
        if (i === undefined) {
          i = xcr0s.length;
          xcr0s.push(v);
          xcr0Index.set(v, i);
        }
        steps.push([STEP_OPS.setXcrs, i]);
        break;
      }
      case 'setXsave': {
        let i = regionIndex.get(s.region);
        if (i === undefined) {
          i = regions.length;
          regions.push(s.region);
          regionIndex.set(s.region, i);
        }
        steps.push([STEP_OPS.setXsave, i]);
        break;
      }
      case 'getXsave':
        steps.push([STEP_OPS.getXsave, s.ioctl === 'xsave' ? 1 : s.ioctl === 'xsave2' ? 2 : 0]);
        break;
      case 'setSregs':
        steps.push([STEP_OPS.setSregs, s.osfxsr === false ? 0 : 1]);
        break;
      case 'setCpuid2':
      case 'getXcrs':
      case 'setRegs':
      case 'run':
      case 'setCpuid2Host':
        steps.push([STEP_OPS[s.op], 0]);
        break;
      default: {
        const never: never = s;
        throw new ProtocolError(`unknown step ${JSON.stringify(never)}`);
      }
    }
  }
  const cpuid = c.cpuid ?? [];
  const policy = POLICIES.indexOf(c.policy ?? 'continue');
  if (policy < 0) throw new ProtocolError(`unknown policy ${String(c.policy)}`);
  checkInt(steps.length, 0, LIMITS.maxSteps, 'steps');
  checkInt(regions.length, 0, LIMITS.maxRegions, 'distinct regions');
  checkInt(xcr0s.length, 0, LIMITS.maxXcr0, 'distinct xcr0 values');
  checkInt(cpuid.length, 0, LIMITS.maxCpuid, 'cpuid entries');
  const timeout = c.timeoutMs ?? 0;
  checkInt(timeout, 0, LIMITS.maxTimeoutMs, 'timeoutMs');
  const rip = c.guestRip ?? GUEST.codeGpa;
  checkInt(rip, 0, 0xffff, 'guestRip');
  const regionLen = regions.length ? regions[0].length : 0;
  for (const r of regions) {
    if (r.length !== regionLen) throw new ProtocolError(`regions of one case differ in length (${r.length} vs ${regionLen})`);
  }
  checkInt(regionLen, 0, LIMITS.maxRegion, 'region length');
  const start = w.len;
  writeFields(w, WIRE.caseHeader, {
    case_len: 0, // patched below
    policy,
    n_steps: steps.length,
    n_regions: regions.length,
    n_xcr0: xcr0s.length,
    n_cpuid: cpuid.length,
    timeout_ms: timeout,
    region_len: regionLen,
    guest_rip: rip,
  });
  for (const [op, arg] of steps) writeFields(w, WIRE.step, { op, arg });
  for (const x of xcr0s) writeFields(w, WIRE.xcr0, { xcr0: x });
  for (const e of cpuid) writeCpuidEntry(w, e);
  for (const r of regions) w.bytes(r);
  w.patchU32(start, w.len - start);
}

export function encodeCases(seq: number, cases: readonly CaseSpec[]): Uint8Array {
  checkInt(cases.length, 0, LIMITS.maxCases, 'cases');
  const w = new ByteWriter(4096);
  header(w, OP.cases, seq, cases.length);
  for (const c of cases) encodeCase(w, c);
  if (w.len > LIMITS.maxRequest) throw new ProtocolError(`request of ${w.len} bytes exceeds ${LIMITS.maxRequest}`);
  return w.finish();
}

export interface DecodedRequest {
  op: number;
  seq: number;
  cases?: CaseSpec[];
}

/** A step as the wire gives it: op and arg, with the case's xcr0 values and regions. */
function stepOf(op: number, arg: number, xcr0s: readonly bigint[], regions: readonly Uint8Array[], where: string): Step {
  const name = STEP_NAME_BY_CODE.get(op);
  switch (name) {
    case 'setXcrs':
      if (arg >= xcr0s.length) throw new ProtocolError(`${where}: xcr0 index ${arg} out of range`);
      return { op: name, xcr0: xcr0s[arg]! };
    case 'setXsave':
      if (arg >= regions.length) throw new ProtocolError(`${where}: region index ${arg} out of range`);
      return { op: name, region: regions[arg]! };
    case 'getXsave':
      return { op: name, ioctl: arg === 1 ? 'xsave' : arg === 2 ? 'xsave2' : 'auto' };
    case 'setSregs':
      return { op: name, osfxsr: (arg & 1) === 1 };
    case undefined:
      throw new ProtocolError(`${where}: unknown step op ${op}`);
    default:
      return { op: name };
  }
}

/** Decodes a request body: the executor's side of encode*, for tests and tooling (table-driven). */
export function decodeRequest(body: Uint8Array): DecodedRequest {
  const r = new ByteReader(body, 0, body.length, 'request');
  const h = readFields(r, WIRE.requestHeader, 'request');
  if (h.magic !== REQ_MAGIC) throw new ProtocolError(`bad request magic 0x${h.magic.toString(16)}`, 0);
  if (h.version !== PROTO_VERSION) throw new ProtocolError(`bad request version ${h.version}`, 4);
  if (h.op !== OP.cases) {
    if (r.remaining() !== 0 || h.count !== 0) throw new ProtocolError('PING/PROBE take no payload', r.off);
    return { op: h.op, seq: h.seq };
  }
  const cases: CaseSpec[] = [];
  for (let i = 0; i < h.count; i++) {
    const start = r.off;
    const len = r.u32('case_len');
    if (len < sizeOf(WIRE.caseHeader) || len > body.length - start) throw new ProtocolError(`case ${i}: bad case_len ${len}`, start);
    const cr = new ByteReader(body, start, start + len, `case ${i}`);
    const c = readFields(cr, WIRE.caseHeader, 'case');
    const policy = POLICIES[c.policy];
    if (!policy) throw new ProtocolError(`case ${i}: bad policy`, start + 4);
    const raw = Array.from({ length: c.n_steps }, () => readFields(cr, WIRE.step, 'step'));
    const xcr0s = Array.from({ length: c.n_xcr0 }, () => readFields(cr, WIRE.xcr0, 'xcr0').xcr0);
    const cpuid = Array.from({ length: c.n_cpuid }, () => readCpuidEntry(cr));
    const regions = Array.from({ length: c.n_regions }, () => cr.bytes(c.region_len, 'region'));
    if (cr.remaining() !== 0) throw new ProtocolError(`case ${i}: ${cr.remaining()} trailing bytes`, cr.off);
    const steps = raw.map((s) => stepOf(s.op, s.arg, xcr0s, regions, `case ${i}`));
    cases.push({ steps, cpuid, policy, timeoutMs: c.timeout_ms, guestRip: c.guest_rip });
    r.off = start + len;
  }
  if (r.remaining() !== 0) throw new ProtocolError(`${r.remaining()} trailing bytes after ${h.count} cases`, r.off);
  return { op: h.op, seq: h.seq, cases };
}

// ------------------------------------------------------------------ replies

function decodeRun(d: Uint8Array, where: string): RunResult {
  if (d.length !== RUN_DATA_SIZE) throw new ProtocolError(`${where}: run result has ${d.length} bytes, want ${RUN_DATA_SIZE}`);
  const r = new ByteReader(d, 0, d.length, where);
  const h = readFields(r, WIRE.runResult, 'run');
  const outcome = RUN_OUTCOMES[h.outcome];
  if (!outcome) throw new ProtocolError(`${where}: bad run outcome ${h.outcome}`, 0);
  if (h.n_exits > LIMITS.maxExits) throw new ProtocolError(`${where}: ${h.n_exits} exits > ${LIMITS.maxExits}`, 3);
  const exits: GuestExit[] = [];
  for (let i = 0; i < LIMITS.maxExits; i++) {
    const e = readFields(r, WIRE.exit, 'exit');
    if (i < h.n_exits) exits.push(e);
  }
  const fxsave = r.bytes(FXSAVE_IMAGE_BYTES, 'fxsave');
  return { outcome, checkpoint: h.checkpoint === 1, started: h.started === 1, runErrno: h.run_errno, elapsedUs: h.elapsed_us, exits, fxsave };
}

function decodeXcrs(d: Uint8Array, where: string): XcrEntry[] {
  const r = new ByteReader(d, 0, d.length, where);
  const { nr } = readFields(r, WIRE.xcrsHeader, 'xcrs');
  if (nr > 16 || d.length !== sizeOf(WIRE.xcrsHeader) + sizeOf(WIRE.xcr) * nr) throw new ProtocolError(`${where}: xcrs data ${d.length} bytes for nr ${nr}`);
  return Array.from({ length: nr }, () => {
    const x = readFields(r, WIRE.xcr, 'xcr');
    return { xcr: x.xcr, value: x.value };
  });
}

function decodeCaseResult(r: ByteReader, i: number): CaseResult {
  const start = r.off;
  const len = r.u32(`case ${i} length`);
  if (len < sizeOf(WIRE.caseResultHeader) || len > r.end - start) throw new ProtocolError(`case result ${i}: bad length ${len} (${r.end - start} left)`, start);
  const cr = new ByteReader(r.buf, start, start + len, `case result ${i}`);
  const h = readFields(cr, WIRE.caseResultHeader, 'case result');
  const steps: StepResult[] = [];
  for (let k = 0; k < h.n_steps; k++) {
    const where = `case ${i} step ${k}`;
    const at = cr.off;
    const sh = readFields(cr, WIRE.stepResultHeader, 'step');
    const op = STEP_NAME_BY_CODE.get(sh.op);
    if (!op) throw new ProtocolError(`${where}: unknown op ${sh.op}`, at);
    if (sh.status > STEP_STATUS.skipped) throw new ProtocolError(`${where}: bad status ${sh.status}`, at + 1);
    const data = cr.bytes(sh.data_len, `${where} data`);
    const res: StepResult = { op, skipped: sh.status === STEP_STATUS.skipped, errno: sh.errno };
    if (sh.data_len > 0) {
      if (op === 'getXsave') res.xsave = data;
      else if (op === 'getXcrs') {
        res.xcrs = decodeXcrs(data, where);
        const x0 = res.xcrs.find((x) => x.xcr === 0);
        if (x0) res.xcr0 = x0.value;
      } else if (op === 'run') res.run = decodeRun(data, where);
      else throw new ProtocolError(`${where}: unexpected ${sh.data_len} data bytes for ${op}`);
    }
    steps.push(res);
  }
  if (cr.remaining() !== 0) throw new ProtocolError(`case result ${i}: ${cr.remaining()} trailing bytes`, cr.off);
  const sa = h.stopped_at;
  if (sa !== 0xff && sa >= h.n_steps) throw new ProtocolError(`case result ${i}: stopped_at ${sa} >= ${h.n_steps} steps`);
  r.off = start + len;
  return { setupErrno: h.case_errno, aborted: h.aborted === 1, stoppedAt: sa === 0xff ? null : sa, steps };
}

export function decodeProbe(r: ByteReader): ProbeInfo {
  const p = readFields(r, WIRE.probe, 'probe');
  const release = Buffer.from(r.bytes(p.release_len, 'release')).toString('utf8');
  const { n_cpuid: n } = readFields(r, WIRE.probeCpuidCount, 'probe');
  if (n * sizeOf(WIRE.cpuidEntry) !== r.remaining()) throw new ProtocolError(`probe: ${n} cpuid entries but ${r.remaining()} bytes left`, r.off);
  const supportedCpuid = Array.from({ length: n }, () => readCpuidEntry(r));
  return {
    apiVersion: p.api_version,
    capXsave2: p.cap_xsave2,
    capXcrs: p.cap_xcrs,
    capMaxVcpus: p.cap_max_vcpus,
    xsaveSize: p.xsave_size,
    hostMxcsrMaskRaw: p.mxcsr_mask,
    hostProcessXcr0: p.host_xcr0,
    release,
    supportedCpuid,
  };
}

/** Decodes one reply body. Throws ProtocolError on any inconsistency. */
export function decodeReply(body: Uint8Array): Reply {
  const r = new ByteReader(body, 0, body.length, 'reply');
  const { magic, version, op, seq, status, count } = readFields(r, WIRE.replyHeader, 'reply');
  if (magic !== REP_MAGIC) throw new ProtocolError(`bad reply magic 0x${magic.toString(16)}`, 0);
  if (version !== PROTO_VERSION) throw new ProtocolError(`bad reply version ${version}`, 4);
  if (status !== 0) {
    const { message_len } = readFields(r, WIRE.errorMessage, 'error');
    const message = Buffer.from(r.bytes(message_len, 'message')).toString('utf8');
    if (r.remaining() !== 0) throw new ProtocolError(`error reply: ${r.remaining()} trailing bytes`, r.off);
    return { kind: 'error', op, seq, status, statusName: STATUS_NAMES[status] ?? `STATUS_${status}`, message };
  }
  let out: Reply;
  switch (op) {
    case OP.ping: {
      const p = readFields(r, WIRE.ping, 'ping');
      out = { kind: 'ping', seq, pid: p.pid, version: p.version };
      break;
    }
    case OP.probe:
      out = { kind: 'probe', seq, probe: decodeProbe(r) };
      break;
    case OP.cases: {
      if (count > LIMITS.maxCases) throw new ProtocolError(`reply claims ${count} cases`, 20);
      const cases: CaseResult[] = [];
      for (let i = 0; i < count; i++) cases.push(decodeCaseResult(r, i));
      out = { kind: 'cases', seq, cases };
      break;
    }
    default:
      throw new ProtocolError(`reply for unknown op ${op}`, 6);
  }
  if (r.remaining() !== 0) throw new ProtocolError(`reply: ${r.remaining()} trailing bytes`, r.off);
  return out;
}

// ------------------------------------------------------------------ reply encoder (tests, fakes)

/** Encodes a reply body as the executor would (table-driven); tests the decoder and fakes executors. */
export function encodeReply(reply: Reply): Uint8Array {
  const w = new ByteWriter(1024);
  const head = (op: number, status: number, count: number): void =>
    writeFields(w, WIRE.replyHeader, { magic: REP_MAGIC, version: PROTO_VERSION, op, seq: reply.seq, status, count });
  switch (reply.kind) {
    case 'error': {
      head(reply.op, reply.status, 0);
      const m = Buffer.from(reply.message, 'utf8');
      writeFields(w, WIRE.errorMessage, { message_len: m.length });
      w.bytes(m);
      break;
    }
    case 'ping':
      head(OP.ping, 0, 0);
      writeFields(w, WIRE.ping, { pid: reply.pid, version: reply.version });
      break;
    case 'probe': {
      const p = reply.probe;
      head(OP.probe, 0, 0);
      const rel = Buffer.from(p.release, 'utf8');
      writeFields(w, WIRE.probe, {
        api_version: p.apiVersion,
        cap_xsave2: p.capXsave2,
        cap_xcrs: p.capXcrs,
        cap_max_vcpus: p.capMaxVcpus,
        xsave_size: p.xsaveSize,
        mxcsr_mask: p.hostMxcsrMaskRaw,
        host_xcr0: p.hostProcessXcr0,
        release_len: rel.length,
      });
      w.bytes(rel);
      writeFields(w, WIRE.probeCpuidCount, { n_cpuid: p.supportedCpuid.length });
      for (const e of p.supportedCpuid) writeCpuidEntry(w, e);
      break;
    }
    case 'cases':
      head(OP.cases, 0, reply.cases.length);
      for (const c of reply.cases) {
        const start = w.len;
        writeFields(w, WIRE.caseResultHeader, { case_len: 0, case_errno: c.setupErrno, aborted: c.aborted ? 1 : 0, stopped_at: c.stoppedAt ?? 0xff, n_steps: c.steps.length, pad: 0 });
        for (const s of c.steps) {
          const data = new ByteWriter(64);
          if (s.xsave) data.bytes(s.xsave);
          else if (s.xcrs) {
            writeFields(data, WIRE.xcrsHeader, { nr: s.xcrs.length, flags: 0 });
            for (const x of s.xcrs) writeFields(data, WIRE.xcr, { xcr: x.xcr, reserved: 0, value: x.value });
          } else if (s.run) {
            const run = s.run;
            writeFields(data, WIRE.runResult, { outcome: RUN_OUTCOMES.indexOf(run.outcome), checkpoint: run.checkpoint ? 1 : 0, started: run.started ? 1 : 0, n_exits: run.exits.length, run_errno: run.runErrno, elapsed_us: run.elapsedUs });
            for (let i = 0; i < LIMITS.maxExits; i++) writeFields(data, WIRE.exit, { reason: run.exits[i]?.reason ?? 0, detail: run.exits[i]?.detail ?? 0 });
            if (run.fxsave.length !== FXSAVE_IMAGE_BYTES) throw new ProtocolError(`fxsave image must be ${FXSAVE_IMAGE_BYTES} bytes`);
            data.bytes(run.fxsave);
          }
          writeFields(w, WIRE.stepResultHeader, { op: STEP_OPS[s.op], status: s.skipped ? STEP_STATUS.skipped : STEP_STATUS.done, pad: 0, errno: s.errno, data_len: data.len });
          w.bytes(data.finish());
        }
        w.patchU32(start, w.len - start);
      }
      break;
  }
  return w.finish();
}
