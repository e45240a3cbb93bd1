// Collects the review's proof section (report/proofSection.ts): runs z3 through proof/.
import { BOOL_VARS, BV_VARS, CLAIMS, ClaimId, ruleGroups } from '../../proof/claims';
import { ProofReport, proveFixup } from '../../proof/prove';
import { PVE_SUBJECT, proofSubjects } from '../../proof/subjects';
import { releaseZ3 } from '../../proof/z3';
import { BrokenFixupProof, ProofLevelLine, ProofRun, ProofSection } from '../../report/proofSection';
import { BYTE_CLAIMS } from '../../proof/byteClaims';

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
    results: r.results.map((x) => ({ claim: x.claim, level: x.level, group: x.group, kernels: [...x.kernels], status: x.status, violation: withViolations ? x.violation : null })),
    proved: r.proved,
  };
}

function brokenOf(r: ProofReport): BrokenFixupProof {
  const claims = {} as BrokenFixupProof['claims'];
  for (const id of Object.keys(r.claims) as ClaimId[]) {
    const rs = r.results.filter((x) => x.claim === id);
    claims[id] = { status: r.claims[id]!, counterexampleGroups: rs.filter((x) => x.status === 'counterexample').map((x) => x.group), groups: rs.length };
  }
  const levels = {} as BrokenFixupProof['levels'];
  for (const id of Object.keys(r.levels) as ClaimId[]) levels[id] = { fields: r.levels[id]['header fields'], bytes: r.levels[id].bytes };
  return { name: r.fixup, description: r.description, mutant: r.mutant, claims, levels };
}

/**
 * What the run proved, claim by claim and level by level (issue 14 item 5): nothing is called
 * proved that was not a z3 query, and what follows by construction is said to.
 */
export function proofLevelLines(r: ProofReport): ProofLevelLine[] {
  const st = (id: ClaimId, level: 'header fields' | 'bytes'): string => `${r.levels[id]?.[level] ?? 'not run'} (${level})`;
  const byteStatement = (id: string): string => BYTE_CLAIMS.find((c) => c.id === id)!.statement;
  const claim = (id: ClaimId): string => CLAIMS.find((c) => c.id === id)!.statement;
  const lines: ProofLevelLine[] = [
    { claim: 'P1', status: `${st('P1', 'header fields')}; ${st('P1', 'bytes')}`, what: `Header fields: ${claim('P1')} Bytes: ${byteStatement('P1')}` },
    { claim: 'P3', status: `${st('P3', 'header fields')}; ${st('P3', 'bytes')}`, what: `Header fields: ${claim('P3')} Bytes: ${byteStatement('P3')}` },
    {
      claim: 'P4',
      status: st('P4', 'header fields'),
      what: `Header fields: ${claim('P4')} No byte-level statement: SET's checks read only the header fields (bitLogic.ts setChecks), and the byte-level P3 shows the patch changes no other byte.`,
    },
    { claim: 'P2', status: 'tested only', what: 'Migration outcome (fuzz with fast-check, the exhaustive mode, the kill matrix); not part of the proof.' },
    { claim: 'P5', status: 'tested only', what: 'Round trip of the guest state (fuzz, kill matrix); not part of the proof.' },
  ];
  if (r.fieldsAreBytes) lines.push({ claim: 'fields = bytes', status: `${r.fieldsAreBytes} (bytes)`, what: byteStatement('fields=bytes') });
  return lines;
}

/** Prove the patch (and, unless `brokenFixups` is false, check the broken symbolic fixups); releases z3 when done. */
export async function proofSection(opts: { brokenFixups?: boolean } = {}): Promise<ProofSection> {
  const pve = PVE_SUBJECT;
  try {
    const withInvariant = await proveFixup(pve, { found: null });
    const allValues = await proveFixup(pve, { found: null, invariants: false });
    let broken: BrokenFixupProof[] | null = null;
    if (opts.brokenFixups !== false) {
      broken = [];
      // Counterexamples are not realised: only proved / counterexample is shown, which does not
      // depend on the model z3 happens to pick.
      for (const f of proofSubjects().filter((x) => x.name !== 'pve')) broken.push(brokenOf(await proveFixup(f, { found: null, realize: false })));
    }
    return {
      fixup: pve.name,
      description: pve.description,
      claims: CLAIMS.map((c) => ({ id: c.id, title: c.title, statement: c.statement })),
      groups: ruleGroups().map((g) => ({ label: g.label, kernels: [...g.kernels] })),
      domain: proofDomain(),
      assumption: PROOF_ASSUMPTION,
      levels: proofLevelLines(withInvariant),
      runs: [runOf(withInvariant, true, true), runOf(allValues, false, true)],
      brokenFixups: broken,
    };
  } finally {
    await releaseZ3();
  }
}
