// The review's verification sections as document blocks: kill matrix, proof, Stryker (from
// report.json's `verification` alone). Replaces verificationMarkdown.ts / verificationHtml.ts,
// which wrote them twice by hand (issue 12).
import { Block, Cell, CellLike, Section, list, para, section } from './document';
import { KillMatrixSection } from './killMatrixSection';
import { MutationSection } from './mutationSection';
import { ProofSection } from './proofSection';
import { Verification } from './verification';
import {
  BROKEN_PROOF_LEGEND,
  KILL_MATRIX_LEGEND,
  PROOF_CLAIMS,
  PROOF_INTRO,
  PROPERTY_COLUMNS,
  SURVIVOR_FORMAT,
  brokenCell,
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
  proofLevelItems,
  proofRuleCell,
  stalenessText,
  verdictIsBad,
  verdictText,
} from './verificationText';

function killMatrixSection(k: KillMatrixSection): Section {
  const body: Block[] = [];
  const stale = stalenessText(k);
  if (stale) body.push({ kind: 'banner', tone: 'bad', text: stale });
  if (!k.available) return section('Kill matrix: the mutant catalogue', body, { id: 'kill-matrix' });
  body.push(para(`Source: ${killMatrixProvenance(k)}.`), para(killMatrixSummary(k)), para(KILL_MATRIX_LEGEND, 'muted'));
  const props = PROPERTY_COLUMNS.filter((p) => k.properties.includes(p));
  body.push({
    kind: 'table',
    head: ['mutant', 'what it gets wrong', ...props, 'expected killer', 'verdict'],
    rows: k.rows.map((r): CellLike[] => [
      r.mutant,
      { text: r.description, class: 'desc' },
      ...props.map((p): Cell => {
        const c = r.cells[p];
        const cls = [c?.killed ? 'k-killed' : 'k-survived', r.expectedKiller === p ? 'k-expected' : ''].filter(Boolean).join(' ');
        return { text: `${killCellText(c)}${r.expectedKiller === p ? ' *' : ''}`, class: cls, ...(c?.reason ? { title: c.reason } : {}) };
      }),
      r.expectedKiller ?? (r.control ? 'none (control)' : 'none (equivalent)'),
      verdictIsBad(r) ? { text: verdictText(r), class: 'k-bad', strong: true } : verdictText(r),
    ]),
  });
  const equivalent = k.rows.filter((r) => !r.control && r.equivalent !== null);
  if (equivalent.length) {
    body.push(para('Why the argued-equivalent mutants cannot be killed (from their files):'), list(equivalent.map((r) => `${r.mutant}: ${r.equivalent!}`)));
  }
  body.push({
    kind: 'details',
    summary: `Time to kill as recorded in \`${k.source}\` (milliseconds spent on that property until it killed the mutant; depends on the machine and the moment, not recomputed by this review):`,
    children: [
      {
        kind: 'table',
        head: ['mutant', ...props, 'recorded total'],
        align: ['left', ...props.map(() => 'right' as const), 'right'],
        rows: k.rows.map((r) => [
          r.mutant,
          ...props.map((p) => {
            const c = r.cells[p];
            return c?.killed && c.recordedTimeToKillMs !== null ? `${fmtInt(c.recordedTimeToKillMs)} ms` : '–';
          }),
          r.recordedElapsedMs !== null ? `${fmtInt(r.recordedElapsedMs)} ms` : '–',
        ]),
      },
    ],
  });
  return section('Kill matrix: the mutant catalogue', body, { id: 'kill-matrix' });
}

const proofCell = (s: string): Cell => ({ text: s, class: s === 'proved' ? 'p-proved' : 'p-cex', strong: s !== 'proved' });

function proofSection(v: Verification, p: ProofSection | null): Section {
  const title = 'Proof: P1, P3 and P4 for every input (z3)';
  if (!p) return section(title, [para('Not run for this report: `npx xsave-harness prove` runs it.')], { id: 'proof' });
  const body: Block[] = [
    para(`Run during this review for the fixup \`${p.fixup}\` — ${p.description}. ${PROOF_INTRO}`),
    para('**Input domain.**'),
    list(p.domain),
    para(`**Assumption.** ${p.assumption}. The second column drops it: every combination of values (\`prove --all-values\`).`),
    para('**Claims.**'),
    list(p.claims.map((c) => `${c.id} (${c.title}): ${c.statement}`)),
    ...(proofLevelItems(p).length ? [para("**What is proved, claim by claim** (header fields: SET's decision; bytes: the fixup over every byte):"), list(proofLevelItems(p))] : []),
    para('**Kernel rule groups** (SET validation variants; together they cover every catalogue kernel):'),
    list(p.groups.map((g) => `${g.label}: ${g.kernels.join(', ')}`)),
  ];
  const withInv = p.runs.find((r) => r.invariant) ?? p.runs[0]!;
  body.push({
    kind: 'table',
    head: ['claim', 'kernel rule group', 'with the assumption', 'every value'],
    rows: withInv.results.map((res) => [res.claim, res.group, proofCell(proofRuleCell(p, res.claim, res.group, true)), proofCell(proofRuleCell(p, res.claim, res.group, false))]),
  });
  if (p.brokenFixups) {
    body.push(
      para(`**Broken fixups.** ${BROKEN_PROOF_LEGEND}`),
      {
        kind: 'table',
        head: ['fixup', 'what it does', ...PROOF_CLAIMS, 'kill matrix'],
        rows: p.brokenFixups.map((b) => [b.name, b.description, ...PROOF_CLAIMS.map((c) => ({ text: brokenCell(b, c), class: brokenCell(b, c) === 'proved' ? 'p-proved' : 'p-cex' })), killVerdictOf(v, b.mutant)]),
      },
      para(
        'Counterexample values, their realisation on catalogue kernels and the case files: `npx xsave-harness prove --mutant all` (this review keeps only proved / counterexample, which does not depend on the model z3 picks).',
        'muted',
      ),
    );
  } else {
    body.push(para('The broken symbolic fixups are not part of this report: `npx xsave-harness prove --mutant all` checks them.'));
  }
  return section(title, body, { id: 'proof' });
}

function mutationSection(m: MutationSection): Section {
  const title = 'Stryker: mutation score of the model and the properties';
  if (!m.available) return section(title, [para(`No Stryker result: ${m.error}.`)], { id: 'stryker' });
  const body: Block[] = [para(`Source: ${mutationOriginText(m)}.`)];
  if (m.origin.mutate.length) body.push(para(['Mutated (Stryker `mutate`): ', ...m.origin.mutate.flatMap((x, i) => (i ? [', ', { code: x }] : [{ code: x }])), '.']));
  if (m.origin.mergedFrom.length > 1) {
    body.push(para([`Merged from ${m.origin.mergedFrom.length} runs: `, ...m.origin.mergedFrom.flatMap((x, i) => [...(i ? [', '] : []), { code: x.input }, ` (${x.files.length} file(s))`]), '.']));
  }
  const changed = changedFilesText(m);
  if (changed) body.push({ kind: 'banner', tone: 'warn', lead: 'Note:', text: changed });
  body.push(para(mutationScoreText(m)));
  body.push({
    kind: 'table',
    head: ['file', 'score', 'of covered', 'killed', 'timed out', 'survived', 'no coverage', 'ignored', 'total'],
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: m.files.map((f) => {
      const c = f.counts;
      return [
        `${f.file}${f.sourceChanged ? ' (changed since)' : f.sourceChanged === null ? ' (gone)' : ''}`,
        pct(c.score),
        pct(c.scoreCovered),
        ...[c.killed, c.timeout, c.survived, c.noCoverage, c.ignored, c.total].map(fmtInt),
      ];
    }),
  });
  const ex = m.explanations;
  const exText = ex.error ? `**unusable: ${ex.error}**` : ex.available ? `\`${ex.source}\`, ${ex.entries} entr${ex.entries === 1 ? 'y' : 'ies'}` : `none committed (\`${ex.source}\`: ${SURVIVOR_FORMAT})`;
  const survivors: Block[] = [para(`Survived or not covered by any test. Explanations: ${exText}.`)];
  if (m.survivors.length) {
    survivors.push({
      kind: 'table',
      head: ['class', 'survivors'],
      align: ['left', 'right'],
      rows: Object.entries(m.byClass).map(([k, n]) => [k === 'unexplained' ? { text: k, class: 'unexplained', strong: true } : k, String(n)]),
    });
  }
  for (const file of [...new Set(m.survivors.map((s) => s.file))]) {
    const ss = m.survivors.filter((s) => s.file === file);
    const unexplained = ss.filter((s) => s.class === null).length;
    survivors.push(
      section(
        `${file} (${ss.length})`,
        [
          {
            kind: 'table',
            head: ['line', 'status', 'mutator', 'original → replacement', 'explanation'],
            align: ['right', 'left', 'left', 'left', 'left'],
            rows: ss.map((s) => [
              String(s.line),
              s.status === 'NoCoverage' ? 'no coverage' : 'survived',
              s.mutator,
              { text: [{ code: clip(s.original) }, ' → ', { code: clip(s.replacement) }] },
              s.class ? `${s.class}: ${s.explanation ?? ''}` : { text: 'unexplained', class: 'unexplained', strong: true },
            ]),
          },
        ],
        { style: unexplained ? 'open' : 'collapsed' },
      ),
    );
  }
  body.push(section(`Survivors: ${m.survivors.length} (${m.unexplained} unexplained)`, survivors));
  if (ex.unmatched.length) {
    body.push(
      para(`Explanations that match no survivor (the line moved, or the mutant is killed now): ${ex.unmatched.map((e) => `${e.file}:${e.line}${e.endLine ? `-${e.endLine}` : ''}${e.mutator ? ` ${e.mutator}` : ''}`).join(', ')}.`, 'muted'),
    );
  }
  return section(title, body, { id: 'stryker' });
}

export function verificationSections(v: Verification): Section[] {
  return [killMatrixSection(v.killMatrix), proofSection(v, v.proof), mutationSection(v.mutation)];
}
