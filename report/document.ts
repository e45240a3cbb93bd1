// The report document: one typed tree built once from report.json (report/reviewDocument.ts) and
// printed by two small renderers, report/markdown.ts and report/html.ts. Before issue 12 each
// section was written twice by hand, once per format, and the two copies drifted apart.
//
// Text is "inline": a string in which `code` and **bold** are the only markup (both renderers
// understand them), or a list of parts when a code span may itself hold backticks. Everything
// else in a node is content; the few presentation hints (`tone`, `class`, `collapsible`) are
// honoured by the HTML renderer and ignored by the Markdown one.

export type InlinePart = string | { code: string };
export type Inline = string | InlinePart[];

export interface Cell {
  text: Inline;
  /** HTML class of the cell (outcome colours, kill-matrix shading, …) */
  class?: string;
  /** HTML tooltip */
  title?: string;
  /** a link target inside the page ("#claim-P1"); the HTML renderer makes the text a link */
  href?: string;
  /** shorter label under a column group (HTML's two-row head); Markdown prints `text` */
  short?: string;
  /** stressed: bold in Markdown; in HTML the cell's class shows it (bold when it has none) */
  strong?: boolean;
  /** HTML: the text sits in a badge of this kind (holds, fails, not-run) */
  badge?: 'holds' | 'fails' | 'not-run';
}
export type CellLike = Inline | Cell;

export type Align = 'left' | 'right' | 'center';

export interface Table {
  kind: 'table';
  head: CellLike[];
  rows: Array<CellLike[] | { separator: string }>;
  /** per column; default left */
  align?: Align[];
  /** HTML: columns gathered under one heading (their cells show `short`); Markdown prints the flat head */
  groups?: Array<{ from: number; span: number; label: string }>;
  class?: string;
}

export interface Section {
  kind: 'section';
  title: Inline;
  /** anchor in the HTML page */
  id?: string;
  /** 'box': a framed card (claims, findings); 'collapsed' / 'open': HTML <details>, Markdown a heading */
  style?: 'box' | 'collapsed' | 'open';
  children: Block[];
}

export interface Paragraph {
  kind: 'paragraph';
  text: Inline;
  tone?: 'muted';
}

export interface List {
  kind: 'list';
  items: Inline[];
}

export interface Code {
  kind: 'code';
  text: string;
  lang?: string;
  /** HTML: the code sits folded under this summary */
  summary?: string;
}

/** A statement that must not be missed (a stale kill matrix, a changed source file). */
export interface Banner {
  kind: 'banner';
  tone: 'ok' | 'bad' | 'warn';
  text: Inline;
  /** a bold lead-in ("Note:"); without one the whole text is bold in Markdown */
  lead?: string;
}

/** Folded content: the summary is a paragraph in Markdown and plain text in HTML's <summary>. */
export interface Details {
  kind: 'details';
  summary: Inline;
  children: Block[];
}

export interface Chart {
  kind: 'chart';
  chart:
    | { type: 'bars'; title: string; rows: Array<{ label: string; value: number }> }
    | { type: 'stacked'; title: string; parts: Array<{ label: string; value: number; color: string }>; note: string }
    | { type: 'patch'; title: string; rows: Array<{ label: string; without: OutcomeCounts; with: OutcomeCounts }> };
}

export interface OutcomeCounts {
  intact: number;
  aborted: number;
  incomplete: number;
  lost: number;
}

/** Colour swatches (HTML); Markdown says the same in words elsewhere and skips it. */
export interface Legend {
  kind: 'legend';
  items: Array<{ color: string; label: string }>;
}

/** Charts side by side (HTML); Markdown skips charts: their numbers are in the tables. */
export interface Charts {
  kind: 'charts';
  charts: Chart[];
}

export type Block = Section | Paragraph | List | Table | Code | Banner | Details | Chart | Charts | Legend;

export interface ReportDocument {
  title: string;
  /** a line under the title (HTML) */
  subtitle: Inline | null;
  /** an HTML comment / Markdown comment saying the file is generated */
  generatedNote: string | null;
  /** the verdict in one line each, as coloured banners (HTML); Markdown states it in the decision summary */
  status: Banner[];
  children: Block[];
}

export const section = (title: Inline, children: Block[], extra: Partial<Omit<Section, 'kind' | 'title' | 'children'>> = {}): Section => ({ kind: 'section', title, ...extra, children });
export const para = (text: Inline, tone?: 'muted'): Paragraph => (tone ? { kind: 'paragraph', text, tone } : { kind: 'paragraph', text });
export const list = (items: Inline[]): List => ({ kind: 'list', items });

/** Inline text as plain characters (markup dropped): HTML summaries, tooltips. */
export function plainText(t: Inline): string {
  if (typeof t !== 'string') return t.map((p) => (typeof p === 'string' ? plainText(p) : p.code)).join('');
  return t.replace(/`([^`]+)`/g, '$1').replace(/\*\*([^*]+)\*\*/g, '$1');
}

export function cellOf(c: CellLike): Cell {
  return typeof c === 'object' && !Array.isArray(c) ? c : { text: c };
}

/**
 * A section written as a flat list, the form of report/blocks.ts before the tree: the first
 * heading names the section, each later heading opens a subsection. Such a section joins the
 * document through fromFlatBlocks, so its code need not change.
 */
export type FlatBlock = { h: string } | { p: string } | { ul: string[] } | { table: { head: string[]; rows: string[][] } };

export function fromFlatBlocks(blocks: readonly FlatBlock[]): Section {
  const [first, ...rest] = blocks;
  const top = section(first && 'h' in first ? first.h : '', []);
  let into = top.children;
  for (const b of first && 'h' in first ? rest : blocks) {
    if ('h' in b) {
      const sub = section(b.h, []);
      top.children.push(sub);
      into = sub.children;
    } else if ('p' in b) into.push(para(b.p));
    else if ('ul' in b) into.push(list(b.ul));
    else into.push({ kind: 'table', head: b.table.head, rows: b.table.rows });
  }
  return top;
}
