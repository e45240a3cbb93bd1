// The "When can the patch be dropped?" section: written once as blocks, printed in Markdown and
// HTML; the answer follows the rows (all unsafe, all safe, or mixed) and L1's result.
import { ReportDocument, fromFlatBlocks } from './document';
import { htmlOf } from './html';
import { markdownOf } from './markdown';
import { LifecycleDropRow, LifecycleSection, lifecycleBlocks } from './lifecycle';

const row = (release: string, unsafe: boolean): LifecycleDropRow => ({
  release,
  title: release.replace('pve', 'PVE '),
  verdict: unsafe ? 'unsafe' : 'safe-to-depth',
  depth: 9,
  steps: unsafe ? 3 : null,
  story: unsafe ? ['1. create a qemu64 VM on node1', '2. upgrade node2', '3. live-migrate it to node2 → guest state lost'] : null,
  failure: unsafe ? 'migrate on k, h → lost' : null,
  caseFile: unsafe ? `corpus/lifecycle/lifecycle.drop-at-${release}.x.json` : null,
  replay: unsafe ? `npx xsave-harness replay corpus/lifecycle/lifecycle.drop-at-${release}.x.json` : null,
});

const section = (rows: LifecycleDropRow[], l1 = true): LifecycleSection => ({
  command: 'npx xsave-harness lifecycle --table --depth 9',
  depth: 9,
  nodes: 2,
  hosts: ['icelake-sp', 'haswell'],
  cpuModels: ['qemu64'],
  firstRelease: 'PVE 7.4',
  upgrades: ['PVE 7.4 → PVE 8.0'],
  l1: { holds: l1, states: 1234, story: l1 ? null : ['1. a failing story'], randomLives: 300, seed: 1 },
  notCounted: { story: ['1. within 7.4'], why: 'UNCONFIRMED leak' },
  rows,
  assumptions: ['an assumption'],
  unconfirmed: ['pve-5.15: inferred'],
});

// the section as the review prints it: its blocks joined to the report document (report/document.ts)
const doc = (s: LifecycleSection): ReportDocument => ({ title: 'review', subtitle: null, generatedNote: null, status: [], children: [fromFlatBlocks(lifecycleBlocks(s))] });
const md = (s: LifecycleSection) => markdownOf(doc(s));

test('all releases unsafe: the answer says so, with one table row and one story per release and the replay commands', () => {
  const text = md(section([row('pve8.0', true), row('pve9.0', true)]));
  expect(text).toContain('## When can the patch be dropped?');
  expect(text).toMatch(/Answer: At no release/);
  expect(text).toMatch(/^\| PVE 8\.0 \| unsafe \| 3 steps \|/m);
  expect(text).toContain('### Dropped at PVE 9.0: 3 steps');
  expect(text).toContain('`npx xsave-harness replay corpus/lifecycle/lifecycle.drop-at-pve9.0.x.json`');
  expect(text).toContain('No failing sequence up to depth 9 (1234 distinct states');
  expect(text).toContain('UNCONFIRMED statements these verdicts rest on');
  expect(text).toContain('- pve-5.15: inferred');
});

test('mixed rows name the safe releases with the bound; a failing L1 is reported as such', () => {
  const text = md(section([row('pve8.0', true), row('pve9.0', false)], false));
  expect(text).toMatch(/Unsafe at PVE 8\.0; no failing sequence up to depth 9 at PVE 9\.0/);
  expect(text).toMatch(/^\| PVE 9\.0 \| safe up to depth 9 \| — \|/m);
  expect(text).toContain('L1 FAILS: 1. a failing story');
  expect(md(section([row('pve8.0', false)]))).toMatch(/Answer: At any release, as far as searched/);
});

test('the HTML rendering prints the same blocks', () => {
  const html = htmlOf(doc(section([row('pve8.0', true)])));
  expect(html).toContain('<h2>When can the patch be dropped?</h2>');
  expect(html).toContain('<td>PVE 8.0</td><td>unsafe</td>');
  expect(html).toContain('<li>3. live-migrate it to node2 → guest state lost</li>');
});
