// Writing a report's three files: report.json, REVIEW.md and review.html (atomically each).
import * as path from 'node:path';
import { writeFileAtomic } from '../cases/files';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';
import { Report, reportJson } from './report';

export const REPORT_FILES = { json: 'report.json', markdown: 'REVIEW.md', html: 'review.html' } as const;

export interface RenderedReport {
  json: string;
  markdown: string;
  html: string;
}

export function renderReport(r: Report): RenderedReport {
  return { json: reportJson(r), markdown: renderMarkdown(r), html: renderHtml(r) };
}

/** Write the three files into `dir`; returns their paths. */
export function writeReport(dir: string, r: Report): { json: string; markdown: string; html: string } {
  const out = renderReport(r);
  const files = { json: path.join(dir, REPORT_FILES.json), markdown: path.join(dir, REPORT_FILES.markdown), html: path.join(dir, REPORT_FILES.html) };
  writeFileAtomic(files.json, out.json);
  writeFileAtomic(files.markdown, out.markdown);
  writeFileAtomic(files.html, out.html);
  return files;
}
