// `xsave-harness lifecycle`: exit codes, the printed story, and the case file it writes replays.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RELEASES } from '../model';
import { replayPaths } from '../cases/replay';
import { ROOT, runMain } from './helpers/cli';

const SECOND = RELEASES[1]!.id;

describe('xsave-harness lifecycle', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifecycle-cli-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the patch as shipped: exit 0 with the bound stated as a proof, and the seed', async () => {
    const r = await runMain(['lifecycle', '--depth', '4', '--runs', '50', '--seed', 'life-1', '--found', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no failing sequence up to depth 4/);
    expect(r.out).toMatch(/seed life-1/);
    expect(r.out).toMatch(/not counted/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test(`--drop-at ${SECOND}: exit 1, a numbered story, a case file that replays, and the replay command`, async () => {
    const r = await runMain(['lifecycle', '--drop-at', SECOND, '--seed', '1', '--found', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^ {2}1\. create a qemu64 VM on node1/m);
    const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
    expect(files).toHaveLength(1);
    expect(r.out).toContain(`replay: npx xsave-harness replay ${files[0]}`);
    const s = replayPaths(files);
    expect(s.results.map((x) => x.status)).toEqual(['pass']);
  });

  test('--drop-at the last release with a bound too short to reach it: exit 0 with "no failing sequence up to depth 3" as a proof for that bound only', async () => {
    const last = RELEASES[RELEASES.length - 1]!.id;
    const r = await runMain(['lifecycle', '--drop-at', last, '--depth', '3', '--runs', '0', '--seed', '1', '--found', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no failing sequence up to depth 3: every sequence of at most 3 operations/);
    expect(r.out).toMatch(/proof for that bound and that abstraction only/);
    // … and with the default bound the same command finds its story.
    expect((await runMain(['lifecycle', '--drop-at', last, '--runs', '0', '--seed', '1', '--found', dir])).code).toBe(1);
  });

  test('negative control: a broken fixup plug-in in place of the patch makes L1 fail', async () => {
    const r = await runMain(['lifecycle', '--depth', '4', '--runs', '0', '--seed', '1', '--found', dir, '--fixup', path.join(ROOT, 'mutants', 'mask-0x100.js')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILS/);
  });

  test('usage errors exit 3', async () => {
    expect((await runMain(['lifecycle', '--drop-at', 'pve-8.0'])).code).toBe(3);
    expect((await runMain(['lifecycle', '--depth', 'x'])).code).toBe(3);
    expect((await runMain(['lifecycle', '--table', '--drop-at', SECOND])).code).toBe(3);
  });
});

describe('the review collector (cli/review/lifecycle.ts)', () => {
  test('builds the section from the engine: L1 holds, one row per release with the patch, each unsafe row with a corpus case that replays', () => {
    const { collectLifecycle } = require('../cli/review/lifecycle') as typeof import('../cli/review/lifecycle');
    const s = collectLifecycle({ depth: 5, corpus: path.join(ROOT, 'corpus', 'lifecycle') });
    expect(s.l1.holds).toBe(true);
    expect(s.rows.length).toBeGreaterThan(0);
    const unsafe = s.rows.filter((r) => r.verdict === 'unsafe');
    expect(unsafe.length).toBeGreaterThan(0);
    for (const r of unsafe) {
      expect(r.caseFile).not.toBeNull();
      expect(replayPaths([r.caseFile!]).results.map((x) => x.status)).toEqual(['pass']);
    }
    expect(s.unconfirmed.some((u) => /pve-5\.15/.test(u))).toBe(true);
    // A review report carrying it still validates against the report schema.
    const { validate, REPORT_SCHEMA } = require('../report/schema') as typeof import('../report/schema');
    // since the schema is generated from the types (report/report.schema.json) the section is checked field by field
    expect(validate(JSON.parse(JSON.stringify(s)), { $ref: '#/$defs/lifecycleSection' }, REPORT_SCHEMA)).toEqual([]);
  });
});
