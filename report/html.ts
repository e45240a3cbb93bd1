// review.html: the same content as REVIEW.md in one self-contained page: inline CSS, inline
// SVG charts, no scripts, no external resources (it must render offline, e.g. as a CI artifact).
import { Outcome } from '../model';
import { PROPERTY_IDS } from '../properties/claims';
import { PathResult } from '../properties/matrix';
import { reportTitle, reproduceLines } from './markdown';
import { Claim, Report } from './report';
import { verificationProblems } from './verification';
import { VERIFICATION_CSS, verificationHtml } from './verificationHtml';
import { blocksHtml } from './blocks';
import { realKernelsBlocks } from './realKernels';
import { lifecycleBlocks } from './lifecycle';
import { decisionSpaceBlocks } from './decisionSpace';
import { OUTCOME_TEXT, Summary, caseForDisplay, conditionHeader, fmtInt, groupName, guestLegend, matrixHostsLine, pathProblems, summarise, verdictDetail } from './summary';
import { baseConditionIndices } from '../properties/matrix';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The little Markdown the summary lines use: `code` and **bold**. */
function inline(s: string): string {
  return escapeHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

const COLORS: Record<Outcome, string> = { intact: '#2e7d32', aborted: '#ef8f00', incomplete: '#c62828', lost: '#6a1b9a' };
const OUTCOME_SHORT: Record<Outcome, string> = { intact: '✓', aborted: 'abort', incomplete: 'HANG', lost: 'LOST' };

const CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d7dce5; --bg: #ffffff; --panel: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1240px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p, li { max-width: 1100px; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
code { background: var(--panel); padding: 0 3px; border-radius: 3px; }
td code { white-space: nowrap; }
.matrix tr.sep td { background: var(--panel); font-weight: 600; text-align: left; font-size: 11px; color: var(--muted); }
pre { background: var(--panel); padding: 10px; overflow-x: auto; border: 1px solid var(--line); border-radius: 4px; max-height: 420px; }
.sub { color: var(--muted); margin: 0 0 12px; }
.banner { padding: 10px 14px; border-radius: 6px; font-weight: 600; margin: 12px 0; }
.banner.ok { background: #e6f4ea; color: #1e5b24; border: 1px solid #b7dfc0; }
.banner.bad { background: #fdecea; color: #8e1b1b; border: 1px solid #f3b8b3; }
.banner.warn { background: #fff4e0; color: #7a4a00; border: 1px solid #f3d29b; }
table { border-collapse: collapse; margin: 8px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 7px; vertical-align: top; text-align: left; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.holds { background: #e6f4ea; color: #1e5b24; }
.fails { background: #fdecea; color: #8e1b1b; }
.not-run { background: #eceff3; color: #4a5262; }
.matrix { font-size: 12px; }
.matrix th { font-size: 11px; text-align: center; }
.matrix th.rowh, .matrix td.rowh { text-align: left; white-space: nowrap; }
.matrix td { text-align: center; padding: 2px 4px; min-width: 44px; }
.o-intact { background: #dff0e1; color: #1e5b24; }
.o-aborted { background: #ffe7bf; color: #7a4a00; }
.o-incomplete { background: #f8c9c5; color: #8e1b1b; font-weight: 700; }
.o-lost { background: #e4d1ef; color: #4a1470; font-weight: 700; }
.infeasible { background: repeating-linear-gradient(45deg, #f0f1f4, #f0f1f4 4px, #e4e6eb 4px, #e4e6eb 8px) !important; color: #6b7280 !important; font-weight: 400 !important; }
.v-safe { color: #1e5b24; font-weight: 600; }
.v-refused { color: #7a4a00; font-weight: 600; }
.v-unsafe { color: #8e1b1b; font-weight: 700; }
.legend span { display: inline-block; margin-right: 14px; }
.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
details { margin: 6px 0; }
details > summary { cursor: pointer; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: #fff; }
.chart h3 { margin: 0 0 6px; }
.claim { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.claim h3 { margin: 0 0 6px; }
.kv { color: var(--muted); }
${VERIFICATION_CSS}`;

function badge(result: Claim['result'], text?: string): string {
  return `<span class="badge ${result}">${escapeHtml(text ?? (result === 'not-run' ? 'not run' : result))}</span>`;
}

function claimResultText(c: Claim): string {
  if (c.result === 'holds') return c.method.kind === 'random' ? `holds: no counterexample in ${fmtInt(c.method.cases ?? 0)} scenarios` : `holds on all ${fmtInt(c.method.cases ?? 0)} cells`;
  if (c.result === 'fails') return `FAILS: ${c.findings.length || c.counterexamples.length} counterexample(s)`;
  return 'not run';
}

// ---- SVG charts -----------------------------------------------------------------------------

function barChart(title: string, rows: { label: string; value: number }[], width = 380): string {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const rowH = 22;
  const labelW = 60;
  const barW = width - labelW - 80;
  const h = rows.length * rowH + 10;
  const bars = rows
    .map((r, i) => {
      const y = 5 + i * rowH;
      const w = Math.round((r.value / max) * barW);
      return `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end" font-size="12">${escapeHtml(r.label)}</text><rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 8}" fill="#3f6fb5" rx="2"/><text x="${labelW + w + 5}" y="${y + 15}" font-size="11" fill="#5b6475">${fmtInt(r.value)}</text>`;
    })
    .join('');
  return `<div class="chart"><h3>${escapeHtml(title)}</h3><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" role="img" aria-label="${escapeHtml(title)}">${bars}</svg></div>`;
}

function stackedBar(title: string, parts: { label: string; value: number; color: string }[], note: string, width = 420): string {
  const total = Math.max(1, parts.reduce((n, p) => n + p.value, 0));
  let x = 0;
  const inner = width - 20;
  const rects = parts
    .map((p) => {
      const w = (p.value / total) * inner;
      const r = `<rect x="${(10 + x).toFixed(1)}" y="8" width="${w.toFixed(1)}" height="26" fill="${p.color}"/>`;
      x += w;
      return r;
    })
    .join('');
  const legend = parts
    .map((p, i) => `<rect x="${10 + (i % 2) * 200}" y="${46 + Math.floor(i / 2) * 18}" width="11" height="11" fill="${p.color}"/><text x="${26 + (i % 2) * 200}" y="${56 + Math.floor(i / 2) * 18}" font-size="12">${escapeHtml(p.label)}: ${fmtInt(p.value)} (${((100 * p.value) / total).toFixed(1)}%)</text>`)
    .join('');
  const h = 50 + Math.ceil(parts.length / 2) * 18;
  return `<div class="chart"><h3>${escapeHtml(title)}</h3><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" role="img" aria-label="${escapeHtml(title)}">${rects}${legend}</svg><div class="kv">${escapeHtml(note)}</div></div>`;
}

/** Per kernel, two stacked bars of the feasible cells from a leaky source: without and with the patch. */
function patchChart(s: Summary): string {
  if (s.leakyGroup < 0) return '';
  const rowH = 30;
  const labelW = 130;
  const barW = 150;
  const gap = 40;
  const width = labelW + 2 * barW + gap + 20;
  const h = 34 + s.pairs.length * rowH + 26;
  const bar = (p: PathResult, x: number, y: number): string => {
    const total = Math.max(1, p.counts.intact + p.counts.aborted + p.counts.incomplete + p.counts.lost);
    let off = 0;
    return (['intact', 'aborted', 'incomplete', 'lost'] as Outcome[])
      .map((o) => {
        const w = (p.counts[o] / total) * barW;
        const rect = w > 0 ? `<rect x="${(x + off).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${COLORS[o]}"><title>${o}: ${p.counts[o]}</title></rect>` : '';
        off += w;
        return rect;
      })
      .join('');
  };
  const rows = s.pairs
    .map((pair, i) => {
      const y = 34 + i * rowH;
      return `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeHtml(pair.kernel)}</text>${bar(pair.without.byGroup[s.leakyGroup]!, labelW, y)}${bar(pair.with.byGroup[s.leakyGroup]!, labelW + barW + gap, y)}`;
    })
    .join('');
  const head = `<text x="${labelW + barW / 2}" y="20" text-anchor="middle" font-size="12" font-weight="600">without the patch</text><text x="${labelW + barW + gap + barW / 2}" y="20" text-anchor="middle" font-size="12" font-weight="600">with the patch</text>`;
  const ly = 34 + s.pairs.length * rowH + 8;
  const legend = (['intact', 'aborted', 'incomplete', 'lost'] as Outcome[])
    .map((o, i) => `<rect x="${labelW + i * 85}" y="${ly}" width="11" height="11" fill="${COLORS[o]}"/><text x="${labelW + 15 + i * 85}" y="${ly + 10}" font-size="12">${o}</text>`)
    .join('');
  const title = `Migrations from a leaky source (${groupName(s.groups[s.leakyGroup]!)}): feasible cells per target kernel`;
  return `<div class="chart"><h3>${escapeHtml(title)}</h3><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" role="img" aria-label="${escapeHtml(title)}">${head}${rows}${legend}</svg></div>`;
}

// ---- sections -------------------------------------------------------------------------------

function claimsTableHtml(r: Report): string {
  const rows = r.claims.map((c) => `<tr><td><a href="#claim-${c.id}">${c.id}</a></td><td>${escapeHtml(c.title)}</td><td>${c.method.kind}</td><td>${badge(c.result, claimResultText(c))}</td></tr>`).join('');
  return `<h2>Claims</h2><table><tr><th>id</th><th>claim</th><th>method</th><th>result</th></tr>${rows}</table>`;
}

function claimDetailsHtml(r: Report): string {
  const detail = r.claims
    .map((c) => {
      const parts: string[] = [];
      parts.push(`<p><strong>Statement.</strong> ${escapeHtml(c.statement)}</p>`);
      parts.push(`<p><strong>Method.</strong> ${c.method.kind}: ${escapeHtml(c.method.description)}.</p>`);
      parts.push(`<p><strong>Result.</strong> ${badge(c.result, claimResultText(c))}${c.note ? ` ${inline(c.note)}` : ''}</p>`);
      const pc = c.method.kind === 'random' ? r.coverage.byProperty[c.id as (typeof PROPERTY_IDS)[number]] : undefined;
      if (pc && pc.cases > 0) {
        const cls = Object.entries(pc.classes)
          .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="num">${fmtInt(v)}</td></tr>`)
          .join('');
        const extra = Object.entries(pc.extra)
          .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="num">${fmtInt(v)}</td></tr>`)
          .join('');
        parts.push(`<details><summary>Coverage: ${fmtInt(pc.cases)} scenarios in ${Object.keys(pc.classes).length} classes</summary><div class="charts"><table><tr><th>class</th><th class="num">scenarios</th></tr>${cls}</table><table><tr><th>further dimension</th><th class="num">scenarios</th></tr>${extra}</table></div></details>`);
      }
      const fs = c.findings.map((k) => r.findings.find((f) => f.key === k)).filter((f) => f !== undefined);
      if (fs.length) parts.push(`<p><strong>Counterexamples.</strong></p><ul>${fs.map((f) => `<li><code>${escapeHtml(f.key)}</code>: ${escapeHtml(f.reason)}${f.replay ? ` — replay: <code>${escapeHtml(f.replay)}</code>` : ''}</li>`).join('')}</ul>`);
      if (c.counterexamples.length) {
        const more = c.counterexamples.length > 20 ? `<li>… ${c.counterexamples.length - 20} more in report.json</li>` : '';
        parts.push(`<p><strong>Counterexamples.</strong></p><ul>${c.counterexamples.slice(0, 20).map((x) => `<li>${escapeHtml(x)}</li>`).join('')}${more}</ul>`);
      }
      return `<div class="claim" id="claim-${c.id}"><h3>${c.id}: ${escapeHtml(c.title)}</h3>${parts.join('')}</div>`;
    })
    .join('');
  return `<h2>Claim details</h2>${detail}`;
}

function findingsHtml(r: Report): string {
  if (!r.findings.length) return '<h2>Findings</h2><p>None.</p>';
  const items = r.findings
    .map((f) => {
      const shown = caseForDisplay(f.case) ?? f.counterexample;
      return `<div class="claim"><h3>${f.property}: <code>${escapeHtml(f.key)}</code></h3><ul>
<li>why: ${escapeHtml(f.reason)}</li>
${f.error ? `<li>exception: ${escapeHtml(f.error)}</li>` : ''}
<li>seed ${f.seed}, ${f.numRuns} runs, fast-check path <code>${escapeHtml(f.path ?? 'n/a')}</code>${f.shard ? `, shard ${f.shard}` : ''}</li>
<li>rerun the batch: <code>${escapeHtml(f.rerun)}</code></li>
${f.file ? `<li>case file: <code>${escapeHtml(f.file)}</code>${f.duplicate ? ' (already there: duplicate dropped)' : ''}</li>` : ''}
${f.replay ? `<li>replay: <code>${escapeHtml(f.replay)}</code></li>` : ''}
${f.caseError ? `<li>no case file: ${escapeHtml(f.caseError)}</li>` : ''}
</ul>${shown ? `<details><summary>case</summary><pre>${escapeHtml(shown)}</pre></details>` : ''}</div>`;
    })
    .join('');
  return `<h2>Findings</h2>${items}`;
}

function controlsHtml(r: Report): string {
  if (!r.negativeControls.length) return '';
  const rows = r.negativeControls
    .map(
      (n) =>
        `<tr><td><code>${escapeHtml(n.fixup)}</code></td><td>${escapeHtml(n.description)}</td><td>${n.caughtBy}</td><td>${badge(n.caught ? 'holds' : 'fails', n.caught ? 'caught' : 'NOT CAUGHT')}</td><td>${escapeHtml(n.reason ?? '–')}${n.caseId ? ` <code>${escapeHtml(n.caseId)}</code>` : ''}</td></tr>`,
    )
    .join('');
  return `<h2>Negative controls</h2><p>Each deliberately broken fixup (properties/brokenFixups.ts) must be caught by the property named for it, with the same seed: evidence that the properties can fail.</p><table><tr><th>broken fixup</th><th>mistake</th><th>caught by</th><th>result</th><th>shrunk counterexample</th></tr>${rows}</table>`;
}

function verdictClass(p: PathResult): string {
  return `v-${p.verdict}`;
}

function matrixHtml(r: Report, s: Summary): string {
  const m = r.matrix;
  const out: string[] = ['<h2>Migration matrix</h2>'];
  out.push(`<p>${escapeHtml(m.description)}.</p>`);
  out.push(
    `<ul><li>source host: ${escapeHtml(m.sourceHost)}; target hosts: PKU = ${escapeHtml(m.targetHosts.pku)}, noPKU = ${escapeHtml(m.targetHosts['no-pku'])}</li><li>${escapeHtml(matrixHostsLine(m))}</li><li>guest models: ${escapeHtml(guestLegend())}</li><li>guest state: ${escapeHtml(m.guestState)}</li><li>fixup in the patched targets: <code>${escapeHtml(m.fixup)}</code></li><li>verdict of a path over its feasible cells: <span class="v-safe">safe</span> = all intact; <span class="v-refused">refused (safe)</span> = some aborted, none hang or lost; <span class="v-unsafe">UNSAFE</span> = some hang or lost. Hatched cells are infeasible (the target host lacks components the guest uses): they fail whatever the kernels do and are left out of verdicts.</li></ul>`,
  );
  out.push(
    `<p class="legend">${(['intact', 'aborted', 'incomplete', 'lost'] as Outcome[]).map((o) => `<span><i class="sw" style="background:${COLORS[o]}"></i>${OUTCOME_SHORT[o]} = ${escapeHtml(OUTCOME_TEXT[o])}</span>`).join('')}</p>`,
  );
  out.push('<h3>Which upgrade paths are safe, with and without the patch</h3>');
  const head = s.groups.map((g) => `<th colspan="2">from ${escapeHtml(groupName(g))}${g.leaky ? ' (leaky)' : ''}</th>`).join('');
  const sub = s.groups.map(() => '<th>without</th><th>with</th>').join('');
  const rows = s.pairs
    .map((p) => {
      const cells = s.groups.map((_g, gi) => {
        const a = p.without.byGroup[gi]!;
        const b = p.with.byGroup[gi]!;
        return `<td class="${verdictClass(a)}">${escapeHtml(verdictDetail(r.matrix, a))}</td><td class="${verdictClass(b)}">${escapeHtml(verdictDetail(r.matrix, b))}</td>`;
      });
      return `<tr><td class="rowh">${escapeHtml(p.kernel)}</td><td>${p.carriesPatch ? 'yes' : 'no'}</td>${cells.join('')}</tr>`;
    })
    .join('');
  out.push(`<table class="matrix"><tr><th class="rowh" rowspan="2">target kernel</th><th rowspan="2">ships the patch</th>${head}</tr><tr>${sub}</tr>${rows}</table>`);
  out.push('<p class="kv">"without" is the upstream kernel as released or a Proxmox kernel with the patch forced off; "with" is a Proxmox kernel as shipped or an upstream kernel with the patch forced on.</p>');

  for (const g of s.groups) {
    out.push(`<h3>Matrix from ${escapeHtml(groupName(g))} ${g.leaky ? '(source leaks PKRU)' : '(source does not leak)'}</h3>`);
    if (g.sources.length > 1) out.push('<p class="kv">These source kernels give identical results in every cell, so they share one table.</p>');
    const hosts = ['PKU host', 'noPKU host'];
    const shown = baseConditionIndices(m); // the base hosts; verdicts cover every host (issue 14 item 6)
    const topHead = hosts.map((h) => `<th colspan="${shown.length / 2}">${h}</th>`).join('');
    const condHead = shown.map((i) => `<th>${escapeHtml(conditionHeader(m.conditions[i]!).split(' ').slice(1).join(' '))}</th>`).join('');
    const paths = m.paths.filter((p) => p.source === g.sources[0]);
    const sepLabel: Record<string, string> = {
      'kernel-default': 'kernels as released / shipped',
      pve: 'upstream kernels with the patch forced on',
      none: 'Proxmox kernels with the patch forced off',
    };
    const body = paths
      .map((p, pi) => {
        const t = m.targets.find((x) => x.kernel === p.target && x.fixup === p.fixup)!;
        const sep = pi === 0 || paths[pi - 1]!.fixup !== p.fixup ? `<tr class="sep"><td colspan="${shown.length + 2}">${sepLabel[p.fixup]}</td></tr>` : '';
        const cells = shown
          .map((i) => [p.outcomes[i]!, i] as const)
          .map(([o, i]) => `<td class="o-${o}${p.feasible[i] ? '' : ' infeasible'}" title="${escapeHtml(`${conditionHeader(m.conditions[i]!)}: ${o}${p.details[i] ? ` (${p.details[i]})` : ''}${p.feasible[i] ? '' : ' — infeasible'}`)}">${OUTCOME_SHORT[o]}</td>`)
          .join('');
        return `${sep}<tr><td class="rowh">${escapeHtml(t.label)}</td>${cells}<td class="rowh ${verdictClass(p)}">${escapeHtml(p.verdict === 'refused' ? 'refused' : p.verdict === 'safe' ? 'safe' : 'UNSAFE')}</td></tr>`;
      })
      .join('');
    out.push(`<table class="matrix"><tr><th class="rowh" rowspan="2">target</th>${topHead}<th rowspan="2">verdict</th></tr><tr>${condHead}</tr>${body}</table>`);
    const problems = paths.filter((p) => p.verdict !== 'safe');
    if (problems.length) {
      out.push(
        `<details><summary>Why the ${problems.length} paths that are not safe fail</summary><ul>${problems
          .map((p) => `<li>${escapeHtml(m.targets.find((x) => x.kernel === p.target && x.fixup === p.fixup)!.label)}: ${escapeHtml(pathProblems(r.matrix, p).join('; '))}</li>`)
          .join('')}</ul></details>`,
      );
    }
  }
  return out.join('\n');
}

function coverageHtml(r: Report): string {
  const cov = r.coverage;
  const rows = PROPERTY_IDS.map((id) => {
    const p = cov.byProperty[id];
    return `<tr><td>${id}</td><td class="num">${fmtInt(p.cases)}</td><td class="num">${fmtInt(p.batches)}</td><td class="num">${Object.keys(p.classes).length}</td></tr>`;
  }).join('');
  const io = cov.ioctl;
  return `<h2>Coverage</h2><p>${fmtInt(cov.cases)} scenarios in ${fmtInt(cov.batches)} batches.</p>
<table><tr><th>property</th><th class="num">scenarios</th><th class="num">batches</th><th class="num">classes</th></tr>${rows}</table>
<table><tr><th>KVM_SET_XSAVE buffer class (P1, P3, P4)</th><th>meaning</th><th class="num">scenarios</th></tr>
<tr><td>valid</td><td>XSTATE_BV ⊆ guest-supported XCR0 ∪ {x87, SSE}</td><td class="num">${fmtInt(io.valid)}</td></tr>
<tr><td>leaked</td><td>valid plus only the PKRU bit, on a vCPU whose CPUID does not offer PKRU</td><td class="num">${fmtInt(io.leaked)}</td></tr>
<tr><td>other</td><td>any other XSTATE_BV</td><td class="num">${fmtInt(io.other)}</td></tr>
<tr><td>rejected</td><td>of all three: refused by the kernel without the fixup</td><td class="num">${fmtInt(io.rejected)}</td></tr></table>`;
}

function environmentHtml(r: Report): string {
  const e = r.environment;
  const run = r.run;
  const items: string[] = [];
  items.push(`node: ${escapeHtml(e.node)}${e.platform ? ` on ${escapeHtml(`${e.platform}/${e.arch}, ${e.cpus} CPUs, host kernel ${e.osRelease}`)}` : ''}`);
  items.push(`packages: ${escapeHtml(Object.entries(e.packages).map(([k, v]) => `${k} ${v}`).join(', '))}`);
  items.push(`harness: xsave-harness ${escapeHtml(e.harnessVersion)}, backend ${run.backend}`);
  items.push(`seed: ${run.seedText !== undefined ? `${escapeHtml(run.seedText)} (fast-check seed ${run.seed})` : run.seed} (${run.seedSource === 'date' ? 'from the UTC date' : run.seedSource === 'fixed' ? 'fixed for the review' : 'given with --seed'})${run.shard ? `, shard ${run.shard.index}/${run.shard.count}` : ''}`);
  items.push(`fixup: ${escapeHtml(run.fixup.name)}${run.fixup.path ? ` (${escapeHtml(run.fixup.path)})` : ' (built-in Proxmox patch)'}`);
  if (run.workers !== null) items.push(`workers: ${run.workers}, ${run.batchRuns} runs per batch${run.budgetSeconds !== null ? `, budget ${run.budgetSeconds} s` : ''}`);
  else items.push(`${run.batchRuns} runs per batch, in one process`);
  if (run.stopReason) items.push(`stopped: ${escapeHtml(run.stopReason)}`);
  if (run.timing) items.push(`timing: ${escapeHtml(`${run.timing.startedAt} → ${run.timing.finishedAt}, ${run.timing.elapsedSeconds} s, ${fmtInt(run.timing.casesPerSecond)} scenarios/s`)}`);
  items.push(`running kernel: ${e.runningKernel ? escapeHtml(`${e.runningKernel.release} (${e.runningKernel.variant})`) : 'not probed (the real-KVM backend is not part of this report)'}`);
  if (r.shards) items.push(`shards: ${r.shards.count}; present ${r.shards.present.join(', ') || 'none'}; missing ${r.shards.missing.join(', ') || 'none'}`);
  return `<h2>Environment</h2><ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>`;
}

export function renderHtml(r: Report): string {
  const title = reportTitle(r);
  const s = summarise(r);
  const failing = r.claims.some((c) => c.result === 'fails') || r.findings.length > 0;
  const banner = r.partial
    ? `<div class="banner warn">Partial report: ${escapeHtml(r.partialReasons.join('; '))}</div>`
    : failing
      ? `<div class="banner bad">${s.claimsFail} claim(s) fail, ${r.findings.length} finding(s)</div>`
      : `<div class="banner ok">Every claim that was checked holds (${s.claimsHold} of ${r.claims.length}; ${s.claimsNotRun} not run)</div>`;
  const problems = r.verification ? verificationProblems(r.verification) : [];
  const verificationBanner = problems.length ? `<div class="banner bad">${problems.map((p) => inline(p)).join('<br>')}</div>` : '';
  const cov = r.coverage;
  const charts = [
    barChart(
      'Scenarios checked per property',
      PROPERTY_IDS.map((id) => ({ label: id, value: cov.byProperty[id].cases })),
    ),
    stackedBar(
      'KVM_SET_XSAVE buffers by class (P1, P3, P4)',
      [
        { label: 'valid', value: cov.ioctl.valid, color: '#2e7d32' },
        { label: 'leaked', value: cov.ioctl.leaked, color: '#ef8f00' },
        { label: 'other', value: cov.ioctl.other, color: '#5c6bc0' },
      ],
      `${fmtInt(cov.ioctl.rejected)} of ${fmtInt(cov.ioctl.cases)} refused by the kernel without the fixup`,
    ),
    patchChart(s),
  ].join('');
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="sub">report schema ${escapeHtml(r.schema)}, kind ${r.kind}, seed ${r.run.seedText !== undefined ? escapeHtml(r.run.seedText) : r.run.seed}, fixup <code>${escapeHtml(r.run.fixup.name)}</code></p>`,
    banner,
    verificationBanner,
    '<h2>Decision summary</h2>',
    `<ul>${s.headline.map((h) => `<li>${inline(h)}</li>`).join('')}</ul>`,
    `<div class="charts">${charts}</div>`,
    claimsTableHtml(r),
    findingsHtml(r),
    matrixHtml(r, s),
    claimDetailsHtml(r),
    controlsHtml(r),
    r.verification ? verificationHtml(r.verification) : '',
    r.realKernels ? blocksHtml(realKernelsBlocks(r.realKernels), escapeHtml, inline) : '',
    r.lifecycle ? blocksHtml(lifecycleBlocks(r.lifecycle), escapeHtml, inline) : '',
    coverageHtml(r),
    r.decisionSpace ? blocksHtml(decisionSpaceBlocks(r.decisionSpace), escapeHtml, inline) : '',
    r.errors.length ? `<h2>Errors</h2><ul>${r.errors.map((e) => `<li>${escapeHtml(e)}</li>`).join('')}</ul>` : '',
    environmentHtml(r),
    `<h2>Reproduce</h2><ul>${reproduceLines(r).map((l) => `<li>${inline(l)}</li>`).join('')}</ul>`,
  ].join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
