/**
 * MXCSR when KVM_SET_XSAVE's XSTATE_BV lacks SSE (and x87 / YMM), on the running kernel: the
 * model's prediction (kernel `this` as calibrated, kvm/calibration.ts) against the real
 * KVM_GET_XSAVE and the guest's own view after a restore (real-mode FXSAVE, whose MXCSR field
 * is the MXCSR register; a real-mode STMXCSR is an emulation failure here, see
 * docs/kvm-findings.md §13). Buffers: XSTATE_BV ∈ {0, x87, YMM, x87|YMM, opmask, AVX-512},
 * with SSE and x87|SSE as controls; MXCSR 0x1f00 (docs/mutation.md class 6) and 0x9fc0; on a
 * fresh vCPU and after an earlier SET with MXCSR 0x1fa0 / FCW 0x027f (stale state).
 *
 * Three kinds of checks:
 *  - model = kernel for every case (compareCase: errnos, the GET region, the guest's x87/SSE);
 *  - the comparison bites: the same model with the other XRSTOR form disagrees;
 *  - the exact values measured on the reference machine (os.release()).
 * Cases that need a component the host lacks (YMM, opmask, AVX-512) are skipped with the reason.
 */
import { execFileSync } from 'child_process';
import * as os from 'os';
import { PVE_FIXUP } from '../model';
import { defaultExecutorPath } from './available';
import { MachineCalibration, calibrateMachine } from './calibration';
import { CCase, Disagreement, compareCase, predictCase, toCaseSpec } from './conformance';
import { XsaveExecutor } from './executor';
import { CaseResult, FrameSplitter, decodeReply, encodeProbe, frame } from './protocol';
import { makeRegion, readFcw, readMxcsr, readXstateBv, xmmFill } from './region';
import { kvmTestAvailability } from './testkit';

const avail = kvmTestAvailability('kvm/mxcsr-corner.test');
const describeKvm = avail.ok ? describe : describe.skip;

const REFERENCE_RELEASE = '6.18.44-fc-v669';
const onReference = os.release() === REFERENCE_RELEASE;

/**
 * KVM's supported XCR0 (KVM_GET_SUPPORTED_CPUID leaf 0xD.0), read synchronously with one PROBE
 * request so that the cases a host cannot run are skipped at registration, with the reason.
 */
function hostSupportedXcr0(): { xcr0: bigint } | { reason: string } {
  if (!avail.ok) return { reason: avail.reason };
  try {
    const out = execFileSync(defaultExecutorPath(), { input: Buffer.from(frame(encodeProbe(1))), timeout: 20_000 });
    const [body] = new FrameSplitter().push(new Uint8Array(out.buffer, out.byteOffset, out.length));
    const reply = body ? decodeReply(body) : undefined;
    if (!reply || reply.kind !== 'probe') return { reason: `the executor's PROBE answered ${reply ? reply.kind : 'nothing'}` };
    const d0 = reply.probe.supportedCpuid.find((e) => e.leaf === 0xd && e.subleaf === 0);
    return { xcr0: d0 ? BigInt(d0.eax >>> 0) | (BigInt(d0.edx >>> 0) << 32n) : 0x3n };
  } catch (e) {
    return { reason: `the executor's PROBE failed: ${(e as Error).message}` };
  }
}
const hostCaps = hostSupportedXcr0();
const hostXcr0 = 'xcr0' in hostCaps ? hostCaps.xcr0 : 0n;

/** `it` when the host's supported XCR0 holds `need`, else a skip whose reason is printed. */
function itNeeding(need: bigint, what: string): typeof it {
  if (!avail.ok) return it.skip;
  if (!('xcr0' in hostCaps)) {
    console.warn(`[kvm/mxcsr-corner.test] ${what}: SKIPPED: ${hostCaps.reason}`);
    return it.skip;
  }
  if ((hostXcr0 & need) !== need) {
    console.warn(`[kvm/mxcsr-corner.test] ${what}: SKIPPED: KVM's supported XCR0 0x${hostXcr0.toString(16)} lacks 0x${need.toString(16)}`);
    return it.skip;
  }
  return it;
}

if (avail.ok && !onReference) {
  console.warn(`[kvm/mxcsr-corner.test] reference-machine values SKIPPED: running on ${os.release()}, reference is ${REFERENCE_RELEASE}`);
}
const itRef = avail.ok && onReference ? it : it.skip;

interface Corner {
  key: string;
  xstateBv: bigint;
  mxcsr: number;
  stale: boolean;
}

const GROUPS: Array<{ name: string; need: bigint; bvs: bigint[] }> = [
  { name: 'no extended component: XSTATE_BV 0 and x87 only (controls: SSE, x87|SSE)', need: 0x3n, bvs: [0x0n, 0x1n, 0x2n, 0x3n] },
  { name: 'YMM without SSE: XSTATE_BV YMM and x87|YMM (control: SSE|YMM)', need: 0x7n, bvs: [0x4n, 0x5n, 0x6n] },
  { name: 'AVX-512 state without x87/SSE/YMM: XSTATE_BV opmask and opmask|ZMM_Hi256|Hi16_ZMM', need: 0xe7n, bvs: [0x20n, 0xe0n] },
];
const MXCSRS = [0x1f00, 0x9fc0];

function cornersOf(bvs: bigint[]): Corner[] {
  const out: Corner[] = [];
  for (const xstateBv of bvs) for (const mxcsr of MXCSRS) for (const stale of [false, true]) {
    out.push({ key: `XSTATE_BV 0x${xstateBv.toString(16)}, MXCSR 0x${mxcsr.toString(16)}${stale ? ', after MXCSR 0x1fa0' : ', fresh'}`, xstateBv, mxcsr, stale });
  }
  return out;
}

describeKvm('MXCSR with SSE clear in XSTATE_BV: the model against the running kernel', () => {
  let ex: XsaveExecutor;
  let cal: MachineCalibration;
  const corners = GROUPS.flatMap((g) => ((hostXcr0 & g.need) === g.need ? cornersOf(g.bvs) : []));
  const cases = new Map<string, CCase>();
  const real = new Map<string, CaseResult>();

  const caseOf = (c: Corner, size: number, table: CCase['cpuid']): CCase => {
    const a = makeRegion(size, { xstateBv: 0x3n, fcw: 0x027f, mxcsr: 0x1fa0, xmm: { 0: xmmFill(0x11) } });
    const b = makeRegion(size, { xstateBv: c.xstateBv, fcw: 0x0f7f, mxcsr: c.mxcsr, xmm: { 0: xmmFill(0x33) } });
    return {
      cls: 'mxcsr-corner',
      what: c.key,
      cpuid: table,
      fixup: false,
      timeoutMs: 500,
      steps: [
        { op: 'setCpuid2' },
        ...(c.stale ? [{ op: 'setXsave' as const, region: a }] : []),
        { op: 'setXsave', region: b },
        { op: 'getXsave' },
        { op: 'setXcrs', xcr0: hostXcr0 & 0x7n }, // QEMU restores XCR0 after XSAVE
        { op: 'run' },
      ],
    };
  };

  beforeAll(async () => {
    ex = new XsaveExecutor();
    cal = await calibrateMachine(ex, { install: false });
    for (const c of corners) cases.set(c.key, caseOf(c, cal.size, cal.table));
    const keys = [...cases.keys()];
    const machine = { kernel: cal.kernel, host: cal.host };
    const results = await ex.runCases(keys.map((k) => toCaseSpec(cases.get(k)!, predictCase(machine, cases.get(k)!, PVE_FIXUP))));
    keys.forEach((k, i) => real.set(k, results[i]!));
  }, 60_000);
  afterAll(async () => {
    await ex.close();
  });

  /** Disagreements of the model (kernel and host as calibrated, or `host` instead) with the kernel. */
  const disagreements = (key: string, host = cal.host): Disagreement[] => {
    const c = cases.get(key)!;
    return compareCase(c, predictCase({ kernel: cal.kernel, host }, c, PVE_FIXUP), real.get(key)!);
  };

  for (const g of GROUPS) {
    itNeeding(g.need, g.name)(`${g.name}: the model's prediction equals the kernel's errnos, GET region and guest x87/SSE`, () => {
      const keys = cornersOf(g.bvs).map((c) => c.key);
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) {
        const p = predictCase({ kernel: cal.kernel, host: cal.host }, cases.get(k)!, PVE_FIXUP);
        // every buffer is valid: the model accepts it (so the cases are not refusals)
        expect([k, p.steps.filter((s) => s.op === 'setXsave').map((s) => s.errno)]).toEqual([k, cases.get(k)!.steps.filter((s) => s.op === 'setXsave').map(() => 0)]);
        expect([k, disagreements(k)]).toEqual([k, []]);
      }
    });
  }

  it('the comparison bites: with the other XRSTOR form the model mispredicts the guest MXCSR', () => {
    const other = cal.host.kernelXrstor === 'compacted' ? 'standard' : 'compacted';
    const host = { ...cal.host, kernelXrstor: other } as typeof cal.host;
    // XSTATE_BV 0 after MXCSR 0x1fa0: the standard form loads the stale 0x1fa0, the compacted
    // form initialises MXCSR; only one of them can match the kernel.
    const d = disagreements('XSTATE_BV 0x0, MXCSR 0x1f00, after MXCSR 0x1fa0', host);
    expect(d.map((x) => x.field)).toEqual(['guest mxcsr']);
  });

  itRef('calibration on the reference machine: linux-6.18-pvm, XRSTORS (compacted-form MXCSR rule)', () => {
    expect(cal.chosen).toBe('linux-6.18-pvm');
    expect(cal.xrstor.form).toBe('compacted');
    expect(hostXcr0).toBe(0xe7n);
  });

  itRef('reference values: GET shows the MXCSR set iff SSE or YMM is in XSTATE_BV, the guest iff SSE is; else 0x1f80', () => {
    const rows: string[] = [];
    for (const c of corners) {
      const r = real.get(c.key)!;
      const errnos = r.steps.filter((s) => s.op === 'setXsave' || s.op === 'setXcrs').map((s) => s.errno);
      const get = r.steps.find((s) => s.op === 'getXsave')!.xsave!;
      const run = r.steps.find((s) => s.op === 'run')!.run!;
      const hex = (v: number | bigint): string => '0x' + v.toString(16);
      rows.push(
        `${c.key}: errnos ${errnos.join(',')} GET XSTATE_BV ${hex(readXstateBv(get))} MXCSR ${hex(readMxcsr(get))} FCW ${hex(readFcw(get))}` +
          ` | guest ${run.checkpoint ? 'checkpoint' : 'NO checkpoint'} MXCSR ${hex(readMxcsr(run.fxsave))} FCW ${hex(readFcw(run.fxsave))}`,
      );
    }
    const want = corners.map((c) => {
      const hex = (v: number | bigint): string => '0x' + v.toString(16);
      const getMxcsr = (c.xstateBv & 0x6n) !== 0n ? c.mxcsr : 0x1f80;
      const guestMxcsr = (c.xstateBv & 0x2n) !== 0n ? c.mxcsr : 0x1f80;
      const fcw = (c.xstateBv & 0x1n) !== 0n ? 0x0f7f : 0x037f;
      return (
        `${c.key}: errnos ${c.stale ? '0,0,0' : '0,0'} GET XSTATE_BV ${hex(c.xstateBv)} MXCSR ${hex(getMxcsr)} FCW ${hex(fcw)}` +
        ` | guest checkpoint MXCSR ${hex(guestMxcsr)} FCW ${hex(fcw)}`
      );
    });
    expect(rows).toEqual(want);
    expect(corners).toHaveLength(36);
  });
});
