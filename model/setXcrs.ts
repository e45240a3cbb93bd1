// KVM_SET_XCRS (kvm_vcpu_ioctl_x86_set_xcrs → __kvm_set_xcr), kernel-semantics.md §5.
import { hasAmxXcr0Rule } from './kernels';
import type { Vcpu } from './vcpu';
import { Xcr0Violation, xcr0Violation } from './xcr0';

export interface SetXcrsResult {
  rc: 0 | 'EINVAL';
  reason: Xcr0Violation | 'protected-state' | null;
}

/** Sets XCR0 on `vcpu` in place when KVM accepts it. */
export function setXcrs(vcpu: Vcpu, xcr0: bigint): SetXcrsResult {
  // 6.12+: a vCPU with protected guest state refuses XCR access.
  if (vcpu.confidential && vcpu.kernel.confidential === 'einval') return { rc: 'EINVAL', reason: 'protected-state' };
  const reason = xcr0Violation(xcr0, vcpu.guestSupportedXcr0, { amxPairRule: hasAmxXcr0Rule(vcpu.kernel) });
  if (reason) return { rc: 'EINVAL', reason };
  vcpu.xcr0 = xcr0;
  return { rc: 0, reason: null };
}
