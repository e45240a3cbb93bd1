// Collects the review's proof section (report/proofSection.ts): runs z3 through proof/.
import { BOOL_VARS, BV_VARS, CLAIMS, ClaimId, ruleGroups } from '../../proof/claims';
import { ProofReport, proveFixup } from '../../proof/prove';
import { SYMBOLIC_FIXUPS, symbolicFixup } from '../../proof/symbolicFixups';
import { releaseZ3 } from '../../proof/z3';
import { BrokenFixupProof, ProofRun, ProofSection } from '../../report/proofSection';

const LABELS: Record<string, string> = {
  xstateBv: 'XSTATE_BV',
  xcompBv: 'XCOMP_BV',
  mxcsr: 'MXCSR',
  supportedXcr0: "KVM's supported XCR0 (the host)",
  userXfeatures: 'user_xfeatures',
  mxcsrMask: 'the MXCSR mask',
  xfd: 'XFD',
  guestSupportedXcr0: 'guest-supported XCR0',
  xcr0: 'XCR0',
  headerReservedNonZero: '"reserved header bytes non-zero"',
  confidential: 'confidential',
  cpuidPku: 'CPUID.7 PKU',
};
/** proof/claims.ts domain(): these two are 32-bit registers, everything else is 64-bit. */
const U32_VARS = ['mxcsr', 'mxcsrMask'];

export const PROOF_ASSUMPTION =
  "guest-supported XCR0 ⊆ KVM's supported XCR0: the model's structural invariant (the patch's helper computes CPUID(0xD,0) ∩ supported XCR0, model/fixup.ts fixupContext)";

export function proofDomain(): string[] {
  const label = (v: string): string => LABELS[v] ?? v;
  const u64 = BV_VARS.filter((v) => !U32_VARS.includes(v)).map(label);
  const u32 = BV_VARS.filter((v) => U32_VARS.includes(v)).map(label);
  return [
    `Every 64-bit value of ${u64.join(', ')}.`,
    `Every 32-bit value of ${u32.join(' and ')}.`,
    `Both values of the booleans ${BOOL_VARS.map(label).join(', ')}.`,
    'user_xfeatures is left free, so one query covers every kernel rule for it at once; P2 (migration) and P5 (round trip) are not part of the proof.',
  ];
}

function runOf(r: ProofReport, invariant: boolean, withViolations: boolean): ProofRun {
  return {
    invariant,
    claims: { ...r.claims },
    results: r.results.map((x) => ({ claim: x.claim, group: x.group, kernels: [...x.kernels], status: x.status, violation: withViolations ? x.violation : null })),
    proved: r.proved,
  };
}

function brokenOf(r: ProofReport): BrokenFixupProof {
  const claims = {} as BrokenFixupProof['claims'];
  for (const id of Object.keys(r.claims) as ClaimId[]) {
    const rs = r.results.filter((x) => x.claim === id);
    claims[id] = { status: r.claims[id], counterexampleGroups: rs.filter((x) => x.status === 'counterexample').map((x) => x.group), groups: rs.length };
  }
  return { name: r.fixup, description: r.description, mutant: r.mutant, claims };
}

/** Prove the patch (and, unless `brokenFixups` is false, check the broken symbolic fixups); releases z3 when done. */
export async function proofSection(opts: { brokenFixups?: boolean } = {}): Promise<ProofSection> {
  const pve = symbolicFixup('pve')!;
  try {
    const withInvariant = await proveFixup(pve, { found: null });
    const allValues = await proveFixup(pve, { found: null, invariants: false });
    let broken: BrokenFixupProof[] | null = null;
    if (opts.brokenFixups !== false) {
      broken = [];
      // Counterexamples are not realised: only proved / counterexample is shown, which does not
      // depend on the model z3 happens to pick.
      for (const f of SYMBOLIC_FIXUPS.filter((x) => x.name !== 'pve')) broken.push(brokenOf(await proveFixup(f, { found: null, realize: false })));
    }
    return {
      fixup: pve.name,
      description: pve.description,
      claims: CLAIMS.map((c) => ({ id: c.id, title: c.title, statement: c.statement })),
      groups: ruleGroups().map((g) => ({ label: g.label, kernels: [...g.kernels] })),
      domain: proofDomain(),
      assumption: PROOF_ASSUMPTION,
      runs: [runOf(withInvariant, true, true), runOf(allValues, false, true)],
      brokenFixups: broken,
    };
  } finally {
    await releaseZ3();
  }
}
