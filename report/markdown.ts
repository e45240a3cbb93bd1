// REVIEW.md: everything a reviewer needs to decide about the patch, from report.json alone.
import { shellSeed } from '../cases/seedText';
import { PROPERTY_IDS } from '../properties/claims';
import { MigrationMatrix, PatchPair, SourceGroup, baseConditionIndices, conditionLabel, patchPairs, sourceGroups } from '../properties/matrix';
import { Claim, Report } from './report';
import { verificationMarkdown } from './verificationMarkdown';
import { blocksMarkdown } from './blocks';
import { realKernelsBlocks } from './realKernels';
import { lifecycleBlocks } from './lifecycle';
import { decisionSpaceBlocks } from './decisionSpace';
import { OUTCOME_MD, VERDICT_TEXT, Summary, caseForDisplay, conditionHeader, fmtInt, groupName, guestLegend, matrixHostsLine, pathProblems, summarise, verdictDetail } from './summary';

/** Contradicting cells listed per claim (all are in report.json). */
const SHOWN = 20;

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function reportTitle(r: Report): string {
  switch (r.kind) {
    case 'review':
      return 'Review: the Proxmox PKRU patch against the reference model of KVM XSAVE';
    case 'merged':
      return `Nightly fuzz report (merged shards), seed ${r.run.seedText ?? r.run.seed}`;
    case 'fuzz':
      return `Fuzz report, seed ${r.run.seedText ?? r.run.seed}${r.run.shard && r.run.shard.count > 1 ? `, shard ${r.run.shard.index}/${r.run.shard.count}` : ''}`;
  }
}

function resultCell(c: Claim): string {
  if (c.result === 'holds') return c.method.kind === 'random' ? `holds (no counterexample in ${fmtInt(c.method.cases ?? 0)})` : `holds (${fmtInt(c.method.cases ?? 0)} cells)`;
  if (c.result === 'fails') return `**FAILS** (${c.findings.length || c.counterexamples.length} counterexample${(c.findings.length || c.counterexamples.length) === 1 ? '' : 's'})`;
  return 'not run';
}

function claimsSection(r: Report, out: string[]): void {
  out.push('## Claims', '');
  out.push('| id | claim | method | result |', '|---|---|---|---|');
  for (const c of r.claims) out.push(`| ${c.id} | ${esc(c.title)} | ${c.method.kind} | ${resultCell(c)} |`);
  out.push('');
}

function claimDetails(r: Report, out: string[]): void {
  out.push('## Claim details', '');
  for (const c of r.claims) {
    out.push(`### ${c.id}: ${c.title}`, '');
    out.push(`**Statement.** ${c.statement}`, '');
    out.push(`**Method.** ${c.method.kind}: ${c.method.description}.`, '');
    out.push(`**Result.** ${resultCell(c)}${c.note ? `: ${c.note}` : ''}.`, '');
    if (c.method.kind === 'random' && c.result !== 'not-run') {
      const pc = r.coverage.byProperty[c.id as (typeof PROPERTY_IDS)[number]];
      if (pc) {
        const classes = Object.entries(pc.classes)
          .map(([k, v]) => `${k} ${fmtInt(v)}`)
          .join(', ');
        out.push(`**Coverage.** ${classes || 'none'}.`, '');
        const extra = Object.entries(pc.extra)
          .map(([k, v]) => `${k} ${fmtInt(v)}`)
          .join(', ');
        if (extra) out.push(`Further dimensions: ${extra}.`, '');
      }
    }
    if (c.findings.length) {
      out.push('**Counterexamples.**', '');
      for (const key of c.findings) {
        const f = r.findings.find((x) => x.key === key);
        if (!f) continue;
        out.push(`- \`${f.key}\`: ${esc(f.reason)}${f.file ? ` (case file \`${f.file}\`; replay: \`${f.replay}\`)` : ''}`);
      }
      out.push('');
    }
    if (c.counterexamples.length) {
      out.push('**Counterexamples.**', '');
      for (const x of c.counterexamples.slice(0, SHOWN)) out.push(`- ${x}`);
      if (c.counterexamples.length > SHOWN) out.push(`- … ${c.counterexamples.length - SHOWN} more in report.json`);
      out.push('');
    }
  }
}

function coverageSection(r: Report, out: string[]): void {
  const cov = r.coverage;
  out.push('## Coverage', '');
  out.push(`${fmtInt(cov.cases)} scenarios in ${fmtInt(cov.batches)} batches.`, '');
  out.push('| property | scenarios | batches | classes |', '|---|---:|---:|---:|');
  for (const id of PROPERTY_IDS) {
    const p = cov.byProperty[id];
    out.push(`| ${id} | ${fmtInt(p.cases)} | ${fmtInt(p.batches)} | ${Object.keys(p.classes).length} |`);
  }
  out.push('');
  const io = cov.ioctl;
  out.push('KVM_SET_XSAVE buffers generated for P1, P3 and P4, by class:', '');
  out.push('| class | meaning | scenarios |', '|---|---|---:|');
  out.push(`| valid | XSTATE_BV ⊆ guest-supported XCR0 ∪ {x87, SSE} | ${fmtInt(io.valid)} |`);
  out.push(`| leaked | valid plus only the PKRU bit, on a vCPU whose CPUID does not offer PKRU | ${fmtInt(io.leaked)} |`);
  out.push(`| other | any other XSTATE_BV | ${fmtInt(io.other)} |`);
  out.push(`| rejected | of all three: refused by the kernel without the fixup | ${fmtInt(io.rejected)} |`);
  out.push('');
}

function findingsSection(r: Report, out: string[]): void {
  out.push('## Findings', '');
  if (!r.findings.length) {
    out.push('None.', '');
    return;
  }
  for (const f of r.findings) {
    out.push(`### ${f.property}: \`${f.key}\``, '');
    out.push(`- why: ${f.reason}`);
    if (f.error) out.push(`- exception: ${esc(f.error)}`);
    out.push(`- seed ${f.seed}, ${f.numRuns} runs, fast-check path \`${f.path ?? 'n/a'}\`${f.shard ? `, shard ${f.shard}` : ''}`);
    out.push(`- rerun the batch: \`${f.rerun}\``);
    if (f.file) out.push(`- case file: \`${f.file}\`${f.duplicate ? ' (already there: duplicate dropped)' : ''}`);
    if (f.replay) out.push(`- replay: \`${f.replay}\``);
    if (f.caseError) out.push(`- no case file: ${f.caseError}`);
    out.push('');
    const shown = caseForDisplay(f.case);
    if (shown) out.push('```json', shown, '```', '');
    else if (f.counterexample) out.push('```', f.counterexample, '```', '');
  }
}

function controlsSection(r: Report, out: string[]): void {
  if (!r.negativeControls.length) return;
  out.push('## Negative controls', '');
  out.push(
    'Each deliberately broken fixup (properties/brokenFixups.ts) must be caught by the property named for it, with the same seed: evidence that the properties can fail.',
    '',
  );
  out.push('| broken fixup | mistake | caught by | result | shrunk counterexample |', '|---|---|---|---|---|');
  for (const n of r.negativeControls) {
    out.push(`| ${n.fixup} | ${esc(n.description)} | ${n.caughtBy} | ${n.caught ? 'caught' : '**NOT CAUGHT**'} | ${n.reason ? esc(n.reason) : '–'}${n.caseId ? ` (\`${n.caseId}\`)` : ''} |`);
  }
  out.push('');
}

function matrixSection(r: Report, s: Summary, out: string[]): void {
  out.push('## Migration matrix', '');
  matrixBody(r.matrix, s.groups, s.pairs, out);
}

/** The matrix alone (also what `xsave-harness matrix` prints). */
export function matrixMarkdown(m: MigrationMatrix): string {
  const groups = sourceGroups(m);
  const out: string[] = ['# Migration matrix', ''];
  matrixBody(m, groups, patchPairs(m, groups), out);
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

function matrixBody(m: MigrationMatrix, groups: SourceGroup[], pairs: PatchPair[], out: string[]): void {
  out.push(`${m.description}.`, '');
  out.push(`- source host: ${m.sourceHost}; target hosts: PKU = ${m.targetHosts.pku}, noPKU = ${m.targetHosts['no-pku']}`);
  out.push(`- ${matrixHostsLine(m)}`);
  out.push(`- guest models: ${guestLegend()}`);
  out.push(`- guest state: ${m.guestState}`);
  out.push(`- fixup in the patched targets: \`${m.fixup}\``);
  out.push(
    '- outcomes: ✓ intact; abort = QEMU stopped the restore, the guest keeps running on the source; **HANG** = incomplete: a restore step failed, QEMU ignored it and resumed the guest with partial state; **LOST** = every step succeeded but guest-visible state differs',
  );
  out.push(
    '- verdict of a path over its feasible cells: safe = all intact; refused (safe) = some aborted, none hang or lost; UNSAFE = some hang or lost. A cell in parentheses is infeasible (the target host lacks components the guest uses, e.g. a PKU guest to a no-PKU host): it fails whatever the kernels do and is left out of verdicts.',
  );
  out.push('');

  out.push('### Which upgrade paths are safe, with and without the patch', '');
  const head = ['target kernel', 'ships the patch'];
  for (const g of groups) head.push(`from ${groupName(g)}${g.leaky ? ' (leaky)' : ''}: without`, 'with');
  out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  for (const p of pairs) {
    const cells = [p.kernel, p.carriesPatch ? 'yes' : 'no'];
    groups.forEach((_g, gi) => {
      cells.push(verdictDetail(m, p.without.byGroup[gi]!), verdictDetail(m, p.with.byGroup[gi]!));
    });
    out.push(`| ${cells.join(' | ')} |`);
  }
  out.push('');
  out.push('"without" is the upstream kernel as released or a Proxmox kernel with the patch forced off; "with" is a Proxmox kernel as shipped or an upstream kernel with the patch forced on.', '');

  groups.forEach((g) => {
    out.push(`### Matrix from ${groupName(g)}${g.leaky ? ' (source leaks PKRU)' : ' (source does not leak)'}`, '');
    if (g.sources.length > 1) out.push(`These source kernels give identical results in every cell, so they share one table.`, '');
    out.push(`Columns: target host · QEMU · guest (${guestLegend()}).`, '');
    const shown = baseConditionIndices(m); // the base hosts; verdicts cover every host (issue 14 item 6)
    const headers = ['target', ...shown.map((i) => conditionHeader(m.conditions[i]!)), 'verdict'];
    out.push(`| ${headers.join(' | ')} |`, `|${headers.map((_h, i) => (i === 0 || i === headers.length - 1 ? '---' : ':---:')).join('|')}|`);
    const paths = m.paths.filter((p) => p.source === g.sources[0]);
    for (const p of paths) {
      const t = m.targets.find((x) => x.kernel === p.target && x.fixup === p.fixup)!;
      const row = [t.label, ...shown.map((i) => [p.outcomes[i]!, i] as const).map(([o, i]) => (p.feasible[i] ? OUTCOME_MD[o] : `(${OUTCOME_MD[o].replace(/\*/g, '')})`)), VERDICT_TEXT[p.verdict]];
      out.push(`| ${row.join(' | ')} |`);
    }
    out.push('');
    const problems = paths.filter((p) => p.verdict !== 'safe');
    if (problems.length) {
      out.push('Why the paths that are not safe fail:', '');
      for (const p of problems) {
        const t = m.targets.find((x) => x.kernel === p.target && x.fixup === p.fixup)!;
        out.push(`- ${t.label}: ${pathProblems(m, p).join('; ')}`);
      }
      out.push('');
    }
  });
  out.push(`Cells per path: ${m.conditions.map(conditionLabel).join(', ')}.`, '');
}

function environmentSection(r: Report, out: string[]): void {
  const e = r.environment;
  const run = r.run;
  out.push('## Environment', '');
  out.push(`- node: ${e.node}${e.platform ? ` on ${e.platform}/${e.arch}, ${e.cpus} CPUs, host kernel ${e.osRelease}` : ''}`);
  out.push(`- packages: ${Object.entries(e.packages).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(`- harness: xsave-harness ${e.harnessVersion}, backend ${run.backend}`);
  out.push(
    `- seed: ${run.seedText !== undefined ? `${run.seedText} (fast-check seed ${run.seed}) ` : `${run.seed} `}(${run.seedSource === 'date' ? 'from the UTC date' : run.seedSource === 'fixed' ? 'fixed for the review' : 'given with --seed'})${run.shard ? `, shard ${run.shard.index}/${run.shard.count}` : ''}`,
  );
  out.push(`- fixup: ${run.fixup.name}${run.fixup.path ? ` (${run.fixup.path})` : ' (built-in Proxmox patch)'}`);
  if (run.workers !== null) out.push(`- workers: ${run.workers}, ${run.batchRuns} runs per batch${run.budgetSeconds !== null ? `, budget ${run.budgetSeconds} s` : ''}`);
  else out.push(`- ${run.batchRuns} runs per batch, in one process`);
  if (run.stopReason) out.push(`- stopped: ${run.stopReason}`);
  if (run.timing) out.push(`- timing: ${run.timing.startedAt} → ${run.timing.finishedAt}, ${run.timing.elapsedSeconds} s, ${fmtInt(run.timing.casesPerSecond)} scenarios/s`);
  out.push(`- running kernel: ${e.runningKernel ? `${e.runningKernel.release} (${e.runningKernel.variant})` : 'not probed (the real-KVM backend is not part of this report)'}`);
  if (r.shards) out.push(`- shards: ${r.shards.count}; present ${r.shards.present.join(', ') || 'none'}; missing ${r.shards.missing.join(', ') || 'none'}`);
  out.push('');
}

function reproduceSection(r: Report, out: string[]): void {
  out.push('## Reproduce', '');
  for (const l of reproduceLines(r)) out.push(`- ${l}`);
  out.push('');
}

/** How to regenerate or rerun what a report shows (Markdown inline: `code`). */
export function reproduceLines(r: Report): string[] {
  const lines: string[] = [];
  if (r.kind === 'review') {
    lines.push('regenerate this report: `npm run review` (test/report-freshness.test.ts fails when the committed files are stale)');
    lines.push('nightly fuzzing: `npx xsave-harness fuzz --seconds 1800 --shard I/4` (see .github/workflows/nightly.yml)');
    if (r.verification) {
      lines.push('the kill matrix: `npx xsave-harness mutants --json > reports/kill-matrix.json` (read by the review, not rerun: its times depend on the machine)');
      lines.push('the proof with counterexamples and case files: `npx xsave-harness prove` (the patch), `npx xsave-harness prove --mutant all` (the broken symbolic fixups)');
      lines.push('Stryker: `npm run mutation` (nightly job `mutation`); runs of parts merged with `npx xsave-harness mutation-merge reports/mutation.json CORE.json REST.json`; survivor explanations in reports/mutation-survivors.json');
    }
  } else {
    const shard = r.run.shard && r.run.shard.count > 1 ? ` --shard ${r.run.shard.index}/${r.run.shard.count}` : '';
    const fixup = r.run.fixup.path ? ` --fixup ${r.run.fixup.path}` : '';
    lines.push(
      `rerun: \`npx xsave-harness fuzz --seed ${r.run.seedText !== undefined ? shellSeed(r.run.seedText) : r.run.seed}${shard}${fixup}${r.run.workers ? ` --workers ${r.run.workers}` : ''}${r.run.budgetSeconds !== null ? ` --seconds ${r.run.budgetSeconds}` : ''}\` (time-budgeted: the batches reached depend on speed; each finding has its own rerun and replay commands)`,
    );
  }
  lines.push('the matrix alone: `npx xsave-harness matrix` (`--json` for the data)');
  lines.push('the report format: report/SCHEMA.md (schema xsave-report/1)');
  return lines;
}

export function renderMarkdown(r: Report): string {
  const s = summarise(r);
  const out: string[] = [];
  out.push(`# ${reportTitle(r)}`, '');
  if (r.kind === 'review') out.push('<!-- generated by `npm run review` from reports/report.json; do not edit by hand -->', '');
  out.push('## Decision summary', '');
  for (const h of s.headline) out.push(`- ${h}`);
  out.push('');
  claimsSection(r, out);
  findingsSection(r, out);
  matrixSection(r, s, out);
  claimDetails(r, out);
  controlsSection(r, out);
  if (r.verification) verificationMarkdown(r.verification, out);
  if (r.realKernels) out.push(...blocksMarkdown(realKernelsBlocks(r.realKernels)));
  if (r.lifecycle) out.push(...blocksMarkdown(lifecycleBlocks(r.lifecycle)));
  coverageSection(r, out);
  if (r.decisionSpace) out.push(...blocksMarkdown(decisionSpaceBlocks(r.decisionSpace)));
  if (r.errors.length) {
    out.push('## Errors', '');
    for (const e of r.errors) out.push(`- ${esc(e)}`);
    out.push('');
  }
  environmentSection(r, out);
  reproduceSection(r, out);
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
