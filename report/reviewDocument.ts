// The report document of a report.json (fuzz run, merged shards or the review): every section,
// written once. report/markdown.ts and report/html.ts print it (issue 12: the sections used to be
// written twice by hand, once per format).
import type { Outcome } from '../model';
import { shellSeed } from '../cases/seedText';
import { PROPERTY_IDS } from '../properties/claims';
import { MigrationMatrix, PatchPair, PathResult, SourceGroup, baseConditionIndices, conditionLabel, patchPairs, sourceGroups } from '../properties/matrix';
import { Banner, Block, Cell, CellLike, ReportDocument, Section, Table, fromFlatBlocks, list, para, section } from './document';
import { decisionSpaceBlocks } from './decisionSpace';
import { lifecycleBlocks } from './lifecycle';
import { realKernelsSection } from './realKernels';
import { Claim, Report } from './report';
import { INCIDENT_REPORT, OUTCOME_MD, OUTCOME_TEXT, VERDICT_TEXT, Summary, caseForDisplay, conditionHeader, fmtInt, groupName, guestLegend, matrixHostsLine, pathProblems, summarise, verdictDetail } from './summary';
import { verificationProblems } from './verification';
import { verificationSections } from './verificationDocument';

/** Contradicting cells listed per claim (all are in report.json). */
const SHOWN = 20;

const OUTCOME_COLORS: Record<Outcome, string> = { intact: '#2e7d32', aborted: '#ef8f00', incomplete: '#c62828', lost: '#6a1b9a' };

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

function resultText(c: Claim): string {
  if (c.result === 'holds') return c.method.kind === 'random' ? `holds (no counterexample in ${fmtInt(c.method.cases ?? 0)})` : `holds (${fmtInt(c.method.cases ?? 0)} cells)`;
  if (c.result === 'fails') return `**FAILS** (${c.findings.length || c.counterexamples.length} counterexample${(c.findings.length || c.counterexamples.length) === 1 ? '' : 's'})`;
  return 'not run';
}

const resultCell = (c: Claim): Cell => ({ text: resultText(c), badge: c.result });

function claimsSection(r: Report): Section {
  return section('Claims', [
    {
      kind: 'table',
      head: ['id', 'claim', 'method', 'result'],
      rows: r.claims.map((c) => [{ text: c.id, href: `#claim-${c.id}` }, c.title, c.method.kind, resultCell(c)]),
    },
  ]);
}

function claimDetails(r: Report): Section {
  return section(
    'Claim details',
    r.claims.map((c) => {
      const body: Block[] = [
        para(`**Statement.** ${c.statement}`),
        para(`**Method.** ${c.method.kind}: ${c.method.description}.`),
        para(`**Result.** ${resultText(c)}${c.note ? `: ${c.note}` : ''}.`),
      ];
      if (c.method.kind === 'random' && c.result !== 'not-run') {
        const pc = r.coverage.byProperty[c.id as (typeof PROPERTY_IDS)[number]];
        if (pc) {
          const classes = Object.entries(pc.classes)
            .map(([k, v]) => `${k} ${fmtInt(v)}`)
            .join(', ');
          body.push(para(`**Coverage.** ${classes || 'none'}.`));
          const extra = Object.entries(pc.extra)
            .map(([k, v]) => `${k} ${fmtInt(v)}`)
            .join(', ');
          if (extra) body.push(para(`Further dimensions: ${extra}.`));
        }
      }
      const fs = c.findings.map((k) => r.findings.find((f) => f.key === k)).filter((f) => f !== undefined);
      if (fs.length) {
        body.push(para('**Counterexamples.**'), list(fs.map((f) => `\`${f.key}\`: ${f.reason}${f.file ? ` (case file \`${f.file}\`; replay: \`${f.replay}\`)` : ''}`)));
      }
      if (c.unconfirmed?.length) body.push(para('**Rests on UNCONFIRMED statements.**'), list(c.unconfirmed));
      if (c.counterexamples.length) {
        const more = c.counterexamples.length > SHOWN ? [`… ${c.counterexamples.length - SHOWN} more in report.json`] : [];
        body.push(para('**Counterexamples.**'), list([...c.counterexamples.slice(0, SHOWN), ...more]));
      }
      return section(`${c.id}: ${c.title}`, body, { id: `claim-${c.id}`, style: 'box' });
    }),
  );
}

function coverageSection(r: Report): Section {
  const cov = r.coverage;
  const io = cov.ioctl;
  return section('Coverage', [
    para(`${fmtInt(cov.cases)} scenarios in ${fmtInt(cov.batches)} batches.`),
    {
      kind: 'table',
      head: ['property', 'scenarios', 'batches', 'classes'],
      align: ['left', 'right', 'right', 'right'],
      rows: PROPERTY_IDS.map((id) => {
        const p = cov.byProperty[id];
        return [id, fmtInt(p.cases), fmtInt(p.batches), String(Object.keys(p.classes).length)];
      }),
    },
    para('KVM_SET_XSAVE buffers generated for P1, P3 and P4, by class:'),
    {
      kind: 'table',
      head: ['class', 'meaning', 'scenarios'],
      align: ['left', 'left', 'right'],
      rows: [
        ['valid', 'XSTATE_BV ⊆ guest-supported XCR0 ∪ {x87, SSE}', fmtInt(io.valid)],
        ['leaked', 'valid plus only the PKRU bit, on a vCPU whose CPUID does not offer PKRU', fmtInt(io.leaked)],
        ['other', 'any other XSTATE_BV', fmtInt(io.other)],
        ['rejected', 'of all three: refused by the kernel without the fixup', fmtInt(io.rejected)],
      ],
    },
  ]);
}

/** Every finding the harness knows of outside this run (properties/knownFindings.ts). */
function knownFindingsSection(known: NonNullable<Report['knownFindings']>): Section {
  return section('Known findings', [
    para(`Every finding the harness knows of outside this run's scenarios and the claims' domains (properties/knownFindings.ts; properties/findings.test.ts checks that each still reproduces):`),
    ...known.map((f) =>
      section(
        `\`${f.id}\``,
        [
          list([
            `what: ${f.title}`,
            `about: ${f.about === 'patch' ? 'the Proxmox patch' : 'the kernels (with or without the patch)'}`,
            `evidence: ${f.evidence}`,
            ...(f.unconfirmed ? [`UNCONFIRMED: ${f.unconfirmed}`] : []),
            `replay: \`${f.replay}\``,
            `reproduces with the current model: ${f.reproduces ? 'yes' : '**NO**'}`,
          ]),
        ],
        { style: 'box' },
      ),
    ),
  ]);
}

function findingsSection(r: Report): Section {
  const known = r.knownFindings?.length ? [knownFindingsSection(r.knownFindings)] : [];
  if (!r.findings.length) return section('Findings', [para(known.length ? 'None in this run.' : 'None.'), ...known]);
  return section('Findings', [
    ...r.findings.map((f) => {
      const items = [`why: ${f.reason}`];
      if (f.error) items.push(`exception: ${f.error}`);
      items.push(`seed ${f.seed}, ${f.numRuns} runs, fast-check path \`${f.path ?? 'n/a'}\`${f.shard ? `, shard ${f.shard}` : ''}`);
      items.push(`rerun the batch: \`${f.rerun}\``);
      if (f.file) items.push(`case file: \`${f.file}\`${f.duplicate ? ' (already there: duplicate dropped)' : ''}`);
      if (f.replay) items.push(`replay: \`${f.replay}\``);
      if (f.caseError) items.push(`no case file: ${f.caseError}`);
      const body: Block[] = [list(items)];
      const shown = caseForDisplay(f.case);
      if (shown) body.push({ kind: 'code', lang: 'json', text: shown, summary: 'case' });
      else if (f.counterexample) body.push({ kind: 'code', text: f.counterexample, summary: 'counterexample' });
      return section(`${f.property}: \`${f.key}\``, body, { style: 'box' });
    }),
    ...known,
  ]);
}

function controlsSection(r: Report): Section | null {
  if (!r.negativeControls.length) return null;
  return section('Negative controls', [
    para('Each deliberately broken fixup (properties/brokenFixups.ts) must be caught by the property named for it, with the same seed: evidence that the properties can fail.'),
    {
      kind: 'table',
      head: ['broken fixup', 'mistake', 'caught by', 'result', 'shrunk counterexample'],
      rows: r.negativeControls.map((n) => [
        n.fixup,
        n.description,
        n.caughtBy,
        { text: n.caught ? 'caught' : '**NOT CAUGHT**', badge: n.caught ? 'holds' : 'fails' },
        `${n.reason ?? '–'}${n.caseId ? ` (\`${n.caseId}\`)` : ''}`,
      ]),
    },
  ]);
}

const SEPARATOR: Record<string, string> = {
  'kernel-default': 'kernels as released / shipped',
  pve: 'upstream kernels with the patch forced on',
  none: 'Proxmox kernels with the patch forced off',
};

const verdictCell = (m: MigrationMatrix, p: PathResult): Cell => ({ text: verdictDetail(m, p), class: `v-${p.verdict}` });

/** The matrix: legend, the with/without comparison, one table per source group. */
export function matrixBlocks(m: MigrationMatrix, groups: SourceGroup[] = sourceGroups(m), pairs: PatchPair[] = patchPairs(m, groups)): Block[] {
  const out: Block[] = [];
  out.push(para(`${m.description}.`));
  out.push(
    list([
      `source host: ${m.sourceHost}; target hosts: PKU = ${m.targetHosts.pku}, noPKU = ${m.targetHosts['no-pku']}`,
      matrixHostsLine(m),
      `guest models: ${guestLegend()}`,
      `guest state: ${m.guestState}`,
      `fixup in the patched targets: \`${m.fixup}\``,
      `outcomes: ✓ intact; abort = QEMU stopped the restore, the guest keeps running on the source; **INCOMPLETE** = a restore step failed, QEMU ignored it and resumed the guest with partial state (what the guest then does is not modelled; the incident report, ${INCIDENT_REPORT}, describes a vCPU spinning at 100% CPU); **LOST** = every step succeeded but guest-visible state differs`,
      'verdict of a path over its feasible cells: safe = all intact; refused (safe) = some aborted, none incomplete or lost; UNSAFE = some incomplete or lost. A cell in parentheses is infeasible (the target host lacks components the guest uses, e.g. a PKU guest to a no-PKU host): it fails whatever the kernels do and is left out of verdicts.',
    ]),
  );
  out.push({ kind: 'legend', items: (['intact', 'aborted', 'incomplete', 'lost'] as Outcome[]).map((o) => ({ color: OUTCOME_COLORS[o], label: `${OUTCOME_MD[o].replace(/\*/g, '')} = ${OUTCOME_TEXT[o]}` })) });

  const head: CellLike[] = [{ text: 'target kernel', class: 'rowh' }, 'ships the patch'];
  const tgroups: NonNullable<Table['groups']> = [];
  for (const g of groups) {
    const label = `from ${groupName(g)}${g.leaky ? ' (leaky)' : ''}`;
    tgroups.push({ from: head.length, span: 2, label });
    head.push({ text: `${label}: without`, short: 'without' }, { text: 'with', short: 'with' });
  }
  const compare: Table = {
    kind: 'table',
    class: 'matrix',
    head,
    groups: tgroups,
    rows: pairs.map((p) => [
      { text: p.kernel, class: 'rowh' },
      p.carriesPatch ? 'yes' : 'no',
      ...groups.flatMap((_g, gi) => [verdictCell(m, p.without.byGroup[gi]!), verdictCell(m, p.with.byGroup[gi]!)]),
    ]),
  };
  out.push(
    section('Which upgrade paths are safe, with and without the patch', [
      compare,
      para('"without" is the upstream kernel as released or a Proxmox kernel with the patch forced off; "with" is a Proxmox kernel as shipped or an upstream kernel with the patch forced on.', 'muted'),
    ]),
  );

  for (const g of groups) {
    const body: Block[] = [];
    if (g.sources.length > 1) body.push(para('These source kernels give identical results in every cell, so they share one table.', 'muted'));
    body.push(para(`Columns: target host · QEMU · guest (${guestLegend()}).`));
    const paths = m.paths.filter((p) => p.source === g.sources[0]);
    const shown = baseConditionIndices(m); // the base hosts; verdicts cover every host (issue 14 item 6)
    const half = shown.length / 2;
    const table: Table = {
      kind: 'table',
      class: 'matrix',
      head: [{ text: 'target', class: 'rowh' }, ...shown.map((i) => ({ text: conditionHeader(m.conditions[i]!), short: conditionHeader(m.conditions[i]!).split(' ').slice(1).join(' ') })), 'verdict'],
      align: ['left', ...shown.map(() => 'center' as const), 'left'],
      groups: [
        { from: 1, span: half, label: 'PKU host' },
        { from: 1 + half, span: half, label: 'noPKU host' },
      ],
      rows: paths.flatMap((p, pi) => {
        const t = m.targets.find((x) => x.kernel === p.target && x.fixup === p.fixup)!;
        const sep = pi === 0 || paths[pi - 1]!.fixup !== p.fixup ? [{ separator: SEPARATOR[p.fixup] ?? p.fixup }] : [];
        const cells: CellLike[] = shown.map((i) => [p.outcomes[i]!, i] as const).map(([o, i]) => ({
          text: p.feasible[i] ? OUTCOME_MD[o] : `(${OUTCOME_MD[o].replace(/\*/g, '')})`,
          class: `o-${o}${p.feasible[i] ? '' : ' infeasible'}`,
          title: `${conditionHeader(m.conditions[i]!)}: ${o}${p.details[i] ? ` (${p.details[i]})` : ''}${p.feasible[i] ? '' : ' — infeasible'}`,
        }));
        return [...sep, [{ text: t.label, class: 'rowh' }, ...cells, { text: VERDICT_TEXT[p.verdict], class: `rowh v-${p.verdict}` }]];
      }),
    };
    body.push(table);
    const problems = paths.filter((p) => p.verdict !== 'safe');
    if (problems.length) {
      body.push({
        kind: 'details',
        summary: 'Why the paths that are not safe fail:',
        children: [list(problems.map((p) => `${m.targets.find((x) => x.kernel === p.target && x.fixup === p.fixup)!.label}: ${pathProblems(m, p).join('; ')}`))],
      });
    }
    out.push(section(`Matrix from ${groupName(g)}${g.leaky ? ' (source leaks PKRU)' : ' (source does not leak)'}`, body));
  }
  out.push(para(`Cells per path: ${m.conditions.map(conditionLabel).join(', ')}.`));
  if (m.unconfirmed?.length) {
    out.push(para('Every verdict of the matrix rests on these UNCONFIRMED statements of its kernels (model/kernels.ts) and QEMU versions (model/vmm.ts):'), list(m.unconfirmed.map((u) => `${u.subject}: ${u.statement}`)));
  }
  return out;
}

/** The matrix alone (what `xsave-harness matrix` prints). */
export function matrixDocument(m: MigrationMatrix): ReportDocument {
  return { title: 'Migration matrix', subtitle: null, generatedNote: null, status: [], children: matrixBlocks(m) };
}

function environmentSection(r: Report): Section {
  const e = r.environment;
  const run = r.run;
  const items: string[] = [];
  items.push(`node: ${e.node}${e.platform ? ` on ${e.platform}/${e.arch}, ${e.cpus} CPUs, host kernel ${e.osRelease}` : ''}`);
  items.push(`packages: ${Object.entries(e.packages).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  items.push(`harness: xsave-harness ${e.harnessVersion}, backend ${run.backend}`);
  items.push(
    `seed: ${run.seedText !== undefined ? `${run.seedText} (fast-check seed ${run.seed}) ` : `${run.seed} `}(${run.seedSource === 'date' ? 'from the UTC date' : run.seedSource === 'fixed' ? 'fixed for the review' : 'given with --seed'})${run.shard ? `, shard ${run.shard.index}/${run.shard.count}` : ''}`,
  );
  items.push(`fixup: ${run.fixup.name}${run.fixup.path ? ` (${run.fixup.path})` : ' (built-in Proxmox patch)'}`);
  if (run.workers !== null) items.push(`workers: ${run.workers}, ${run.batchRuns} runs per batch${run.budgetSeconds !== null ? `, budget ${run.budgetSeconds} s` : ''}`);
  else items.push(`${run.batchRuns} runs per batch, in one process`);
  if (run.stopReason) items.push(`stopped: ${run.stopReason}`);
  if (run.timing) items.push(`timing: ${run.timing.startedAt} → ${run.timing.finishedAt}, ${run.timing.elapsedSeconds} s, ${fmtInt(run.timing.casesPerSecond)} scenarios/s`);
  items.push(`running kernel: ${e.runningKernel ? `${e.runningKernel.release} (${e.runningKernel.variant})` : 'not probed (the real-KVM backend is not part of this report)'}`);
  if (r.shards) items.push(`shards: ${r.shards.count}; present ${r.shards.present.join(', ') || 'none'}; missing ${r.shards.missing.join(', ') || 'none'}`);
  return section('Environment', [list(items)]);
}

/** How to regenerate or rerun what a report shows. */
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

function statusBanners(r: Report, s: Summary): Banner[] {
  const failing = r.claims.some((c) => c.result === 'fails') || r.findings.length > 0;
  const out: Banner[] = [
    r.partial
      ? { kind: 'banner', tone: 'warn', text: `Partial report: ${r.partialReasons.join('; ')}` }
      : failing
        ? { kind: 'banner', tone: 'bad', text: `${s.claimsFail} claim(s) fail, ${r.findings.length} finding(s)` }
        : { kind: 'banner', tone: 'ok', text: `Every claim that was checked holds (${s.claimsHold} of ${r.claims.length}; ${s.claimsNotRun} not run)` },
  ];
  const problems = r.verification ? verificationProblems(r.verification) : [];
  for (const p of problems) out.push({ kind: 'banner', tone: 'bad', text: p });
  return out;
}

function charts(r: Report, s: Summary): Block {
  const cov = r.coverage;
  const list: Array<Extract<Block, { kind: 'chart' }>> = [
    { kind: 'chart', chart: { type: 'bars', title: 'Scenarios checked per property', rows: PROPERTY_IDS.map((id) => ({ label: id, value: cov.byProperty[id].cases })) } },
    {
      kind: 'chart',
      chart: {
        type: 'stacked',
        title: 'KVM_SET_XSAVE buffers by class (P1, P3, P4)',
        parts: [
          { label: 'valid', value: cov.ioctl.valid, color: '#2e7d32' },
          { label: 'leaked', value: cov.ioctl.leaked, color: '#ef8f00' },
          { label: 'other', value: cov.ioctl.other, color: '#5c6bc0' },
        ],
        note: `${fmtInt(cov.ioctl.rejected)} of ${fmtInt(cov.ioctl.cases)} refused by the kernel without the fixup`,
      },
    },
  ];
  if (s.leakyGroup >= 0) {
    list.push({
      kind: 'chart',
      chart: {
        type: 'patch',
        title: `Migrations from a leaky source (${groupName(s.groups[s.leakyGroup]!)}): feasible cells per target kernel`,
        rows: s.pairs.map((p) => ({ label: p.kernel, without: p.without.byGroup[s.leakyGroup]!.counts, with: p.with.byGroup[s.leakyGroup]!.counts })),
      },
    });
  }
  return { kind: 'charts', charts: list };
}

export function reviewDocument(r: Report): ReportDocument {
  const s = summarise(r);
  const children: Array<Block | null> = [
    section('Decision summary', [list(s.headline), charts(r, s)]),
    claimsSection(r),
    findingsSection(r),
    section('Migration matrix', matrixBlocks(r.matrix, s.groups, s.pairs)),
    claimDetails(r),
    controlsSection(r),
    ...(r.verification ? verificationSections(r.verification) : []),
    r.realKernels ? realKernelsSection(r.realKernels) : null,
    r.lifecycle ? fromFlatBlocks(lifecycleBlocks(r.lifecycle)) : null,
    coverageSection(r),
    r.decisionSpace ? fromFlatBlocks(decisionSpaceBlocks(r.decisionSpace)) : null,
    r.errors.length ? section('Errors', [list(r.errors)]) : null,
    environmentSection(r),
    section('Reproduce', [list(reproduceLines(r))]),
  ];
  return {
    title: reportTitle(r),
    subtitle: `report schema ${r.schema}, kind ${r.kind}, seed ${r.run.seedText ?? r.run.seed}, fixup \`${r.run.fixup.name}\``,
    generatedNote: r.kind === 'review' ? 'generated by `npm run review` from reports/report.json; do not edit by hand' : null,
    status: statusBanners(r, s),
    children: children.filter((b): b is Block => b !== null),
  };
}
