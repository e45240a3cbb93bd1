/**
 * Calibration: which kernel variant the running kernel is, and what host it runs on, detected by
 * probing /dev/kvm rather than assumed.
 *
 * 1. Static facts (kvm/probe.ts calibrate): KVM_GET_SUPPORTED_CPUID (host set, vendor, the
 *    standard-format offsets of leaf 0xD), KVM_CAP_XSAVE2, the host's MXCSR mask.
 * 2. The host: those facts, plus the XRSTOR MXCSR rule the kernel's restore of the guest FPU
 *    follows, measured with a guest run (XSTATE_BV = x87|YMM, MXCSR 0x9fc0: does the guest see it?).
 * 3. The kernel: a fixed probe suite of conformance cases (guest-supported XCR0 per CPUID scenario
 *    through KVM_SET_XCRS, the KVM_GET_XSAVE mask through SET/GET round trips, which XSTATE_BV bits
 *    SET accepts, header/XCOMP_BV/MXCSR checks, GET after partial SETs, a failed SET, the leaked
 *    PKRU bit, KVM_SET_CPUID2 after KVM_SET_XSAVE) runs once for real; every catalogue variant
 *    predicts it (conformance.ts) and is scored by the probe steps it gets wrong. A variant that
 *    gets none wrong is chosen (ties: the one whose version is closest to the running release).
 *    If none matches, a variant named `this-calibrated` is derived from the closest one by
 *    changing rule fields until the probes agree, and the probes that differ are listed.
 * Nothing is cached on disk.
 */
import * as os from 'node:os';
import {
  CpuidEntry,
  GetRule,
  GsxRule,
  HOSTS,
  Host,
  KERNELS,
  KernelVariant,
  Layout,
  PveVariant,
  SetRule,
  Slot,
  UserXfeaturesRule,
  Vendor,
} from '../model';
import { ThisMachine, setThisMachine } from '../cases/resolve';
import { CCase, CStep, Disagreement, compareCase, predictCase, toCaseSpec, unfixed } from './conformance';
import { XsaveExecutor } from './executor';
import { Calibration, calibrationFromProbe, cpuidScenarios, cpuidWithLeafD, subsets } from './probe';
import { CaseResult } from './protocol';
import { makeRegion, readMxcsr, xmmFill } from './region';

export interface VariantScore {
  id: string;
  /** probe steps whose prediction differs from the running kernel */
  differing: number;
  /** up to 8 of them, "probe step k (op): expected …, got …" */
  examples: string[];
}

export interface MachineCalibration {
  release: string;
  facts: Omit<Calibration, 'supportedCpuid'> & { supportedCpuidEntries: number };
  /** KVM_GET_SUPPORTED_CPUID */
  table: CpuidEntry[];
  /** region size of KVM_SET/GET_XSAVE(2) */
  size: number;
  host: Host;
  kernel: KernelVariant;
  /** id of the chosen variant: a catalogue id, or 'this-calibrated' */
  chosen: string;
  /** every probe step agrees with the chosen variant */
  exact: boolean;
  /** the catalogue variant with the fewest differing probe steps */
  closest: string;
  /** for 'this-calibrated': the closest variant and the rule fields changed */
  derivedFrom: { base: string; changes: Array<{ field: string; from: string; to: string }>; differingProbes: string[] } | null;
  /** every catalogue variant, best first */
  candidates: VariantScore[];
  probeCases: number;
  probeSteps: number;
  /** XRSTOR MXCSR rule measured with a guest run */
  xrstor: { form: 'standard' | 'compacted'; guestMxcsr: number | null; detail: string };
  /** a catalogue host with the same supported XCR0, vendor and offsets, if any */
  catalogueHost: string | null;
  elapsedMs: number;
}

// ------------------------------------------------------------------ host

function vendorOf(v: string): Vendor {
  return /AMD|Hygon/i.test(v) ? 'amd' : 'intel';
}

/** The running host as the model's Host (name `this`). */
export function hostFromCalibration(cal: Calibration, kernelXrstor?: 'standard' | 'compacted'): Host {
  const slots: Record<number, Slot> = {};
  for (const c of cal.components) if (!c.supervisor) slots[c.bit] = { offset: c.offset, size: c.size };
  const vendor = vendorOf(cal.vendor);
  const layout: Layout = { name: 'this', vendor, slots };
  return {
    name: 'this',
    vendor,
    xcr0: BigInt(cal.hostSupportedXcr0),
    layout,
    mxcsrMask: cal.mxcsrFeatureMask >>> 0,
    note: `the running machine (${cal.vendor}, kernel ${cal.kernelRelease}), from KVM_GET_SUPPORTED_CPUID`,
    ...(kernelXrstor ? { kernelXrstor } : {}),
  };
}

/** Whether `a` can stand in for `b` as far as the model is concerned (set, vendor, offsets). */
export function sameHostShape(a: Host, b: Host): boolean {
  if (a.xcr0 !== b.xcr0 || a.vendor !== b.vendor) return false;
  for (let i = 2; i < 64; i++) {
    if (!((a.xcr0 >> BigInt(i)) & 1n)) continue;
    const x = a.layout.slots[i];
    const y = b.layout.slots[i];
    if (!x || !y || x.offset !== y.offset || x.size !== y.size) return false;
  }
  return true;
}

// ------------------------------------------------------------------ the probe suite

const hx = (v: bigint | number): string => '0x' + v.toString(16);

export function describeStep(s: CStep): string {
  switch (s.op) {
    case 'setXcrs':
      return `setXcrs ${hx(s.xcr0)}`;
    case 'setXsave': {
      const v = new DataView(s.region.buffer, s.region.byteOffset, s.region.byteLength);
      return `setXsave XSTATE_BV ${hx(v.getBigUint64(512, true))}`;
    }
    default:
      return s.op;
  }
}

/** The probe suite: named conformance cases whose outcome tells the kernel variants apart. */
export function probeSuite(cal: Calibration): CCase[] {
  const size = cal.xsave2Size;
  const host = BigInt(cal.hostSupportedXcr0);
  const T = cal.supportedCpuid;
  const out: CCase[] = [];
  const add = (name: string, cpuid: CpuidEntry[] | null, body: CStep[]): void => {
    out.push({ cls: name, cpuid: cpuid ?? [], steps: cpuid ? [{ op: 'setCpuid2' }, ...body] : body, fixup: false });
  };
  const data = (xbv: bigint, extra: Parameters<typeof makeRegion>[1] = {}): Uint8Array => {
    const r = makeRegion(size, { xstateBv: xbv, fcw: 0x027f, mxcsr: 0x1fa0, xmm: { 0: xmmFill(0x11) }, ...extra });
    for (const c of cal.components) if (!c.supervisor && c.offset + c.size <= size) r.fill(0x40 + c.bit, c.offset, c.offset + c.size);
    return r;
  };
  const scenarios = [
    ...cpuidScenarios(cal),
    { name: 'leaf-0xd.0=host|xtiledata', cpuid: cpuidWithLeafD(T, host | 0x60000n), leafD0: null },
  ];
  const candidates = [...new Set<bigint>([...subsets(host), 0x0n, 0x2n, 0x5n, 0x1bn, 0x27n, 0xe3n, 0x203n, host | 0x200n, 0x60003n, (1n << 19n) | 3n, 1n << 63n])];
  const hostBits = subsets(host).filter((v) => v !== 0n && (v & (v - 1n)) === 0n);
  for (const sc of scenarios) {
    add(`xcr0/${sc.name}`, sc.cpuid, [{ op: 'getXcrs' }, ...candidates.map((x): CStep => ({ op: 'setXcrs', xcr0: x })), { op: 'getXcrs' }]);
    const mask: CStep[] = [];
    for (const b of hostBits) mask.push({ op: 'setXsave', region: data(b) }, { op: 'getXsave' });
    mask.push({ op: 'setXsave', region: data(host) }, { op: 'getXsave' });
    add(`get-mask/${sc.name}`, sc.cpuid, mask);
  }
  const never = scenarios[0]!;
  const hostSc = scenarios.find((s) => s.name === 'leaf-0xd.0=host')!;
  const leaf3 = scenarios.find((s) => s.name === 'leaf-0xd.0=0x3')!;
  for (const sc of [never, hostSc]) {
    add(`set-bits/${sc.name}`, sc.cpuid, [...Array.from({ length: 64 }, (_, i): CStep => ({ op: 'setXsave', region: data(1n << BigInt(i)) })), { op: 'getXsave' }]);
    add(`get-after-set/${sc.name}`, sc.cpuid, [0x0n, 0x1n, 0x2n, 0x3n, 0x4n, 0x5n, 0x6n, 0x7n, host].flatMap((x): CStep[] => [{ op: 'setXsave', region: data(x & (host | 3n)) }, { op: 'getXsave' }]));
  }
  const header: CStep[] = [];
  for (let off = 520; off < 576; off++) header.push({ op: 'setXsave', region: data(0x3n, { patch: [[off, Uint8Array.of(1)]] }) });
  header.push({ op: 'setXsave', region: data(0x3n, { xcompBv: (1n << 63n) | 3n }) });
  header.push({ op: 'setXsave', region: data(0x3n, { patch: [[416, new Uint8Array(96).fill(0xff)]] }) }, { op: 'getXsave' });
  add('header/leaf-0xd.0=host', hostSc.cpuid, header);
  const reserved = ~cal.mxcsrFeatureMask >>> 0;
  const resBits: number[] = [];
  for (let i = 0; i < 32; i++) if ((reserved >>> i) & 1) resBits.push(i);
  const mx: CStep[] = [];
  for (const xbv of [0x0n, 0x1n, 0x2n, 0x4n, 0x3n, 0x7n, 0x20n, 0xe0n, 0x23n]) {
    if ((xbv & ~host) !== 0n) continue;
    for (const b of [resBits[0], resBits[resBits.length - 1]]) {
      if (b === undefined) continue;
      mx.push({ op: 'setXsave', region: data(xbv, { mxcsr: (0x1f80 | (1 << b)) >>> 0 }) }, { op: 'getXsave' });
    }
  }
  add('mxcsr/leaf-0xd.0=host', hostSc.cpuid, mx);
  const bad: Array<[string, Uint8Array]> = [
    ['pkru-bit', data(0x203n, { fcw: 0x007f })],
    ['xcomp-bv', data(0x3n, { fcw: 0x007f, xcompBv: 1n })],
    ['header-540', data(0x3n, { fcw: 0x007f, patch: [[540, Uint8Array.of(1)]] })],
  ];
  for (const [what, b] of bad) {
    add(`failed-set/${what}`, hostSc.cpuid, [{ op: 'setXsave', region: data(0x3n) }, { op: 'getXsave' }, { op: 'setXsave', region: b }, { op: 'getXsave' }]);
  }
  add('pkru/leaf-0xd.0=0x3', leaf3.cpuid, [{ op: 'setXsave', region: data(0x3n | 0x200n | (host & 0x4n)) }, { op: 'getXsave' }]);
  for (const order of ['xcrs-first', 'xsave-first'] as const) {
    for (const x of [0x1n, 0x3n, host]) {
      const a: CStep = { op: 'setXcrs', xcr0: x };
      const b: CStep = { op: 'setXsave', region: data(host) };
      add(`xcr0-vs-get/${order}/${hx(x)}`, leaf3.cpuid, [...(order === 'xcrs-first' ? [a, b] : [b, a]), { op: 'getXsave' }, { op: 'getXcrs' }]);
    }
  }
  for (const sc of [leaf3, scenarios.find((s) => s.name === 'only-leaf-1-zeroed')!]) {
    out.push({
      cls: `cpuid-after-xsave/${sc.name}`,
      cpuid: sc.cpuid ?? [],
      steps: [{ op: 'setXsave', region: data(host) }, { op: 'getXsave' }, { op: 'setCpuid2' }, { op: 'getXsave' }],
      fixup: false,
    });
  }
  return out;
}

// ------------------------------------------------------------------ scoring

function score(suite: CCase[], results: CaseResult[], machine: ThisMachine): { differing: number; examples: string[]; steps: number } {
  let differing = 0;
  let steps = 0;
  const examples: string[] = [];
  suite.forEach((c, i) => {
    steps += c.steps.length;
    let d: Disagreement[];
    try {
      d = compareCase(c, predictCase(machine, c), results[i]!);
    } catch (e) {
      d = [{ step: -1, op: 'model', field: 'prediction', expected: 'a prediction', actual: (e as Error).message }];
    }
    differing += d.length;
    for (const x of d) {
      if (examples.length < 8) examples.push(`${c.cls} step ${x.step} (${x.step >= 0 ? describeStep(c.steps[x.step]!) : x.op}): ${x.field}: expected ${x.expected}, got ${x.actual}`);
    }
  });
  return { differing, examples, steps };
}

function versionOf(s: string): number | null {
  const m = /(\d+)\.(\d+)/.exec(s);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : null;
}

/** Lower is better: the variant's version against the running release. */
function versionDistance(id: string, release: string): number {
  const v = versionOf(id);
  const r = versionOf(release);
  if (v === null || r === null) return 1e6;
  return v <= r ? r - v : 1e5 + (v - r);
}

const RULE_FIELDS = {
  gsx: ['cpuid', 'host-after-cpuid'] as GsxRule[],
  userXfeatures: ['host', 'gsx+fpsse', 'gsx', 'none'] as UserXfeaturesRule[],
  get: ['uabi-masked', 'uabi-uxf', 'fill-5.15'] as GetRule[],
  set: ['fpu-uabi', 'load-5.15'] as SetRule[],
  pvePatch: [null, 'A'] as Array<PveVariant | null>,
};
type RuleField = keyof typeof RULE_FIELDS;

function* ruleCombos(base: KernelVariant): Generator<{ kernel: KernelVariant; changes: Array<{ field: string; from: string; to: string }> }> {
  const fields = Object.keys(RULE_FIELDS) as RuleField[];
  const combos: Array<Record<RuleField, unknown>> = [{} as Record<RuleField, unknown>];
  for (const f of fields) {
    const next: Array<Record<RuleField, unknown>> = [];
    for (const c of combos) for (const v of RULE_FIELDS[f]) next.push({ ...c, [f]: v });
    combos.splice(0, combos.length, ...next);
  }
  const changed = (c: Record<RuleField, unknown>): RuleField[] => fields.filter((f) => c[f] !== base[f]);
  combos.sort((a, b) => changed(a).length - changed(b).length);
  for (const c of combos) {
    const ch = changed(c);
    if (ch.length === 0) continue;
    yield {
      kernel: { ...base, ...(c as Partial<KernelVariant>) },
      changes: ch.map((f) => ({ field: f, from: String(base[f]), to: String(c[f]) })),
    };
  }
}

// ------------------------------------------------------------------ calibrate

export interface CalibrateOptions {
  /** install the result with setThisMachine (default true) */
  install?: boolean;
  /** restrict the candidates (tests: e.g. pretend the catalogue lacks the right variant) */
  catalogue?: readonly KernelVariant[];
}

/** Measures the XRSTOR MXCSR rule with a guest run: x87|YMM restored with MXCSR 0x9fc0. */
async function measureXrstorForm(exec: XsaveExecutor, cal: Calibration): Promise<MachineCalibration['xrstor']> {
  const host = BigInt(cal.hostSupportedXcr0);
  if (!((host >> 2n) & 1n)) return { form: 'standard', guestMxcsr: null, detail: 'host has no YMM: rule not measurable, standard assumed' };
  const region = makeRegion(cal.xsave2Size, { xstateBv: 0x5n, fcw: 0x027f, mxcsr: 0x9fc0 });
  const sse = makeRegion(cal.xsave2Size, { xstateBv: 0x3n, fcw: 0x027f, mxcsr: 0x9fc0 });
  const steps = (r: Uint8Array) => [{ op: 'setCpuid2' as const }, { op: 'setSregs' as const, osfxsr: true }, { op: 'setRegs' as const }, { op: 'setXsave' as const, region: r }, { op: 'run' as const }];
  const [a, b] = await exec.runCases([
    { cpuid: cal.supportedCpuid, steps: steps(region), timeoutMs: 500 },
    { cpuid: cal.supportedCpuid, steps: steps(sse), timeoutMs: 500 },
  ]);
  const runA = a!.steps[4]!.run;
  const runB = b!.steps[4]!.run;
  if (!runA?.checkpoint || !runB?.checkpoint || readMxcsr(runB.fxsave) !== 0x9fc0) {
    return { form: 'standard', guestMxcsr: null, detail: 'guest run did not complete as expected: standard assumed' };
  }
  const m = readMxcsr(runA.fxsave);
  if (m === 0x1f80) return { form: 'compacted', guestMxcsr: m, detail: 'XSTATE_BV x87|YMM, MXCSR 0x9fc0: the guest sees 0x1f80 (compacted-form rule, SDM §13.8.2)' };
  if (m === 0x9fc0) return { form: 'standard', guestMxcsr: m, detail: 'XSTATE_BV x87|YMM, MXCSR 0x9fc0: the guest sees 0x9fc0 (standard-form rule, SDM §13.8.1)' };
  return { form: 'standard', guestMxcsr: m, detail: `unexpected guest MXCSR ${hx(m)}: standard assumed` };
}

export async function calibrateMachine(exec: XsaveExecutor, opts: CalibrateOptions = {}): Promise<MachineCalibration> {
  const t0 = Date.now();
  const cal = calibrationFromProbe(await exec.probe());
  const xrstor = await measureXrstorForm(exec, cal);
  const host = hostFromCalibration(cal, xrstor.form);
  const suite = probeSuite(cal);
  const results = await exec.runCases(suite.map((c) => toCaseSpec(c, unfixed(c))));
  // KVM_CAP_XSAVE2 exists from 5.17: variants without it cannot be the running kernel if it answers.
  const catalogue = opts.catalogue ?? KERNELS.filter((k) => k.xsave2 === cal.capXsave2 > 0);
  const release = cal.kernelRelease || os.release();
  let probeSteps = 0;
  const scored = catalogue.map((k) => {
    const s = score(suite, results, { kernel: k, host });
    probeSteps = s.steps;
    return { id: k.id, kernel: k, differing: s.differing, examples: s.examples };
  });
  scored.sort((a, b) => a.differing - b.differing || versionDistance(a.id, release) - versionDistance(b.id, release));
  const best = scored[0]!;
  let kernel = best.kernel;
  let chosen = best.id;
  let exact = best.differing === 0;
  let derivedFrom: MachineCalibration['derivedFrom'] = null;
  if (!exact) {
    let found: { kernel: KernelVariant; changes: Array<{ field: string; from: string; to: string }>; differing: number } | null = null;
    for (const c of ruleCombos(best.kernel)) {
      const s = score(suite, results, { kernel: c.kernel, host });
      if (!found || s.differing < found.differing) found = { ...c, differing: s.differing };
      if (s.differing === 0) break;
    }
    const base = best.kernel;
    const use = found && found.differing < best.differing ? found : { kernel: base, changes: [], differing: best.differing };
    const changes = use.changes;
    kernel = {
      ...use.kernel,
      id: 'this-calibrated',
      title: `the running kernel ${release} as calibrated: ${base.id}${changes.length ? ` with ${changes.map((c) => `${c.field} = ${c.to}`).join(', ')}` : ''}`,
      unconfirmed: [...(base.unconfirmed ?? []), ...(use.differing > 0 ? [`calibrated from probes; ${use.differing} probe steps still differ`] : [])],
    };
    chosen = 'this-calibrated';
    exact = use.differing === 0;
    derivedFrom = { base: base.id, changes, differingProbes: best.examples };
  }
  const catalogueHost = Object.values(HOSTS).find((h) => sameHostShape(h, host))?.name ?? null;
  const { supportedCpuid, ...facts } = cal;
  const out: MachineCalibration = {
    release,
    facts: { ...facts, supportedCpuidEntries: supportedCpuid.length },
    table: supportedCpuid,
    size: cal.xsave2Size,
    host,
    kernel,
    chosen,
    exact,
    closest: best.id,
    derivedFrom,
    candidates: scored.map(({ id, differing, examples }) => ({ id, differing, examples })),
    probeCases: suite.length,
    probeSteps,
    xrstor,
    catalogueHost,
    elapsedMs: Date.now() - t0,
  };
  if (opts.install ?? true) setThisMachine({ kernel, host });
  return out;
}

/** One-paragraph human summary. */
export function describeCalibration(c: MachineCalibration): string {
  const f = c.facts;
  const lines = [
    `kernel ${c.release} → ${c.chosen}${c.exact ? ` (all ${c.probeSteps} probe steps of ${c.probeCases} probe cases agree)` : ` (NOT exact: see below)`}`,
    `host this: ${f.vendor}, KVM supported XCR0 ${f.hostSupportedXcr0}, XSAVE2 size ${c.size}, MXCSR mask ${hx(f.mxcsrFeatureMask)}, guest FPU restore follows the ${c.xrstor.form}-form MXCSR rule${c.catalogueHost ? `; same shape as catalogue host ${c.catalogueHost}` : ''}`,
  ];
  const others = c.candidates.filter((x) => x.id !== c.chosen).slice(0, 4);
  if (others.length) lines.push(`next candidates: ${others.map((x) => `${x.id} (${x.differing} steps differ)`).join(', ')}`);
  if (c.derivedFrom) {
    lines.push(`derived from ${c.derivedFrom.base}: ${c.derivedFrom.changes.map((x) => `${x.field} ${x.from} → ${x.to}`).join(', ') || 'no rule change found'}`);
    for (const p of c.derivedFrom.differingProbes) lines.push(`  ${c.derivedFrom.base} differs: ${p}`);
  }
  return lines.join('\n');
}
