// What `xsave-harness prove` can prove things about: the Proxmox patch and the entries of the one
// broken-fixup catalogue (properties/brokenFixups.ts) written against bitLogic.ts. Replaces
// proof/symbolicFixups.ts, the third catalogue (issue 12). A 'plain' entry is a byte function
// the prover cannot read: tested only.
import { ByteFixup, FieldFixup, pveFixupLogic } from '../model/bitLogic';
import { pveFixupBytes } from '../model/fixup';
import { liftFields } from '../model/xsaveFields';
import { BROKEN_FIXUPS, BrokenFixup } from '../properties/brokenFixups';

export interface ProofSubject {
  name: string;
  description: string;
  /** the fixup over header values, for the header-field claims (null: written over bytes only) */
  fields: FieldFixup | null;
  /** the fixup over bytes, for the byte-level claims */
  bytes: ByteFixup;
  /** true when `bytes` is the byte function the model runs written separately from `fields` (the patch): their equality is then proved too */
  separateBytes: boolean;
  /** the catalogue entry (mutants/NAME.js), null for the patch */
  mutant: string | null;
}

/** The Proxmox patch: pveFixupLogic for the header fields, pveFixupBytes (what pveFixup runs) for the bytes. */
export const PVE_SUBJECT: ProofSubject = {
  name: 'pve',
  description: 'the Proxmox patch (bitLogic.ts pveFixupLogic over header fields; fixup.ts pveFixupBytes, what pveFixup runs, over bytes)',
  fields: pveFixupLogic,
  bytes: (o, ctx, r) => pveFixupBytes(o, ctx.guestSupportedXcr0, r),
  separateBytes: true,
  mutant: null,
};

function subjectOf(f: BrokenFixup): ProofSubject | null {
  if (f.source.kind === 'plain') return null;
  const base = { name: f.name, description: f.description, separateBytes: false, mutant: f.name };
  return f.source.kind === 'fields' ? { ...base, fields: f.source.logic, bytes: liftFields(f.source.logic) } : { ...base, fields: null, bytes: f.source.logic };
}

/** The patch, then every catalogue entry the prover can read. */
export function proofSubjects(): ProofSubject[] {
  return [PVE_SUBJECT, ...BROKEN_FIXUPS.map(subjectOf).filter((s): s is ProofSubject => s !== null)];
}

/** The subject named `name`; for a catalogue entry it cannot read, why (a string). */
export function proofSubject(name: string): ProofSubject | string | undefined {
  if (name === 'pve') return PVE_SUBJECT;
  const f = BROKEN_FIXUPS.find((x) => x.name === name);
  if (!f) return undefined;
  return subjectOf(f) ?? `${name} is tested only (kill matrix, properties): it is a plain byte function (${f.source.kind === 'plain' ? f.source.why : ''})`;
}
