// Hosts of both vendors: the catalogue, and random capability sets that respect the vendor
// (MPX and AMX only on Intel) and XCR0's own rules (AVX-512 needs AVX, pairs come together).
import fc from 'fast-check';
import { HOSTS, Host, MASK, customHost } from '../../model';

export const catalogueHostArb: fc.Arbitrary<Host> = fc.constantFrom(...Object.values(HOSTS));

export const randomHostArb: fc.Arbitrary<Host> = fc
  .record({
    vendor: fc.constantFrom('intel' as const, 'amd' as const),
    ymm: fc.boolean(),
    mpx: fc.boolean(),
    avx512: fc.boolean(),
    pkru: fc.boolean(),
    amx: fc.boolean(),
  })
  .map((h) => {
    let x = MASK.FPSSE;
    if (h.ymm) x |= MASK.YMM;
    if (h.vendor === 'intel' && h.mpx) x |= MASK.MPX;
    if (h.ymm && h.avx512) x |= MASK.AVX512;
    if (h.pkru) x |= MASK.PKRU;
    if (h.vendor === 'intel' && h.amx) x |= MASK.XTILE;
    return customHost(x, h.vendor);
  });

export const hostArb: fc.Arbitrary<Host> = fc.oneof(catalogueHostArb, randomHostArb);

/** Hosts whose kernel enables PKRU: where a leaky kernel leaks it. */
export const pkuHostArb: fc.Arbitrary<Host> = hostArb.filter((h) => (h.xcr0 & MASK.PKRU) !== 0n);
