// KVM_GET_XSAVE on a confidential (protected-state) vCPU, per kernel variant group
// (docs/mutation.md §4 class 5: no model-level test read a confidential vCPU).
// Expectations are written by hand from shared/research/kernel-semantics.md, not from the
// model's own `confidential` field:
//  - 5.15 (§3.2): guest_fpu is NULL for SEV-ES vCPUs, fill_xsave is skipped: the zeroed buffer
//    is handed back with rc 0;
//  - 5.16 … 6.11 (§3.3, fpu_copy_guest_fpstate_to_uabi): a confidential fpstate returns early,
//    the zeroed buffer again, rc 0 (Proxmox's 6.11-based patch context still shows `return 0`);
//  - 6.12 and later (§3.4): -EINVAL when kvm->arch.has_protected_state is set; the ioctls now
//    propagate an int return code.
import {
  HOSTS,
  KERNELS,
  MASK,
  OFF,
  Vcpu,
  createVcpu,
  getXsave,
  kernelById,
  readU64,
  resolveCpuModel,
  setCpuid,
  slotOf,
  writeU16,
  writeU32,
  XFEATURE,
  bit,
} from './index';

/** 6.12+: -EINVAL (has_protected_state). */
const EINVAL_GROUP = ['linux-6.12', 'linux-6.19', 'pve-6.14', 'pve-6.17', 'pve-7.0', 'linux-6.18-pvm', 'debian-6.12', 'debian-6.12+pve'];
/** 5.15 (guest_fpu NULL) and 5.16 … 6.11 (early return): zero buffer, rc 0. */
const ZERO_GROUP = [
  'debian-6.1',
  'debian-6.1+pve',
  'debian-6.1-2023',
  'debian-6.1-2023+pve',
  'debian-6.1-leaky',
  'linux-5.15',
  'linux-5.16',
  'pve-5.15',
  'linux-5.17',
  'linux-6.2',
  'linux-6.6',
  'pve-6.2-2023-07',
  'pve-6.2-2023-10',
  'pve-6.5',
  'pve-6.8',
  'pve-6.11',
];

const host = HOSTS['skylake-sp']!; // AVX-512, MPX and PKU: every guest component has a slot
/** XSTATE_BV of the busy vCPU: x87, SSE, YMM and opmask in use. */
const BUSY_BV = MASK.FPSSE | MASK.YMM | bit(XFEATURE.OPMASK);

/**
 * A vCPU whose fpstate holds a guest's non-initial state (x87, MXCSR, XMM0, YMM, opmask and a
 * PKRU value): what a non-confidential GET would hand out. It is written directly, because a
 * SET on a confidential vCPU never loads anything.
 */
function busyVcpu(kernelId: string, confidential: boolean): Vcpu {
  const kernel = kernelById(kernelId)!;
  const v = createVcpu(kernel, host, { confidential });
  setCpuid(v, resolveCpuModel('Skylake-Server', host, kernel));
  const img = v.fpu.image;
  writeU16(img, OFF.FCW, 0x027f);
  writeU32(img, OFF.MXCSR, 0x9fc0);
  img.fill(0x33, OFF.XMM, OFF.XMM + 16);
  for (const i of [XFEATURE.YMM, XFEATURE.OPMASK]) {
    const s = slotOf(host.layout, i)!;
    img.fill(0x40 + i, s.offset, s.offset + s.size);
  }
  v.fpu.xstateBv = BUSY_BV;
  v.pkru = 0x55555554;
  return v;
}

describe('KVM_GET_XSAVE on a confidential vCPU (kernel-semantics.md §3.2-§3.4)', () => {
  test('the two groups cover the whole kernel catalogue, once each', () => {
    expect([...EINVAL_GROUP, ...ZERO_GROUP].sort()).toEqual(KERNELS.map((k) => k.id).sort());
  });

  test('control: the same vCPU without the confidential flag hands out its state (so "all zero" below is not vacuous)', () => {
    for (const id of [...EINVAL_GROUP, ...ZERO_GROUP]) {
      const g = getXsave(busyVcpu(id, false));
      expect([id, g.rc]).toEqual([id, 0]);
      expect([id, readU64(g.region, OFF.XSTATE_BV) & (MASK.FPSSE | MASK.YMM)]).toEqual([id, MASK.FPSSE | MASK.YMM]);
      expect(g.region.some((b) => b !== 0)).toBe(true);
    }
  });

  test.each(EINVAL_GROUP)('%s (6.12+, has_protected_state): -EINVAL, nothing handed out', (id) => {
    const v = busyVcpu(id, true);
    const g = getXsave(v);
    expect(g).toEqual({ rc: 'EINVAL', region: new Uint8Array(v.uabiSize), dontCare: [] });
  });

  test.each(ZERO_GROUP)('%s (before 6.12): rc 0 and a 4096-byte all-zero buffer, every byte predicted', (id) => {
    const v = busyVcpu(id, true);
    const g = getXsave(v);
    expect(g.rc).toBe(0);
    expect(g.region.length).toBe(4096);
    // All zero: not the fpstate, not even the init values (FCW 0x037f, MXCSR 0x1f80), and no
    // XSTATE_BV; no don't-care range either, since the kernel writes nothing.
    expect(Buffer.from(g.region).equals(Buffer.alloc(4096))).toBe(true);
    expect(g.dontCare).toEqual([]);
  });

  test('GET does not modify the confidential vCPU it reads', () => {
    for (const id of ['linux-5.15', 'linux-6.6', 'linux-6.12']) {
      const v = busyVcpu(id, true);
      const before = v.fpu.image.slice();
      getXsave(v);
      expect(Buffer.from(v.fpu.image).equals(Buffer.from(before))).toBe(true);
      expect(v.fpu.xstateBv).toBe(BUSY_BV);
    }
  });
});
