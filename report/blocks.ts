/** The two renderings of a section written as blocks (report/realKernels.ts). */
import type { Block } from './realKernels';

const md = (s: string): string => s.replace(/\|/g, '\\|');

export function blocksMarkdown(blocks: readonly Block[], level = 2): string[] {
  const out: string[] = [];
  let first = true;
  for (const b of blocks) {
    if ('h' in b) {
      out.push(`${'#'.repeat(first ? level : level + 1)} ${b.h}`, '');
      first = false;
    } else if ('p' in b) out.push(b.p, '');
    else if ('ul' in b) out.push(...b.ul.map((x) => `- ${x}`), '');
    else {
      out.push(`| ${b.table.head.map(md).join(' | ')} |`, `|${b.table.head.map(() => '---').join('|')}|`);
      for (const r of b.table.rows) out.push(`| ${r.map(md).join(' | ')} |`);
      out.push('');
    }
  }
  return out;
}

export function blocksHtml(blocks: readonly Block[], esc: (s: string) => string, inline: (s: string) => string): string {
  let first = true;
  return blocks
    .map((b) => {
      if ('h' in b) {
        const tag = first ? 'h2' : 'h3';
        first = false;
        return `<${tag}>${esc(b.h)}</${tag}>`;
      }
      if ('p' in b) return `<p>${inline(b.p)}</p>`;
      if ('ul' in b) return `<ul>${b.ul.map((x) => `<li>${inline(x)}</li>`).join('')}</ul>`;
      const head = `<tr>${b.table.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
      const rows = b.table.rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('');
      return `<table>${head}${rows}</table>`;
    })
    .join('\n');
}
