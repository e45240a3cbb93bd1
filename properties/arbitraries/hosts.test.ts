// Generator coverage for randomHostArb: the properties only explore host capability sets the
// generator actually produces, so every feature must appear both present and absent, and every
// value must respect XCR0's rules and the vendor's layout. Fixed seed: deterministic.
import fc from 'fast-check';
import { Host, MASK } from '../../model';
import { randomHostArb } from './hosts';

const hosts: Host[] = fc.sample(randomHostArb, { seed: 42, numRuns: 1000 });
const has = (h: Host, m: bigint) => (h.xcr0 & m) === m;
const lacks = (h: Host, m: bigint) => (h.xcr0 & m) === 0n;

describe('randomHostArb: hosts of both vendors with every capability both on and off', () => {
  test('x87 and SSE are always enabled (XCR0 bit 0 must be 1, SDM Vol. 1 §13.3)', () => {
    expect(hosts.every((h) => has(h, MASK.FPSSE))).toBe(true);
  });

  test('both vendors appear', () => {
    expect(hosts.some((h) => h.vendor === 'intel')).toBe(true);
    expect(hosts.some((h) => h.vendor === 'amd')).toBe(true);
  });

  test('AVX (YMM) appears enabled and disabled', () => {
    expect(hosts.some((h) => has(h, MASK.YMM))).toBe(true);
    expect(hosts.some((h) => lacks(h, MASK.YMM))).toBe(true);
  });

  // XCR0 rule (SDM Vol. 1 §13.3): the AVX-512 bits need the AVX bit, and come as a group.
  test('AVX-512 appears enabled and disabled, and only together with AVX', () => {
    expect(hosts.some((h) => has(h, MASK.AVX512))).toBe(true);
    expect(hosts.some((h) => h.vendor === 'amd' && has(h, MASK.AVX512))).toBe(true);
    expect(hosts.some((h) => has(h, MASK.YMM) && lacks(h, MASK.AVX512))).toBe(true);
    expect(hosts.every((h) => lacks(h, MASK.AVX512) || has(h, MASK.AVX512 | MASK.YMM))).toBe(true);
  });

  // PKRU on and off is the distinction the whole incident turns on (kernel-semantics.md §6).
  test('PKRU appears enabled and disabled, on both vendors', () => {
    for (const v of ['intel', 'amd'] as const) {
      expect(hosts.some((h) => h.vendor === v && has(h, MASK.PKRU))).toBe(true);
      expect(hosts.some((h) => h.vendor === v && lacks(h, MASK.PKRU))).toBe(true);
    }
  });

  // MPX and AMX only on Intel: the AMD layout has no save area for them (cpu-data.md §1b).
  test('MPX appears on Intel hosts (both bits together), never on AMD, and Intel hosts without it too', () => {
    expect(hosts.some((h) => h.vendor === 'intel' && has(h, MASK.MPX))).toBe(true);
    expect(hosts.some((h) => h.vendor === 'intel' && lacks(h, MASK.MPX))).toBe(true);
    expect(hosts.every((h) => lacks(h, MASK.MPX) || (h.vendor === 'intel' && has(h, MASK.MPX)))).toBe(true);
  });

  test('AMX (XTILE) appears on Intel hosts (both bits together), never on AMD, and Intel hosts without it too', () => {
    expect(hosts.some((h) => h.vendor === 'intel' && has(h, MASK.XTILE))).toBe(true);
    expect(hosts.some((h) => h.vendor === 'intel' && lacks(h, MASK.XTILE))).toBe(true);
    expect(hosts.every((h) => lacks(h, MASK.XTILE) || (h.vendor === 'intel' && has(h, MASK.XTILE)))).toBe(true);
  });

  test('no other XCR0 bits are generated', () => {
    const known = MASK.FPSSE | MASK.YMM | MASK.MPX | MASK.AVX512 | MASK.PKRU | MASK.XTILE;
    expect(hosts.every((h) => (h.xcr0 & ~known) === 0n)).toBe(true);
  });
});
