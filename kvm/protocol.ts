/**
 * Wire protocol of executor/xsave-exec (see the comment at the top of
 * executor/xsave-exec.c, which is the normative description; this is a summary).
 *
 * Every message is a frame: `u32 body_len` followed by `body_len` bytes. All integers are
 * little-endian.
 *
 * Request body:  u32 magic "XSXQ" (0x51585358), u16 version (1), u16 op, u32 seq, u32 count, payload
 *   op 0 PING  (count 0, no payload)
 *   op 1 PROBE (count 0, no payload)
 *   op 2 CASES (count = number of case records, each self-sized, see `encodeCase`)
 * Reply body:    u32 magic "XSXR" (0x52585358), u16 version, u16 op, u32 seq, u32 status, u32 count, payload
 *   status != 0: payload = u16 len + message text; count 0.
 *   PING:  u32 pid, u32 version.  PROBE: see `decodeProbe`.  CASES: `count` case results.
 *
 * Case record: u32 case_len, u8 policy, u8 n_steps, u8 n_regions, u8 n_xcr0, u16 n_cpuid,
 *   u16 timeout_ms, u32 region_len, u32 guest_rip, steps (u8 op, u8 arg)*, xcr0 (u64)*,
 *   cpuid (7 × u32: function, index, flags, eax, ebx, ecx, edx)*, regions (region_len bytes)*.
 *   Step args: SET_XCRS → index into xcr0[], SET_XSAVE → index into regions[],
 *   GET_XSAVE → 0 auto / 1 KVM_GET_XSAVE / 2 KVM_GET_XSAVE2, SET_SREGS → bit 0 = CR4.OSFXSR;
 *   SET_CPUID2_HOST (op 9) sets the executor's own KVM_GET_SUPPORTED_CPUID table.
 * Case result: u32 case_len, i32 case_errno, u8 aborted, u8 stopped_at (0xff none), u8 n_steps,
 *   u8 0, then per step: u8 op, u8 status (0 done / 1 skipped), u16 0, i32 errno, u32 data_len, data.
 *   GET_XSAVE data = region; GET_XCRS data = u32 nr, u32 flags, nr × (u32 xcr, u32 rsvd, u64 value);
 *   RUN data = u8 outcome, u8 checkpoint, u8 started, u8 n_exits, i32 run_errno, u32 elapsed_us,
 *   16 × (u32 reason, u32 detail), 512 bytes of guest FXSAVE image.
 *
 * Policies: 'continue' runs every step; 'ignore' (QEMU < 8.2) skips the SET_* steps after the first
 * failed one but still runs the guest; 'abort' (QEMU ≥ 8.2) also skips RUN and reports aborted.
 * GET_* steps always execute. Every case runs on a fresh vCPU.
 *
 * Everything here is pure: encoders, decoders and a frame splitter for a byte stream.
 */
import { INDEXED_LEAVES, type CpuidEntry as ModelCpuidEntry } from '../model/cpuid';

export const REQ_MAGIC = 0x51585358;
export const REP_MAGIC = 0x52585358;
export const PROTO_VERSION = 1;

export const LIMITS = {
  maxRequest: 64 << 20,
  maxReply: 256 << 20,
  maxCases: 65536,
  maxSteps: 255,
  maxRegions: 255,
  maxXcr0: 255,
  maxCpuid: 256,
  maxRegion: 64 << 10,
  maxTimeoutMs: 10000,
  defaultTimeoutMs: 200,
  maxExits: 16,
} as const;

export const OP = { ping: 0, probe: 1, cases: 2 } as const;
export type OpName = keyof typeof OP;

export const STATUS_NAMES = [
  'OK',
  'BAD_MAGIC',
  'BAD_VERSION',
  'BAD_OP',
  'MALFORMED',
  'LIMIT',
  'KVM_UNAVAILABLE',
  'NO_MEMORY',
  'BAD_FRAME',
] as const;
export type StatusName = (typeof STATUS_NAMES)[number];

export const STEP_OPS = {
  setCpuid2: 1,
  setXcrs: 2,
  setXsave: 3,
  getXsave: 4,
  getXcrs: 5,
  setRegs: 6,
  setSregs: 7,
  run: 8,
  /** KVM_SET_CPUID2 with the whole KVM_GET_SUPPORTED_CPUID table (the executor fetches it) */
  setCpuid2Host: 9,
} as const;
export type StepOpName = keyof typeof STEP_OPS;
const STEP_NAME_BY_CODE = new Map<number, StepOpName>(
  (Object.entries(STEP_OPS) as [StepOpName, number][]).map(([k, v]) => [v, k]),
);

export type Policy = 'continue' | 'ignore' | 'abort';
const POLICIES: readonly Policy[] = ['continue', 'ignore', 'abort'];

export type RunOutcome = 'hlt' | 'timeout' | 'exit' | 'error' | 'too_many_exits';
const RUN_OUTCOMES: readonly (RunOutcome | undefined)[] = [undefined, 'hlt', 'timeout', 'exit', 'error', 'too_many_exits'];

/** Guest layout (fixed in the executor). */
export const GUEST = {
  codeGpa: 0x1000,
  spinGpa: 0x1100,
  fxsaveGpa: 0x2000,
  checkpointPort: 0x10,
  fillByte: 0xa5,
} as const;

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
  w.u32(REQ_MAGIC).u16(PROTO_VERSION).u16(op).u32(seq).u32(count);
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
  w.u32(0).u8(policy).u8(steps.length).u8(regions.length).u8(xcr0s.length).u16(cpuid.length).u16(timeout).u32(regionLen).u32(rip);
  for (const [op, arg] of steps) w.u8(op).u8(arg);
  for (const x of xcr0s) w.u64(x);
  for (const e of cpuid) w.u32(e.leaf).u32(e.subleaf).u32(cpuidFlags(e)).u32(e.eax).u32(e.ebx).u32(e.ecx).u32(e.edx);
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

function readCpuidEntry(r: ByteReader): CpuidEntry {
  return {
    leaf: r.u32('cpuid.function'),
    subleaf: r.u32('cpuid.index'),
    flags: r.u32('cpuid.flags'),
    eax: r.u32('cpuid.eax'),
    ebx: r.u32('cpuid.ebx'),
    ecx: r.u32('cpuid.ecx'),
    edx: r.u32('cpuid.edx'),
  };
}

/** Decodes a request body (the inverse of encode*; used by tests and tooling). */
export function decodeRequest(body: Uint8Array): DecodedRequest {
  const r = new ByteReader(body, 0, body.length, 'request');
  const magic = r.u32('magic');
  if (magic !== REQ_MAGIC) throw new ProtocolError(`bad request magic 0x${magic.toString(16)}`, 0);
  const version = r.u16('version');
  if (version !== PROTO_VERSION) throw new ProtocolError(`bad request version ${version}`, 4);
  const op = r.u16('op');
  const seq = r.u32('seq');
  const count = r.u32('count');
  if (op !== OP.cases) {
    if (r.remaining() !== 0 || count !== 0) throw new ProtocolError('PING/PROBE take no payload', r.off);
    return { op, seq };
  }
  const cases: CaseSpec[] = [];
  for (let i = 0; i < count; i++) {
    const start = r.off;
    const len = r.u32('case_len');
    if (len < 20 || len > body.length - start) throw new ProtocolError(`case ${i}: bad case_len ${len}`, start);
    const cr = new ByteReader(body, start + 4, start + len, `case ${i}`);
    const policy = POLICIES[cr.u8('policy')];
    if (!policy) throw new ProtocolError(`case ${i}: bad policy`, start + 4);
    const nSteps = cr.u8();
    const nRegions = cr.u8();
    const nXcr0 = cr.u8();
    const nCpuid = cr.u16();
    const timeoutMs = cr.u16();
    const regionLen = cr.u32();
    const guestRip = cr.u32();
    const raw: [number, number][] = [];
    for (let k = 0; k < nSteps; k++) raw.push([cr.u8('step.op'), cr.u8('step.arg')]);
    const xcr0s: bigint[] = [];
    for (let k = 0; k < nXcr0; k++) xcr0s.push(cr.u64('xcr0'));
    const cpuid: CpuidEntry[] = [];
    for (let k = 0; k < nCpuid; k++) cpuid.push(readCpuidEntry(cr));
    const regions: Uint8Array[] = [];
    for (let k = 0; k < nRegions; k++) regions.push(cr.bytes(regionLen, 'region'));
    if (cr.remaining() !== 0) throw new ProtocolError(`case ${i}: ${cr.remaining()} trailing bytes`, cr.off);
    const steps: Step[] = raw.map(([op, arg]) => {
      const name = STEP_NAME_BY_CODE.get(op);
      switch (name) {
        case 'setXcrs':
          if (arg >= xcr0s.length) throw new ProtocolError(`case ${i}: xcr0 index ${arg} out of range`);
          return { op: name, xcr0: xcr0s[arg] };
        case 'setXsave':
          if (arg >= regions.length) throw new ProtocolError(`case ${i}: region index ${arg} out of range`);
          return { op: name, region: regions[arg] };
        case 'getXsave':
          return { op: name, ioctl: arg === 1 ? 'xsave' : arg === 2 ? 'xsave2' : 'auto' };
        case 'setSregs':
          return { op: name, osfxsr: (arg & 1) === 1 };
        case 'setCpuid2':
        case 'getXcrs':
        case 'setRegs':
        case 'run':
        case 'setCpuid2Host':
          return { op: name };
        default:
          throw new ProtocolError(`case ${i}: unknown step op ${op}`);
      }
    });
    cases.push({ steps, cpuid, policy, timeoutMs, guestRip });
    r.off = start + len;
  }
  if (r.remaining() !== 0) throw new ProtocolError(`${r.remaining()} trailing bytes after ${count} cases`, r.off);
  return { op, seq, cases };
}

// ------------------------------------------------------------------ replies

const RUN_DATA_SIZE = 12 + LIMITS.maxExits * 8 + 512;

function decodeRun(d: Uint8Array, where: string): RunResult {
  if (d.length !== RUN_DATA_SIZE) throw new ProtocolError(`${where}: run result has ${d.length} bytes, want ${RUN_DATA_SIZE}`);
  const r = new ByteReader(d, 0, d.length, where);
  const oc = r.u8();
  const outcome = RUN_OUTCOMES[oc];
  if (!outcome) throw new ProtocolError(`${where}: bad run outcome ${oc}`, 0);
  const checkpoint = r.u8() === 1;
  const started = r.u8() === 1;
  const nExits = r.u8();
  if (nExits > LIMITS.maxExits) throw new ProtocolError(`${where}: ${nExits} exits > ${LIMITS.maxExits}`, 3);
  const runErrno = r.i32();
  const elapsedUs = r.u32();
  const exits: GuestExit[] = [];
  for (let i = 0; i < LIMITS.maxExits; i++) {
    const reason = r.u32();
    const detail = r.u32();
    if (i < nExits) exits.push({ reason, detail });
  }
  const fxsave = r.bytes(512, 'fxsave');
  return { outcome, checkpoint, started, runErrno, elapsedUs, exits, fxsave };
}

function decodeXcrs(d: Uint8Array, where: string): XcrEntry[] {
  const r = new ByteReader(d, 0, d.length, where);
  const nr = r.u32('nr_xcrs');
  r.u32('flags');
  if (nr > 16 || d.length !== 8 + 16 * nr) throw new ProtocolError(`${where}: xcrs data ${d.length} bytes for nr ${nr}`);
  const out: XcrEntry[] = [];
  for (let i = 0; i < nr; i++) {
    const xcr = r.u32();
    r.u32();
    out.push({ xcr, value: r.u64() });
  }
  return out;
}

function decodeCaseResult(r: ByteReader, i: number): CaseResult {
  const start = r.off;
  const len = r.u32(`case ${i} length`);
  if (len < 12 || len > r.end - start) throw new ProtocolError(`case result ${i}: bad length ${len} (${r.end - start} left)`, start);
  const cr = new ByteReader(r.buf, start + 4, start + len, `case result ${i}`);
  const setupErrno = cr.i32();
  const aborted = cr.u8() === 1;
  const sa = cr.u8();
  const nSteps = cr.u8();
  cr.u8();
  const steps: StepResult[] = [];
  for (let k = 0; k < nSteps; k++) {
    const where = `case ${i} step ${k}`;
    const code = cr.u8('step op');
    const op = STEP_NAME_BY_CODE.get(code);
    if (!op) throw new ProtocolError(`${where}: unknown op ${code}`, cr.off - 1);
    const st = cr.u8('step status');
    if (st > 1) throw new ProtocolError(`${where}: bad status ${st}`, cr.off - 1);
    cr.u16();
    const errno = cr.i32('errno');
    const dlen = cr.u32('data_len');
    const data = cr.bytes(dlen, `${where} data`);
    const res: StepResult = { op, skipped: st === 1, errno };
    if (dlen > 0) {
      if (op === 'getXsave') res.xsave = data;
      else if (op === 'getXcrs') {
        res.xcrs = decodeXcrs(data, where);
        const x0 = res.xcrs.find((x) => x.xcr === 0);
        if (x0) res.xcr0 = x0.value;
      } else if (op === 'run') res.run = decodeRun(data, where);
      else throw new ProtocolError(`${where}: unexpected ${dlen} data bytes for ${op}`);
    }
    steps.push(res);
  }
  if (cr.remaining() !== 0) throw new ProtocolError(`case result ${i}: ${cr.remaining()} trailing bytes`, cr.off);
  if (sa !== 0xff && sa >= nSteps) throw new ProtocolError(`case result ${i}: stopped_at ${sa} >= ${nSteps} steps`);
  r.off = start + len;
  return { setupErrno, aborted, stoppedAt: sa === 0xff ? null : sa, steps };
}

export function decodeProbe(r: ByteReader): ProbeInfo {
  const apiVersion = r.u32('api_version');
  const capXsave2 = r.i32('cap_xsave2');
  const capXcrs = r.i32('cap_xcrs');
  const capMaxVcpus = r.i32('cap_max_vcpus');
  const xsaveSize = r.u32('xsave_size');
  const hostMxcsrMaskRaw = r.u32('mxcsr_mask');
  const hostProcessXcr0 = r.u64('host_xcr0');
  const rl = r.u16('release_len');
  const release = Buffer.from(r.bytes(rl, 'release')).toString('utf8');
  const n = r.u32('n_cpuid');
  if (n * 28 !== r.remaining()) throw new ProtocolError(`probe: ${n} cpuid entries but ${r.remaining()} bytes left`, r.off);
  const supportedCpuid: CpuidEntry[] = [];
  for (let i = 0; i < n; i++) supportedCpuid.push(readCpuidEntry(r));
  return { apiVersion, capXsave2, capXcrs, capMaxVcpus, xsaveSize, hostMxcsrMaskRaw, hostProcessXcr0, release, supportedCpuid };
}

/** Decodes one reply body. Throws ProtocolError on any inconsistency. */
export function decodeReply(body: Uint8Array): Reply {
  const r = new ByteReader(body, 0, body.length, 'reply');
  const magic = r.u32('magic');
  if (magic !== REP_MAGIC) throw new ProtocolError(`bad reply magic 0x${magic.toString(16)}`, 0);
  const version = r.u16('version');
  if (version !== PROTO_VERSION) throw new ProtocolError(`bad reply version ${version}`, 4);
  const op = r.u16('op');
  const seq = r.u32('seq');
  const status = r.u32('status');
  const count = r.u32('count');
  if (status !== 0) {
    const ml = r.u16('message length');
    const message = Buffer.from(r.bytes(ml, 'message')).toString('utf8');
    if (r.remaining() !== 0) throw new ProtocolError(`error reply: ${r.remaining()} trailing bytes`, r.off);
    return { kind: 'error', op, seq, status, statusName: STATUS_NAMES[status] ?? `STATUS_${status}`, message };
  }
  let out: Reply;
  switch (op) {
    case OP.ping:
      out = { kind: 'ping', seq, pid: r.u32('pid'), version: r.u32('version') };
      break;
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

// ------------------------------------------------------------------ reply encoders (tests, fakes)

function replyHeader(w: ByteWriter, op: number, seq: number, status: number, count: number): void {
  w.u32(REP_MAGIC).u16(PROTO_VERSION).u16(op).u32(seq).u32(status).u32(count);
}

/** Encodes a reply body as the executor would; used to test the decoder and to fake executors. */
export function encodeReply(reply: Reply): Uint8Array {
  const w = new ByteWriter(1024);
  switch (reply.kind) {
    case 'error': {
      replyHeader(w, reply.op, reply.seq, reply.status, 0);
      const m = Buffer.from(reply.message, 'utf8');
      w.u16(m.length).bytes(m);
      break;
    }
    case 'ping':
      replyHeader(w, OP.ping, reply.seq, 0, 0);
      w.u32(reply.pid).u32(reply.version);
      break;
    case 'probe': {
      const p = reply.probe;
      replyHeader(w, OP.probe, reply.seq, 0, 0);
      const rel = Buffer.from(p.release, 'utf8');
      w.u32(p.apiVersion).i32(p.capXsave2).i32(p.capXcrs).i32(p.capMaxVcpus).u32(p.xsaveSize).u32(p.hostMxcsrMaskRaw);
      w.u64(p.hostProcessXcr0).u16(rel.length).bytes(rel).u32(p.supportedCpuid.length);
      for (const e of p.supportedCpuid) w.u32(e.leaf).u32(e.subleaf).u32(cpuidFlags(e)).u32(e.eax).u32(e.ebx).u32(e.ecx).u32(e.edx);
      break;
    }
    case 'cases':
      replyHeader(w, OP.cases, reply.seq, 0, reply.cases.length);
      for (const c of reply.cases) {
        const start = w.len;
        w.u32(0).i32(c.setupErrno).u8(c.aborted ? 1 : 0).u8(c.stoppedAt ?? 0xff).u8(c.steps.length).u8(0);
        for (const s of c.steps) {
          w.u8(STEP_OPS[s.op]).u8(s.skipped ? 1 : 0).u16(0).i32(s.errno);
          if (s.xsave) w.u32(s.xsave.length).bytes(s.xsave);
          else if (s.xcrs) {
            w.u32(8 + 16 * s.xcrs.length).u32(s.xcrs.length).u32(0);
            for (const x of s.xcrs) w.u32(x.xcr).u32(0).u64(x.value);
          } else if (s.run) {
            const run = s.run;
            w.u32(RUN_DATA_SIZE).u8(RUN_OUTCOMES.indexOf(run.outcome)).u8(run.checkpoint ? 1 : 0).u8(run.started ? 1 : 0);
            w.u8(run.exits.length).i32(run.runErrno).u32(run.elapsedUs);
            for (let i = 0; i < LIMITS.maxExits; i++) w.u32(run.exits[i]?.reason ?? 0).u32(run.exits[i]?.detail ?? 0);
            if (run.fxsave.length !== 512) throw new ProtocolError('fxsave image must be 512 bytes');
            w.bytes(run.fxsave);
          } else w.u32(0);
        }
        w.patchU32(start, w.len - start);
      }
      break;
  }
  return w.finish();
}
