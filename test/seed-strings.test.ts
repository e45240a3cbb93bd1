// --seed takes any string as well as an integer, for every command that has one (issue 14 item 2):
// seedrandom's semantics; fast-check's integer seed is derived from the string deterministically,
// the string is printed first and the printed commands repeat it and replay the run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../cli/main';
import { BatchSeeds, SeedError, describeSeed, parseSeedText, seedFromString, shellSeed } from '../fuzz/seeds';
import { validateReport } from '../report/schema';
import { runCli } from './helpers/cli';

const TEXT = 'nightly-1';
const BROKEN = path.join('test', 'fixtures', 'broken-fixup.js');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-seed-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('parseSeedText', () => {
  test('an integer is the seed as it is (unchanged from before)', () => {
    expect(parseSeedText('20230714')).toEqual({ text: '20230714', value: 20230714, derived: false });
    expect(parseSeedText('-7')).toEqual({ text: '-7', value: -7, derived: false });
  });
  test(`a string gives seedrandom(string)'s first draw in [0, 2^31): pinned, so the same on any machine (seed "${TEXT}")`, () => {
    const s = parseSeedText(TEXT);
    expect(s.derived).toBe(true);
    expect(s.text).toBe(TEXT);
    expect(s.value).toBe(seedFromString(TEXT));
    // pinned: a change of the derivation would silently change every string seed's run
    expect(s.value).toBe(PINNED);
    expect(describeSeed(s)).toBe(`${TEXT} (a string seed: fast-check seed ${PINNED}, from seedrandom)`);
  });
  test('negative control: the derived seed depends on the whole string (no constant, no prefix)', () => {
    const values = new Set(Array.from({ length: 200 }, (_, i) => seedFromString(`nightly-${i}`)));
    expect(values.size).toBe(200);
    for (const v of values) {
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(2 ** 31);
    }
    // "0x10", "1e3", " 5" and a number too large to be exact are strings, not integers
    for (const t of ['0x10', '1e3', ' 5', '5 ', '99999999999999999999', 'seed 1']) expect(parseSeedText(t).derived).toBe(true);
  });
  test('the empty string is refused', () => {
    expect(() => parseSeedText('')).toThrow(SeedError);
  });
  test('a printed command quotes a seed the shell would split', () => {
    expect(shellSeed(TEXT)).toBe(TEXT);
    expect(shellSeed("it's a seed")).toBe(`'it'\\''s a seed'`);
  });
  test('a fuzz worker’s batch sequence is a function of the string seed', () => {
    const take = (t: string) => {
      const s = new BatchSeeds(parseSeedText(t).value, { index: 1, count: 1 }, 0);
      return Array.from({ length: 10 }, () => s.next());
    };
    expect(take(TEXT)).toEqual(take(TEXT));
    expect(take(TEXT)).not.toEqual(take('nightly-2'));
  });
});

/** seedrandom('nightly-1')() · 2^31, floored: pinned so that a change of the derivation shows */
const PINNED = 1820861447;

describe('every command with --seed takes a string', () => {
  test(`check --seed ${TEXT}: printed first, the same run twice, the rerun command repeats the string`, async () => {
    const found = path.join(tmp, 'check');
    const a = await run(['check', '--seed', TEXT, '--runs', '300', '--only', 'P1', '--fixup', BROKEN, '--found', found]);
    expect(a.code).toBe(1);
    expect(a.out.split('\n')[0]).toBe(`seed ${TEXT} (a string seed: fast-check seed ${PINNED}, from seedrandom), 300 runs per property, fixup broken-fixup.js`);
    expect(a.out).toContain(`rerun: npx xsave-harness check --only P1 --seed ${TEXT} --runs 300 --fixup ${BROKEN}`);
    const path1 = /seed nightly-1, path (\S+)/.exec(a.out)![1];
    // the printed rerun reproduces: same path, same counterexample
    const b = await run(['check', '--only', 'P1', '--seed', TEXT, '--runs', '300', '--fixup', BROKEN, '--found', found]);
    expect(b.code).toBe(1);
    expect(/seed nightly-1, path (\S+)/.exec(b.out)![1]).toBe(path1);
    expect(b.out.split('\n').slice(1).join('\n')).toBe(a.out.split('\n').slice(1).join('\n'));
    // and the derived integer is the same run
    const c = await run(['check', '--only', 'P1', '--seed', String(PINNED), '--runs', '300', '--fixup', BROKEN, '--found', found]);
    expect(/seed \d+, path (\S+)/.exec(c.out)![1]).toBe(path1);
  });
  test('check --seed "" is a usage error (exit 3)', async () => {
    const r = await run(['check', '--seed', '', '--runs', '10', '--only', 'P3']);
    expect(r.code).toBe(3);
  });
  test(`mutants --seed ${TEXT} runs with the derived seed and prints the string first`, async () => {
    const r = await run(['mutants', '--seed', TEXT, '--seconds', '1', '--only', 'always-clear', '--properties', 'P1']);
    expect(r.code).not.toBe(3);
    expect(r.code).not.toBe(2);
    expect(r.out.split('\n')[0]).toBe(`seed ${describeSeed(parseSeedText(TEXT))}`);
    expect(r.out).toContain(`seed ${PINNED}`);
  });
  test(`kvm-check --seed ${TEXT} is not a usage error; an empty seed is`, async () => {
    const r = await run(['kvm-check', '--seed', TEXT, '--cases', '5']);
    expect(r.code).not.toBe(3);
    expect((await run(['kvm-check', '--seed', '', '--cases', '5'])).code).toBe(3);
  });
});

test(`fuzz --seed ${TEXT} --seconds 5 runs, prints the string first, and its report and rerun commands repeat it`, async () => {
  const out = path.join(tmp, 'fuzz-ok');
  const r = await runCli(['fuzz', '--seed', TEXT, '--seconds', '5', '--workers', '1', '--out', out, '--found', path.join(tmp, 'found-ok'), '--progress', 'plain']);
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n')[0]).toBe(`seed ${TEXT} (a string seed: fast-check seed ${PINNED}, from seedrandom)`);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(validateReport(report)).toEqual([]);
  expect(report.run.seed).toBe(PINNED);
  expect(report.run.seedText).toBe(TEXT);
  expect(fs.readFileSync(path.join(out, 'REVIEW.md'), 'utf8')).toContain(`npx xsave-harness fuzz --seed ${TEXT} --workers 1 --seconds 5`);
  // without --out the report folder is named by the string
  expect(r.stdout).toContain(`report to ${out}`);
});

test(`fuzz --seed ${TEXT} with a broken fixup: the printed rerun command reproduces the finding`, async () => {
  const found = path.join(tmp, 'found-broken');
  const r = await runCli(['fuzz', '--seed', TEXT, '--seconds', '30', '--workers', '1', '--fixup', BROKEN, '--out', path.join(tmp, 'fuzz-broken'), '--found', found, '--progress', 'plain']);
  expect(r.code).toBe(1);
  expect(r.stdout.split('\n')[0]).toBe(`seed ${TEXT} (a string seed: fast-check seed ${PINNED}, from seedrandom)`);
  const m = /rerun: {2}npx xsave-harness (check --only P[1-5] --seed \d+ --runs \d+ --fixup \S+)/.exec(r.stdout);
  expect(m).not.toBeNull();
  const again = await runCli([...m![1]!.split(' '), '--found', path.join(tmp, 'rerun')]);
  expect(again.code).toBe(1);
  // the same shrunk counterexample: case files are named by a hash of their content
  const file = /counterexample case: (\S+)/.exec(again.stdout)![1]!;
  expect(fs.readdirSync(found)).toContain(path.basename(file));
});
