// XCR0 / XSTATE_BV bit helpers: bit i of a mask is state component i (SDM Vol. 1 §13.1); the
// registers are 64 bits wide, so the helpers must handle bits above 31.
import { MASK, bit, bitsOf, hasBit, isSubset, maskName } from './index';

describe('bitsOf: indices of the set bits, lowest first', () => {
  test('components below 32', () => {
    expect(bitsOf(0n)).toEqual([]);
    expect(bitsOf(0x602e7n)).toEqual([0, 1, 2, 5, 6, 7, 9, 17, 18]);
  });
  test('bits in the upper half of a 64-bit XCR0 (e.g. AMD LWP, bit 62)', () => {
    expect(bitsOf(bit(62))).toEqual([62]);
    expect(bitsOf(bit(0) | bit(31) | bit(32) | bit(62) | bit(63))).toEqual([0, 31, 32, 62, 63]);
  });
});

describe('hasBit: bit i of the mask', () => {
  test('agrees with (mask >> i) & 1 for every bit, including past bit 63', () => {
    const masks = [0n, 0x2ffn, bit(63) | bit(1), bit(64) | bit(100) | 0x3n, (1n << 128n) - 1n];
    for (const m of masks) {
      for (let i = 0; i < 130; i++) expect([m, i, hasBit(m, i)]).toEqual([m, i, ((m >> BigInt(i)) & 1n) === 1n]);
    }
  });
});

describe('isSubset(a, b): every bit of a is in b', () => {
  test('XSTATE_BV within XCR0', () => {
    expect(isSubset(MASK.FPSSE, 0x7n)).toBe(true);
    expect(isSubset(0x7n, 0x7n)).toBe(true);
    expect(isSubset(0n, 0n)).toBe(true);
  });
  test('a leaked PKRU bit is outside a guest XCR0 of 0x7', () => {
    expect(isSubset(MASK.FPSSE | MASK.PKRU, 0x7n)).toBe(false);
    expect(isSubset(0x7n, MASK.PKRU)).toBe(false);
  });
});

describe('maskName: the kernel short names joined by |', () => {
  test('no bits: "0"', () => expect(maskName(0n)).toBe('0'));
  test('known components, lowest first', () => {
    expect(maskName(MASK.FPSSE | MASK.PKRU)).toBe('FP|SSE|PKRU');
    expect(maskName(0x602e7n)).toBe('FP|SSE|YMM|OPMASK|ZMM_Hi256|Hi16_ZMM|PKRU|XTILECFG|XTILEDATA');
    expect(maskName(bit(19))).toBe('APX');
  });
  test('bits past the 20 known components by number', () => {
    expect(maskName(bit(20) | bit(0))).toBe('FP|bit20');
    expect(maskName(bit(62))).toBe('bit62');
  });
});
