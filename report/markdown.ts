// The Markdown renderer of the report document (report/document.ts): REVIEW.md, `matrix`'s output.
// It knows the format only; what a report says is decided once, in report/reviewDocument.ts.
import type { MigrationMatrix } from '../properties/matrix';
import { Block, CellLike, Inline, ReportDocument, Table, cellOf } from './document';
import type { Report } from './report';
import { matrixDocument, reviewDocument } from './reviewDocument';

function inlineMd(t: Inline): string {
  if (typeof t === 'string') return t;
  return t
    .map((p) => {
      if (typeof p === 'string') return p;
      if (!p.code) return '(empty)';
      return p.code.includes('`') ? `\`\` ${p.code} \`\`` : `\`${p.code}\``;
    })
    .join('');
}

/** A table cell: one line, pipes escaped. */
function cellMd(like: CellLike): string {
  const c = cellOf(like);
  const text = inlineMd(c.text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return c.strong ? `**${text}**` : text;
}

function tableMd(t: Table, out: string[]): void {
  out.push(`| ${t.head.map(cellMd).join(' | ')} |`);
  out.push(`|${t.head.map((_h, i) => ({ left: '---', right: '---:', center: ':---:' })[t.align?.[i] ?? 'left']).join('|')}|`);
  for (const r of t.rows) if (Array.isArray(r)) out.push(`| ${r.map(cellMd).join(' | ')} |`);
  out.push('');
}

function blockMd(b: Block, depth: number, out: string[]): void {
  switch (b.kind) {
    case 'section':
      out.push(`${'#'.repeat(depth + 1)} ${inlineMd(b.title)}`, '');
      for (const c of b.children) blockMd(c, depth + 1, out);
      return;
    case 'paragraph':
      out.push(inlineMd(b.text), '');
      return;
    case 'list':
      out.push(...b.items.map((i) => `- ${inlineMd(i).replace(/\n/g, ' ')}`), '');
      return;
    case 'table':
      tableMd(b, out);
      return;
    case 'code':
      out.push(`\`\`\`${b.lang ?? ''}`, b.text, '```', '');
      return;
    case 'banner':
      out.push(b.lead ? `> **${b.lead}** ${inlineMd(b.text)}` : `> **${inlineMd(b.text)}**`, '');
      return;
    case 'details':
      out.push(inlineMd(b.summary), '');
      for (const c of b.children) blockMd(c, depth, out);
      return;
    case 'chart':
    case 'charts':
    case 'legend':
      // pictures of numbers the tables already give
      return;
  }
}

/** One section's Markdown lines (a table printed on the terminal by `check` and `fuzz`). */
export function sectionMarkdown(section: Block, depth = 1): string[] {
  const out: string[] = [];
  blockMd(section, depth, out);
  return out;
}

/** `depth`: the heading level of the top sections minus one (2: they are ###). */
export function markdownOf(doc: ReportDocument, depth = 1): string {
  const out: string[] = [`# ${doc.title}`, ''];
  if (doc.generatedNote) out.push(`<!-- ${doc.generatedNote} -->`, '');
  for (const b of doc.children) blockMd(b, depth, out);
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

export function renderMarkdown(r: Report): string {
  return markdownOf(reviewDocument(r));
}

/** The matrix alone (what `xsave-harness matrix` prints). */
export function matrixMarkdown(m: MigrationMatrix): string {
  // its sections keep the level they have inside the review (###), as before the document tree
  return markdownOf(matrixDocument(m), 2);
}
