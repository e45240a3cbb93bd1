// Each broken fixup must make exactly the mistake its description names: a negative control that
// drifted into a different mistake (or into a correct fixup) would no longer show that the
// property named for it can fail for the reason the report claims. Hand-made inputs, exact outputs.
import { AMD_LAYOUT, FixupContext, INTEL_LAYOUT, OFF, XFEATURE, XSAVE_REGION_SIZE, readU32, readU64, slotOf, writeU32 } from '../model';
import { brokenFixup } from './brokenFixups';
import { xsaveRegion } from '../test/helpers/xsave';

const PKRU_GUEST = 0x207n; // x87|SSE|AVX|PKRU
const NO_PKRU_GUEST = 0x7n; // x87|SSE|AVX

function ctx(guestSupportedXcr0: bigint, hostSupportedXcr0 = 0x2ffn): FixupContext {
  return { cpuid: [], guestSupportedXcr0, hostSupportedXcr0, xcr0: guestSupportedXcr0, confidential: false };
}

// MXCSR 0: these fixups read and write only XSTATE_BV and the PKRU area.
const region = (xstateBv: bigint): Uint8Array => xsaveRegion(XSAVE_REGION_SIZE, xstateBv, 0);

/** XSTATE_BV after running the named broken fixup `times` times on a region with `bv`. */
function runOn(name: string, c: FixupContext, bv: bigint, times = 1): bigint {
  const r = region(bv);
  for (let i = 0; i < times; i++) brokenFixup(name).fn(c, r);
  return readU64(r, OFF.XSTATE_BV);
}

describe('brokenFixup(name): the lookup the matrix, fuzz seeds and reports use', () => {
  test('finds the broken fixup by its name', () => {
    expect(brokenFixup('mask-0x100').name).toBe('mask-0x100');
    expect(brokenFixup('clears-fp-too').control).toBe('P5');
    // names from before the one catalogue find their entry (renamed in the commit that made it)
    expect(brokenFixup('wrong-bit').name).toBe('mask-0x100');
    expect(brokenFixup('zero-pkru-area').name).toBe('zero-pkru-area');
  });

  test('an unknown name is an error naming it, not some other fixup', () => {
    expect(() => brokenFixup('no-such-fixup')).toThrow('no broken fixup named no-such-fixup');
  });
});

describe('each broken fixup makes exactly its documented mistake', () => {
  // P1's control: bit 9 (PKRU) is cleared even for a guest whose CPUID offers PKRU.
  test('always-clear clears only bit 9, even when the guest supports PKRU', () => {
    expect(runOn('always-clear', ctx(PKRU_GUEST), 0x207n)).toBe(0x7n);
  });

  // P1's control: it zeroes the PKRU area at the Intel standard-format offset (cpu-data.md §1b).
  test('zero-pkru-area-always zeroes the 4 PKRU bytes at the Intel offset 2688, not the AMD one', () => {
    const intel = slotOf(INTEL_LAYOUT, XFEATURE.PKRU)!.offset;
    const amd = slotOf(AMD_LAYOUT, XFEATURE.PKRU)!.offset;
    expect(intel).toBe(2688);
    const r = region(PKRU_GUEST);
    writeU32(r, intel, 0x55555554);
    writeU32(r, amd, 0x12345678);
    brokenFixup('zero-pkru-area-always').fn(ctx(PKRU_GUEST), r);
    expect(readU32(r, intel)).toBe(0);
    expect(readU32(r, amd)).toBe(0x12345678);
    expect(readU64(r, OFF.XSTATE_BV)).toBe(PKRU_GUEST);
  });

  // P2's control: decides like the patch (guest-supported XCR0 lacks PKRU) but clears bit 8 (PT).
  test('mask-0x100 clears bit 8 instead of bit 9 for a guest without PKRU', () => {
    expect(runOn('mask-0x100', ctx(NO_PKRU_GUEST), 0x3ffn)).toBe(0x2ffn);
  });

  test('mask-0x100 leaves XSTATE_BV alone for a guest with PKRU', () => {
    expect(runOn('mask-0x100', ctx(PKRU_GUEST), 0x3ffn)).toBe(0x3ffn);
  });

  // P2's control: the decision is taken on the host's supported XCR0 instead of the guest's CPUID.
  test('decide-host-supported clears bit 9 when the host lacks PKRU, whatever the guest supports', () => {
    expect(runOn('decide-host-supported', ctx(PKRU_GUEST, 0xe7n), 0x207n)).toBe(0x7n);
  });

  test('decide-host-supported keeps bit 9 when the host has PKRU, even for a guest without it', () => {
    expect(runOn('decide-host-supported', ctx(NO_PKRU_GUEST, 0x2e7n), 0x207n)).toBe(0x207n);
  });

  // P3's control: XOR instead of AND-NOT, so a second run sets bit 9 again.
  test('toggle-pkru flips bit 9 for a guest without PKRU: once clears it, twice restores it', () => {
    expect(runOn('toggle-pkru', ctx(NO_PKRU_GUEST), 0x207n)).toBe(0x7n);
    expect(runOn('toggle-pkru', ctx(NO_PKRU_GUEST), 0x207n, 2)).toBe(0x207n);
  });

  test('toggle-pkru leaves XSTATE_BV alone for a guest with PKRU', () => {
    expect(runOn('toggle-pkru', ctx(PKRU_GUEST), 0x207n)).toBe(0x207n);
    expect(runOn('toggle-pkru', ctx(PKRU_GUEST), 0x7n)).toBe(0x7n);
  });

  // P5's control: the x87 bit goes with PKRU, so x87 state is reset to its init values.
  test('clears-fp-too clears bit 9 and bit 0 (x87), keeping SSE and AVX, for a guest without PKRU', () => {
    expect(runOn('clears-fp-too', ctx(NO_PKRU_GUEST), 0x207n)).toBe(0x6n);
    expect(runOn('clears-fp-too', ctx(NO_PKRU_GUEST), 0x7n)).toBe(0x6n);
  });

  test('clears-fp-too leaves XSTATE_BV alone for a guest with PKRU', () => {
    expect(runOn('clears-fp-too', ctx(PKRU_GUEST), 0x207n)).toBe(0x207n);
  });
});
