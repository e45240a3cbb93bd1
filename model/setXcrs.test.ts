// KVM_SET_XCRS (kvm_vcpu_ioctl_x86_set_xcrs → __kvm_set_xcr), kernel-semantics.md §5.
import { HOSTS, XCR0_RESET, createVcpu, kernelById, resolveCpuModel, setCpuid, setXcrs } from './index';

const zen4 = HOSTS['zen4']!; // host XCR0 0x2e7

function vcpuOn(kid: string, confidential: boolean) {
  const kernel = kernelById(kid)!;
  const v = createVcpu(kernel, zen4, { confidential });
  setCpuid(v, resolveCpuModel('EPYC-Milan', zen4, kernel)); // guest-supported XCR0 0x207
  return v;
}

describe('§5.1: a vCPU with protected guest state', () => {
  // 6.12+: kvm_vcpu_ioctl_x86_set_xcrs returns -EINVAL before looking at the entries.
  test.each(['linux-6.12', 'linux-6.19', 'pve-6.14'])('%s: EINVAL (protected-state), XCR0 unchanged', (kid) => {
    const v = vcpuOn(kid, true);
    expect(setXcrs(v, 0x7n)).toEqual({ rc: 'EINVAL', reason: 'protected-state' });
    expect(v.xcr0).toBe(XCR0_RESET);
  });
  // Before 6.12 the ioctl has no such check: __kvm_set_xcr's rules apply as for any vCPU.
  test.each(['linux-6.6', 'pve-6.8'])('%s: the XCR0 rules decide, as for an ordinary vCPU', (kid) => {
    const v = vcpuOn(kid, true);
    expect(setXcrs(v, 0x7n)).toEqual({ rc: 0, reason: null });
    expect(v.xcr0).toBe(0x7n);
    expect(setXcrs(v, 0x5n)).toEqual({ rc: 'EINVAL', reason: 'ymm-without-sse' });
  });
  test('6.12 with an ordinary vCPU: accepted', () => {
    const v = vcpuOn('linux-6.12', false);
    expect(setXcrs(v, 0x207n)).toEqual({ rc: 0, reason: null });
    expect(v.xcr0).toBe(0x207n);
  });
});
