// Parser and validator for corpus cases, format "xsave-case/1" (shared/CASE-FORMAT.md, a public
// contract: field names are never renamed; unknown fields are an error; every error names the
// file and the field). Fields this harness adds are marked "extension" below.
import { CpuidEntry, FixupMode, Vendor, hostAreaProblem } from '../model';

export class CaseError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}: field '${field}': ${problem}`);
    this.name = 'CaseError';
  }
}

export type HostRef = { name: string } | { supportedXcr0: bigint; layout: Vendor };

export interface VcpuSpec {
  cpuModel?: string;
  cpuid?: CpuidEntry[];
  confidential: boolean;
}

export type XsaveSpec =
  | { hex: Uint8Array }
  | { xstateBv: bigint; xcompBv: bigint; mxcsr: number; bytes: Array<{ offset: number; data: Uint8Array }> };

export interface TargetSpec {
  kernel: string;
  fixup: FixupMode;
  host: HostRef;
}

export interface IoctlExpect {
  result?: 'ok' | 'einval';
  fixupFired?: boolean;
  xstateBv?: bigint;
  pkru?: bigint;
  getXstateBv?: bigint;
  /** extension (issue 14): the return of a following KVM_GET_XSAVE; "einval" when the region is larger than 4096 */
  getResult?: 'ok' | 'einval';
  /** extension (issue 14): XSTATE_BV that a following KVM_GET_XSAVE2 reports */
  get2XstateBv?: bigint;
  /** extension: the rejection reason the model names (setXsave.ts SetXsaveRejection) */
  reason?: string;
}

export interface MigrationExpect {
  outcome?: 'intact' | 'aborted' | 'incomplete' | 'lost';
  leaked?: boolean;
  fixupFired?: boolean;
}

interface CaseCommon {
  file: string;
  id: string;
  note?: string;
  vcpu: VcpuSpec;
  /** the parsed JSON, as written */
  raw: Record<string, unknown>;
}

export interface IoctlCase extends CaseCommon {
  kind: 'ioctl';
  target: TargetSpec;
  xcr0?: bigint;
  /** extension (issue 14): the vCPU's IA32_XFD when the ioctl runs (fpstate->xfd; default 0) */
  xfd?: bigint;
  xsave: XsaveSpec;
  expect: IoctlExpect;
}

export interface GuestJson {
  xcr0: bigint;
  inUse: bigint;
  pkru: bigint;
  hostPkru?: bigint;
  /** extension: the guest's MXCSR (default 0x1f80) */
  mxcsr?: bigint;
}

export interface MigrationCase extends CaseCommon {
  kind: 'migration';
  source: { kernel: string; host: HostRef };
  target: TargetSpec;
  vmm: string;
  guest: GuestJson;
  expect: MigrationExpect;
}

/** extension (issue 15): one operation of a lifecycle story, as written (nodes by name, snapshots 1-based) */
export type LifecycleStepJson =
  | { op: 'create' | 'migrate' | 'resume'; node: string }
  | { op: 'run' | 'snapshot' | 'suspend' }
  | { op: 'rollback'; node: string; snapshot: number }
  | { op: 'upgrade'; node: string; release: string }
  | { op: 'boot-kernel'; node: string; kernel: string }
  | { op: 'replace-hardware'; node: string; host: HostRef };

export interface LifecycleNodeJson {
  name: string;
  release: string;
  /** default: the release's default kernel */
  kernel?: string;
  host: HostRef;
}

export interface LifecycleExpect {
  /** a restore failed (for a live migration: incomplete or lost; for a rollback or resume also aborted) */
  failure?: boolean;
  /** the 1-based step of the first failing restore */
  failedAt?: number;
  /** that restore's outcome */
  outcome?: 'intact' | 'aborted' | 'incomplete' | 'lost';
  /** that restore ran on a kernel carrying the patch as shipped (only those count for L1/L2) */
  counted?: boolean;
}

/** extension (issue 15): a VM's life on a cluster, replayed by the model (docs/case-format-notes.md). */
export interface LifecycleCase extends CaseCommon {
  kind: 'lifecycle';
  cluster: LifecycleNodeJson[];
  /** the first release without the Proxmox patch (it and every later release lose it); absent = as shipped */
  dropAt?: string;
  steps: LifecycleStepJson[];
  expect: LifecycleExpect;
}

export type Case = IoctlCase | MigrationCase | LifecycleCase;

export const FORMAT = 'xsave-case/1';

class Reader {
  constructor(readonly file: string) {}
  fail(field: string, problem: string): never {
    throw new CaseError(this.file, field, problem);
  }
  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, `expected an object, got ${describe(v)}`);
    return v as Record<string, unknown>;
  }
  only(o: Record<string, unknown>, field: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(join(field, k), `unknown field (allowed here: ${allowed.join(', ')})`);
    }
  }
  required(o: Record<string, unknown>, field: string, key: string): unknown {
    if (!(key in o)) this.fail(join(field, key), 'missing');
    return o[key];
  }
  string(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, `expected a string, got ${describe(v)}`);
    return v;
  }
  boolean(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, `expected true or false, got ${describe(v)}`);
    return v;
  }
  oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
    const s = this.string(v, field);
    if (!values.includes(s as T)) this.fail(field, `expected one of ${values.map((x) => `"${x}"`).join(', ')}, got "${s}"`);
    return s as T;
  }
  /** A hex string "0x…" of at most `bits` bits. */
  hex(v: unknown, field: string, bits = 64): bigint {
    const s = this.string(v, field);
    if (!/^0x[0-9a-fA-F]+$/.test(s)) this.fail(field, `expected a hex string like "0x2e7", got "${s}"`);
    const n = BigInt(s);
    if (n >> BigInt(bits) !== 0n) this.fail(field, `${s} does not fit in ${bits} bits`);
    return n;
  }
  /** An integer given as a JSON number or a hex string. */
  uint(v: unknown, field: string, bits: number): number {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) this.fail(field, `expected an integer in [0, 2^${bits}), got ${v}`);
      return v;
    }
    return Number(this.hex(v, field, bits));
  }
}

function join(field: string, key: string): string {
  return field ? `${field}.${key}` : key;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `"${v}"` : `${typeof v} ${JSON.stringify(v)}`;
}

const COMMON = ['format', 'kind', 'id', 'note', 'vcpu', 'expect'] as const;
const IOCTL_KEYS = [...COMMON, 'target', 'xcr0', 'xfd', 'xsave'];
const MIGRATION_KEYS = [...COMMON, 'source', 'target', 'vmm', 'guest'];
const LIFECYCLE_KEYS = [...COMMON, 'cluster', 'dropAt', 'steps'];
const FIXUP_MODES: readonly FixupMode[] = ['kernel-default', 'none', 'pve'];

function parseHost(r: Reader, v: unknown, field: string): HostRef {
  if (typeof v === 'string') return { name: v };
  const o = r.object(v, field);
  r.only(o, field, ['supportedXcr0', 'layout']);
  const supportedXcr0 = r.hex(r.required(o, field, 'supportedXcr0'), `${field}.supportedXcr0`);
  const layout = r.oneOf(r.required(o, field, 'layout'), `${field}.layout`, ['intel', 'amd'] as const);
  const problem = hostAreaProblem(supportedXcr0, layout);
  if (problem) r.fail(`${field}.supportedXcr0`, `${problem} (no such host exists; use "intel" for MPX or AMX)`);
  return { supportedXcr0, layout };
}

function parseVcpu(r: Reader, v: unknown): VcpuSpec {
  const o = r.object(v, 'vcpu');
  r.only(o, 'vcpu', ['cpuModel', 'cpuid', 'confidential']);
  const confidential = 'confidential' in o ? r.boolean(o['confidential'], 'vcpu.confidential') : false;
  const hasModel = 'cpuModel' in o;
  const hasCpuid = 'cpuid' in o;
  if (hasModel === hasCpuid) r.fail('vcpu', 'exactly one of "cpuModel" or "cpuid" is required');
  if (hasModel) return { cpuModel: r.string(o['cpuModel'], 'vcpu.cpuModel'), confidential };
  if (!Array.isArray(o['cpuid'])) r.fail('vcpu.cpuid', `expected an array of entries, got ${describe(o['cpuid'])}`);
  const cpuid = (o['cpuid'] as unknown[]).map((e, i) => {
    const f = `vcpu.cpuid[${i}]`;
    const eo = r.object(e, f);
    r.only(eo, f, ['leaf', 'subleaf', 'eax', 'ebx', 'ecx', 'edx']);
    return {
      leaf: r.uint(r.required(eo, f, 'leaf'), `${f}.leaf`, 32),
      subleaf: 'subleaf' in eo ? r.uint(eo['subleaf'], `${f}.subleaf`, 32) : 0,
      eax: Number(r.hex(r.required(eo, f, 'eax'), `${f}.eax`, 32)),
      ebx: Number(r.hex(r.required(eo, f, 'ebx'), `${f}.ebx`, 32)),
      ecx: Number(r.hex(r.required(eo, f, 'ecx'), `${f}.ecx`, 32)),
      edx: Number(r.hex(r.required(eo, f, 'edx'), `${f}.edx`, 32)),
    };
  });
  return { cpuid, confidential };
}

function parseTarget(r: Reader, v: unknown): TargetSpec {
  const o = r.object(v, 'target');
  r.only(o, 'target', ['kernel', 'fixup', 'host']);
  return {
    kernel: r.string(r.required(o, 'target', 'kernel'), 'target.kernel'),
    fixup: 'fixup' in o ? r.oneOf(o['fixup'], 'target.fixup', FIXUP_MODES) : 'kernel-default',
    host: parseHost(r, r.required(o, 'target', 'host'), 'target.host'),
  };
}

const MAX_REGION = 64 * 1024;

function parseXsave(r: Reader, v: unknown): XsaveSpec {
  const o = r.object(v, 'xsave');
  if ('hex' in o) {
    r.only(o, 'xsave', ['hex']);
    const s = r.string(o['hex'], 'xsave.hex');
    if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) r.fail('xsave.hex', 'expected an even number of hex digits');
    if (s.length / 2 > MAX_REGION) r.fail('xsave.hex', `region of ${s.length / 2} bytes is larger than ${MAX_REGION}`);
    return { hex: new Uint8Array(Buffer.from(s, 'hex')) };
  }
  r.only(o, 'xsave', ['xstateBv', 'xcompBv', 'mxcsr', 'bytes']);
  const bytes: Array<{ offset: number; data: Uint8Array }> = [];
  if ('bytes' in o) {
    const b = r.object(o['bytes'], 'xsave.bytes');
    for (const [k, val] of Object.entries(b)) {
      const f = `xsave.bytes.${k}`;
      if (!/^(0|[1-9][0-9]*)$/.test(k)) r.fail(f, 'keys are decimal byte offsets');
      const s = r.string(val, f);
      if (s.length === 0 || s.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(s)) r.fail(f, 'expected a non-empty even number of hex digits');
      const offset = Number(k);
      if (offset + s.length / 2 > MAX_REGION) r.fail(f, `bytes end past ${MAX_REGION}`);
      bytes.push({ offset, data: new Uint8Array(Buffer.from(s, 'hex')) });
    }
  }
  return {
    xstateBv: r.hex(r.required(o, 'xsave', 'xstateBv'), 'xsave.xstateBv'),
    xcompBv: 'xcompBv' in o ? r.hex(o['xcompBv'], 'xsave.xcompBv') : 0n,
    mxcsr: 'mxcsr' in o ? Number(r.hex(o['mxcsr'], 'xsave.mxcsr', 32)) : 0x1f80,
    bytes,
  };
}

function atLeastOne(r: Reader, o: Record<string, unknown>): void {
  if (Object.keys(o).length === 0) r.fail('expect', 'give at least one expectation');
}

function parseIoctlExpect(r: Reader, v: unknown): IoctlExpect {
  const o = r.object(v, 'expect');
  r.only(o, 'expect', ['result', 'fixupFired', 'xstateBv', 'pkru', 'getXstateBv', 'getResult', 'get2XstateBv', 'reason']);
  atLeastOne(r, o);
  const e: IoctlExpect = {};
  if ('result' in o) e.result = r.oneOf(o['result'], 'expect.result', ['ok', 'einval'] as const);
  if ('fixupFired' in o) e.fixupFired = r.boolean(o['fixupFired'], 'expect.fixupFired');
  if ('xstateBv' in o) e.xstateBv = r.hex(o['xstateBv'], 'expect.xstateBv');
  if ('pkru' in o) e.pkru = r.hex(o['pkru'], 'expect.pkru', 32);
  if ('getXstateBv' in o) e.getXstateBv = r.hex(o['getXstateBv'], 'expect.getXstateBv');
  if ('getResult' in o) e.getResult = r.oneOf(o['getResult'], 'expect.getResult', ['ok', 'einval'] as const);
  if ('get2XstateBv' in o) e.get2XstateBv = r.hex(o['get2XstateBv'], 'expect.get2XstateBv');
  if ('reason' in o) e.reason = r.string(o['reason'], 'expect.reason');
  if (e.getXstateBv !== undefined && e.getResult === 'einval') r.fail('expect.getXstateBv', 'only meaningful when getResult is "ok" (a failed KVM_GET_XSAVE reports nothing)');
  if (e.xstateBv !== undefined && e.result === 'einval') r.fail('expect.xstateBv', 'only meaningful when result is "ok"');
  return e;
}

function parseMigrationExpect(r: Reader, v: unknown): MigrationExpect {
  const o = r.object(v, 'expect');
  r.only(o, 'expect', ['outcome', 'leaked', 'fixupFired']);
  atLeastOne(r, o);
  const e: MigrationExpect = {};
  if ('outcome' in o) e.outcome = r.oneOf(o['outcome'], 'expect.outcome', ['intact', 'aborted', 'incomplete', 'lost'] as const);
  if ('leaked' in o) e.leaked = r.boolean(o['leaked'], 'expect.leaked');
  if ('fixupFired' in o) e.fixupFired = r.boolean(o['fixupFired'], 'expect.fixupFired');
  return e;
}

function parseGuest(r: Reader, v: unknown): GuestJson {
  const o = r.object(v, 'guest');
  r.only(o, 'guest', ['xcr0', 'inUse', 'pkru', 'hostPkru', 'mxcsr']);
  const g: GuestJson = {
    xcr0: r.hex(r.required(o, 'guest', 'xcr0'), 'guest.xcr0'),
    inUse: r.hex(r.required(o, 'guest', 'inUse'), 'guest.inUse'),
    pkru: r.hex(r.required(o, 'guest', 'pkru'), 'guest.pkru', 32),
  };
  if ('hostPkru' in o) g.hostPkru = r.hex(o['hostPkru'], 'guest.hostPkru', 32);
  if ('mxcsr' in o) g.mxcsr = r.hex(o['mxcsr'], 'guest.mxcsr', 32);
  return g;
}

const STEP_FIELDS: Record<LifecycleStepJson['op'], readonly string[]> = {
  create: ['node'],
  migrate: ['node'],
  resume: ['node'],
  run: [],
  snapshot: [],
  suspend: [],
  rollback: ['node', 'snapshot'],
  upgrade: ['node', 'release'],
  'boot-kernel': ['node', 'kernel'],
  'replace-hardware': ['node', 'host'],
};
const STEP_OPS = Object.keys(STEP_FIELDS) as LifecycleStepJson['op'][];
const NODE_NAME = /^[a-z0-9][a-z0-9-]*$/;

function parseCluster(r: Reader, v: unknown): LifecycleNodeJson[] {
  if (!Array.isArray(v) || v.length === 0) r.fail('cluster', `expected a non-empty array of nodes, got ${describe(v)}`);
  const names = new Set<string>();
  return (v as unknown[]).map((e, i) => {
    const f = `cluster[${i}]`;
    const o = r.object(e, f);
    r.only(o, f, ['name', 'release', 'kernel', 'host']);
    const name = r.string(r.required(o, f, 'name'), `${f}.name`);
    if (!NODE_NAME.test(name)) r.fail(`${f}.name`, `"${name}" must match [a-z0-9][a-z0-9-]*`);
    if (names.has(name)) r.fail(`${f}.name`, `"${name}" names another node too`);
    names.add(name);
    const n: LifecycleNodeJson = { name, release: r.string(r.required(o, f, 'release'), `${f}.release`), host: parseHost(r, r.required(o, f, 'host'), `${f}.host`) };
    if ('kernel' in o) n.kernel = r.string(o['kernel'], `${f}.kernel`);
    return n;
  });
}

function parseSteps(r: Reader, v: unknown, nodes: readonly LifecycleNodeJson[]): LifecycleStepJson[] {
  if (!Array.isArray(v) || v.length === 0) r.fail('steps', `expected a non-empty array of operations, got ${describe(v)}`);
  return (v as unknown[]).map((e, i) => {
    const f = `steps[${i}]`;
    const o = r.object(e, f);
    const op = r.oneOf(r.required(o, f, 'op'), `${f}.op`, STEP_OPS);
    const fields = STEP_FIELDS[op];
    r.only(o, f, ['op', ...fields]);
    const step: Record<string, unknown> = { op };
    for (const k of fields) {
      const val = r.required(o, f, k);
      if (k === 'node') {
        const name = r.string(val, `${f}.node`);
        if (!nodes.some((n) => n.name === name)) r.fail(`${f}.node`, `no node "${name}" in cluster (nodes: ${nodes.map((n) => n.name).join(', ')})`);
        step[k] = name;
      } else if (k === 'snapshot') {
        const s = r.uint(val, `${f}.snapshot`, 16);
        if (s < 1) r.fail(`${f}.snapshot`, 'snapshots are numbered from 1 in the order they were taken');
        step[k] = s;
      } else if (k === 'host') step[k] = parseHost(r, val, `${f}.host`);
      else step[k] = r.string(val, `${f}.${k}`);
    }
    return step as LifecycleStepJson;
  });
}

function parseLifecycleExpect(r: Reader, v: unknown): LifecycleExpect {
  const o = r.object(v, 'expect');
  r.only(o, 'expect', ['failure', 'failedAt', 'outcome', 'counted']);
  atLeastOne(r, o);
  const e: LifecycleExpect = {};
  if ('failure' in o) e.failure = r.boolean(o['failure'], 'expect.failure');
  if ('failedAt' in o) {
    e.failedAt = r.uint(o['failedAt'], 'expect.failedAt', 16);
    if (e.failedAt < 1) r.fail('expect.failedAt', 'steps are numbered from 1');
  }
  if ('outcome' in o) e.outcome = r.oneOf(o['outcome'], 'expect.outcome', ['intact', 'aborted', 'incomplete', 'lost'] as const);
  if ('counted' in o) e.counted = r.boolean(o['counted'], 'expect.counted');
  if (e.failure === false) {
    for (const k of ['failedAt', 'outcome', 'counted'] as const) if (k in o) r.fail(`expect.${k}`, 'only meaningful when failure is true (it describes the failing restore)');
  }
  return e;
}

/** Parse one case from its JSON value; `file` names it in errors. */
export function parseCase(json: unknown, file: string): Case {
  const r = new Reader(file);
  const o = r.object(json, '');
  const format = r.required(o, '', 'format');
  if (format !== FORMAT) r.fail('format', `expected "${FORMAT}", got ${describe(format)}`);
  const kind = r.oneOf(r.required(o, '', 'kind'), 'kind', ['ioctl', 'migration', 'lifecycle'] as const);
  r.only(o, '', kind === 'ioctl' ? IOCTL_KEYS : kind === 'migration' ? MIGRATION_KEYS : LIFECYCLE_KEYS);
  const id = r.string(r.required(o, '', 'id'), 'id');
  if (!/^[a-z0-9._-]+$/.test(id)) r.fail('id', `"${id}" must match [a-z0-9._-]+`);
  const note = 'note' in o ? r.string(o['note'], 'note') : undefined;
  const vcpu = parseVcpu(r, r.required(o, '', 'vcpu'));
  const common = { file, id, vcpu, raw: o, ...(note !== undefined ? { note } : {}) };
  if (kind === 'ioctl') {
    const c: IoctlCase = {
      ...common,
      kind,
      target: parseTarget(r, r.required(o, '', 'target')),
      xsave: parseXsave(r, r.required(o, '', 'xsave')),
      expect: parseIoctlExpect(r, r.required(o, '', 'expect')),
    };
    if ('xcr0' in o) c.xcr0 = r.hex(o['xcr0'], 'xcr0');
    if ('xfd' in o) c.xfd = r.hex(o['xfd'], 'xfd');
    return c;
  }
  if (kind === 'lifecycle') {
    if (vcpu.cpuModel === undefined) r.fail('vcpu', 'a lifecycle case names its guest CPU model ("cpuModel"): the VM is created on, and moves between, hosts that each resolve it');
    if (vcpu.confidential) r.fail('vcpu.confidential', 'not supported in lifecycle cases: protected FPU state is not saved through KVM_GET_XSAVE');
    const cluster = parseCluster(r, r.required(o, '', 'cluster'));
    const c: LifecycleCase = {
      ...common,
      kind,
      cluster,
      steps: parseSteps(r, r.required(o, '', 'steps'), cluster),
      expect: parseLifecycleExpect(r, r.required(o, '', 'expect')),
    };
    if ('dropAt' in o) c.dropAt = r.string(o['dropAt'], 'dropAt');
    return c;
  }
  const so = r.object(r.required(o, '', 'source'), 'source');
  r.only(so, 'source', ['kernel', 'host']);
  return {
    ...common,
    kind,
    source: {
      kernel: r.string(r.required(so, 'source', 'kernel'), 'source.kernel'),
      host: parseHost(r, r.required(so, 'source', 'host'), 'source.host'),
    },
    target: parseTarget(r, r.required(o, '', 'target')),
    vmm: r.string(r.required(o, '', 'vmm'), 'vmm'),
    guest: parseGuest(r, r.required(o, '', 'guest')),
    expect: parseMigrationExpect(r, r.required(o, '', 'expect')),
  };
}

/** Parse a case file's text; JSON syntax errors name the file and the position. */
export function parseCaseText(text: string, file: string): Case {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CaseError(file, '(json)', `not valid JSON: ${(e as Error).message}`);
  }
  return parseCase(json, file);
}
