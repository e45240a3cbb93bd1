// REVIEW.md's verification sections: kill matrix, proof, Stryker (from report.json's
// `verification` alone).
import { KillMatrixSection } from './killMatrixSection';
import { MutationSection } from './mutationSection';
import { ProofSection } from './proofSection';
import { Verification } from './verification';
import {
  KILL_MATRIX_LEGEND,
  PROOF_CLAIMS,
  PROPERTY_COLUMNS,
  SURVIVOR_FORMAT,
  BROKEN_PROOF_LEGEND,
  PROOF_INTRO,
  brokenCell,
  proofLevelItems,
  changedFilesText,
  clip,
  fmtInt,
  killCellText,
  killMatrixProvenance,
  killMatrixSummary,
  killVerdictOf,
  mutationOriginText,
  mutationScoreText,
  pct,
  proofRuleCell,
  stalenessText,
  verdictIsBad,
  verdictText,
} from './verificationText';

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Inline code that survives backticks and pipes in the source text. */
function code(s: string): string {
  if (!s) return '(empty)';
  const body = s.replace(/\|/g, '\\|');
  return s.includes('`') ? `\`\` ${body} \`\`` : `\`${body}\``;
}

function killMatrixMd(k: KillMatrixSection, out: string[]): void {
  out.push('## Kill matrix: the mutant catalogue', '');
  const stale = stalenessText(k);
  if (stale) out.push(`> **${stale}**`, '');
  if (!k.available) return;
  out.push(`Source: ${killMatrixProvenance(k)}.`, '');
  out.push(`${killMatrixSummary(k)}`, '');
  out.push(KILL_MATRIX_LEGEND, '');
  const props = PROPERTY_COLUMNS.filter((p) => k.properties.includes(p));
  out.push(`| mutant | what it gets wrong | ${props.join(' | ')} | expected killer | verdict |`, `|---|---|${props.map(() => '---').join('|')}|---|---|`);
  for (const r of k.rows) {
    const cells = props.map((p) => `${killCellText(r.cells[p])}${r.expectedKiller === p ? ' *' : ''}`);
    const verdict = verdictIsBad(r) ? `**${verdictText(r)}**` : verdictText(r);
    out.push(`| ${r.mutant} | ${esc(r.description)} | ${cells.join(' | ')} | ${r.expectedKiller ?? (r.control ? 'none (control)' : 'none (equivalent)')} | ${verdict} |`);
  }
  out.push('');
  const equivalent = k.rows.filter((r) => !r.control && r.equivalent !== null);
  if (equivalent.length) {
    out.push('Why the argued-equivalent mutants cannot be killed (from their files):', '');
    for (const r of equivalent) out.push(`- ${r.mutant}: ${esc(r.equivalent!)}`);
    out.push('');
  }
  out.push(`Time to kill as recorded in \`${k.source}\` (milliseconds spent on that property until it killed the mutant; depends on the machine and the moment, not recomputed by this review):`, '');
  out.push(`| mutant | ${props.join(' | ')} | recorded total |`, `|---|${props.map(() => '---:').join('|')}|---:|`);
  for (const r of k.rows) {
    const cells = props.map((p) => {
      const c = r.cells[p];
      return c?.killed && c.recordedTimeToKillMs !== null ? `${fmtInt(c.recordedTimeToKillMs)} ms` : '–';
    });
    out.push(`| ${r.mutant} | ${cells.join(' | ')} | ${r.recordedElapsedMs !== null ? `${fmtInt(r.recordedElapsedMs)} ms` : '–'} |`);
  }
  out.push('');
}

function proofMd(v: Verification, p: ProofSection | null, out: string[]): void {
  out.push('## Proof: P1, P3 and P4 for every input (z3)', '');
  if (!p) {
    out.push('Not run for this report: `npx xsave-harness prove` runs it.', '');
    return;
  }
  out.push(
    `Run during this review for the fixup \`${p.fixup}\` — ${esc(p.description)}. ${PROOF_INTRO}`,
    '',
  );
  out.push('**Input domain.**', '');
  for (const d of p.domain) out.push(`- ${d}`);
  out.push('');
  out.push(`**Assumption.** ${p.assumption}. The second column drops it: every combination of values (\`prove --all-values\`).`, '');
  out.push('**Claims.**', '');
  for (const c of p.claims) out.push(`- ${c.id} (${c.title}): ${esc(c.statement)}`);
  out.push('');
  const levels = proofLevelItems(p);
  if (levels.length) {
    out.push('**What is proved, claim by claim** (header fields: SET\'s decision; bytes: the fixup over every byte):', '');
    for (const l of levels) out.push(`- ${esc(l)}`);
    out.push('');
  }
  out.push('**Kernel rule groups** (SET validation variants; together they cover every catalogue kernel):', '');
  for (const g of p.groups) out.push(`- ${g.label}: ${g.kernels.join(', ')}`);
  out.push('');
  out.push('| claim | kernel rule group | with the assumption | every value |', '|---|---|---|---|');
  const withInv = p.runs.find((r) => r.invariant) ?? p.runs[0]!;
  for (const res of withInv.results) {
    const a = proofRuleCell(p, res.claim, res.group, true);
    const b = proofRuleCell(p, res.claim, res.group, false);
    const mark = (s: string): string => (s === 'proved' ? s : `**${esc(s)}**`);
    out.push(`| ${res.claim} | ${res.group} | ${mark(a)} | ${mark(b)} |`);
  }
  out.push('');
  if (p.brokenFixups) {
    out.push(`**Broken fixups.** ${BROKEN_PROOF_LEGEND}`, '');
    out.push(`| fixup | what it does | ${PROOF_CLAIMS.join(' | ')} | kill matrix |`, `|---|---|${PROOF_CLAIMS.map(() => '---').join('|')}|---|`);
    for (const b of p.brokenFixups) out.push(`| ${b.name} | ${esc(b.description)} | ${PROOF_CLAIMS.map((c) => brokenCell(b, c)).join(' | ')} | ${killVerdictOf(v, b.mutant)} |`);
    out.push('');
    out.push('Counterexample values, their realisation on catalogue kernels and the case files: `npx xsave-harness prove --mutant all` (this review keeps only proved / counterexample, which does not depend on the model z3 picks).', '');
  } else {
    out.push('The broken symbolic fixups are not part of this report: `npx xsave-harness prove --mutant all` checks them.', '');
  }
}

function mutationMd(m: MutationSection, out: string[]): void {
  out.push('## Stryker: mutation score of the model and the properties', '');
  if (!m.available) {
    out.push(`No Stryker result: ${m.error}.`, '');
    return;
  }
  out.push(`Source: ${mutationOriginText(m)}.`, '');
  if (m.origin.mutate.length) out.push(`Mutated (Stryker \`mutate\`): ${m.origin.mutate.map(code).join(', ')}.`, '');
  if (m.origin.mergedFrom.length > 1) out.push(`Merged from ${m.origin.mergedFrom.length} runs: ${m.origin.mergedFrom.map((x) => `${code(x.input)} (${x.files.length} file(s))`).join(', ')}.`, '');
  const changed = changedFilesText(m);
  if (changed) out.push(`> **Note:** ${changed}`, '');
  out.push(mutationScoreText(m), '');
  out.push('| file | score | of covered | killed | timed out | survived | no coverage | ignored | total |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const f of m.files) {
    const c = f.counts;
    out.push(`| ${f.file}${f.sourceChanged ? ' (changed since)' : f.sourceChanged === null ? ' (gone)' : ''} | ${pct(c.score)} | ${pct(c.scoreCovered)} | ${fmtInt(c.killed)} | ${fmtInt(c.timeout)} | ${fmtInt(c.survived)} | ${fmtInt(c.noCoverage)} | ${fmtInt(c.ignored)} | ${fmtInt(c.total)} |`);
  }
  out.push('');
  const ex = m.explanations;
  const exText = ex.error ? `**unusable: ${esc(ex.error)}**` : ex.available ? `\`${ex.source}\`, ${ex.entries} entr${ex.entries === 1 ? 'y' : 'ies'}` : `none committed (\`${ex.source}\`: ${SURVIVOR_FORMAT})`;
  out.push(`### Survivors: ${m.survivors.length} (${m.unexplained} unexplained)`, '');
  out.push(`Survived or not covered by any test. Explanations: ${exText}.`, '');
  if (m.survivors.length) {
    out.push('| class | survivors |', '|---|---:|');
    for (const [k, n] of Object.entries(m.byClass)) out.push(`| ${k === 'unexplained' ? '**unexplained**' : esc(k)} | ${n} |`);
    out.push('');
  }
  const files = [...new Set(m.survivors.map((s) => s.file))];
  for (const file of files) {
    const ss = m.survivors.filter((s) => s.file === file);
    out.push(`#### ${file} (${ss.length})`, '');
    out.push('| line | status | mutator | original → replacement | explanation |', '|---:|---|---|---|---|');
    for (const s of ss) {
      const why = s.class ? `${esc(s.class)}: ${esc(s.explanation ?? '')}` : '**unexplained**';
      out.push(`| ${s.line} | ${s.status === 'NoCoverage' ? 'no coverage' : 'survived'} | ${s.mutator} | ${code(clip(s.original))} → ${code(clip(s.replacement))} | ${why} |`);
    }
    out.push('');
  }
  if (ex.unmatched.length) {
    out.push(`Explanations that match no survivor (the line moved, or the mutant is killed now): ${ex.unmatched.map((e) => `${e.file}:${e.line}${e.endLine ? `-${e.endLine}` : ''}${e.mutator ? ` ${e.mutator}` : ''}`).join(', ')}.`, '');
  }
}

export function verificationMarkdown(v: Verification, out: string[]): void {
  killMatrixMd(v.killMatrix, out);
  proofMd(v, v.proof, out);
  mutationMd(v.mutation, out);
}
