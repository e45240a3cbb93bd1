// Every finding the harness knows of outside a fuzz run's own: the cases where the patch or a
// kernel does something the claims' domains leave out. One list, read by
// properties/findings.test.ts (each must still reproduce) and by the review, whose Findings
// section used to say "None." while these were known (issue 14 item 6).
import * as path from 'node:path';
import { DEFAULT_HOST_PKRU, Fixup, PVE_FIXUP, customHost, kernelById } from '../model';
import { replayFile } from '../cases/replay';
import { RoundTripScenario, roundTrip } from './properties';

/** What a finding says, as the review prints it. */
export interface KnownFindingFacts {
  id: string;
  /** what goes wrong, in one sentence */
  title: string;
  /** 'patch': the Proxmox patch changes an outcome; 'kernel': a kernel's own behaviour */
  about: 'patch' | 'kernel';
  /** what shows it, with where to read more */
  evidence: string;
  /** the command that shows it again */
  replay: string;
  /** why it is not yet confirmed on hardware, or null when it was measured */
  unconfirmed: string | null;
}

export interface KnownFinding extends KnownFindingFacts {
  /** re-derive it from the model with this fixup (the patch unless a negative control swaps it) */
  reproduces(fixup?: Fixup): boolean;
}

const ROOT = path.resolve(__dirname, '..');

/** The PVM 6.18 kernel lets the guest use the host set; leaf 0xD offers x87/SSE only; the host has PKU. */
export const PVM_ROUND_TRIP: RoundTripScenario = {
  kernel: kernelById('linux-6.18-pvm')!,
  host: customHost(0x2e7n, 'amd'),
  cpuid: { kind: 'leaf0d' as const, eax: 0x3, edx: 0, pku: false },
  guest: { xcr0Candidate: 0x203n, inUse: 0x3n, pkru: 0x12345678, hostPkru: DEFAULT_HOST_PKRU, mxcsr: 0x1f80 },
};

/** A guest with PKRU on a kernel whose host PKRU register was cleared by the VMM thread. */
export function hostPkruZero(kernel: string, hostPkru = 0): RoundTripScenario {
  return {
    kernel: kernelById(kernel)!,
    host: customHost(0x207n, 'amd'),
    cpuid: { kind: 'model' as const, name: 'EPYC-Milan' },
    guest: { xcr0Candidate: 0x207n, inUse: 0x3n, pkru: 0x4, hostPkru, mxcsr: 0x1f80 },
  };
}
export const HOST_PKRU_ZERO_KERNELS = ['linux-6.6', 'linux-6.2', 'linux-5.15'] as const;

const PVM_CASE = 'corpus/pvm/pvm.6.18.guest-pkru.fixup-forced.lost.json';

const lossOnlyWithPatch = (s: RoundTripScenario, fixup: Fixup): boolean => roundTrip(s, null).why === null && roundTrip(s, fixup).diff.join() === 'pkru';

export const KNOWN_FINDINGS: readonly KnownFinding[] = [
  {
    id: 'pvm.6.18.guest-pkru.fixup-forced.lost',
    title: 'the Proxmox patch forced onto the PVM 6.18 kernel turns an intact migration from a source that does not leak into lost state: the guest\'s PKRU value becomes 0',
    about: 'patch',
    evidence: `corpus case ${PVM_CASE}: the patch recomputes guest support from CPUID 0xD.0 (x87/SSE only) and clears bit 9, while this kernel lets the guest use the host set, so XCR0 0x207 is accepted and PKRU is lost (../shared/research/real-kvm-here.md, last paragraph). Outside the matrix domain: its sources are not this kernel and its guests' CPUID agrees with their XCR0`,
    replay: `npx xsave-harness replay ${PVM_CASE}`,
    unconfirmed: null,
    reproduces: (fixup = PVE_FIXUP) => replayFile(path.join(ROOT, PVM_CASE), fixup).status === 'pass',
  },
  {
    id: 'pvm.6.18.round-trip.patch-loses-pkru',
    title: 'on the PVM 6.18 kernel, a KVM_GET_XSAVE / KVM_SET_XSAVE round trip with the patch loses a PKRU value the kernel let the guest use; without the patch it is exact',
    about: 'patch',
    evidence:
      'docs/kvm-findings.md §1 (measured on the project machines\' kernel: once leaf 1 or 0xD.0 is in the CPUID table the guest may use the whole host set); the model scenario PVM_ROUND_TRIP in properties/knownFindings.ts. The project machines have no PKU, so it cannot arise on them',
    replay: "npx jest properties/findings.test.ts -t 'pvm.6.18.round-trip'",
    unconfirmed: 'the loss itself needs a PKU host; the kernel rule behind it was measured on a host without PKU',
    reproduces: (fixup = PVE_FIXUP) => lossOnlyWithPatch(PVM_ROUND_TRIP, fixup),
  },
  {
    id: 'host-pkru-zero.guest-pkru-lost',
    title: `a guest PKRU value is lost in a KVM_GET_XSAVE / KVM_SET_XSAVE round trip when the VMM thread's host PKRU register is 0 (${HOST_PKRU_ZERO_KERNELS.join(', ')}; with or without the patch)`,
    about: 'kernel',
    evidence:
      'kernel-semantics.md §3.5 and §4.2: XSTATE_BV[PKRU] in the saved fpstate reflects the host PKRU register; with it 0 GET (6.6+) omits the area and SET with the bit clear leaves the vCPU PKRU untouched. Linux\'s default host PKRU is 0x55555554, so it needs a VMM thread that cleared its PKRU',
    replay: "npx jest properties/findings.test.ts -t 'host-pkru-zero'",
    unconfirmed: 'a model prediction, UNCONFIRMED on hardware',
    // a kernel finding: the loss happens without the patch as well, and only with the host PKRU at 0
    reproduces: (fixup = PVE_FIXUP) =>
      HOST_PKRU_ZERO_KERNELS.every(
        (k) => roundTrip(hostPkruZero(k), fixup).diff.join() === 'pkru' && roundTrip(hostPkruZero(k), null).diff.join() === 'pkru' && roundTrip(hostPkruZero(k, DEFAULT_HOST_PKRU), fixup).diff.length === 0,
      ),
  },
];

/** The list as report.json records it, each finding re-derived from the model now. */
export function knownFindingRecords(): Array<Omit<KnownFinding, 'reproduces'> & { reproduces: boolean }> {
  return KNOWN_FINDINGS.map((f) => ({ id: f.id, title: f.title, about: f.about, evidence: f.evidence, replay: f.replay, unconfirmed: f.unconfirmed, reproduces: f.reproduces() }));
}
