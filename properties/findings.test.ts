// Findings the harness makes about the kernels and the patch outside the claims' domains, kept as
// tests so that a model change that loses them is noticed. The list is properties/knownFindings.ts
// (the review prints the same list); each names its evidence and replay command.
import { DEFAULT_HOST_PKRU, Fixup, PVE_FIXUP } from '../model';
import { HOST_PKRU_ZERO_KERNELS, KNOWN_FINDINGS, PVM_ROUND_TRIP, hostPkruZero } from './knownFindings';
import { roundTrip } from './properties';

/** A "patch" that does nothing: with it a patch finding must disappear (negative control). */
const NO_OP: Fixup = { name: 'no-op', fn: () => undefined };

describe('pvm.6.18.round-trip: the PVM 6.18 kernel and the Proxmox patch disagree about what the guest supports', () => {
  // Measured here (docs/kvm-findings.md, finding 1): once leaf 1 or 0xD.0 is in the CPUID
  // table, the kernel lets the guest use the whole host set. The patch recomputes guest
  // support from leaf 0xD. On a PKU host the guest may then enable PKRU (XCR0.PKRU) although
  // leaf 0xD says no; the patch clears the PKRU bit of its own, correct state and the guest's
  // PKRU value is lost. This host has no PKU, so the case cannot arise on the project machines.
  test('without the patch the round trip is exact', () => {
    expect(roundTrip(PVM_ROUND_TRIP, null).why).toBeNull();
  });
  test('with the patch the guest loses its PKRU value', () => {
    expect(roundTrip(PVM_ROUND_TRIP, PVE_FIXUP).diff).toEqual(['pkru']);
  });
});

describe('host-pkru-zero: a guest PKRU value is lost in migration when the host PKRU register is 0 (model prediction)', () => {
  // kernel-semantics.md §3.5: XSTATE_BV[PKRU] in the saved fpstate reflects the *host's* PKRU
  // register. With it 0 the bit is clear, GET (6.6+) omits the area, and SET with the bit
  // clear leaves vcpu->arch.pkru untouched (§4.2 step 4). Linux's default host PKRU is
  // 0x55555554, so this needs a VMM thread that cleared its PKRU. Not confirmed on hardware.
  test.each(HOST_PKRU_ZERO_KERNELS)('%s', (id) => {
    expect(roundTrip(hostPkruZero(id), PVE_FIXUP).diff).toEqual(['pkru']);
    expect(roundTrip(hostPkruZero(id, DEFAULT_HOST_PKRU), PVE_FIXUP).diff).toEqual([]);
  });
});

describe('every known finding (properties/knownFindings.ts) still reproduces, with its evidence and replay command', () => {
  test('the list holds the corpus case and the two kernel findings', () => {
    expect(KNOWN_FINDINGS.map((f) => f.id)).toEqual(['pvm.6.18.guest-pkru.fixup-forced.lost', 'pvm.6.18.round-trip.patch-loses-pkru', 'host-pkru-zero.guest-pkru-lost']);
  });
  test.each(KNOWN_FINDINGS.map((f) => [f.id, f] as const))('%s reproduces with the patch', (_id, f) => {
    expect(f.reproduces()).toBe(true);
    expect(f.evidence.length).toBeGreaterThan(40);
    expect(f.replay).toMatch(/^npx (xsave-harness replay|jest) /);
  });
  // Negative control: a finding about the patch is gone when the patch does nothing, so
  // `reproduces` can fail and the review's list is not a constant.
  test.each(KNOWN_FINDINGS.filter((f) => f.about === 'patch').map((f) => [f.id, f] as const))('%s does not reproduce with a no-op fixup', (_id, f) => {
    expect(f.reproduces(NO_OP)).toBe(false);
  });
});
