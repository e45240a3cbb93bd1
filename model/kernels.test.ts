// Kernel catalogue rules (model/kernels.ts) seen through the ioctls that apply them.
import { HOSTS, KERNELS, createVcpu, hasAmxXcr0Rule, kernelById, setCpuid, setXcrs } from './index';
import { cpuidEntry as entry } from '../test/helpers/xsave';

const spr = HOSTS['sapphire-rapids']!; // host XCR0 0x602e7: AVX-512, PKU, AMX

describe('AMX pair rule of __kvm_set_xcr (kernel-semantics.md §5.2 rule 7; 5.17+ with AMX)', () => {
  // XTILE_CFG (17) and XTILE_DATA (18) must be both set or both clear (SDM XSETBV #GP rule).
  test.each(['linux-6.2', 'linux-6.6', 'linux-6.12', 'pve-6.8'])('%s: XTILE_CFG without XTILE_DATA is refused as amx-pair', (kid) => {
    const v = createVcpu(kernelById(kid)!, spr);
    // CPUID(0xD,0) with bit 17 only: accepted by KVM_SET_CPUID2 (no dynamic feature requested)
    setCpuid(v, [entry(1, 0, 0), entry(0xd, 0, 0x200e7)]);
    expect(v.guestSupportedXcr0 & 0x60000n).toBe(0x20000n);
    expect(setXcrs(v, 0x20003n)).toEqual({ rc: 'EINVAL', reason: 'amx-pair' });
    expect(setXcrs(v, 0x200e7n)).toEqual({ rc: 'EINVAL', reason: 'amx-pair' });
    expect(v.xcr0).toBe(0x1n);
    expect(setXcrs(v, 0xe7n)).toEqual({ rc: 0, reason: null });
  });
  test('6.18 PVM (gsx = host set incl. AMX): only the full pair is accepted', () => {
    const v = createVcpu(kernelById('linux-6.18-pvm')!, spr);
    setCpuid(v, [entry(1, 0, 0)]);
    expect(setXcrs(v, 0x400e7n).reason).toBe('amx-pair');
    expect(setXcrs(v, 0x200e7n).reason).toBe('amx-pair');
    expect(setXcrs(v, 0x600e7n)).toEqual({ rc: 0, reason: null });
    expect(v.xcr0).toBe(0x600e7n);
  });
  test('5.15: no AMX in KVM_SUPPORTED_XCR0, so an XTILE bit is outside guest-supported, never amx-pair', () => {
    const v = createVcpu(kernelById('linux-5.15')!, spr);
    setCpuid(v, [entry(1, 0, 0), entry(0xd, 0, 0x602e7)]);
    expect(setXcrs(v, 0x20003n).reason).toBe('outside-guest-supported');
  });
  // §5.2: "identical 6.2 → 6.19; 5.15 lacks the AMX rule" (it came with KVM's AMX support, 5.17).
  test('the rule exists exactly on the kernels whose KVM_SUPPORTED_XCR0 has AMX', () => {
    const without = KERNELS.filter((k) => !hasAmxXcr0Rule(k)).map((k) => k.id);
    expect(without).toEqual(['linux-5.15', 'linux-5.16', 'pve-5.15']);
  });
});
