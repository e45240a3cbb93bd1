// xsave-harness prove [--json] [--mutant NAME|all|--list] [--claims P1,P3,P4] [--all-values] [--found DIR] [--no-write]
// P1, P3 and P4 proved with z3 over header fields for every 64-bit input, and P1 and P3 over
// every byte: the Proxmox patch by default (the same code pveFixup runs), or an entry of the one
// broken-fixup catalogue (properties/brokenFixups.ts, through proof/subjects.ts). Each claim is
// printed per level, "proved" or with a counterexample; a header-field counterexample is realised
// on a catalogue kernel, checked with the property's predicate and written as a case file
// (default corpus/found); a byte-level one is replayed on a buffer and the changed bytes printed.
// A .js plug-in is a byte function and cannot be proved; use `check --fixup` for it.
// --all-values drops the model's one structural invariant (guest-supported ⊆ supported XCR0).
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ClaimId } from '../../proof/claims';
import { ProofReport, formatProofReport, proveFixup } from '../../proof/prove';
import { ProofSubject, proofSubject, proofSubjects } from '../../proof/subjects';
import { releaseZ3 } from '../../proof/z3';
import { EXIT, UsageError } from '../exitCodes';

export const usage = 'prove [--json] [--mutant NAME|all|--list] [--claims P1,P3,P4] [--all-values] [--found DIR] [--no-write]   z3 proof of P1/P3/P4 for all 64-bit inputs';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      mutant: { type: 'string' },
      claims: { type: 'string' },
      found: { type: 'string', default: path.join('corpus', 'found') },
      'no-write': { type: 'boolean', default: false },
      fixup: { type: 'string' },
      list: { type: 'boolean', default: false },
      'all-values': { type: 'boolean', default: false },
    },
  });
  if (values.list) {
    for (const f of proofSubjects()) console.log(`${f.name.padEnd(30)} ${f.fields ? 'header fields + bytes' : 'bytes only'.padEnd(21)} ${f.description}`);
    return EXIT.OK;
  }
  if (values.fixup) {
    throw new UsageError(
      `--fixup ${values.fixup}: a .js plug-in is a byte function the prover cannot read; use \`check --fixup\` for it, or --mutant NAME for a catalogue entry (${proofSubjects().map((f) => f.name).join(', ')})`,
    );
  }
  const claims = (values.claims ? values.claims.split(',') : ['P1', 'P3', 'P4']) as ClaimId[];
  for (const c of claims) if (!['P1', 'P3', 'P4'].includes(c)) throw new UsageError(`--claims: "${c}" is not provable here (P1, P3, P4)`);
  let fixups: ProofSubject[];
  if (!values.mutant) fixups = [proofSubject('pve') as ProofSubject];
  else if (values.mutant === 'all') fixups = proofSubjects();
  else {
    const f = proofSubject(values.mutant);
    if (!f) throw new UsageError(`--mutant: no catalogue entry "${values.mutant}" (known: ${proofSubjects().map((x) => x.name).join(', ')}, all)`);
    if (typeof f === 'string') throw new UsageError(`--mutant: ${f}`);
    fixups = [f];
  }
  const reports: ProofReport[] = [];
  try {
    for (const f of fixups) {
      const r = await proveFixup(f, { claims, found: values['no-write'] ? null : values.found, invariants: !values['all-values'] });
      reports.push(r);
      if (!values.json) console.log(formatProofReport(r));
    }
  } finally {
    await releaseZ3();
  }
  if (values.json) console.log(JSON.stringify(fixups.length === 1 ? reports[0] : reports, null, 2));
  return reports.every((r) => r.proved) ? EXIT.OK : EXIT.FAILED;
}
