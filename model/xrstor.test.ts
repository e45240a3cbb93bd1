// XRSTOR (xrstor.ts) rule by rule, from Intel SDM Vol. 1 §13.8 and kernel-semantics.md §8.3:
// the #UD for CR4.OSXSAVE = 0, which bytes make up the x87 and SSE components, and when MXCSR
// is loaded, initialised or left alone in the standard and compacted forms. Expectations are
// written by hand. Initial values are cached per layout object in xrstor.ts, so the tests that
// look at them use a fresh copy of the layout.
import {
  AMD_LAYOUT,
  INTEL_LAYOUT,
  Layout,
  MXCSR_INIT,
  OFF,
  RegisterFile,
  XFEATURE,
  XrstorEnv,
  componentBytes,
  initComponent,
  readU16,
  writeU32,
  writeU64,
  xrstorStandard,
} from './index';

const fresh = (l: Layout): Layout => ({ ...l, slots: { ...l.slots } });
const prior = (mxcsr = 0x1fa0): RegisterFile => ({ comps: new Map(), mxcsr });

/** A standard-format image: every byte of the legacy area and YMM patterned, header as given. */
function image(xstateBv: bigint, mxcsr: number): Uint8Array {
  const m = new Uint8Array(4096);
  for (let i = 0; i < OFF.XSTATE_BV; i++) m[i] = (i * 7 + 1) & 0xff;
  for (let i = OFF.EXTENDED; i < OFF.EXTENDED + 256; i++) m[i] = (i * 3 + 5) & 0xff;
  writeU32(m, OFF.MXCSR, mxcsr);
  m.fill(0, OFF.XSTATE_BV, OFF.EXTENDED);
  writeU64(m, OFF.XSTATE_BV, xstateBv);
  return m;
}

type Result = ReturnType<typeof xrstorStandard>;
const mxcsrOf = (r: Result): number | string => (r.fault === null ? r.regs.mxcsr : r.fault);
const comp = (r: Result, i: number): number[] => {
  if (r.fault !== null) throw new Error(`unexpected fault ${r.fault}`);
  return Array.from(r.regs.comps.get(i) ?? []);
};

describe('XRSTOR #UD (SDM Vol. 1 §13.8: XRSTOR requires CR4.OSXSAVE = 1)', () => {
  const env: XrstorEnv = { xcr0: 0x7n, request: 0x7n, mxcsrMask: 0xffff };
  test('CR4.OSXSAVE = 0 raises #UD before anything is read', () => {
    expect(xrstorStandard(image(0x7n, 0x1f80), INTEL_LAYOUT, { ...env, osxsave: false }, prior()).fault).toBe('#UD');
  });
  test('CR4.OSXSAVE = 1 (or not stated) restores normally', () => {
    expect(xrstorStandard(image(0x7n, 0x1f80), INTEL_LAYOUT, { ...env, osxsave: true }, prior()).fault).toBeNull();
    expect(xrstorStandard(image(0x7n, 0x1f80), INTEL_LAYOUT, env, prior()).fault).toBeNull();
  });
});

describe('component bytes (SDM Vol. 1 §13.4.1 legacy region; MXCSR is not x87 state)', () => {
  const mem = image(0x3n, 0x1f80);
  test('x87 is bytes 0-159 with the MXCSR/MXCSR_MASK bytes 24-31 blanked', () => {
    const want = Array.from(mem.subarray(0, 160));
    want.fill(0, OFF.MXCSR, OFF.ST);
    expect(Array.from(componentBytes(mem, INTEL_LAYOUT, XFEATURE.FP))).toEqual(want);
  });
  test('SSE is XMM0-15, bytes 160-415, unchanged (its bytes 24-31 are XMM1, not MXCSR)', () => {
    expect(Array.from(componentBytes(mem, INTEL_LAYOUT, XFEATURE.SSE))).toEqual(Array.from(mem.subarray(160, 416)));
  });
  test('a component the host layout has no slot for has no bytes (AMD: no MPX area)', () => {
    expect(componentBytes(mem, AMD_LAYOUT, XFEATURE.BNDREGS).length).toBe(0);
  });
  test('XSTATE_BV[0] and [1] set: XRSTOR loads x87 without MXCSR and the XMM registers from memory', () => {
    const r = xrstorStandard(mem, fresh(INTEL_LAYOUT), { xcr0: 0x7n, request: 0x7n, mxcsrMask: 0xffff }, prior());
    const x87 = Array.from(mem.subarray(0, 160));
    x87.fill(0, OFF.MXCSR, OFF.ST);
    expect(comp(r, XFEATURE.FP)).toEqual(x87);
    expect(comp(r, XFEATURE.SSE)).toEqual(Array.from(mem.subarray(160, 416)));
    expect(mxcsrOf(r)).toBe(0x1f80);
  });
});

describe('initial configuration (SDM Vol. 1 §13.6: x87 FCW = 0x037F, everything else zero)', () => {
  test('initComponent: x87 has FCW 0x037F only; SSE and YMM are all zero', () => {
    const fp = initComponent(INTEL_LAYOUT, XFEATURE.FP);
    expect([fp.length, readU16(fp, OFF.FCW)]).toEqual([160, 0x037f]);
    expect(fp.subarray(2).every((b) => b === 0)).toBe(true);
    for (const i of [XFEATURE.SSE, XFEATURE.YMM]) {
      expect(Array.from(initComponent(INTEL_LAYOUT, i))).toEqual(new Array(256).fill(0));
    }
  });
  test('XSTATE_BV = 0: XRSTOR initialises x87, SSE and YMM whatever memory holds', () => {
    const r = xrstorStandard(image(0x0n, 0x1f80), fresh(AMD_LAYOUT), { xcr0: 0x7n, request: 0x7n, mxcsrMask: 0xffff }, prior());
    const fp = new Array(160).fill(0);
    fp[0] = 0x7f;
    fp[1] = 0x03;
    expect(comp(r, XFEATURE.FP)).toEqual(fp);
    expect(comp(r, XFEATURE.SSE)).toEqual(new Array(256).fill(0));
    expect(comp(r, XFEATURE.YMM)).toEqual(new Array(256).fill(0));
  });
});

describe('MXCSR, standard form (SDM Vol. 1 §13.8.1: loaded iff RFBM[1] or RFBM[2])', () => {
  const env: XrstorEnv = { xcr0: 0x7n, request: 0x1n, mxcsrMask: 0xffff };
  test('RFBM = x87 only: MXCSR is neither loaded nor checked', () => {
    expect(mxcsrOf(xrstorStandard(image(0x1n, 0x9f80), INTEL_LAYOUT, env, prior(0x1fa0)))).toBe(0x1fa0);
    expect(mxcsrOf(xrstorStandard(image(0x1n, 0x11f80), INTEL_LAYOUT, env, prior(0x1fa0)))).toBe(0x1fa0);
  });
});

describe('MXCSR, compacted form (SDM Vol. 1 §13.8.2: loaded iff RFBM[1] = XSTATE_BV[1] = 1)', () => {
  const env: XrstorEnv = { xcr0: 0x7n, request: 0x7n, mxcsrMask: 0xffff, form: 'compacted' };
  test('RFBM[1] and XSTATE_BV[1] set: MXCSR is loaded from memory', () => {
    expect(mxcsrOf(xrstorStandard(image(0x2n, 0x9fc0), AMD_LAYOUT, env, prior(0x1fa0)))).toBe(0x9fc0);
  });
  test('…and a bit outside MXCSR_MASK raises #GP', () => {
    expect(mxcsrOf(xrstorStandard(image(0x2n, 0x19fc0), AMD_LAYOUT, env, prior(0x1fa0)))).toBe('#GP:mxcsr');
  });
  test('RFBM[1] set, XSTATE_BV[1] clear: MXCSR is initialised to 0x1F80, memory ignored', () => {
    expect(mxcsrOf(xrstorStandard(image(0x4n, 0x19fc0), AMD_LAYOUT, env, prior(0x1fa0)))).toBe(MXCSR_INIT);
  });
  test('RFBM[1] clear: MXCSR is left alone even with RFBM[2] and XSTATE_BV[1] set', () => {
    const r = xrstorStandard(image(0x6n, 0x9fc0), AMD_LAYOUT, { ...env, request: 0x5n }, prior(0x1fa0));
    expect(mxcsrOf(r)).toBe(0x1fa0);
  });
});
