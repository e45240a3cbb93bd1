/**
 * Probe tests against the running kernel. Two kinds of assertions:
 *  - invariants every KVM kernel in scope satisfies (checked wherever /dev/kvm works);
 *  - the facts measured on the reference machine (docs/kvm-findings.md,
 *    /work/shared/research/real-kvm-here.md), checked only when running on that machine
 *    (identified by os.release(), independently of the probe), so a broken probe fails them.
 */
import * as os from 'os';
import { XsaveExecutor } from '../kvm/executor';
import { Calibration } from '../kvm/probe';
import { BehaviourReport, probeKernel, summarise } from './helpers/kvmProbe';
import { kvmTestAvailability } from '../kvm/testkit';

const avail = kvmTestAvailability('test/kvm-probe');
const describeKvm = avail.ok ? describe : describe.skip;

export const REFERENCE_RELEASE = '6.18.44-fc-v669';
const onReference = os.release() === REFERENCE_RELEASE;
if (avail.ok && !onReference) {
  console.warn(`[test/kvm-probe] reference-machine assertions SKIPPED: running on ${os.release()}, reference is ${REFERENCE_RELEASE}`);
}
const itRef = avail.ok && onReference ? it : it.skip;

describeKvm('kernel probes', () => {
  let ex: XsaveExecutor;
  let cal: Calibration;
  let b: BehaviourReport;
  beforeAll(async () => {
    ex = new XsaveExecutor();
    const r = await probeKernel(ex);
    cal = r.calibration;
    b = r.behaviour;
  }, 30_000);
  afterAll(async () => {
    await ex.close();
  });

  const scenario = <T extends { scenario: string }>(list: T[], name: string): T => {
    const x = list.find((s) => s.scenario === name);
    if (!x) throw new Error(`no scenario ${name}`);
    return x;
  };

  describe('invariants', () => {
    it('the report is plain JSON', () => {
      const s = summarise({ calibration: cal, behaviour: b });
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    });

    it('calibration is self-consistent', () => {
      expect(cal.kernelRelease).toBe(os.release());
      expect(cal.kvmApiVersion).toBe(12);
      expect(cal.xsave2Size).toBe(Math.max(4096, cal.capXsave2));
      expect(cal.hostSupportedXcr0Bits).toEqual(expect.arrayContaining([0, 1]));
      expect(cal.vendor).toMatch(/^(GenuineIntel|AuthenticAMD|HygonGenuine|CentaurHauls|  Shanghai  )$/);
      expect(cal.mxcsrFeatureMask & 0xffbf).toBe(0xffbf);
      for (const c of cal.components) {
        expect(c.offset).toBeGreaterThanOrEqual(576);
        expect(c.offset + c.size).toBeLessThanOrEqual(cal.xsave2Size);
      }
      // Every extended host bit has a component entry.
      const described = cal.components.map((c) => c.bit);
      for (const bit of cal.hostSupportedXcr0Bits.filter((x) => x >= 2)) expect(described).toContain(bit);
    });

    it('a vCPU whose CPUID was never set: guest-supported XCR0 is FP only, GET masks to FP|SSE', () => {
      expect(scenario(b.xcr0, 'never-set').derivedGuestXcr0).toBe('0x1');
      expect(scenario(b.getMask, 'never-set').survivingBits).toEqual([0, 1]);
    });

    it('KVM_SET_XCRS follows the upstream shape rules for the guest-supported XCR0 it derives', () => {
      for (const x of b.xcr0) expect([x.scenario, x.shapeRuleMismatches]).toEqual([x.scenario, []]);
    });

    it('XCR0 starts at 0x1; a refused KVM_SET_XCRS leaves the last accepted value', () => {
      for (const x of b.xcr0) {
        expect([x.scenario, x.initialXcr0]).toEqual([x.scenario, '0x1']);
        expect([x.scenario, x.finalXcr0]).toEqual([x.scenario, x.lastAcceptedXcr0]);
      }
    });

    it('KVM_SET_XSAVE accepts exactly the host-supported XSTATE_BV bits, whatever the CPUID', () => {
      for (const s of b.setXstateBvBits) {
        expect(s.accepted).toEqual(cal.hostSupportedXcr0Bits);
        for (const r of s.refused) expect(r.errno).toBe(22);
      }
    });

    it('every non-zero byte of XCOMP_BV and of the reserved header (520..575) is refused with EINVAL', () => {
      const bytes = b.headerChecks.filter((h) => /byte \d+ = 0x01/.test(h.what));
      expect(bytes).toHaveLength(56);
      for (const h of bytes) expect([h.what, h.errnoName]).toEqual([h.what, 'EINVAL']);
    });

    it('a failed SET leaves the previous state (and a fresh vCPU its reset state) unchanged', () => {
      expect(b.failedSet).toHaveLength(4);
      for (const f of b.failedSet) expect(f).toMatchObject({ errno: 22, unchanged: true, freshUnchanged: true });
    });

    it('a fresh vCPU reports the reset state', () => {
      expect(b.freshVcpu).toEqual({ xstateBv: '0x0', fcw: '0x37f', mxcsr: '0x1f80', xcr0: '0x1' });
    });
  });

  describe(`facts measured on the reference machine (${REFERENCE_RELEASE})`, () => {
    itRef('calibration: AMD, host XCR0 0xe7, XSAVE2 4096, AMD standard offsets, MXCSR mask 0x2ffff', () => {
      expect(cal.vendor).toBe('AuthenticAMD');
      expect(cal.hostSupportedXcr0).toBe('0xe7');
      expect(cal.capXsave2).toBe(4096);
      expect(cal.xsave2Size).toBe(4096);
      expect(cal.components.map(({ bit, offset, size }) => [bit, offset, size])).toEqual([
        [2, 576, 256],
        [5, 832, 64],
        [6, 896, 512],
        [7, 1408, 1024],
      ]);
      expect(cal.mxcsrFeatureMask).toBe(0x2ffff);
    });

    itRef('PVM: guest-supported XCR0 is the whole host set once CPUID contains leaf 1 or leaf 0xD.0, whatever they say', () => {
      for (const name of ['leaf-0xd-absent', 'leaf-0xd.0=0x0', 'leaf-0xd.0=0x1', 'leaf-0xd.0=0x3', 'leaf-0xd.0=0x7', 'leaf-0xd.0=host', 'only-leaf-1-zeroed', 'only-leaf-0xd.0-zeroed']) {
        expect([name, scenario(b.xcr0, name).derivedGuestXcr0]).toEqual([name, '0xe7']);
      }
      for (const name of ['never-set', 'empty-table', 'only-leaf-0', 'only-leaf-0xd.1-zeroed', 'only-leaf-7-zeroed']) {
        expect([name, scenario(b.xcr0, name).derivedGuestXcr0]).toEqual([name, '0x1']);
      }
      // CPUID asking for AMX is refused, and the vCPU stays as if CPUID were never set.
      expect(scenario(b.xcr0, 'leaf-0xd.0=host|amx')).toMatchObject({ setCpuidErrno: 1, derivedGuestXcr0: '0x1' });
    });

    itRef('KVM_SET_XCRS accepts 0x1, 0x3, 0x7, 0xe7 with CPUID set, only 0x1 without', () => {
      const row = (x: string): Record<string, boolean> => b.xcr0Table.find((r) => r.xcr0 === x)!.accepted;
      for (const x of ['0x1', '0x3', '0x7', '0xe7']) expect([x, row(x)['leaf-0xd.0=0x1']]).toEqual([x, true]);
      for (const x of ['0x0', '0x2', '0x5', '0x1b', '0x27', '0x67', '0xe3', '0xe5', '0x203', '0x600e7']) {
        expect([x, row(x)['leaf-0xd.0=host']]).toEqual([x, false]);
      }
      for (const x of ['0x3', '0x7', '0xe7']) expect([x, row(x)['never-set']]).toEqual([x, false]);
    });

    itRef('GET mask: FP|SSE without CPUID; every host bit once CPUID is set (even leaf 0xD.0 = 0x3)', () => {
      expect(scenario(b.getMask, 'never-set').allHostBitsGet).toBe('0x3');
      expect(scenario(b.getMask, 'leaf-0xd.0=0x3').survivingBits).toEqual([0, 1, 2, 5, 6, 7]);
      expect(scenario(b.getMask, 'leaf-0xd.0=0x3').allHostBitsGet).toBe('0xe7');
      // The GET mask does not depend on the current XCR0.
      for (const g of b.getMaskVsXcr0) expect(g.getXstateBv).toBe('0xe7');
    });

    itRef('PKRU (bit 9) in XSTATE_BV is refused: this host lacks PKU', () => {
      expect(b.pkru).toEqual({ hostHasPkru: false, setErrno: 22, getXstateBv: '0x0' });
    });

    itRef('the MXCSR reserved-bit check applies only when FP, SSE or YMM is in XSTATE_BV', () => {
      for (const m of b.mxcsrChecks) {
        const xbv = BigInt(/XSTATE_BV (0x[0-9a-f]+)/.exec(m.what)![1]);
        const expected = (xbv & 0x7n) !== 0n ? 'EINVAL' : 'OK';
        expect([m.what, m.errnoName]).toEqual([m.what, expected]);
      }
    });

    itRef('GET after partial SETs: MXCSR only from SSE|YMM, bytes 464..471 hold the host XCR0', () => {
      const g = (sc: string, x: string) => b.getAfterSet.find((p) => p.scenario === sc && p.setXstateBv === x)!;
      expect(g('never-set', '0x1')).toMatchObject({ getXstateBv: '0x1', getFcw: '0x27f', getMxcsr: '0x1f80' });
      expect(g('never-set', '0x2')).toMatchObject({ getXstateBv: '0x2', getFcw: '0x37f', getMxcsr: '0x1fa0' });
      expect(g('leaf-0xd.0=host', '0x4')).toMatchObject({ getXstateBv: '0x4', getMxcsr: '0x1fa0', getXmm0: '0'.repeat(32) });
      for (const p of b.getAfterSet) {
        expect(p.bytes416to511).toBe('00'.repeat(48) + 'e7' + '00'.repeat(47));
        expect(p.xcompBv).toBe('0x0');
      }
    });

    itRef('MXCSR reaching the guest: initialised (0x1f80) unless SSE is in XSTATE_BV, even when GET shows another value', () => {
      const m = (x: string) => b.mxcsrWrite.find((p) => p.secondXstateBv === x)!;
      expect(m('0x0')).toMatchObject({ getMxcsr: '0x1f80', guestFxsaveMxcsr: '0x1f80' });
      expect(m('0x1')).toMatchObject({ getMxcsr: '0x1f80', guestFxsaveMxcsr: '0x1f80', guestFxsaveFcw: '0xf7f' });
      expect(m('0x2')).toMatchObject({ getMxcsr: '0x9fc0', guestFxsaveMxcsr: '0x9fc0' });
      expect(m('0x4')).toMatchObject({ getMxcsr: '0x9fc0', guestFxsaveMxcsr: '0x1f80', getAfterRunXstateBv: '0x0' });
      expect(m('0x20')).toMatchObject({ getMxcsr: '0x1f80', guestFxsaveMxcsr: '0x1f80' });
    });
  });
});
