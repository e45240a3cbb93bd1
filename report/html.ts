// The HTML renderer of the report document (report/document.ts): review.html, one self-contained
// page (inline CSS, inline SVG charts, no scripts, no external resources: it must render offline,
// e.g. as a CI artifact). It knows the format only; what a report says is decided once, in
// report/reviewDocument.ts.
import { Block, Cell, Chart, Inline, OutcomeCounts, ReportDocument, Table, cellOf, plainText } from './document';
import type { Report } from './report';
import { reviewDocument } from './reviewDocument';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The little Markdown the document's text uses: `code` and **bold**. */
function inline(t: Inline): string {
  if (typeof t !== 'string') return t.map((p) => (typeof p === 'string' ? inline(p) : `<code>${escapeHtml(p.code)}</code>`)).join('');
  return escapeHtml(t)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

type Outcome = keyof OutcomeCounts;
const OUTCOME_COLORS: Record<Outcome, string> = { intact: '#2e7d32', aborted: '#ef8f00', incomplete: '#c62828', lost: '#6a1b9a' };

/** Thousands separated (the charts' labels). */
const fmtInt = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

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
.claim h3, .claim h4 { margin: 0 0 6px; }
.kv { color: var(--muted); }
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

const OUTCOMES: Outcome[] = ['intact', 'aborted', 'incomplete', 'lost'];

/** Per row two stacked bars of outcome counts: without and with the patch. */
function patchChart(title: string, rows: Array<{ label: string; without: OutcomeCounts; with: OutcomeCounts }>): string {
  const rowH = 30;
  const labelW = 130;
  const barW = 150;
  const gap = 40;
  const width = labelW + 2 * barW + gap + 20;
  const h = 34 + rows.length * rowH + 26;
  const bar = (counts: OutcomeCounts, x: number, y: number): string => {
    const total = Math.max(1, counts.intact + counts.aborted + counts.incomplete + counts.lost);
    let off = 0;
    return OUTCOMES.map((o) => {
      const w = (counts[o] / total) * barW;
      const rect = w > 0 ? `<rect x="${(x + off).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${OUTCOME_COLORS[o]}"><title>${o}: ${counts[o]}</title></rect>` : '';
      off += w;
      return rect;
    }).join('');
  };
  const body = rows
    .map((r, i) => {
      const y = 34 + i * rowH;
      return `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeHtml(r.label)}</text>${bar(r.without, labelW, y)}${bar(r.with, labelW + barW + gap, y)}`;
    })
    .join('');
  const head = `<text x="${labelW + barW / 2}" y="20" text-anchor="middle" font-size="12" font-weight="600">without the patch</text><text x="${labelW + barW + gap + barW / 2}" y="20" text-anchor="middle" font-size="12" font-weight="600">with the patch</text>`;
  const ly = 34 + rows.length * rowH + 8;
  const legend = OUTCOMES.map((o, i) => `<rect x="${labelW + i * 85}" y="${ly}" width="11" height="11" fill="${OUTCOME_COLORS[o]}"/><text x="${labelW + 15 + i * 85}" y="${ly + 10}" font-size="12">${o}</text>`).join('');
  return `<div class="chart"><h3>${escapeHtml(title)}</h3><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" role="img" aria-label="${escapeHtml(title)}">${head}${body}${legend}</svg></div>`;
}

function chartHtml(c: Chart['chart']): string {
  if (c.type === 'bars') return barChart(c.title, c.rows);
  if (c.type === 'stacked') return stackedBar(c.title, c.parts, c.note);
  return patchChart(c.title, c.rows);
}

// ---- blocks ---------------------------------------------------------------------------------

// centred columns are the matrix's, which its CSS centres
const ALIGN_CLASS = { left: '', right: 'num', center: '' } as const;

function cellHtml(tag: 'td' | 'th', c: Cell, align: 'left' | 'right' | 'center', text: Inline = c.text, extra = ''): string {
  const cls = [ALIGN_CLASS[align], c.class ?? ''].filter(Boolean).join(' ');
  const stressed = c.strong && !c.class ? `<strong>${inline(text)}</strong>` : inline(text);
  const shown = c.badge ? `<span class="badge ${c.badge}">${stressed}</span>` : stressed;
  const body = c.href ? `<a href="${escapeHtml(c.href)}">${shown}</a>` : shown;
  return `<${tag}${cls ? ` class="${cls}"` : ''}${c.title ? ` title="${escapeHtml(c.title)}"` : ''}${extra}>${body}</${tag}>`;
}

function tableHtml(t: Table): string {
  const align = (i: number): 'left' | 'right' | 'center' => t.align?.[i] ?? 'left';
  const head = t.head.map(cellOf);
  let thead: string;
  if (t.groups?.length) {
    const top: string[] = [];
    const sub: string[] = [];
    for (let i = 0; i < head.length; ) {
      const g = t.groups.find((x) => x.from === i);
      if (g) {
        top.push(`<th colspan="${g.span}">${inline(g.label)}</th>`);
        for (let j = i; j < i + g.span; j++) sub.push(cellHtml('th', head[j]!, align(j), head[j]!.short ?? head[j]!.text));
        i += g.span;
      } else {
        top.push(cellHtml('th', head[i]!, align(i), head[i]!.text, ' rowspan="2"'));
        i++;
      }
    }
    thead = `<tr>${top.join('')}</tr><tr>${sub.join('')}</tr>`;
  } else thead = `<tr>${head.map((h, i) => cellHtml('th', h, align(i))).join('')}</tr>`;
  const rows = t.rows
    .map((r) => (Array.isArray(r) ? `<tr>${r.map((c, i) => cellHtml('td', cellOf(c), align(i))).join('')}</tr>` : `<tr class="sep"><td colspan="${head.length}">${inline(r.separator)}</td></tr>`))
    .join('');
  return `<table${t.class ? ` class="${t.class}"` : ''}>${thead}${rows}</table>`;
}

function blockHtml(b: Block, depth: number): string {
  switch (b.kind) {
    case 'section': {
      const inner = b.children.map((c) => blockHtml(c, depth + 1)).join('\n');
      const h = `h${Math.min(depth + 1, 6)}`;
      const id = b.id ? ` id="${escapeHtml(b.id)}"` : '';
      if (b.style === 'box') return `<div class="claim"${id}><${h}>${inline(b.title)}</${h}>\n${inner}</div>`;
      if (b.style === 'collapsed' || b.style === 'open') return `<details${id}${b.style === 'open' ? ' open' : ''}><summary>${inline(b.title)}</summary>\n${inner}</details>`;
      return `<${h}${id}>${inline(b.title)}</${h}>\n${inner}`;
    }
    case 'paragraph':
      return `<p${b.tone === 'muted' ? ' class="kv"' : ''}>${inline(b.text)}</p>`;
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`;
    case 'table':
      return tableHtml(b);
    case 'code':
      return b.summary ? `<details><summary>${escapeHtml(b.summary)}</summary><pre>${escapeHtml(b.text)}</pre></details>` : `<pre>${escapeHtml(b.text)}</pre>`;
    case 'banner':
      return `<div class="banner ${b.tone}">${b.lead ? `<strong>${escapeHtml(b.lead)}</strong> ` : ''}${inline(b.text)}</div>`;
    case 'details':
      return `<details><summary>${escapeHtml(plainText(b.summary))}</summary>${b.children.map((c) => blockHtml(c, depth)).join('')}</details>`;
    case 'chart':
      return chartHtml(b.chart);
    case 'charts':
      return `<div class="charts">${b.charts.map((c) => chartHtml(c.chart)).join('')}</div>`;
    case 'legend':
      return `<p class="legend">${b.items.map((i) => `<span><i class="sw" style="background:${escapeHtml(i.color)}"></i>${inline(i.label)}</span>`).join('')}</p>`;
  }
}

export function htmlOf(doc: ReportDocument): string {
  const body = [
    `<h1>${escapeHtml(doc.title)}</h1>`,
    doc.subtitle !== null ? `<p class="sub">${inline(doc.subtitle)}</p>` : '',
    ...doc.status.map((b) => blockHtml(b, 1)),
    ...doc.children.map((b) => blockHtml(b, 1)),
  ]
    .filter(Boolean)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.title)}</title>${doc.generatedNote ? `\n<!-- ${escapeHtml(doc.generatedNote)} -->` : ''}
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

export function renderHtml(r: Report): string {
  return htmlOf(reviewDocument(r));
}
