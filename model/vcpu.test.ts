// vCPU creation and KVM_SET_CPUID2 (model/vcpu.ts): the table checks of kvm_check_cpuid, the
// PVM kernel's guest-supported XCR0 rule, user_xfeatures on 5.15, and what a re-set CPUID keeps.
import {
  CpuidEntry,
  HOSTS,
  MASK,
  OFF,
  XSAVE_REGION_SIZE,
  createVcpu,
  getXsave,
  kernelById,
  readU32,
  setCpuid,
  setCpuidRefusal,
  setXsave,
  writeU32,
} from './index';
import { cpuidEntry as entry, xsaveRegion } from '../test/helpers/xsave';

const k618 = kernelById('linux-6.18-pvm')!;
const k515 = kernelById('linux-5.15')!;
const k66 = kernelById('linux-6.6')!;

describe('KVM_SET_CPUID2 refusals (kvm_check_cpuid, docs/kvm-findings.md §12.3)', () => {
  // kvm_check_cpuid: canonical-address checks assume 48- or 57-bit virtual addresses, so CPUID
  // 0x80000008 EAX[15:8] must be 0, 48 or 57, else -EINVAL.
  const e8 = (vaddrBits: number): CpuidEntry[] => [entry(0x80000008, 0, (vaddrBits << 8) | 0x30)];
  test.each([0, 48, 57])('virtual-address width %i in leaf 0x80000008 is accepted', (vb) => {
    expect(setCpuidRefusal(k618, e8(vb))).toBeNull();
  });
  test.each([1, 40, 47, 49, 56, 58, 64, 255])('virtual-address width %i in leaf 0x80000008 is refused with EINVAL', (vb) => {
    expect(setCpuidRefusal(k618, e8(vb))).toBe('EINVAL');
  });
  test('the width check applies on every kernel, with or without AMX', () => {
    expect(setCpuidRefusal(k515, e8(40))).toBe('EINVAL');
    expect(setCpuidRefusal(k515, e8(48))).toBeNull();
  });
  test('the width check runs before the XTILE_DATA check (kernel order)', () => {
    expect(setCpuidRefusal(k618, [...e8(40), entry(0xd, 0, 0x600e7)])).toBe('EINVAL');
  });
  test('a table without leaf 0x80000008 or leaf 0xD.0 is accepted', () => {
    expect(setCpuidRefusal(k618, [])).toBeNull();
    expect(setCpuidRefusal(k618, [entry(1, 0, 0)])).toBeNull();
  });

  // kvm_check_cpuid → fpu_enable_guest_xfd_features: a dynamic feature (XTILE_DATA, bit 18) in
  // CPUID(0xD,0) needs ARCH_REQ_XCOMP_GUEST_PERM first, which the harness never requests → -EPERM.
  test('XTILE_DATA in CPUID(0xD,0) EAX without guest permission: EPERM on an AMX kernel', () => {
    expect(setCpuidRefusal(k618, [entry(0xd, 0, 0x400e7)])).toBe('EPERM');
    expect(setCpuidRefusal(k66, [entry(0xd, 0, 0x600e7)])).toBe('EPERM');
    expect(setCpuidRefusal(k618, [entry(0xd, 0, 0x40000)])).toBe('EPERM');
  });
  test('XTILE_CFG alone (bit 17) and a table without XTILE_DATA are accepted', () => {
    expect(setCpuidRefusal(k618, [entry(0xd, 0, 0x200e7)])).toBeNull();
    expect(setCpuidRefusal(k618, [entry(0xd, 0, 0xe7)])).toBeNull();
  });
  test('5.15 has no AMX (KVM_SUPPORTED_XCR0 without XTILE): XTILE_DATA in CPUID is not refused', () => {
    expect(setCpuidRefusal(k515, [entry(0xd, 0, 0x600e7)])).toBeNull();
  });
  test('bit 18 in leaf 0xD sub-leaf 1 (not the XCR0 sub-leaf) is not a dynamic-feature request', () => {
    expect(setCpuidRefusal(k618, [entry(0xd, 1, 0x40000)])).toBeNull();
  });
});

describe('guest-supported XCR0 on the 6.18 PVM kernel (docs/kvm-findings.md §1)', () => {
  const host = HOSTS['zen4-nopku']!;
  const gsxAfter = (table: CpuidEntry[]): bigint => {
    const v = createVcpu(k618, host);
    setCpuid(v, table);
    return v.guestSupportedXcr0;
  };
  // Measured: the host set once the table holds leaf 1 or leaf 0xD.0, whatever their contents.
  test('a table with leaf 1 or leaf 0xD.0 gives the whole host set', () => {
    expect(gsxAfter([entry(1, 0, 0)])).toBe(0xe7n);
    expect(gsxAfter([entry(0xd, 0, 0)])).toBe(0xe7n);
  });
  // Measured: an empty table, or one with only leaf 0, leaf 7, leaf 0xD.1 or extended leaves,
  // behaves like never-set (gsx 0, so only XCR0 = x87 is accepted).
  test('a table without leaf 1 and without leaf 0xD.0 gives 0, as if CPUID were never set', () => {
    expect(gsxAfter([])).toBe(0n);
    expect(gsxAfter([entry(0, 0, 0xd)])).toBe(0n);
    expect(gsxAfter([entry(7, 0, 0), entry(0xd, 1, 0), entry(0x80000008, 0, 0x3030)])).toBe(0n);
  });
});

describe('user_xfeatures on 5.15 (kernel-semantics.md §1: no user_xfeatures on KVM\'s 5.15 path)', () => {
  // The Vcpu field is 0 on 5.15; proofs read it as the solver's user_xfeatures value.
  test.each(['skylake-sp', 'sapphire-rapids', 'zen4'])('stays 0 on %s, before and after KVM_SET_CPUID2', (hid) => {
    const v = createVcpu(k515, HOSTS[hid]!);
    expect(v.userXfeatures).toBe(0n);
    setCpuid(v, [entry(1, 0, 0), entry(0xd, 0, 0x2ff)]);
    expect(v.userXfeatures).toBe(0n);
  });
});

describe('KVM_SET_CPUID2 does not touch the guest FPU state (docs/kvm-findings.md §12.5)', () => {
  // Measured: a SET_CPUID2 after SET_XSAVE changes only the GET mask; the kernel's state is kept.
  test('x87/SSE state written before a re-set of CPUID without AMX is still read back', () => {
    const host = HOSTS['sapphire-rapids']!;
    const v = createVcpu(k66, host);
    setCpuid(v, [entry(1, 0, 0), entry(0xd, 0, 0x602e7)]); // AMX granted: fpstate grows
    expect(v.uabiSize).toBeGreaterThan(XSAVE_REGION_SIZE);
    const region = xsaveRegion(v.uabiSize, MASK.FPSSE);
    writeU32(region, OFF.XMM, 0xdeadbeef);
    const r = setXsave(v, region, null);
    expect(r.rc).toBe(0);
    setCpuid(r.vcpu, [entry(1, 0, 0), entry(0xd, 0, 0xe7)]);
    const got = getXsave(r.vcpu);
    expect(got.rc).toBe(0);
    expect(readU32(got.region, OFF.XMM)).toBe(0xdeadbeef);
  });

  // uabi_size only grows when the fpstate is reallocated for AMX (kernel-semantics.md §3.1), and
  // from 8647c52e9504 the reallocation leaves XTILE_DATA in user_xfeatures for good.
  test('a second table without AMX keeps the enlarged region and XTILE_DATA (6.6)', () => {
    const v = createVcpu(k66, HOSTS['sapphire-rapids']!);
    setCpuid(v, [entry(1, 0, 0), entry(0xd, 0, 0x602e7)]);
    const grown = v.uabiSize;
    expect(grown).toBeGreaterThan(XSAVE_REGION_SIZE);
    expect(v.userXfeatures & MASK.XTILE_DATA).toBe(MASK.XTILE_DATA);
    setCpuid(v, [entry(1, 0, 0), entry(0xd, 0, 0xe7)]);
    expect(v.uabiSize).toBe(grown);
    expect(v.userXfeatures & MASK.XTILE_DATA).toBe(MASK.XTILE_DATA);
  });
});
