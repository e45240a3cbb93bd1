// The report document (report/document.ts) is built once and printed twice: the two renderers
// must say the same thing. Every paragraph, list item, table cell and heading of the review's
// document appears, as text, in both REVIEW.md and review.html.
import { generateReview } from '../cli/review/generate';
import { Block, ReportDocument, cellOf, fromFlatBlocks, plainText } from '../report/document';
import { htmlOf } from '../report/html';
import { markdownOf } from '../report/markdown';
import { reviewDocument } from '../report/reviewDocument';

const review = generateReview({ batches: 1, batchRuns: 20, controls: true });

/** Every piece of text of the document that both formats must show (charts and legends are pictures). */
function texts(blocks: readonly Block[], html: boolean, out: string[] = []): string[] {
  for (const b of blocks) {
    if (b.kind === 'section') {
      out.push(plainText(b.title));
      texts(b.children, html, out);
    } else if (b.kind === 'paragraph' || b.kind === 'banner') out.push(plainText(b.text));
    else if (b.kind === 'list') out.push(...b.items.map(plainText));
    else if (b.kind === 'table') {
      // a column under a group heading: HTML shows the group's label and the column's short label, Markdown its full label
      if (html) out.push(...(b.groups ?? []).map((g) => plainText(g.label)));
      out.push(...b.head.map((c) => plainText((html ? cellOf(c).short : undefined) ?? cellOf(c).text)));
      for (const r of b.rows) if (Array.isArray(r)) out.push(...r.map((c) => plainText(cellOf(c).text)));
    } else if (b.kind === 'details') {
      out.push(plainText(b.summary));
      texts(b.children, html, out);
    } else if (b.kind === 'code') out.push(b.text);
  }
  return out.filter((t) => t.trim() !== '');
}

const unHtml = (s: string): string =>
  s
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
const unMd = (s: string): string => s.replace(/\*\*/g, '').replace(/`/g, '').replace(/\\\|/g, '|');

test('REVIEW.md and review.html show every text of the one document', () => {
  const doc = reviewDocument(review);
  const md = unMd(markdownOf(doc));
  const html = unHtml(htmlOf(doc));
  expect(texts(doc.children, false).length).toBeGreaterThan(200);
  const missing = (rendered: string, isHtml: boolean): string[] => texts(doc.children, isHtml).filter((t) => !rendered.includes(t.replace(/\n/g, ' ')) && !rendered.includes(t));
  expect(missing(md, false)).toEqual([]);
  expect(missing(html, true)).toEqual([]);
});

test('negative control: a text only one renderer prints is caught', () => {
  const doc: ReportDocument = { title: 't', subtitle: null, generatedNote: null, status: [], children: [{ kind: 'paragraph', text: 'only in the tree' }] };
  const html = unHtml(htmlOf(doc)).replace('only in the tree', '');
  expect(texts(doc.children, true).filter((t) => !html.includes(t))).toEqual(['only in the tree']);
});

test('each block kind has its Markdown and HTML form', () => {
  const doc: ReportDocument = {
    title: 'T',
    subtitle: 'sub `x`',
    generatedNote: 'generated',
    status: [{ kind: 'banner', tone: 'ok', text: 'fine' }],
    children: [
      {
        kind: 'section',
        title: 'S',
        id: 's',
        children: [
          { kind: 'paragraph', text: 'a `b` **c**' },
          { kind: 'list', items: ['one', [{ code: 'x`y' }]] },
          { kind: 'table', head: ['h1', 'h2'], align: ['left', 'right'], rows: [['a|b', { text: 'c', strong: true }], { separator: 'group' }] },
          { kind: 'code', lang: 'json', text: '{}', summary: 'case' },
          { kind: 'banner', tone: 'warn', lead: 'Note:', text: 'careful' },
          { kind: 'details', summary: 'more `here`:', children: [{ kind: 'paragraph', text: 'inside' }] },
          { kind: 'section', title: 'Box', style: 'box', children: [] },
        ],
      },
    ],
  };
  expect(markdownOf(doc)).toBe(
    [
      '# T',
      '',
      '<!-- generated -->',
      '',
      '## S',
      '',
      'a `b` **c**',
      '',
      '- one',
      '- `` x`y ``',
      '',
      '| h1 | h2 |',
      '|---|---:|',
      '| a\\|b | **c** |',
      '',
      '```json',
      '{}',
      '```',
      '',
      '> **Note:** careful',
      '',
      'more `here`:',
      '',
      'inside',
      '',
      '### Box',
      '',
    ].join('\n'),
  );
  const html = htmlOf(doc);
  expect(html).toContain('<h2 id="s">S</h2>');
  expect(html).toContain('<p>a <code>b</code> <strong>c</strong></p>');
  expect(html).toContain('<li><code>x`y</code></li>');
  expect(html).toContain('<tr><td>a|b</td><td class="num"><strong>c</strong></td></tr><tr class="sep"><td colspan="2">group</td></tr>');
  expect(html).toContain('<details><summary>case</summary><pre>{}</pre></details>');
  expect(html).toContain('<div class="banner warn"><strong>Note:</strong> careful</div>');
  expect(html).toContain('<details><summary>more here:</summary><p>inside</p></details>');
  expect(html).toContain('<div class="claim"><h3>Box</h3>');
  expect(html).toContain('<div class="banner ok">fine</div>');
});

test('a section written as flat blocks joins the document: first heading the section, later ones subsections', () => {
  const s = fromFlatBlocks([{ h: 'Top' }, { p: 'intro' }, { table: { head: ['a', 'b'], rows: [['1', '2|3']] } }, { h: 'Sub' }, { ul: ['x', 'y'] }, { p: 'last' }]);
  const doc: ReportDocument = { title: 'T', subtitle: null, generatedNote: null, status: [], children: [s] };
  expect(markdownOf(doc)).toBe(['# T', '', '## Top', '', 'intro', '', '| a | b |', '|---|---|', '| 1 | 2\\|3 |', '', '### Sub', '', '- x', '- y', '', 'last', ''].join('\n'));
  expect(htmlOf(doc)).toContain('<h2>Top</h2>\n<p>intro</p>\n<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2|3</td></tr></table>\n<h3>Sub</h3>\n<ul><li>x</li><li>y</li></ul>\n<p>last</p>');
});
