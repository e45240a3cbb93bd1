// review.html's verification sections: the same content as verificationMarkdown.ts.
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

export const VERIFICATION_CSS = `
td.k-killed { background: #dff0e1; color: #1e5b24; }
td.k-survived { color: #5b6475; }
td.k-killed, td.k-survived { white-space: nowrap; }
td.desc { min-width: 320px; }
td.k-expected { font-weight: 700; }
td.k-bad, span.k-bad { background: #f8c9c5; color: #8e1b1b; font-weight: 700; }
td.p-proved { background: #dff0e1; color: #1e5b24; }
td.p-cex { background: #ffe7bf; color: #7a4a00; }
td.unexplained { color: #8e1b1b; font-weight: 600; }
`;

// html.ts imports this module, so its escapeHtml/inline are restated here rather than imported back.
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The little Markdown the shared wording uses: `code` and **bold**. */
function inline(s: string): string {
  return esc(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

function killMatrixHtml(k: KillMatrixSection): string {
  const out: string[] = ['<h2 id="kill-matrix">Kill matrix: the mutant catalogue</h2>'];
  const stale = stalenessText(k);
  if (stale) out.push(`<div class="banner bad">${inline(stale)}</div>`);
  if (!k.available) return out.join('\n');
  out.push(`<p>Source: ${inline(killMatrixProvenance(k))}.</p>`, `<p>${inline(killMatrixSummary(k))}</p>`, `<p class="kv">${esc(KILL_MATRIX_LEGEND)}</p>`);
  const props = PROPERTY_COLUMNS.filter((p) => k.properties.includes(p));
  const rows = k.rows
    .map((r) => {
      const cells = props
        .map((p) => {
          const c = r.cells[p];
          const cls = [c?.killed ? 'k-killed' : 'k-survived', r.expectedKiller === p ? 'k-expected' : ''].filter(Boolean).join(' ');
          return `<td class="${cls}"${c?.reason ? ` title="${esc(c.reason)}"` : ''}>${esc(killCellText(c))}${r.expectedKiller === p ? ' *' : ''}</td>`;
        })
        .join('');
      const verdict = `<td${verdictIsBad(r) ? ' class="k-bad"' : ''}>${esc(verdictText(r))}</td>`;
      return `<tr><td><code>${esc(r.mutant)}</code></td><td class="desc">${esc(r.description)}</td>${cells}<td>${esc(r.expectedKiller ?? (r.control ? 'none (control)' : 'none (equivalent)'))}</td>${verdict}</tr>`;
    })
    .join('');
  out.push(`<table><tr><th>mutant</th><th>what it gets wrong</th>${props.map((p) => `<th>${p}</th>`).join('')}<th>expected killer</th><th>verdict</th></tr>${rows}</table>`);
  const equivalent = k.rows.filter((r) => !r.control && r.equivalent !== null);
  if (equivalent.length) out.push(`<p>Why the argued-equivalent mutants cannot be killed (from their files):</p><ul>${equivalent.map((r) => `<li><code>${esc(r.mutant)}</code>: ${inline(r.equivalent!)}</li>`).join('')}</ul>`);
  const times = k.rows
    .map((r) => {
      const cells = props
        .map((p) => {
          const c = r.cells[p];
          return `<td class="num">${c?.killed && c.recordedTimeToKillMs !== null ? `${fmtInt(c.recordedTimeToKillMs)} ms` : '–'}</td>`;
        })
        .join('');
      return `<tr><td><code>${esc(r.mutant)}</code></td>${cells}<td class="num">${r.recordedElapsedMs !== null ? `${fmtInt(r.recordedElapsedMs)} ms` : '–'}</td></tr>`;
    })
    .join('');
  out.push(
    `<details><summary>Time to kill as recorded in ${esc(k.source)}</summary><p class="kv">Milliseconds spent on that property until it killed the mutant; depends on the machine and the moment, not recomputed by this review.</p><table><tr><th>mutant</th>${props.map((p) => `<th class="num">${p}</th>`).join('')}<th class="num">recorded total</th></tr>${times}</table></details>`,
  );
  return out.join('\n');
}

function proofHtml(v: Verification, p: ProofSection | null): string {
  const out: string[] = ['<h2 id="proof">Proof: P1, P3 and P4 for every input (z3)</h2>'];
  if (!p) return out.concat('<p>Not run for this report: <code>npx xsave-harness prove</code> runs it.</p>').join('\n');
  out.push(
    `<p>Run during this review for the fixup <code>${esc(p.fixup)}</code> — ${esc(p.description)}. ${esc(PROOF_INTRO)}</p>`,
  );
  out.push(`<p><strong>Input domain.</strong></p><ul>${p.domain.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>`);
  out.push(`<p><strong>Assumption.</strong> ${esc(p.assumption)}. The second column drops it: every combination of values (<code>prove --all-values</code>).</p>`);
  out.push(`<p><strong>Claims.</strong></p><ul>${p.claims.map((c) => `<li>${c.id} (${esc(c.title)}): ${esc(c.statement)}</li>`).join('')}</ul>`);
  const levels = proofLevelItems(p);
  if (levels.length) out.push(`<p><strong>What is proved, claim by claim</strong> (header fields: SET's decision; bytes: the fixup over every byte):</p><ul>${levels.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`);
  out.push(`<p><strong>Kernel rule groups</strong> (SET validation variants; together they cover every catalogue kernel):</p><ul>${p.groups.map((g) => `<li>${esc(g.label)}: ${esc(g.kernels.join(', '))}</li>`).join('')}</ul>`);
  const withInv = p.runs.find((r) => r.invariant) ?? p.runs[0]!;
  const cell = (s: string): string => `<td class="${s === 'proved' ? 'p-proved' : 'p-cex'}">${esc(s)}</td>`;
  const rows = withInv.results.map((r) => `<tr><td>${r.claim}</td><td>${esc(r.group)}</td>${cell(proofRuleCell(p, r.claim, r.group, true))}${cell(proofRuleCell(p, r.claim, r.group, false))}</tr>`).join('');
  out.push(`<table><tr><th>claim</th><th>kernel rule group</th><th>with the assumption</th><th>every value</th></tr>${rows}</table>`);
  if (p.brokenFixups) {
    const brows = p.brokenFixups
      .map((b) => `<tr><td><code>${esc(b.name)}</code></td><td>${esc(b.description)}</td>${PROOF_CLAIMS.map((c) => cell(brokenCell(b, c))).join('')}<td>${esc(killVerdictOf(v, b.mutant))}</td></tr>`)
      .join('');
    out.push(
      `<p><strong>Broken fixups.</strong> ${esc(BROKEN_PROOF_LEGEND)}</p>`,
      `<table><tr><th>fixup</th><th>what it does</th>${PROOF_CLAIMS.map((c) => `<th>${c}</th>`).join('')}<th>kill matrix</th></tr>${brows}</table>`,
      '<p class="kv">Counterexample values, their realisation on catalogue kernels and the case files: <code>npx xsave-harness prove --mutant all</code> (this review keeps only proved / counterexample, which does not depend on the model z3 picks).</p>',
    );
  } else {
    out.push('<p>The broken symbolic fixups are not part of this report: <code>npx xsave-harness prove --mutant all</code> checks them.</p>');
  }
  return out.join('\n');
}

function mutationHtml(m: MutationSection): string {
  const out: string[] = ['<h2 id="stryker">Stryker: mutation score of the model and the properties</h2>'];
  if (!m.available) return out.concat(`<p>No Stryker result: ${inline(m.error ?? '')}.</p>`).join('\n');
  out.push(`<p>Source: ${inline(mutationOriginText(m))}.</p>`);
  if (m.origin.mutate.length) out.push(`<p>Mutated (Stryker <code>mutate</code>): ${m.origin.mutate.map((x) => `<code>${esc(x)}</code>`).join(', ')}.</p>`);
  if (m.origin.mergedFrom.length > 1) out.push(`<p>Merged from ${m.origin.mergedFrom.length} runs: ${m.origin.mergedFrom.map((x) => `<code>${esc(x.input)}</code> (${x.files.length} file(s))`).join(', ')}.</p>`);
  const changed = changedFilesText(m);
  if (changed) out.push(`<div class="banner warn">${inline(changed)}</div>`);
  out.push(`<p>${inline(mutationScoreText(m))}</p>`);
  const frows = m.files
    .map((f) => {
      const c = f.counts;
      const note = f.sourceChanged ? ' (changed since)' : f.sourceChanged === null ? ' (gone)' : '';
      return `<tr><td><code>${esc(f.file)}</code>${note}</td><td class="num">${pct(c.score)}</td><td class="num">${pct(c.scoreCovered)}</td>${[c.killed, c.timeout, c.survived, c.noCoverage, c.ignored, c.total].map((n) => `<td class="num">${fmtInt(n)}</td>`).join('')}</tr>`;
    })
    .join('');
  out.push(`<table><tr><th>file</th><th class="num">score</th><th class="num">of covered</th><th class="num">killed</th><th class="num">timed out</th><th class="num">survived</th><th class="num">no coverage</th><th class="num">ignored</th><th class="num">total</th></tr>${frows}</table>`);
  const ex = m.explanations;
  const exText = ex.error ? `<strong>unusable: ${esc(ex.error)}</strong>` : ex.available ? `<code>${esc(ex.source)}</code>, ${ex.entries} entr${ex.entries === 1 ? 'y' : 'ies'}` : `none committed (<code>${esc(ex.source)}</code>: ${esc(SURVIVOR_FORMAT)})`;
  out.push(`<h3>Survivors: ${m.survivors.length} (${m.unexplained} unexplained)</h3><p>Survived or not covered by any test. Explanations: ${exText}.</p>`);
  if (m.survivors.length) {
    out.push(`<table><tr><th>class</th><th class="num">survivors</th></tr>${Object.entries(m.byClass).map(([k, n]) => `<tr><td${k === 'unexplained' ? ' class="unexplained"' : ''}>${esc(k)}</td><td class="num">${n}</td></tr>`).join('')}</table>`);
  }
  for (const file of [...new Set(m.survivors.map((s) => s.file))]) {
    const ss = m.survivors.filter((s) => s.file === file);
    const unexplained = ss.filter((s) => s.class === null).length;
    const rows = ss
      .map(
        (s) =>
          `<tr><td class="num">${s.line}</td><td>${s.status === 'NoCoverage' ? 'no coverage' : 'survived'}</td><td>${esc(s.mutator)}</td><td><code>${esc(clip(s.original))}</code> → <code>${esc(clip(s.replacement))}</code></td>${s.class ? `<td>${esc(s.class)}: ${esc(s.explanation ?? '')}</td>` : '<td class="unexplained">unexplained</td>'}</tr>`,
      )
      .join('');
    out.push(`<details${unexplained ? ' open' : ''}><summary><code>${esc(file)}</code>: ${ss.length} survivor(s), ${unexplained} unexplained</summary><table><tr><th class="num">line</th><th>status</th><th>mutator</th><th>original → replacement</th><th>explanation</th></tr>${rows}</table></details>`);
  }
  if (ex.unmatched.length) {
    out.push(`<p class="kv">Explanations that match no survivor (the line moved, or the mutant is killed now): ${ex.unmatched.map((e) => esc(`${e.file}:${e.line}${e.endLine ? `-${e.endLine}` : ''}${e.mutator ? ` ${e.mutator}` : ''}`)).join(', ')}.</p>`);
  }
  return out.join('\n');
}

export function verificationHtml(v: Verification): string {
  return [killMatrixHtml(v.killMatrix), proofHtml(v, v.proof), mutationHtml(v.mutation)].join('\n');
}
