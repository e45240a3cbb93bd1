// MXCSR (and the x87 bytes) when KVM_SET_XSAVE's XSTATE_BV lacks x87, SSE or YMM
// (docs/mutation.md §4 class 6; kernel-semantics.md §4.1 and §4.2; docs/kvm-findings.md §13).
// Expectations are written by hand per SET rule group:
//  - 5.15 `load_xsave`: bytes 0-511 are copied verbatim whatever XSTATE_BV says, so the kernel
//    fpstate takes the buffer's MXCSR and x87 bytes even with XSTATE_BV = 0; 5.15's GET
//    (`fill_xsave`) hands the legacy bytes back verbatim too;
//  - 5.16+ `copy_uabi_to_xstate`: the x87 bytes (0-159, MXCSR included) only with FP in
//    XSTATE_BV; MXCSR alone when SSE or YMM is there without FP; with none of the three
//    MXCSR is not written at all (the old value stays). GET (`__copy_xstate_to_uabi_buf`) takes
//    MXCSR from the fpstate only with SSE or YMM emitted, else 0x1F80.
// What the guest then sees depends on the host's XRSTOR form (xrstor.ts): the standard form
// loads MXCSR from memory whenever RFBM[1] or RFBM[2] is set (a Haswell-class host without
// XSAVES), the compacted form (XRSTORS; measured on the project machine) only with
// XSTATE_BV[1], else 0x1F80.
import {
  HOSTS,
  Host,
  KERNELS,
  OFF,
  Vcpu,
  createVcpu,
  getXsave,
  guestView,
  kernelById,
  readU16,
  readU32,
  readU64,
  resolveCpuModel,
  setCpuid,
  setXsave,
  writeU16,
  writeU32,
  writeU64,
} from './index';

/** The 5.15 `load_xsave` group. */
const LOAD_515 = ['linux-5.15'];
/** fpu_copy_uabi_to_guest_fpstate → copy_uabi_to_xstate (5.16, the Jammy backport, 5.17 … 7.0, the lab's Debian kernels). */
const FPU_UABI = [
  'linux-5.16',
  'pve-5.15',
  'linux-5.17',
  'linux-6.2',
  'linux-6.6',
  'linux-6.12',
  'linux-6.19',
  'pve-6.2-2023-07',
  'pve-6.2-2023-10',
  'pve-6.5',
  'pve-6.8',
  'pve-6.11',
  'pve-6.14',
  'pve-6.17',
  'pve-7.0',
  'linux-6.18-pvm',
  'debian-6.1',
  'debian-6.12',
  'debian-6.1+pve',
  'debian-6.12+pve',
  'debian-6.1-2023',
  'debian-6.1-2023+pve',
  'debian-6.1-leaky',
];
const ALL = [...LOAD_515, ...FPU_UABI];
const is515 = (id: string): boolean => LOAD_515.includes(id);

/** Haswell: x87/SSE/AVX, no XSAVES, so Linux restores with the standard-form XRSTOR. */
const STANDARD: Host = HOSTS['haswell']!;
/** The project machine as calibrated: Zen 4 without PKU, MXCSR mask 0x2ffff, XRSTORS. */
const COMPACTED: Host = { ...HOSTS['zen4-nopku']!, name: 'this', mxcsrMask: 0x2ffff, kernelXrstor: 'compacted' };

const MXCSR_SET = 0x1f00; // valid under both masks, not the default
const FCW_SET = 0x0f7f;

function buffer(xstateBv: bigint, mxcsr = MXCSR_SET, fcw = FCW_SET, xmm = 0x33): Uint8Array {
  const r = new Uint8Array(4096);
  writeU16(r, OFF.FCW, fcw);
  writeU32(r, OFF.MXCSR, mxcsr);
  r.fill(xmm, OFF.XMM, OFF.XMM + 16);
  writeU64(r, OFF.XSTATE_BV, xstateBv);
  return r;
}

/** A vCPU with a Haswell-model CPUID (guest-supported XCR0 0x7 on every rule). */
function vcpuOn(id: string, host: Host): Vcpu {
  const kernel = kernelById(id)!;
  const v = createVcpu(kernel, host);
  setCpuid(v, resolveCpuModel('Haswell', host, kernel));
  return v;
}

/** SET `bufs` in order (each must be accepted); returns the vCPU after the last. */
function setAll(v: Vcpu, ...bufs: Uint8Array[]): Vcpu {
  for (const b of bufs) {
    const r = setXsave(v, b, null);
    expect([v.kernel.id, r.rc, r.reason]).toEqual([v.kernel.id, 0, null]);
    v = r.vcpu;
  }
  return v;
}

interface Seen {
  /** the kernel fpstate's MXCSR and FCW (what KVM_GET_FPU reads for FCW) */
  stateMxcsr: number;
  stateFcw: number;
  getXstateBv: bigint;
  getMxcsr: number;
  getFcw: number;
  /** guest MXCSR after the kernel's XRSTOR */
  guestMxcsr: string;
}

function seen(v: Vcpu): Seen {
  const g = getXsave(v);
  expect(g.rc).toBe(0);
  return {
    stateMxcsr: readU32(v.fpu.image, OFF.MXCSR),
    stateFcw: readU16(v.fpu.image, OFF.FCW),
    getXstateBv: readU64(g.region, OFF.XSTATE_BV),
    getMxcsr: readU32(g.region, OFF.MXCSR),
    getFcw: readU16(g.region, OFF.FCW),
    guestMxcsr: guestView(v).mxcsr,
  };
}

/** State A, set first in the "stale" cases: x87 and SSE in use, MXCSR 0x1fa0. */
const STATE_A = buffer(0x3n, 0x1fa0, 0x027f, 0x11);

describe('MXCSR with x87, SSE and YMM all clear in XSTATE_BV (class 6)', () => {
  test('the two SET groups cover the whole kernel catalogue, once each', () => {
    expect([...ALL].sort()).toEqual(KERNELS.map((k) => k.id).sort());
  });

  test.each(ALL)('%s, fresh vCPU, XSTATE_BV 0 with MXCSR 0x1f00 and FCW 0x0f7f (standard-form host)', (id) => {
    const s = seen(setAll(vcpuOn(id, STANDARD), buffer(0x0n)));
    if (is515(id)) {
      // load_xsave: legacy bytes verbatim; GET verbatim; standard XRSTOR loads the new MXCSR.
      expect(s).toEqual({ stateMxcsr: 0x1f00, stateFcw: 0x0f7f, getXstateBv: 0n, getMxcsr: 0x1f00, getFcw: 0x0f7f, guestMxcsr: '0x1f00' });
    } else {
      // copy_uabi_to_xstate writes nothing of the legacy area: the reset values stay.
      expect(s).toEqual({ stateMxcsr: 0x1f80, stateFcw: 0x037f, getXstateBv: 0n, getMxcsr: 0x1f80, getFcw: 0x037f, guestMxcsr: '0x1f80' });
    }
  });

  test.each(ALL)('%s, after a SET with MXCSR 0x1fa0 / FCW 0x027f, XSTATE_BV 0 with MXCSR 0x1f00 (standard-form host)', (id) => {
    const s = seen(setAll(vcpuOn(id, STANDARD), STATE_A, buffer(0x0n)));
    if (is515(id)) {
      expect(s).toEqual({ stateMxcsr: 0x1f00, stateFcw: 0x0f7f, getXstateBv: 0n, getMxcsr: 0x1f00, getFcw: 0x0f7f, guestMxcsr: '0x1f00' });
    } else {
      // The earlier MXCSR and FCW stay in the fpstate (FCW measured with KVM_GET_FPU on the
      // 6.18 kernel, docs/kvm-findings.md §13). GET shows init values; a standard-form XRSTOR
      // (RFBM[1] set) loads the stale MXCSR into the guest.
      expect(s).toEqual({ stateMxcsr: 0x1fa0, stateFcw: 0x027f, getXstateBv: 0n, getMxcsr: 0x1f80, getFcw: 0x037f, guestMxcsr: '0x1fa0' });
    }
  });

  test.each(ALL)('%s on a compacted-form host (XRSTORS, the project machine): the guest sees 0x1f80 either way', (id) => {
    const v = setAll(vcpuOn(id, COMPACTED), STATE_A, buffer(0x0n));
    const s = seen(v);
    expect(s.stateMxcsr).toBe(is515(id) ? 0x1f00 : 0x1fa0);
    expect(s.getMxcsr).toBe(is515(id) ? 0x1f00 : 0x1f80);
    expect(s.guestMxcsr).toBe('0x1f80'); // XSTATE_BV[1] = 0: MXCSR initialised (SDM §13.8.2)
  });

  test.each(ALL)('%s, x87 only (XSTATE_BV 0x1): MXCSR rides with the x87 bytes 0-159 on both paths', (id) => {
    const s = seen(setAll(vcpuOn(id, STANDARD), STATE_A, buffer(0x1n)));
    expect([s.stateMxcsr, s.stateFcw, s.getXstateBv, s.getFcw, s.guestMxcsr]).toEqual([0x1f00, 0x0f7f, 0x1n, 0x0f7f, '0x1f00']);
    // GET: 5.15 copies the legacy bytes verbatim; 5.16+ takes MXCSR from the fpstate only
    // with SSE or YMM emitted (measured on 6.18: docs/kvm-findings.md §4).
    expect(s.getMxcsr).toBe(is515(id) ? 0x1f00 : 0x1f80);
    expect(guestView(setAll(vcpuOn(id, COMPACTED), STATE_A, buffer(0x1n))).mxcsr).toBe('0x1f80');
  });

  test.each(ALL)('%s, YMM only (XSTATE_BV 0x4): MXCSR is stored, the x87 bytes only on 5.15', (id) => {
    const s = seen(setAll(vcpuOn(id, STANDARD), STATE_A, buffer(0x4n)));
    if (is515(id)) {
      expect(s).toEqual({ stateMxcsr: 0x1f00, stateFcw: 0x0f7f, getXstateBv: 0x4n, getMxcsr: 0x1f00, getFcw: 0x0f7f, guestMxcsr: '0x1f00' });
    } else {
      // "SSE and YMM require MXCSR even when FP is not in use": MXCSR (and MXCSR_MASK) alone.
      expect(s).toEqual({ stateMxcsr: 0x1f00, stateFcw: 0x027f, getXstateBv: 0x4n, getMxcsr: 0x1f00, getFcw: 0x037f, guestMxcsr: '0x1f00' });
    }
    expect(guestView(setAll(vcpuOn(id, COMPACTED), STATE_A, buffer(0x4n))).mxcsr).toBe('0x1f80');
  });

  test.each(ALL)('%s, XSTATE_BV 0 with an MXCSR reserved bit (0x11f80, mask 0xffff): refused only by 5.15', (id) => {
    const v = setAll(vcpuOn(id, STANDARD), STATE_A);
    const r = setXsave(v, buffer(0x0n, 0x11f80), null);
    if (is515(id)) {
      // 5.15 checks MXCSR unconditionally
      expect([r.rc, r.reason]).toEqual(['EINVAL', 'mxcsr-reserved']);
    } else {
      // 5.16+ check (and store) MXCSR only with x87, SSE or YMM present (measured on 6.18:
      // docs/kvm-findings.md §3.4): accepted, and the fpstate keeps the old MXCSR.
      expect([r.rc, r.reason]).toEqual([0, null]);
      expect(readU32(r.vcpu.fpu.image, OFF.MXCSR)).toBe(0x1fa0);
      expect(guestView(r.vcpu).mxcsr).toBe('0x1fa0');
    }
  });
});
