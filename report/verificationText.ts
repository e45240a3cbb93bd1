// Wording shared by the Markdown and HTML renderings of the verification section, so that
// REVIEW.md and review.html say the same thing.
import type { ClaimId } from '../proof/claims';
import { PROPERTY_IDS, PROVED_PROPERTY_IDS } from '../properties/claims';
import { KillCellView, KillMatrixSection, KillRowView } from './killMatrixSection';
import { BrokenFixupProof, ProofSection } from './proofSection';
import { MutationSection } from './mutationSection';
import { Verification, verificationProblems } from './verification';

/** The kill matrix's columns: P1-P5. */
export const PROPERTY_COLUMNS = PROPERTY_IDS;
/** The proof tables' columns: the proved properties. */
export const PROOF_CLAIMS: readonly ClaimId[] = PROVED_PROPERTY_IDS;

/** Thousands separated, as summary.ts fmtInt (not imported: summary.ts imports this module). */
export function fmtInt(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** A kill-matrix cell: "killed @10" (the run count of the killing round) or "survived". */
export function killCellText(c: KillCellView | null): string {
  if (!c) return 'not run';
  return c.killed ? `killed @${fmtInt(c.numRuns)}` : 'survived';
}

export function verdictText(r: KillRowView): string {
  const base: Record<KillRowView['verdict'], string> = {
    killed: 'killed',
    equivalent: 'argued equivalent',
    survived: 'SURVIVED',
    'equivalent-but-killed': 'argued equivalent but KILLED',
    'control-ok': 'control-ok',
    'control-killed': 'CONTROL KILLED',
  };
  return base[r.verdict] + (r.expectedKillerKilled === false ? ' (expected killer missed)' : '');
}

export function verdictIsBad(r: KillRowView): boolean {
  return r.verdict === 'survived' || r.verdict === 'equivalent-but-killed' || r.verdict === 'control-killed' || r.expectedKillerKilled === false;
}

export function killMatrixProvenance(k: KillMatrixSection): string {
  const when = k.recordedAt ? `recorded ${k.recordedAt}` : 'recording date not in the file';
  const commit = k.recordedCommit ? `at commit ${k.recordedCommit}` : 'commit not in the file';
  return `\`${k.source}\` (written by \`xsave-harness mutants --json\`): seed ${k.seed ?? '?'}, ${k.secondsPerMutant ?? '?'} s budget per mutant; ${when}, ${commit}`;
}

export function killMatrixSummary(k: KillMatrixSection): string {
  const s = k.summary;
  const control = k.rows.find((r) => r.control);
  const controlText = control ? (control.verdict === 'control-ok' ? 'the Proxmox patch (control row) survives every property' : '**the Proxmox patch (control row) is KILLED**') : 'no control row';
  const notKilled = k.notKilled.length ? `; **not killed: ${k.notKilled.join(', ')}**` : '; every killable mutant is killed, by its expected killer among others';
  const unexpected = k.unexpectedKills.length ? `; **killed although they must survive: ${k.unexpectedKills.join(', ')}**` : '';
  return `${s.mutants} mutants: ${s.killed} killed, ${s.equivalent} argued equivalent, ${s.survived} survived (${pct(s.score)} of the killable ones killed); ${controlText}${notKilled}${unexpected}.`;
}

export function stalenessText(k: KillMatrixSection): string | null {
  if (!k.available) return `KILL MATRIX UNUSABLE: ${k.error}`;
  const s = k.staleness;
  if (!s.stale) return null;
  const parts = [
    s.missing.length ? `mutants/*.js not in the matrix: ${s.missing.join(', ')}` : '',
    s.extra.length ? `in the matrix but no longer in mutants/: ${s.extra.join(', ')}` : '',
    s.changed.length ? `expected killer or equivalence changed since: ${s.changed.join(', ')}` : '',
  ].filter(Boolean);
  return `STALE KILL MATRIX — do not cite it. ${parts.join('; ')}. Regenerate: \`npx xsave-harness mutants --json > ${k.source}\`, then \`npm run review\`.`;
}

export const KILL_MATRIX_LEGEND =
  'Each mutant is a deliberately broken fixup (mutants/*.js). P1-P5 ran against it in rounds of growing run counts (10, 30, 100, 300, 1 000, …) until every property killed it or its time budget was spent. "killed @N": killed in the round of N runs, which is fixed for the seed; * marks the expected killer. "survived": not killed within the budget.';

export function proofRuleCell(p: ProofSection, claim: ClaimId, group: string, invariant: boolean): string {
  const r = p.runs.find((x) => x.invariant === invariant)?.results.find((x) => x.claim === claim && x.group === group);
  if (!r) return 'not run';
  return r.status === 'proved' ? 'proved' : `COUNTEREXAMPLE${r.violation ? ` (${r.violation})` : ''}`;
}

export function proofHeadline(p: ProofSection): string {
  const bad = p.runs.flatMap((r) => r.results.filter((x) => x.status === 'counterexample').map((x) => `${x.claim} [${x.group}${r.invariant ? '' : ', all values'}]`));
  const kernels = new Set(p.groups.flatMap((g) => g.kernels)).size;
  if (bad.length) return `**z3 finds counterexamples for the patch: ${bad.join(', ')}** (see Proof).`;
  const bytes = p.runs.every((r) => r.results.some((x) => x.level === 'bytes')) ? ', and P1 and P3 over every byte of the buffer' : '';
  return `z3 proves P1, P3 and P4 for the Proxmox patch for every 64-bit input on all ${p.groups.length} kernel rule groups (${kernels} kernels) over the header fields${bytes}, with and without the model's invariant; P2 and P5 are tested only (see Proof).`;
}

/** The group label of a byte-level result (proof/prove.ts byteResult). */
export const BYTE_LEVEL_GROUP = 'any kernel (the fixup over bytes)';

export function brokenCell(b: BrokenFixupProof, claim: ClaimId): string {
  const c = b.claims[claim];
  const l = b.levels?.[claim];
  if (!c) return l?.fields === 'not expressible' ? 'not expressible over header fields' : 'not run';
  const groups = c.groups - (l && (l.bytes === 'proved' || l.bytes === 'counterexample') ? 1 : 0);
  const bad = c.counterexampleGroups.filter((g) => g !== BYTE_LEVEL_GROUP);
  let fields: string;
  if (l?.fields === 'not expressible') fields = 'not expressible over header fields';
  else if (!bad.length) fields = groups > 0 ? 'proved' : 'not run';
  else if (bad.length === groups || groups <= 1) fields = 'counterexample';
  else fields = `counterexample on ${bad.length} of ${groups} rule groups (${bad.join('; ')})`;
  // before byte-level results existed (a report without levels) the cell is the header-field one
  return l && l.bytes !== 'not stated' ? `${fields}; bytes: ${l.bytes}` : fields;
}

/** "What is proved": one item per claim, its status per level and what that level states. */
export function proofLevelItems(p: ProofSection): string[] {
  return (p.levels ?? []).map((l) => `${l.claim}: ${l.status}. ${l.what}`);
}

export const PROOF_INTRO =
  'z3 checks each claim as a formula for every input, at two levels: over the header fields of KVM_SET_XSAVE (model/bitLogic.ts setXsaveDecision, the one composition model/setXsave.ts runs), one query per claim and kernel rule group; and over the bytes of the buffer (a z3 array from every index to a byte) for the fixup the model runs (P1, P3). "proved" means z3 found the negation unsatisfiable.';

export const BROKEN_PROOF_LEGEND =
  'Broken fixups of the one catalogue (properties/brokenFixups.ts) written over bitLogic.ts, with the assumption; plain byte functions (number-arithmetic) are tested only. Each cell: the header-field result, then the byte-level one. A counterexample here is what the proof is for; "proved" for a broken fixup means the claim cannot tell it from the patch, and the kill matrix shows which property does.';

export function killVerdictOf(v: Verification, mutant: string | null): string {
  if (!mutant) return '–';
  const r = v.killMatrix.rows.find((x) => x.mutant === mutant);
  return r ? `${verdictText(r)}${r.killedBy.length ? ` by ${r.killedBy.join(', ')}` : ''}` : 'not in the kill matrix';
}

export function mutationOriginText(m: MutationSection): string {
  const o = m.origin;
  return `\`${m.source}\`${o.framework ? ` (${o.framework})` : ''}; commit: ${o.commit ?? 'not recorded'}; date: ${o.date ?? 'not recorded'}`;
}

export function mutationScoreText(m: MutationSection): string {
  const t = m.totals;
  return `**${pct(t.score)}** mutation score (${pct(t.scoreCovered)} of covered mutants): ${fmtInt(t.total)} mutants, ${fmtInt(t.killed)} killed, ${fmtInt(t.timeout)} timed out, ${fmtInt(t.survived)} survived, ${fmtInt(t.noCoverage)} without coverage, ${fmtInt(t.ignored)} ignored, ${fmtInt(t.errors)} compile/runtime errors.`;
}

export function mutationHeadline(m: MutationSection): string {
  if (!m.available) return `Stryker: no result (${m.error}).`;
  const n = m.survivors.length;
  return `Stryker: ${pct(m.totals.score)} mutation score (${pct(m.totals.scoreCovered)} of covered) over ${m.files.length} file(s); ${n} surviving mutant(s), ${m.unexplained ? `**${m.unexplained} unexplained**` : 'all explained'} (see Stryker).`;
}

export function changedFilesText(m: MutationSection): string | null {
  const changed = m.files.filter((f) => f.sourceChanged === true).map((f) => f.file);
  const gone = m.files.filter((f) => f.sourceChanged === null).map((f) => f.file);
  if (!changed.length && !gone.length) return null;
  const parts = [changed.length ? `changed since the Stryker run: ${changed.join(', ')}` : '', gone.length ? `no longer present: ${gone.join(', ')}` : ''].filter(Boolean);
  return `${parts.join('; ')}. Lines and original text below are those of the source Stryker saw; rerun \`npm run mutation\` for current figures.`;
}

export const SURVIVOR_FORMAT = 'a JSON array of {file, line, endLine?, mutator?, original?, class, explanation}';

/** Source text for a table cell: one line, at most `max` characters. */
export function clip(s: string, max = 70): string {
  const one = s.replace(/\s*\n\s*/g, ' ⏎ ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** The lines the decision summary adds: problems first (loud), then one line per method. */
export function verificationHeadline(v: Verification): { loud: string[]; lines: string[] } {
  const loud = verificationProblems(v).map((p) => `**${p.replace(/\*\*/g, '')}**`);
  const lines: string[] = [];
  if (v.proof) lines.push(proofHeadline(v.proof));
  if (v.killMatrix.available) lines.push(`Mutant catalogue (recorded kill matrix): ${killMatrixSummary(v.killMatrix)}`);
  lines.push(mutationHeadline(v.mutation));
  return { loud, lines };
}
