// The executor's wire format, written once (issue 12): the constants and the field table of
// every fixed-size record, in wire order. kvm/protocol.ts encodes and decodes through this table
// (writeFields/readFields), and test/executor-wire.test.ts checks executor/xsave-exec.c against
// it (its #defines, enums and the order and width of every rd_*/wb_* call of each record), so
// the C, the TypeScript and this table cannot drift apart unnoticed. All integers little-endian.

export type Width = 'u8' | 'u16' | 'u32' | 'i32' | 'u64';
export type Field = readonly [name: string, width: Width];
export type Fields = readonly Field[];

export const WIDTH_BYTES: Readonly<Record<Width, number>> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8 };

/** Bytes a record of `fields` takes on the wire. */
export function sizeOf(fields: Fields): number {
  return fields.reduce((a, [, w]) => a + WIDTH_BYTES[w], 0);
}

/** The value of each field of a record: u64 as a bigint, the others as numbers. */
export type Values<F extends Fields> = { [K in F[number] as K[0]]: K[1] extends 'u64' ? bigint : number };

export const WIRE = {
  /** every message: u32 body_len, then the body (the length is not part of the body) */
  frame: [['body_len', 'u32']],
  requestHeader: [['magic', 'u32'], ['version', 'u16'], ['op', 'u16'], ['seq', 'u32'], ['count', 'u32']],
  replyHeader: [['magic', 'u32'], ['version', 'u16'], ['op', 'u16'], ['seq', 'u32'], ['status', 'u32'], ['count', 'u32']],
  /** status != 0: the payload is this length, then the message text */
  errorMessage: [['message_len', 'u16']],
  ping: [['pid', 'u32'], ['version', 'u32']],
  /** PROBE reply: these, the release text (release_len bytes), n_cpuid, n_cpuid × cpuidEntry */
  probe: [['api_version', 'u32'], ['cap_xsave2', 'i32'], ['cap_xcrs', 'i32'], ['cap_max_vcpus', 'i32'], ['xsave_size', 'u32'], ['mxcsr_mask', 'u32'], ['host_xcr0', 'u64'], ['release_len', 'u16']],
  probeCpuidCount: [['n_cpuid', 'u32']],
  /** CASES request, per case: this, n_steps × step, n_xcr0 × xcr0, n_cpuid × cpuidEntry, n_regions × region_len bytes */
  caseHeader: [['case_len', 'u32'], ['policy', 'u8'], ['n_steps', 'u8'], ['n_regions', 'u8'], ['n_xcr0', 'u8'], ['n_cpuid', 'u16'], ['timeout_ms', 'u16'], ['region_len', 'u32'], ['guest_rip', 'u32']],
  /** arg: SET_XCRS → index into xcr0[], SET_XSAVE → into regions[], GET_XSAVE → 0 auto / 1 KVM_GET_XSAVE / 2 KVM_GET_XSAVE2, SET_SREGS → bit 0 CR4.OSFXSR */
  step: [['op', 'u8'], ['arg', 'u8']],
  xcr0: [['xcr0', 'u64']],
  cpuidEntry: [['function', 'u32'], ['index', 'u32'], ['flags', 'u32'], ['eax', 'u32'], ['ebx', 'u32'], ['ecx', 'u32'], ['edx', 'u32']],
  /** CASES reply, per case: this, then n_steps × (stepResultHeader, data_len bytes of data) */
  caseResultHeader: [['case_len', 'u32'], ['case_errno', 'i32'], ['aborted', 'u8'], ['stopped_at', 'u8'], ['n_steps', 'u8'], ['pad', 'u8']],
  stepResultHeader: [['op', 'u8'], ['status', 'u8'], ['pad', 'u16'], ['errno', 'i32'], ['data_len', 'u32']],
  /** GET_XCRS data: this, then nr × xcr */
  xcrsHeader: [['nr', 'u32'], ['flags', 'u32']],
  xcr: [['xcr', 'u32'], ['reserved', 'u32'], ['value', 'u64']],
  /** RUN data: this, LIMITS.maxExits × exit (n_exits of them used), 512 bytes of the guest's FXSAVE image */
  runResult: [['outcome', 'u8'], ['checkpoint', 'u8'], ['started', 'u8'], ['n_exits', 'u8'], ['run_errno', 'i32'], ['elapsed_us', 'u32']],
  exit: [['reason', 'u32'], ['detail', 'u32']],
} as const satisfies Record<string, Fields>;

export const REQ_MAGIC = 0x51585358; // "XSXQ"
export const REP_MAGIC = 0x52585358; // "XSXR"
export const PROTO_VERSION = 1;
export const FXSAVE_IMAGE_BYTES = 512;

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

/** Bytes of a RUN step's data. */
export const RUN_DATA_SIZE = sizeOf(WIRE.runResult) + LIMITS.maxExits * sizeOf(WIRE.exit) + FXSAVE_IMAGE_BYTES;

export const OP = { ping: 0, probe: 1, cases: 2 } as const;

/** Reply status codes, by value (0 = OK). */
export const STATUS_NAMES = ['OK', 'BAD_MAGIC', 'BAD_VERSION', 'BAD_OP', 'MALFORMED', 'LIMIT', 'KVM_UNAVAILABLE', 'NO_MEMORY', 'BAD_FRAME'] as const;

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

/** Step result status, by value. */
export const STEP_STATUS = { done: 0, skipped: 1 } as const;

/** Case policies, by value. */
export const POLICIES = ['continue', 'ignore', 'abort'] as const;

/** Run outcomes, by value (0 is not an outcome). */
export const RUN_OUTCOMES = [undefined, 'hlt', 'timeout', 'exit', 'error', 'too_many_exits'] as const;

/** Guest layout (fixed in the executor). */
export const GUEST = {
  codeGpa: 0x1000,
  spinGpa: 0x1100,
  fxsaveGpa: 0x2000,
  checkpointPort: 0x10,
  fillByte: 0xa5,
} as const;
