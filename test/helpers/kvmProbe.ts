/**
 * Research probes of the running kernel's KVM XSAVE/XCRS semantics (the facts recorded in
 * docs/kvm-findings.md), used by test/kvm-probe.test.ts. probeBehaviour(): what the kernel does —
 * guest-supported XCR0 per CPUID scenario (via KVM_SET_XCRS acceptance), the KVM_GET_XSAVE mask,
 * which XSTATE_BV bits KVM_SET_XSAVE accepts, header and MXCSR checks, what GET reports after
 * partial SETs, what a failed SET leaves behind, and what a guest observes (FXSAVE) after such
 * SETs. Everything returned is plain JSON (64-bit masks as "0x…" strings, bit lists as numbers).
 */
import { XsaveExecutor } from '../../kvm/executor';
import { Calibration, CpuidScenario, calibrate, cpuidScenarios, cpuidWithLeafD, subsets } from '../../kvm/probe';
import { CaseResult, CaseSpec, Step, StepResult, errnoName } from '../../kvm/protocol';
import {
  XSAVE_OFF,
  bitsOf,
  hex,
  makeRegion,
  readFcw,
  readMxcsr,
  readXcompBv,
  readXmm,
  readXstateBv,
  toHex,
  xmmFill,
} from '../../kvm/region';

function withCpuid(sc: CpuidScenario, steps: Step[]): CaseSpec {
  return sc.cpuid === null ? { steps } : { cpuid: sc.cpuid, steps: [{ op: 'setCpuid2' }, ...steps] };
}

/** The first step result of a case is setCpuid2 iff the scenario sets CPUID: skip it. */
function bodySteps(sc: CpuidScenario, r: CaseResult): StepResult[] {
  return sc.cpuid === null ? r.steps : r.steps.slice(1);
}

/** XCR0 shape rules of __kvm_set_xcr (kernel-semantics.md §5.2), given guest-supported XCR0. */
export function xcr0ShapeOk(x: bigint, gsx: bigint): boolean {
  const bit = (i: number): boolean => ((x >> BigInt(i)) & 1n) === 1n;
  if (!bit(0)) return false;
  if (bit(2) && !bit(1)) return false;
  if ((x & ~(gsx | 1n)) !== 0n) return false;
  if (bit(3) !== bit(4)) return false;
  const avx512 = x & 0xe0n;
  if (avx512 !== 0n && (!bit(2) || avx512 !== 0xe0n)) return false;
  if ((bit(17) || bit(18)) && !(bit(17) && bit(18))) return false;
  return true;
}

export interface Xcr0Probe {
  scenario: string;
  leafD0: string | null;
  setCpuidErrno: number | null;
  accepted: string[];
  refused: string[];
  /** OR of every accepted value: the guest-supported XCR0 (| FP) the kernel uses. */
  derivedGuestXcr0: string;
  /** Every candidate behaves as the upstream shape rules predict with gsx = derivedGuestXcr0. */
  shapeRulesHold: boolean;
  shapeRuleMismatches: string[];
  /** XCR0 read back (KVM_GET_XCRS) on a fresh vCPU after CPUID setup, before any SET_XCRS. */
  initialXcr0: string | null;
  /** XCR0 read back after all candidates, and the last candidate that was accepted. */
  finalXcr0: string | null;
  lastAcceptedXcr0: string | null;
}

export interface GetMaskProbe {
  scenario: string;
  setCpuidErrno: number | null;
  /** XSTATE_BV bit i → XSTATE_BV reported by GET after SET of exactly that bit (null: SET failed). */
  perBit: Array<{ bit: number; setErrno: number; getXstateBv: string | null }>;
  /** Host bits that survive a SET/GET round trip. */
  survivingBits: number[];
  /** GET XSTATE_BV after a SET of all host bits. */
  allHostBitsGet: string | null;
}

export interface ErrnoProbe {
  what: string;
  errno: number;
  errnoName: string;
}

export interface MxcsrWriteProbe {
  /** XSTATE_BV of the second SET (the first SET establishes MXCSR 0x1fa0 with FP|SSE). */
  secondXstateBv: string;
  secondMxcsr: string;
  secondErrno: number;
  getXstateBv: string | null;
  getMxcsr: string | null;
  getFcw: string | null;
  guestOutcome: string | null;
  guestFxsaveMxcsr: string | null;
  guestFxsaveFcw: string | null;
  guestXmm0: string | null;
  getAfterRunXstateBv: string | null;
  getAfterRunMxcsr: string | null;
}

export interface GetAfterSetProbe {
  scenario: string;
  setXstateBv: string;
  setErrno: number;
  getXstateBv: string | null;
  getFcw: string | null;
  getMxcsr: string | null;
  /** GET's MXCSR_MASK field (bytes 28..31). */
  getMxcsrMask: string | null;
  getXmm0: string | null;
  xcompBv: string | null;
  /** Bytes 416..511 of GET, hex. */
  bytes416to511: string | null;
  /** Non-zero bytes anywhere in 528..4095 (offset list, capped at 32). */
  nonZeroBeyondHeader: number[];
}

export interface FailedSetProbe {
  invalid: string;
  errno: number;
  /** GET after the failed SET equals GET before it (byte-for-byte). */
  unchanged: boolean;
  /** On a fresh vCPU: GET after the failed SET equals a fresh vCPU's GET. */
  freshUnchanged: boolean;
}

export interface BehaviourReport {
  xcr0: Xcr0Probe[];
  /** For the named XCR0 values: accepted per scenario. */
  xcr0Table: Array<{ xcr0: string; accepted: Record<string, boolean> }>;
  getMask: GetMaskProbe[];
  setXstateBvBits: { scenario: string; accepted: number[]; refused: Array<{ bit: number; errno: number }> }[];
  headerChecks: ErrnoProbe[];
  mxcsrChecks: ErrnoProbe[];
  getAfterSet: GetAfterSetProbe[];
  failedSet: FailedSetProbe[];
  mxcsrWrite: MxcsrWriteProbe[];
  /** SET_XSAVE XSTATE_BV with the PKRU bit (9). */
  pkru: { hostHasPkru: boolean; setErrno: number; getXstateBv: string | null };
  /** Does the GET mask depend on the vCPU's current XCR0? */
  getMaskVsXcr0: Array<{ xcr0: string; order: 'xcrs-then-xsave' | 'xsave-then-xcrs'; setXcrsErrno: number; setXstateBv: string; getXstateBv: string | null; getXcr0: string | null }>;
  /** KVM_GET_XSAVE and KVM_GET_XSAVE2 return identical bytes (when the size is 4096). */
  getXsaveEqualsGetXsave2: boolean | null;
  /** A fresh vCPU (no CPUID): what GET and GET_XCRS report. */
  freshVcpu: { xstateBv: string; fcw: string; mxcsr: string; xcr0: string | null };
}

const NAMED_XCR0 = [0x0n, 0x1n, 0x2n, 0x3n, 0x5n, 0x7n, 0x1bn, 0x1fn, 0x27n, 0x67n, 0xe3n, 0xe5n, 0xe7n, 0x203n, 0x207n, 0x600e7n];

/** XCR0 candidates from `mask`: every subset of its bits, or singles and prefixes past 7 bits. */

function must<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`probe: missing ${what}`);
  return v;
}

const getBv = (s: StepResult | undefined): string | null => (s && !s.skipped && s.errno === 0 && s.xsave ? hex(readXstateBv(s.xsave)) : null);

export async function probeBehaviour(exec: XsaveExecutor, cal: Calibration): Promise<BehaviourReport> {
  const size = cal.xsave2Size;
  const host = BigInt(cal.hostSupportedXcr0);
  const scenarios = cpuidScenarios(cal);
  const hostSc = must(
    scenarios.find((s) => s.name === 'leaf-0xd.0=host'),
    'host scenario',
  );
  const neverSc = scenarios[0];
  const extraScenarios: CpuidScenario[] = [
    { name: 'leaf-0xd.0=host|amx', cpuid: cpuidWithLeafD(cal.supportedCpuid, host | 0x60000n), leafD0: hex(host | 0x60000n) },
  ];

  // (a) XCR0 acceptance per scenario.
  const candidates = [...new Set<bigint>([...subsets(host), ...NAMED_XCR0, 0x203n | host, (1n << 19n) | 3n])];
  const xcr0Cases: CaseSpec[] = [...scenarios, ...extraScenarios].map((sc) =>
    withCpuid(sc, [{ op: 'getXcrs' }, ...candidates.map((x): Step => ({ op: 'setXcrs', xcr0: x })), { op: 'getXcrs' }]),
  );
  // (b) GET mask per scenario.
  const hostBits = bitsOf(host);
  const maskCases: CaseSpec[] = scenarios.map((sc) => {
    const steps: Step[] = [];
    for (const b of hostBits) {
      steps.push({ op: 'setXsave', region: makeRegion(size, { xstateBv: 1n << BigInt(b) }) }, { op: 'getXsave' });
    }
    steps.push({ op: 'setXsave', region: makeRegion(size, { xstateBv: host }) }, { op: 'getXsave' });
    return withCpuid(sc, steps);
  });
  // (c) Which XSTATE_BV bits SET accepts.
  const bitScenarios = [neverSc, hostSc];
  const bitCases: CaseSpec[] = bitScenarios.map((sc) =>
    withCpuid(
      sc,
      Array.from({ length: 64 }, (_, i): Step => ({ op: 'setXsave', region: makeRegion(size, { xstateBv: 1n << BigInt(i) }) })),
    ),
  );
  // (d) Header and MXCSR checks (fresh vCPU with host CPUID; each SET independent of the others).
  const headerWhat: string[] = [];
  const headerSteps: Step[] = [];
  for (let off = XSAVE_OFF.xcompBv; off < XSAVE_OFF.ext; off++) {
    headerWhat.push(off < XSAVE_OFF.hdrReserved ? `XCOMP_BV byte ${off} = 0x01` : `reserved header byte ${off} = 0x01`);
    headerSteps.push({ op: 'setXsave', region: makeRegion(size, { patch: [[off, Uint8Array.of(1)]] }) });
  }
  headerWhat.push('XCOMP_BV = bit 63 | XSTATE_BV (compacted form)');
  headerSteps.push({ op: 'setXsave', region: makeRegion(size, { xcompBv: (1n << 63n) | 3n }) });
  headerWhat.push('bytes 416..511 all 0xff');
  headerSteps.push({ op: 'setXsave', region: makeRegion(size, { patch: [[416, new Uint8Array(96).fill(0xff)]] }) });
  headerWhat.push('MXCSR_MASK field 0xffffffff');
  headerSteps.push({ op: 'setXsave', region: makeRegion(size, { mxcsrMask: 0xffffffff }) });
  headerWhat.push('bytes beyond the host components (last byte of region) 0xff, XSTATE_BV 0x3');
  headerSteps.push({ op: 'setXsave', region: makeRegion(size, { patch: [[size - 1, Uint8Array.of(0xff)]] }) });

  const reserved = ~cal.mxcsrFeatureMask >>> 0;
  const resBits = bitsOf(BigInt(reserved));
  const mxcsrBits = [...new Set([resBits[0], resBits[resBits.length - 1]])].filter((b) => b !== undefined);
  const mxcsrWhat: string[] = [];
  const mxcsrSteps: Step[] = [];
  for (const xbv of [0x0n, 0x1n, 0x2n, 0x4n, 0x3n, 0x7n, 0x20n, 0xe0n, 0x23n]) {
    if ((xbv & ~host) !== 0n) continue;
    for (const b of mxcsrBits) {
      const m = (0x1f80 | (1 << b)) >>> 0;
      mxcsrWhat.push(`XSTATE_BV ${hex(xbv)}, MXCSR ${hex(m)}`);
      mxcsrSteps.push({ op: 'setXsave', region: makeRegion(size, { xstateBv: xbv, mxcsr: m }) });
    }
  }
  // (h) GET after SET of selected XSTATE_BV values.
  const gasValues = [0x0n, 0x1n, 0x2n, 0x3n, 0x4n, 0x7n, host];
  const gasRegion = (xbv: bigint): Uint8Array =>
    makeRegion(size, { xstateBv: xbv, fcw: 0x027f, mxcsr: 0x1fa0, xmm: { 0: xmmFill(0x11) } });
  const gasCases: CaseSpec[] = [];
  const gasMeta: Array<{ sc: CpuidScenario; xbv: bigint }> = [];
  for (const sc of [neverSc, hostSc]) {
    for (const xbv of gasValues) {
      gasCases.push(withCpuid(sc, [{ op: 'setXsave', region: gasRegion(xbv) }, { op: 'getXsave' }]));
      gasMeta.push({ sc, xbv });
    }
  }
  // (f) Failed SET leaves the previous state / the reset state.
  const good = makeRegion(size, { xstateBv: 0x3n, fcw: 0x027f, mxcsr: 0x1fa0, xmm: { 0: xmmFill(0x11) } });
  const badOpts = { fcw: 0x007f, mxcsr: 0x1f00, xmm: { 0: xmmFill(0x22) } };
  const invalid: Array<[string, Uint8Array]> = [
    ['XSTATE_BV with a bit outside the host set (bit 9 / 8 / 63)', makeRegion(size, { ...badOpts, xstateBv: (host & (1n << 9n)) === 0n ? 0x203n : (1n << 63n) | 3n })],
    ['MXCSR reserved bit', makeRegion(size, { ...badOpts, mxcsr: (0x1f80 | (1 << (resBits[0] ?? 31))) >>> 0 })],
    ['XCOMP_BV non-zero', makeRegion(size, { ...badOpts, xcompBv: 1n })],
    ['reserved header byte 540 non-zero', makeRegion(size, { ...badOpts, patch: [[540, Uint8Array.of(1)]] })],
  ];
  const failedCases: CaseSpec[] = [];
  for (const [, bad] of invalid) {
    failedCases.push(
      withCpuid(hostSc, [{ op: 'setXsave', region: good }, { op: 'getXsave' }, { op: 'setXsave', region: bad }, { op: 'getXsave' }]),
      withCpuid(hostSc, [{ op: 'getXsave' }, { op: 'setXsave', region: bad }, { op: 'getXsave' }]),
    );
  }
  // (g) MXCSR write when FP/SSE/YMM are clear; what the guest then sees.
  const first = makeRegion(size, { xstateBv: 0x3n, fcw: 0x027f, mxcsr: 0x1fa0, xmm: { 0: xmmFill(0x11) } });
  const mwValues = [0x0n, 0x1n, 0x2n, 0x4n, 0x20n].filter((x) => (x & ~host) === 0n);
  const M2 = 0x9fc0;
  const mwCases: CaseSpec[] = mwValues.map((xbv) =>
    withCpuid(hostSc, [
      { op: 'setSregs' },
      { op: 'setRegs' },
      { op: 'setXsave', region: first },
      { op: 'setXsave', region: makeRegion(size, { xstateBv: xbv, fcw: 0x0f7f, mxcsr: M2, xmm: { 0: xmmFill(0x33) } }) },
      { op: 'getXsave' },
      { op: 'run' },
      { op: 'getXsave' },
    ]),
  );
  // (e) PKRU bit.
  const pkruCase = withCpuid(hostSc, [{ op: 'setXsave', region: makeRegion(size, { xstateBv: 0x203n }) }, { op: 'getXsave' }]);
  // (j) GET mask vs current XCR0, both orders.
  const xv: Array<{ xcr0: bigint; xbv: bigint; order: 'xcrs-then-xsave' | 'xsave-then-xcrs' }> = [];
  for (const order of ['xcrs-then-xsave', 'xsave-then-xcrs'] as const) {
    xv.push({ xcr0: 0x1n, xbv: host, order }, { xcr0: 0x3n, xbv: host, order }, { xcr0: host, xbv: host, order });
  }
  const xvCases: CaseSpec[] = xv.map(({ xcr0, xbv, order }) => {
    const a: Step = { op: 'setXcrs', xcr0 };
    const b: Step = { op: 'setXsave', region: makeRegion(size, { xstateBv: xbv }) };
    return withCpuid(hostSc, [...(order === 'xcrs-then-xsave' ? [a, b] : [b, a]), { op: 'getXsave' }, { op: 'getXcrs' }]);
  });
  // (k) GET_XSAVE vs GET_XSAVE2, (m) fresh vCPU.
  const miscCases: CaseSpec[] = [
    withCpuid(hostSc, [{ op: 'setXsave', region: gasRegion(host) }, { op: 'getXsave', ioctl: 'xsave' }, { op: 'getXsave', ioctl: 'xsave2' }]),
    { steps: [{ op: 'getXsave' }, { op: 'getXcrs' }] },
  ];

  const all = [
    xcr0Cases,
    maskCases,
    bitCases,
    [withCpuid(hostSc, headerSteps)],
    [withCpuid(hostSc, mxcsrSteps)],
    gasCases,
    failedCases,
    mwCases,
    [pkruCase],
    xvCases,
    miscCases,
  ];
  const res = await exec.runCases(all.flat());
  let at = 0;
  const take = (n: number): CaseResult[] => {
    const r = res.slice(at, at + n);
    at += n;
    return r;
  };
  const [xcr0R, maskR, bitR, headerR, mxcsrR, gasR, failedR, mwR, pkruR, xvR, miscR] = all.map((g) => take(g.length));

  // (a)
  const xcr0: Xcr0Probe[] = [...scenarios, ...extraScenarios].map((sc, i) => {
    const r = xcr0R[i];
    const setCpuidErrno = sc.cpuid === null ? null : r.steps[0].errno;
    const body = bodySteps(sc, r);
    const initialXcr0 = body[0].xcr0 !== undefined ? hex(body[0].xcr0) : null;
    const accepted: bigint[] = [];
    const refused: bigint[] = [];
    candidates.forEach((x, k) => (body[k + 1].errno === 0 && !body[k + 1].skipped ? accepted : refused).push(x));
    const gsx = accepted.reduce((a, b) => a | b, 0n);
    const mismatches = candidates.filter((x) => xcr0ShapeOk(x, gsx) !== accepted.includes(x)).map(hex);
    const fin = body[candidates.length + 1].xcr0;
    const lastAcc = candidates.filter((_x, k) => body[k + 1].errno === 0 && !body[k + 1].skipped).pop();
    return {
      scenario: sc.name,
      leafD0: sc.leafD0,
      setCpuidErrno,
      accepted: accepted.map(hex),
      refused: refused.map(hex),
      derivedGuestXcr0: hex(gsx),
      shapeRulesHold: mismatches.length === 0,
      shapeRuleMismatches: mismatches,
      initialXcr0,
      finalXcr0: fin !== undefined ? hex(fin) : null,
      lastAcceptedXcr0: lastAcc !== undefined ? hex(lastAcc) : null,
    };
  });
  const xcr0Table = NAMED_XCR0.map((x) => ({
    xcr0: hex(x),
    accepted: Object.fromEntries(xcr0.map((p) => [p.scenario, p.accepted.includes(hex(x))])),
  }));
  // (b)
  const getMask: GetMaskProbe[] = scenarios.map((sc, i) => {
    const r = maskR[i];
    const body = bodySteps(sc, r);
    const perBit = hostBits.map((b, k) => {
      const set = body[2 * k];
      const get = body[2 * k + 1];
      return { bit: b, setErrno: set.errno, getXstateBv: set.errno === 0 ? getBv(get) : null };
    });
    const surviving = perBit.filter((p) => p.getXstateBv !== null && (BigInt(p.getXstateBv) >> BigInt(p.bit)) & 1n).map((p) => p.bit);
    const last = body[2 * hostBits.length + 1];
    return {
      scenario: sc.name,
      setCpuidErrno: sc.cpuid === null ? null : r.steps[0].errno,
      perBit,
      survivingBits: surviving,
      allHostBitsGet: body[2 * hostBits.length].errno === 0 ? getBv(last) : null,
    };
  });
  // (c)
  const setXstateBvBits = bitScenarios.map((sc, i) => {
    const body = bodySteps(sc, bitR[i]);
    return {
      scenario: sc.name,
      accepted: body.map((s, b) => (s.errno === 0 ? b : -1)).filter((b) => b >= 0),
      refused: body.map((s, b) => ({ bit: b, errno: s.errno })).filter((x) => x.errno !== 0),
    };
  });
  const errnoList = (what: string[], r: CaseResult): ErrnoProbe[] =>
    what.map((w, k) => ({ what: w, errno: r.steps[k + 1].errno, errnoName: errnoName(r.steps[k + 1].errno) }));
  const headerChecks = errnoList(headerWhat, headerR[0]);
  const mxcsrChecks = errnoList(mxcsrWhat, mxcsrR[0]);
  // (h)
  const getAfterSet: GetAfterSetProbe[] = gasMeta.map(({ sc, xbv }, i) => {
    const body = bodySteps(sc, gasR[i]);
    const g = body[1].errno === 0 ? body[1].xsave : undefined;
    const nz: number[] = [];
    if (g) for (let o = 528; o < g.length && nz.length < 32; o++) if (g[o] !== 0) nz.push(o);
    return {
      scenario: sc.name,
      setXstateBv: hex(xbv),
      setErrno: body[0].errno,
      getXstateBv: g ? hex(readXstateBv(g)) : null,
      getFcw: g ? hex(readFcw(g)) : null,
      getMxcsr: g ? hex(readMxcsr(g)) : null,
      getMxcsrMask: g ? hex(new DataView(g.buffer, g.byteOffset).getUint32(28, true)) : null,
      getXmm0: g ? toHex(readXmm(g, 0)) : null,
      xcompBv: g ? hex(readXcompBv(g)) : null,
      bytes416to511: g ? toHex(g.slice(416, 512)) : null,
      nonZeroBeyondHeader: nz,
    };
  });
  // (f)
  const same = (a?: Uint8Array, b?: Uint8Array): boolean => !!a && !!b && Buffer.from(a).equals(Buffer.from(b));
  const freshGet = miscR[1].steps[0].xsave;
  const failedSet: FailedSetProbe[] = invalid.map(([what], k) => {
    const withPrior = bodySteps(hostSc, failedR[2 * k]);
    const fresh = bodySteps(hostSc, failedR[2 * k + 1]);
    return {
      invalid: what,
      errno: withPrior[2].errno,
      unchanged: same(withPrior[1].xsave, withPrior[3].xsave),
      freshUnchanged: same(fresh[0].xsave, fresh[2].xsave) && same(fresh[0].xsave, freshGet),
    };
  });
  // (g)
  const mxcsrWrite: MxcsrWriteProbe[] = mwValues.map((xbv, i) => {
    const body = bodySteps(hostSc, mwR[i]);
    const g = body[4].xsave;
    const run = body[5].run;
    const g2 = body[6].xsave;
    const fx = run?.checkpoint ? run.fxsave : undefined;
    return {
      secondXstateBv: hex(xbv),
      secondMxcsr: hex(M2),
      secondErrno: body[3].errno,
      getXstateBv: g ? hex(readXstateBv(g)) : null,
      getMxcsr: g ? hex(readMxcsr(g)) : null,
      getFcw: g ? hex(readFcw(g)) : null,
      guestOutcome: run ? `${run.outcome}${run.checkpoint ? '+checkpoint' : ''}` : null,
      guestFxsaveMxcsr: fx ? hex(readMxcsr(fx)) : null,
      guestFxsaveFcw: fx ? hex(readFcw(fx)) : null,
      guestXmm0: fx ? toHex(readXmm(fx, 0)) : null,
      getAfterRunXstateBv: g2 ? hex(readXstateBv(g2)) : null,
      getAfterRunMxcsr: g2 ? hex(readMxcsr(g2)) : null,
    };
  });
  // (e)
  const pb = bodySteps(hostSc, pkruR[0]);
  const pkru = { hostHasPkru: ((host >> 9n) & 1n) === 1n, setErrno: pb[0].errno, getXstateBv: getBv(pb[1]) };
  // (j)
  const getMaskVsXcr0 = xv.map(({ xcr0: x, xbv, order }, i) => {
    const body = bodySteps(hostSc, xvR[i]);
    const xcrsStep = body[order === 'xcrs-then-xsave' ? 0 : 1];
    return {
      xcr0: hex(x),
      order,
      setXcrsErrno: xcrsStep.errno,
      setXstateBv: hex(xbv),
      getXstateBv: getBv(body[2]),
      getXcr0: body[3].xcr0 !== undefined ? hex(body[3].xcr0) : null,
    };
  });
  // (k), (m)
  const kb = bodySteps(hostSc, miscR[0]);
  const getXsaveEqualsGetXsave2 = size === 4096 && kb[1].errno === 0 && kb[2].errno === 0 ? same(kb[1].xsave, kb[2].xsave) : null;
  const fr = miscR[1].steps;
  const fx = must(fr[0].xsave, 'fresh GET_XSAVE');
  const freshVcpu = {
    xstateBv: hex(readXstateBv(fx)),
    fcw: hex(readFcw(fx)),
    mxcsr: hex(readMxcsr(fx)),
    xcr0: fr[1].xcr0 !== undefined ? hex(fr[1].xcr0) : null,
  };
  return {
    xcr0,
    xcr0Table,
    getMask,
    setXstateBvBits,
    headerChecks,
    mxcsrChecks,
    getAfterSet,
    failedSet,
    mxcsrWrite,
    pkru,
    getMaskVsXcr0,
    getXsaveEqualsGetXsave2,
    freshVcpu,
  };
}

export interface KernelProbeReport {
  calibration: Omit<Calibration, 'supportedCpuid'> & { supportedCpuidEntries: number };
  behaviour: BehaviourReport;
}

/** Runs calibration and every behaviour probe; the result is JSON-serialisable. */
export async function probeKernel(exec: XsaveExecutor): Promise<{ calibration: Calibration; behaviour: BehaviourReport }> {
  const calibration = await calibrate(exec);
  const behaviour = await probeBehaviour(exec, calibration);
  return { calibration, behaviour };
}

/** A compact JSON view (without the full CPUID table). */
export function summarise(r: { calibration: Calibration; behaviour: BehaviourReport }): KernelProbeReport {
  const { supportedCpuid, ...rest } = r.calibration;
  return { calibration: { ...rest, supportedCpuidEntries: supportedCpuid.length }, behaviour: r.behaviour };
}
