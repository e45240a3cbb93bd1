// KVM_SET_XSAVE's buffer handling in the model: the reused kernel copy, the pre-mask/fixup
// bookkeeping, regions longer than the uabi size, re-entrant plug-ins. These are the places the
// allocation-free rewrite (87a092f) could get wrong without changing any verdict the properties
// look at; Stryker's run of the core files found them untested (docs/mutation.md §4).
import { BIGINT_OPS } from './bitLogic';
import { PVE_FIXUP, Fixup, fixupContext } from './fixup';
import { HOSTS } from './hosts';
import { kernelById } from './kernels';
import { OFF } from './layout';
import { readU64, writeU64 } from './region';
import { RegionSizeError, setXsave } from './setXsave';
import { Vcpu, createVcpu, setCpuid } from './vcpu';
import { MASK } from './xfeatures';
import { leaf0d, xsaveRegion as region } from '../test/helpers/xsave';

const NO_OP: Fixup = { name: 'no-op', fn: () => undefined };

function vcpuWith(kernelId: string, hostName: string, cpuidXcr0: bigint): Vcpu {
  const v = createVcpu(kernelById(kernelId)!, HOSTS[hostName]!);
  setCpuid(v, [leaf0d(cpuidXcr0)]);
  return v;
}

test('a region shorter than the uabi size is the caller\'s bug: RegionSizeError naming both sizes', () => {
  const v = vcpuWith('linux-6.6', 'zen4', 0x7n);
  expect(() => setXsave(v, new Uint8Array(4095), null)).toThrow(RegionSizeError);
  expect(() => setXsave(v, new Uint8Array(4095), null)).toThrow(/4095 bytes.*4096/);
});

test('keepKernelCopy returns a copy that later calls and later edits of the region do not change', () => {
  const v = vcpuWith('linux-6.6', 'zen4', 0x7n);
  const r = region(4096, 0x203n); // PKRU leaked: the patch clears it
  const first = setXsave(v, r, PVE_FIXUP, { keepKernelCopy: true });
  expect(readU64(first.kernelCopy!, OFF.XSTATE_BV)).toBe(0x3n);
  setXsave(v, region(4096, 0x7n), PVE_FIXUP, { keepKernelCopy: true }); // reuses the kernel copy buffer
  expect(readU64(first.kernelCopy!, OFF.XSTATE_BV)).toBe(0x3n);
  expect(readU64(r, OFF.XSTATE_BV)).toBe(0x203n); // the caller's buffer is never edited
  expect(setXsave(v, r, PVE_FIXUP).kernelCopy).toBeNull(); // only on request
});

test('keepKernelCopy on a confidential vCPU copies the region instead of aliasing it', () => {
  const v = createVcpu(kernelById('linux-6.6')!, HOSTS['zen4']!, { confidential: true });
  const r = region(4096, 0x3n);
  const res = setXsave(v, r, PVE_FIXUP, { keepKernelCopy: true });
  expect(res.ignored).toBe(true);
  writeU64(r, OFF.XSTATE_BV, 0x7n);
  expect(readU64(res.kernelCopy!, OFF.XSTATE_BV)).toBe(0x3n);
});

describe('6.19 XFD pre-mask and the fixup: fixupFired counts only what the fixup changed', () => {
  // sapphire-rapids with AMX in CPUID; XFD arms XTILE_DATA, so the pre-mask drops bit 18.
  const amx = (): Vcpu => {
    const v = vcpuWith('linux-6.19', 'sapphire-rapids', 0x602e7n);
    v.xfd = MASK.XTILE_DATA;
    return v;
  };
  const withTile = (v: Vcpu, extra: bigint): Uint8Array => region(v.uabiSize, 0x3n | MASK.XTILE_DATA | extra);

  test('the pre-mask edits the copy, a no-op fixup does not fire', () => {
    const v = amx();
    const res = setXsave(v, withTile(v, 0n), NO_OP, { keepKernelCopy: true });
    expect(res.fixupFired).toBe(false);
    expect(readU64(res.kernelCopy!, OFF.XSTATE_BV) & MASK.XTILE_DATA).toBe(0n);
    expect(res.rc).toBe(0);
  });

  test('after the pre-mask, a fixup that clears PKRU fires', () => {
    const v = vcpuWith('linux-6.19', 'sapphire-rapids', 0x600e7n); // AMX, no PKRU in CPUID
    v.xfd = MASK.XTILE_DATA;
    const res = setXsave(v, withTile(v, MASK.PKRU), PVE_FIXUP, { keepKernelCopy: true });
    expect(res.fixupFired).toBe(true);
    expect(readU64(res.kernelCopy!, OFF.XSTATE_BV) & (MASK.PKRU | MASK.XTILE_DATA)).toBe(0n);
  });

  test('without XFD nothing is pre-masked', () => {
    const v = amx();
    v.xfd = 0n;
    const res = setXsave(v, withTile(v, 0n), NO_OP, { keepKernelCopy: true });
    expect(readU64(res.kernelCopy!, OFF.XSTATE_BV) & MASK.XTILE_DATA).toBe(MASK.XTILE_DATA);
    expect(res.fixupFired).toBe(false);
  });
});

test('a region longer than the uabi size (QEMU rounds to 4 KiB pages) does not make a no-op fixup fire', () => {
  const v = vcpuWith('linux-6.12', 'sapphire-rapids', 0x602e7n);
  expect(v.uabiSize).toBeGreaterThan(4096);
  const size = Math.ceil(v.uabiSize / 4096) * 4096;
  expect(size).toBeGreaterThan(v.uabiSize);
  const res = setXsave(v, region(size, 0x3n), NO_OP);
  expect(res.fixupFired).toBe(false);
  expect(res.rc).toBe(0);
});

test('a plug-in that re-enters setXsave does not disturb the outer call', () => {
  const outer = vcpuWith('linux-6.6', 'zen4', 0x7n);
  const inner = vcpuWith('linux-6.6', 'zen4', 0x7n);
  const reentrant: Fixup = {
    name: 'reentrant',
    fn: (ctx, r) => {
      setXsave(inner, region(4096, 0x201n), PVE_FIXUP); // its own buffer, different from the outer one
      PVE_FIXUP.fn(ctx, r);
    },
  };
  const plain = setXsave(outer, region(4096, 0x7n), PVE_FIXUP);
  const res = setXsave(outer, region(4096, 0x7n), reentrant);
  expect(res.fixupFired).toBe(false);
  expect(res.rc).toBe(plain.rc);
  expect(res.vcpu.fpu.xstateBv).toBe(0x7n);
  expect(setXsave(outer, region(4096, 0x207n), reentrant).fixupFired).toBe(true);
});

test('BIGINT_OPS.const takes values modulo 2^64', () => {
  expect(BIGINT_OPS.const((1n << 64n) | 5n)).toBe(5n);
  expect(BIGINT_OPS.const(-1n)).toBe((1n << 64n) - 1n);
  expect(BIGINT_OPS.const(0n)).toBe(0n);
});

test('a vCPU whose CPUID was never set gives plug-ins an empty table', () => {
  expect(fixupContext(createVcpu(kernelById('linux-6.6')!, HOSTS['zen4']!)).cpuid).toEqual([]);
});
