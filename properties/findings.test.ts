// Findings the harness makes about the kernels themselves (not about the patch), kept as
// tests so that a model change that loses them is noticed. Each names its evidence.
import { DEFAULT_HOST_PKRU, PVE_FIXUP, customHost, kernelById } from '../model';
import { roundTrip } from './properties';

describe('the PVM 6.18 kernel and the Proxmox patch disagree about what the guest supports', () => {
  // Measured here (docs/kvm-findings.md, finding 1): once leaf 1 or 0xD.0 is in the CPUID
  // table, the kernel lets the guest use the whole host set. The patch recomputes guest
  // support from leaf 0xD. On a PKU host the guest may then enable PKRU (XCR0.PKRU) although
  // leaf 0xD says no; the patch clears the PKRU bit of its own, correct state and the guest's
  // PKRU value is lost. This host has no PKU, so the case cannot arise on the project machines.
  const scenario = {
    kernel: kernelById('linux-6.18-pvm')!,
    host: customHost(0x2e7n, 'amd'),
    cpuid: { kind: 'leaf0d' as const, eax: 0x3, edx: 0, pku: false },
    guest: { xcr0Candidate: 0x203n, inUse: 0x3n, pkru: 0x12345678, hostPkru: DEFAULT_HOST_PKRU, mxcsr: 0x1f80 },
  };
  test('without the patch the round trip is exact', () => {
    expect(roundTrip(scenario, null).why).toBeNull();
  });
  test('with the patch the guest loses its PKRU value', () => {
    expect(roundTrip(scenario, PVE_FIXUP).diff).toEqual(['pkru']);
  });
});

describe('a guest PKRU value is lost in migration when the host PKRU register is 0 (model prediction)', () => {
  // kernel-semantics.md §3.5: XSTATE_BV[PKRU] in the saved fpstate reflects the *host's* PKRU
  // register. With it 0 the bit is clear, GET (6.6+) omits the area, and SET with the bit
  // clear leaves vcpu->arch.pkru untouched (§4.2 step 4). Linux's default host PKRU is
  // 0x55555554, so this needs a VMM thread that cleared its PKRU. Not confirmed on hardware.
  test.each(['linux-6.6', 'linux-6.2', 'linux-5.15'])('%s', (id) => {
    const s = {
      kernel: kernelById(id)!,
      host: customHost(0x207n, 'amd'),
      cpuid: { kind: 'model' as const, name: 'EPYC-Milan' },
      guest: { xcr0Candidate: 0x207n, inUse: 0x3n, pkru: 0x4, hostPkru: 0, mxcsr: 0x1f80 },
    };
    expect(roundTrip(s, PVE_FIXUP).diff).toEqual(['pkru']);
    expect(roundTrip({ ...s, guest: { ...s.guest, hostPkru: DEFAULT_HOST_PKRU } }, PVE_FIXUP).diff).toEqual([]);
  });
});
