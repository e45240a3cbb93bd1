// KVM_SET_XSAVE corners the Stryker run over model/setXsave.ts left untested (docs/mutation.md
// §4): a plug-in that breaks the kernel copy it is handed, and a hand-built host whose layout has
// no slot for a component its XCR0 enables.
import { Fixup } from './fixup';
import { customHost } from './hosts';
import { kernelById } from './kernels';
import { setXsave } from './setXsave';
import { Vcpu, createVcpu, setCpuid } from './vcpu';
import { MASK } from './xfeatures';
import { leaf0d, xsaveRegion as region } from '../test/helpers/xsave';

function vcpuOn(kernelId: string, hostXcr0: bigint, vendor: 'intel' | 'amd'): Vcpu {
  // customHost refuses a layout without an area for an XCR0 bit; keep its layout, widen XCR0 by hand.
  const base = customHost(hostXcr0 & ~MASK.MPX, vendor);
  const v = createVcpu(kernelById(kernelId)!, { ...base, xcr0: hostXcr0 });
  setCpuid(v, [leaf0d(hostXcr0)]);
  return v;
}

test('a plug-in that detaches the kernel copy is reported by name, not validated as an empty buffer', () => {
  // A typed array cannot be resized, but transferring its ArrayBuffer leaves it 0 bytes long;
  // the fixup must edit the kernel's uabi_size bytes in place.
  const v = vcpuOn('linux-6.6', 0x7n, 'amd');
  const detach: Fixup = { name: 'detacher', fn: (_ctx, r) => void structuredClone(r.buffer, { transfer: [r.buffer as ArrayBuffer] }) };
  expect(() => setXsave(v, region(v.uabiSize, 0x7n), detach)).toThrow("fixup 'detacher' changed the region's length");
  // the next SET gets a usable kernel copy again
  const next = setXsave(v, region(v.uabiSize, 0x7n), null);
  expect(next.rc).toBe(0);
  expect(next.vcpu.fpu.xstateBv).toBe(0x7n);
});

test('a component enabled in XCR0 but without a slot in the host layout is skipped, not a crash', () => {
  // No real host has this (case files and customHost refuse it), but Host is a plain object an
  // API user can build: MPX with the AMD layout has no slot. SET accepts the bits (they are in
  // supported XCR0) and loads the components that do have a slot.
  const v = vcpuOn('linux-6.6', MASK.FPSSE | MASK.YMM | MASK.MPX, 'amd');
  const r = region(v.uabiSize, MASK.FPSSE | MASK.YMM | MASK.MPX);
  r[576] = 0xab; // YMM0's upper half, first byte
  const res = setXsave(v, r, null);
  expect(res.rc).toBe(0);
  expect(res.vcpu.fpu.xstateBv).toBe(MASK.FPSSE | MASK.YMM | MASK.MPX);
  expect(res.vcpu.fpu.image[576]).toBe(0xab);
});
