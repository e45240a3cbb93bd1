// docs/releases.md holds the catalogue rendered from model/releases.ts between two markers;
// this keeps the document and the data equal. Regenerate with
//   UPDATE_RELEASES_DOC=1 npx jest test/releases-doc.test.ts
import * as fs from 'fs';
import * as path from 'path';
import { RELEASES, UPGRADES } from '../model/releases';
import { releasesMarkdown } from '../report/releasesTable';

const DOC = path.join(__dirname, '..', 'docs', 'releases.md');
const BEGIN = '<!-- generated from model/releases.ts: begin -->\n';
const END = '<!-- generated from model/releases.ts: end -->';

function generatedPart(text: string): string {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${DOC}: markers "${BEGIN.trim()}" … "${END}" missing`);
  return text.slice(a + BEGIN.length, b);
}

test('docs/releases.md shows the catalogue as model/releases.ts has it', () => {
  const text = fs.readFileSync(DOC, 'utf8');
  const want = releasesMarkdown(RELEASES, UPGRADES);
  if (process.env.UPDATE_RELEASES_DOC === '1' && generatedPart(text) !== want) {
    fs.writeFileSync(DOC, text.replace(BEGIN + generatedPart(text), BEGIN + want));
  }
  expect(generatedPart(fs.readFileSync(DOC, 'utf8'))).toBe(want);
});

test('the rendering follows the data: a changed QEMU shows up (negative control)', () => {
  const changed = RELEASES.map((r) => (r.id === 'pve9.0' ? { ...r, qemu: 'qemu-7.2' } : r));
  const md = releasesMarkdown(changed, UPGRADES);
  expect(md).not.toBe(releasesMarkdown(RELEASES, UPGRADES));
  expect(md).toMatch(/\| pve9\.0 \|[^\n]*\| qemu-7\.2 \| ignore \|/);
});
