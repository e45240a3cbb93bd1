// The source vCPU a migration case describes (guestState.ts sourceVcpu): which guest specs are
// refused, and the fpstate a guest leaves behind. The migration verdicts compare the guest's view
// on the target with this source view, so every in-use component must hold values that differ
// from its initial configuration byte by byte, differ from the other components, stay inside the
// component's slot and be something real hardware restores unchanged (docs/kvm-findings.md §12.2
// for x87, LDTILECFG's format for TILECFG). Expectations are written by hand.
import {
  DEFAULT_HOST_PKRU,
  GuestSpec,
  GuestSpecError,
  HOSTS,
  MASK,
  OFF,
  XFEATURE,
  createVcpu,
  guestSupportedXcr0,
  guestView,
  kernelById,
  kvmSupportedXcr0,
  readU16,
  readU32,
  resolveCpuModel,
  sourceVcpu,
} from './index';

function source(kernelId: string, hostName: string, cpuModel: string, guest: Partial<GuestSpec> & { xcr0: bigint }) {
  const kernel = kernelById(kernelId)!;
  const host = HOSTS[hostName]!;
  return sourceVcpu(kernel, host, resolveCpuModel(cpuModel, host, kernel), { inUse: 0n, pkru: 0, hostPkru: DEFAULT_HOST_PKRU, ...guest });
}

function refusal(f: () => unknown): { field: string; message: string } | null {
  try {
    f();
    return null;
  } catch (e) {
    if (!(e instanceof GuestSpecError)) throw e;
    return { field: e.field, message: e.message };
  }
}

const bytes = (hex: string): number[] => (hex.match(/../g) ?? []).map((b) => parseInt(b, 16));

describe('sourceVcpu refuses a guest that cannot exist on the source (GuestSpecError names the case field)', () => {
  test('XCR0 the source KVM_SET_XCRS would refuse (outside the Haswell model’s 0x7)', () => {
    expect(refusal(() => source('linux-6.6', 'skylake-sp', 'Haswell', { xcr0: 0xe7n }))).toEqual({
      field: 'guest.xcr0',
      message: 'XCR0 0xe7 is not valid for this guest on the source (outside-guest-supported)',
    });
  });
  test('components in use outside XCR0 | x87 | SSE; x87 and SSE are always usable', () => {
    expect(refusal(() => source('linux-6.6', 'haswell', 'Haswell', { xcr0: 0x3n, inUse: 0x7n }))).toEqual({
      field: 'guest.inUse',
      message: 'inUse 0x7 has components outside XCR0 | x87 | SSE (0x3)',
    });
    expect(refusal(() => source('linux-6.6', 'haswell', 'Haswell', { xcr0: 0x1n, inUse: 0x3n }))).toBeNull();
  });
  test('inUse bit 9 (PKRU non-initial) must agree with guest.pkru: refused only with pkru 0 (issue 14 item 1)', () => {
    expect(refusal(() => source('linux-6.6', 'skylake-sp', 'Skylake-Server', { xcr0: 0x207n, inUse: 0x200n }))).toEqual({
      field: 'guest.inUse',
      message: "inUse 0x200 says PKRU holds a non-initial value, but guest.pkru is 0x0 (PKRU's initial value): give a non-zero guest.pkru or clear bit 9",
    });
    expect(refusal(() => source('linux-6.6', 'skylake-sp', 'Skylake-Server', { xcr0: 0x207n, inUse: 0x203n, pkru: 4 }))).toBeNull();
  });
  test('PKRU is vcpu->arch.pkru, not fpstate XINUSE (kernel-semantics.md §3.5): inUse bit 9 with pkru ≠ 0 is the same source vCPU as without it', () => {
    for (const [kernel, host, hostPkru] of [['linux-6.6', 'skylake-sp', DEFAULT_HOST_PKRU], ['pve-5.15', 'skylake-sp', 0], ['linux-6.2', 'icelake-sp', 0]] as const) {
      const withBit = source(kernel, host, 'Skylake-Server', { xcr0: 0x207n, inUse: 0x203n, pkru: 4, hostPkru });
      const without = source(kernel, host, 'Skylake-Server', { xcr0: 0x207n, inUse: 0x3n, pkru: 4, hostPkru });
      // with host PKRU 0 the saved XSTATE_BV has no bit 9: guest.inUse's bit 9 must not put it there
      if (hostPkru === 0) expect(withBit.fpu.xstateBv & MASK.PKRU).toBe(0n);
      expect(withBit.fpu.xstateBv).toBe(without.fpu.xstateBv);
      expect(Buffer.from(withBit.fpu.image).equals(Buffer.from(without.fpu.image))).toBe(true);
      expect(withBit.pkru).toBe(4);
    }
  });
  test('a guest without XCR0.PKRU cannot have written PKRU (WRPKRU needs it); PKRU 0 is fine', () => {
    expect(refusal(() => source('linux-6.6', 'skylake-sp', 'Skylake-Server', { xcr0: 0x7n, pkru: 4 }))).toEqual({
      field: 'guest.pkru',
      message: 'a guest without XCR0.PKRU cannot hold a non-zero PKRU',
    });
    expect(refusal(() => source('linux-6.6', 'skylake-sp', 'Skylake-Server', { xcr0: 0x7n, pkru: 0 }))).toBeNull();
    expect(guestView(source('linux-6.6', 'skylake-sp', 'Skylake-Server', { xcr0: 0x207n, pkru: 4 })).pkru).toBe('0x4');
  });
});

describe('x87 in use: one value pushed, in a state the x87 unit hands back unchanged (kvm-findings.md §12.2)', () => {
  const fp = bytes(guestView(source('linux-6.6', 'haswell', 'Haswell', { xcr0: 0x7n, inUse: MASK.FP })).components['FP']!);
  test('control, status and tag words', () => {
    expect(fp.length).toBe(160);
    const fcw = fp[0]! | (fp[1]! << 8);
    const fsw = fp[2]! | (fp[3]! << 8);
    expect(fcw).toBe(0x027f); // not the 0x037f reset value, so a lost x87 state shows
    expect((fcw & 0x1f3f) | 0x40).toBe(fcw); // FCW bits 13-15 read 0 and bit 6 reads 1 after FXSAVE
    expect(fsw).toBe(0x3800);
    expect((fsw >> 11) & 7).toBe(7); // TOP = 7 ...
    expect(fp[4]).toBe(0x80); // ... and the abridged tag marks physical register 7 (ST0) valid
    expect(fsw & 0x8080).toBe(0); // ES and B clear, and no unmasked exception flag to set them
    expect(fsw & ~fcw & 0x3f).toBe(0);
  });
  test('FOP/FIP/FDP and the reserved tag byte are 0 (FXSAVE writes them only with ES = 1 on AMD)', () => {
    expect(fp.slice(5, 24)).toEqual(new Array(19).fill(0));
  });
  test('ST0 (bytes 32-41) holds a value with no zero byte and no two equal neighbours; ST1-7 and the reserved bytes are 0', () => {
    const st0 = fp.slice(32, 42);
    expect(st0.every((b) => b !== 0)).toBe(true);
    expect(st0.every((b, j) => j === 0 || b !== st0[j - 1])).toBe(true);
    expect(fp.slice(42, 160)).toEqual(new Array(118).fill(0));
  });
});

describe('the other in-use components', () => {
  // Sapphire Rapids (AVX-512, AMX) and Skylake-SP (MPX) with every component the host passes through in use.
  const views = (['sapphire-rapids', 'skylake-sp'] as const).map((h) => {
    const kernel = kernelById('linux-6.6')!;
    const host = HOSTS[h]!;
    const cpuid = resolveCpuModel('host', host, kernel);
    const xcr0 = guestSupportedXcr0(cpuid, kvmSupportedXcr0(kernel, host));
    return { h, xcr0, view: guestView(sourceVcpu(kernel, host, cpuid, { xcr0, inUse: xcr0 & ~MASK.PKRU, pkru: 0, hostPkru: DEFAULT_HOST_PKRU })) };
  });
  test('the hosts pass through what the test needs (AMX on one, MPX on the other)', () => {
    expect(views.map((v) => v.xcr0)).toEqual([0x602e7n, 0x2ffn]);
  });
  test.each(views.map((v) => [v.h, v] as const))('%s: every byte non-initial (0), neighbours differ, and no two components alike', (_h, { view }) => {
    const names = Object.keys(view.components).filter((n) => n !== 'FP' && n !== 'XTILECFG');
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const n of names) {
      const b = bytes(view.components[n]!);
      expect([n, b.every((x) => x !== 0)]).toEqual([n, true]); // a lost or truncated copy shows
      expect([n, b.every((x, j) => j === 0 || x !== b[j - 1])]).toEqual([n, true]); // so does a shifted one
    }
    const prefixes = names.map((n) => view.components[n]!.slice(0, 128));
    expect(new Set(prefixes).size).toBe(names.length); // a component restored into another's slot shows
  });
  test('TILECFG: palette 1 with no tile configured, every reserved byte 0 (LDTILECFG format; anything else makes XRSTOR #GP)', () => {
    const cfg = bytes(views[0]!.view.components['XTILECFG']!);
    expect(cfg).toEqual([1, ...new Array(63).fill(0)]);
  });
  test('a component is written inside its own slot only (Haswell YMM: bytes 576-831)', () => {
    const kernel = kernelById('linux-6.6')!;
    const host = HOSTS['haswell']!;
    const fresh = createVcpu(kernel, host).fpu.image;
    const image = source('linux-6.6', 'haswell', 'Haswell', { xcr0: 0x7n, inUse: MASK.YMM }).fpu.image;
    const changed = [...image.keys()].filter((k) => image[k] !== fresh[k]);
    expect(changed[0]).toBe(576);
    expect(changed[changed.length - 1]).toBe(831);
    expect(changed.length).toBe(256);
    expect(readU16(image, OFF.FCW)).toBe(0x037f); // x87 not in use: untouched
  });
});

describe('PKRU in the saved fpstate: the host value, saved after KVM switched PKRU back (kernel-semantics.md §3.5)', () => {
  // The fpstate's PKRU area and XSTATE_BV[9] are what XSAVE stores; KVM's GET writes
  // vcpu->arch.pkru over the area, so only the XSTATE_BV bit reaches userspace.
  test('host with PKU: the area holds the host PKRU, XSTATE_BV[9] set; vcpu->arch.pkru is the guest’s', () => {
    const v = source('linux-6.6', 'skylake-sp', 'Skylake-Server', { xcr0: 0x207n, pkru: 0xc });
    expect(readU32(v.fpu.image, HOSTS['skylake-sp']!.layout.slots[XFEATURE.PKRU]!.offset)).toBe(DEFAULT_HOST_PKRU);
    expect(v.fpu.xstateBv & MASK.PKRU).toBe(MASK.PKRU);
    expect(v.pkru).toBe(0xc);
  });
  test('host without PKU: XSAVE never writes the area (the Intel layout still has one) and XSTATE_BV[9] stays clear', () => {
    const v = source('linux-6.6', 'haswell', 'Haswell', { xcr0: 0x7n });
    expect(readU32(v.fpu.image, HOSTS['haswell']!.layout.slots[XFEATURE.PKRU]!.offset)).toBe(0);
    expect(v.fpu.xstateBv & MASK.PKRU).toBe(0n);
  });
});
