// The review's verification sections (kill matrix, z3 proof, Stryker) rendered from the fixtures
// in test/fixtures/report-verification, the staleness check of the kill matrix (down to
// `review --check`), mutation-merge, and survivor explanations.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../cli/main';
import { run as reviewCommand } from '../cli/commands/review';
import { KERNELS } from '../model/kernels';
import { Mutant, loadMutants } from '../mutants/killMatrix';
import { RawReport, mergeMutationReports, mergeRawMutationReports, readMutationReport } from '../mutants/mutationReport';
import { renderHtml } from '../report/html';
import { killMatrixSectionFrom } from '../cli/review/killMatrix';
import { renderMarkdown } from '../report/markdown';
import { explainSurvivors, parseSurvivorExplanations, readMutationSection } from '../cli/review/mutation';
import { MutationSection } from '../report/mutationSection';
import { proofSection } from '../cli/review/proof';
import { ProofSection } from '../report/proofSection';
import { reportJson } from '../report/report';
import { generateReview } from '../cli/review/generate';
import { REPORT_SCHEMA, validate, validateReport } from '../report/schema';
import { Verification, verificationProblems } from '../report/verification';
import { ReportDocument } from '../report/document';
import { htmlOf } from '../report/html';
import { markdownOf } from '../report/markdown';
import { verificationSections } from '../report/verificationDocument';

const ROOT = path.resolve(__dirname, '..');
const FIX = path.join(__dirname, 'fixtures', 'report-verification');
const read = <T = Record<string, unknown>>(f: string): T => JSON.parse(fs.readFileSync(path.join(FIX, f), 'utf8')) as T;

let catalogue: Mutant[];
let tmp: string;
/** a checkout as the mutation fixture saw it: model/a.ts unchanged, model/c.ts edited since */
let srcRoot: string;

beforeAll(async () => {
  catalogue = await loadMutants(path.join(FIX, 'mutants'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-verification-'));
  srcRoot = path.join(tmp, 'checkout');
  const core = read<RawReport>('mutation-core.json');
  fs.mkdirSync(path.join(srcRoot, 'model'), { recursive: true });
  fs.writeFileSync(path.join(srcRoot, 'model', 'a.ts'), core.files['model/a.ts']!.source);
  fs.writeFileSync(path.join(srcRoot, 'model', 'c.ts'), 'export const c = 2; // edited after the run\n');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function mutationSection(survivors = path.join(FIX, 'mutation-survivors.json')): MutationSection {
  return readMutationSection({
    file: path.join(FIX, 'mutation-core.json'),
    source: 'fixtures/mutation-core.json',
    survivorsFile: survivors,
    survivorsSource: 'fixtures/mutation-survivors.json',
    root: srcRoot,
  });
}

function verification(killMatrix: unknown = read('kill-matrix.json'), name = 'kill-matrix.json'): Verification {
  return { killMatrix: killMatrixSectionFrom(`fixtures/${name}`, killMatrix, catalogue), proof: read<ProofSection>('proof.json'), mutation: mutationSection() };
}

// The verification sections alone, as both renderers print them.
const verificationDocument = (v: Verification): ReportDocument => ({ title: 'verification', subtitle: null, generatedNote: null, status: [], children: verificationSections(v) });
const markdown = (v: Verification): string => markdownOf(verificationDocument(v));
const verificationHtml = (v: Verification): string => htmlOf(verificationDocument(v));

describe('kill matrix section', () => {
  test('renders mutant × property from a fixture: killed at which run count, verdict, expected killer, the catalogue description, recorded times labelled as recorded', () => {
    const v = verification();
    const k = v.killMatrix;
    expect(k.staleness).toEqual({ stale: false, missing: [], extra: [], changed: [] });
    expect(k.rows.map((r) => r.mutant)).toEqual(['pve (control)', 'clears-everything', 'rewrites-same-bytes']);
    // the one-line description comes from mutants/*.js, not from the recorded file
    expect(k.rows[1]!.description).toBe('zeroes XSTATE_BV whatever the guest supports');
    expect(k.summary).toMatchObject({ mutants: 2, killed: 1, equivalent: 1, survived: 0, ok: true });
    const md = markdown(v);
    expect(md).toContain('seed 7, 2 s budget per mutant; recording date not in the file, commit not in the file');
    expect(md).toContain('| pve (control) | the Proxmox patch itself: no property may kill it | survived | survived | survived | survived | survived | none (control) | control-ok |');
    expect(md).toContain('| clears-everything | zeroes XSTATE_BV whatever the guest supports | killed @30 * | survived | killed @10 | survived | killed @100 | P1 | killed |');
    expect(md).toContain('| rewrites-same-bytes | reads XSTATE_BV and writes the same value back | survived | survived | survived | survived | survived | none (equivalent) | argued equivalent |');
    expect(md).toContain('- rewrites-same-bytes: writing back the value just read leaves every byte as it was');
    expect(md).toContain('Time to kill as recorded in `fixtures/kill-matrix.json`');
    expect(md).toContain('| clears-everything | 17 ms | – | 2 ms | – | 45 ms | 2,345 ms |');
    expect(md).not.toContain('STALE');
    expect(verificationProblems(v)).toEqual([]);
    const html = verificationHtml(v);
    expect(html).toContain('killed @30 *');
    expect(html).toContain('Time to kill as recorded in fixtures/kill-matrix.json');
    expect(html).not.toContain('banner bad');
  });

  test('a kill matrix missing a catalogue mutant is stale: said loudly in the section and first in the decision summary, and it is a review problem', () => {
    const v = verification(read('kill-matrix-missing-mutant.json'), 'kill-matrix-missing-mutant.json');
    expect(v.killMatrix.staleness).toEqual({ stale: true, missing: ['rewrites-same-bytes'], extra: [], changed: [] });
    const problems = verificationProblems(v);
    expect(problems.filter((p) => /STALE/.test(p))).toHaveLength(1);
    expect(problems.join('\n')).toMatch(/not in the matrix: rewrites-same-bytes/);
    expect(markdown(v)).toContain('> **STALE KILL MATRIX — do not cite it. mutants/*.js not in the matrix: rewrites-same-bytes.');

    const report = generateReview({ batches: 1, batchRuns: 20, controls: false, verification: v });
    expect(validateReport(JSON.parse(reportJson(report)))).toEqual([]);
    const md = renderMarkdown(report);
    const firstBullet = md.split('## Decision summary\n\n')[1]!.split('\n')[0]!;
    expect(firstBullet).toMatch(/^- \*\*kill matrix fixtures\/kill-matrix-missing-mutant\.json is STALE/);
    const html = renderHtml(report);
    expect(html).toMatch(/<div class="banner bad">kill matrix fixtures\/kill-matrix-missing-mutant\.json is STALE/);
  });

  test('a renamed mutant or a changed expected killer also makes the matrix stale', () => {
    const km = read<{ rows: { mutant: string; expectedKiller: string | null }[] }>('kill-matrix.json');
    km.rows[1]!.expectedKiller = 'P3';
    km.rows[2]!.mutant = 'rewrites-same-bytes-old';
    const s = verification(km).killMatrix.staleness;
    expect(s).toEqual({ stale: true, missing: ['rewrites-same-bytes'], extra: ['rewrites-same-bytes-old'], changed: ['clears-everything'] });
  });

  test('a killable mutant that survived and an equivalent one that was killed are named, and fail the review', () => {
    const km = read<{ rows: { verdict: string; killedBy: string[]; expectedKillerKilled: boolean | null; cells: Record<string, { killed: boolean }> }[] }>('kill-matrix.json');
    km.rows[1]!.verdict = 'survived';
    km.rows[1]!.killedBy = [];
    km.rows[1]!.expectedKillerKilled = false;
    for (const c of Object.values(km.rows[1]!.cells)) c.killed = false;
    km.rows[2]!.verdict = 'equivalent-but-killed';
    const v = verification(km);
    expect(v.killMatrix.notKilled).toEqual(['clears-everything']);
    expect(v.killMatrix.unexpectedKills).toEqual(['rewrites-same-bytes']);
    expect(v.killMatrix.summary.ok).toBe(false);
    expect(verificationProblems(v)).toHaveLength(2);
    const md = markdown(v);
    expect(md).toContain('**not killed: clears-everything**');
    expect(md).toContain('| **SURVIVED (expected killer missed)** |');
  });

  test('`review --check` fails on a stale kill matrix even when the files are up to date', async () => {
    const km = JSON.parse(fs.readFileSync(path.join(ROOT, 'reports', 'kill-matrix.json'), 'utf8')) as { rows: { mutant: string }[] };
    const dropped = km.rows.pop()!.mutant;
    const kmFile = path.join(tmp, 'kill-matrix-stale.json');
    fs.writeFileSync(kmFile, JSON.stringify(km));
    const out = path.join(tmp, 'review-stale');
    const errors: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const err = jest.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
    try {
      expect(await reviewCommand(['--out', out, '--kill-matrix', kmFile])).toBe(1);
      expect(fs.readFileSync(path.join(out, 'REVIEW.md'), 'utf8')).toContain(`STALE KILL MATRIX — do not cite it. mutants/*.js not in the matrix: ${dropped}.`);
      errors.length = 0;
      expect(await reviewCommand(['--check', '--out', out, '--kill-matrix', kmFile])).toBe(1);
      expect(errors.join('\n')).toMatch(new RegExp(`is STALE \\(not in the matrix: ${dropped}\\)`));
      // the files themselves are fresh: the failure is the matrix, not the rendering
      expect(errors.join('\n')).not.toContain('regenerate with: npm run review');
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  }, 300000);
});

describe('proof section', () => {
  test('renders claim × kernel rule group (with and without the assumption) and claim × broken fixup from a fixture, counterexamples marked', () => {
    expect(verificationProblems(verification())).toEqual([]); // proof.json: every claim proved
    const v = { ...verification(), proof: read<ProofSection>('proof-counterexample.json') };
    const md = markdown(v);
    expect(md).toContain('- Every 64-bit value of XSTATE_BV (fixture).');
    expect(md).toContain('**Assumption.** guest-supported XCR0 ⊆ supported XCR0 (fixture).');
    expect(md).toContain('| P1 | load-5.15, confidential ignore | proved | proved |');
    expect(md).toContain('| P4 | fpu-uabi, confidential ignore | proved | **COUNTEREXAMPLE (refused without the fixup (EINVAL/xcomp-bv) but ok with it)** |');
    expect(md).toContain('| clears-everything | zeroes XSTATE_BV (fixture) | counterexample | counterexample | counterexample on 1 of 2 rule groups (fpu-uabi, confidential ignore) | killed by P1, P3, P5 |');
    expect(verificationProblems(v)).toEqual(['proof: z3 finds counterexamples for the patch (all values): P4 [fpu-uabi, confidential ignore]']);
    expect(verificationHtml(v)).toContain('<td class="p-cex">COUNTEREXAMPLE (refused without the fixup (EINVAL/xcomp-bv) but ok with it)</td>');
  });

  test('z3 proves P1, P3 and P4 for the patch on every rule group, with and without the assumption; the broken symbolic fixups get their known verdicts', async () => {
    const p = await proofSection();
    expect(p.runs.map((r) => [r.invariant, r.proved])).toEqual([
      [true, true],
      [false, true],
    ]);
    expect(p.runs[0]!.results.every((r) => r.status === 'proved' && r.violation === null)).toBe(true);
    expect(p.groups).toHaveLength(4);
    expect(p.groups.flatMap((g) => g.kernels).sort()).toEqual(KERNELS.map((k) => k.id).sort());
    const broken = (name: string) => p.brokenFixups!.find((b) => b.name === name)!;
    expect(broken('decide-xcr0').claims.P1!.status).toBe('counterexample');
    expect(broken('decide-xcr0').claims.P3!.status).toBe('proved');
    expect(broken('also-clears-xcomp').claims.P4!.counterexampleGroups).toHaveLength(3);
    expect(Object.values(broken('clear-when-confidential').claims).every((c) => c.status === 'proved')).toBe(true);
  }, 120000);
});

describe('Stryker section and survivor explanations', () => {
  test('score, per-file table and survivors grouped by file with line, mutator, original → replacement; unexplained survivors counted', () => {
    const m = mutationSection();
    expect(m.survivors.map((s) => [s.file, s.line, s.mutator, s.class])).toEqual([
      ['model/a.ts', 2, 'StringLiteral', 'label only'],
      ['model/a.ts', 3, 'BlockStatement', 'defensive guard'],
      ['model/a.ts', 4, 'ConditionalExpression', null],
    ]);
    expect(m.unexplained).toBe(1);
    expect(m.byClass).toEqual({ 'defensive guard': 1, 'label only': 1, unexplained: 1 });
    expect(m.explanations.unmatched.map((e) => e.line)).toEqual([40]);
    expect(m.files.map((f) => [f.file, f.sourceChanged])).toEqual([
      ['model/a.ts', false],
      ['model/c.ts', true],
    ]);
    const md = markdown(verification());
    expect(md).toContain('Source: `fixtures/mutation-core.json` (StrykerJS 9.6.1); commit: not recorded; date: not recorded.');
    expect(md).toContain('**40.0 %** mutation score (50.0 % of covered mutants): 5 mutants, 2 killed, 0 timed out, 2 survived, 1 without coverage');
    expect(md).toContain('| model/a.ts | 25.0 % | 33.3 % | 1 | 0 | 2 | 1 | 0 | 4 |');
    expect(md).toContain('| model/c.ts (changed since) | 100.0 % | 100.0 % | 1 | 0 | 0 | 0 | 0 | 1 |');
    expect(md).toContain('### Survivors: 3 (1 unexplained)');
    expect(md).toContain('#### model/a.ts (3)');
    expect(md).toContain("| 2 | survived | StringLiteral | `'pve'` → `\"\"` | label only: the name is only printed |");
    expect(md).toContain('| 4 | survived | ConditionalExpression | `x > 2` → `true` | **unexplained** |');
    expect(md).toContain('Explanations that match no survivor (the line moved, or the mutant is killed now): model/a.ts:40.');
    expect(verificationHtml(verification())).toContain('<td class="unexplained">unexplained</td>');
  });

  test('an entry with `replacement` tells apart two mutants of the same expression', () => {
    const s = (replacement: string) => ({ file: 'model/a.ts', line: 4, column: 7, mutator: 'ConditionalExpression', original: 'x > 2', replacement, status: 'Survived' as const });
    const entries = parseSurvivorExplanations(
      JSON.stringify([
        { file: 'model/a.ts', line: 4, mutator: 'ConditionalExpression', replacement: 'true', class: 'killed by a new test', explanation: 'a.test.ts' },
        { file: 'model/a.ts', line: 4, class: 'equivalent', explanation: 'x is never 2' },
        { file: 'model/a.ts', line: 4, replacement: 'x >= 2', class: 'unused', explanation: 'no such mutant' },
      ]),
      'f.json',
    );
    const r = explainSurvivors([s('true'), s('false')], entries);
    expect(r.survivors.map((v) => v.class)).toEqual(['killed by a new test', 'equivalent']);
    expect(r.unmatched.map((e) => e.class)).toEqual(['unused']);
    expect(() => parseSurvivorExplanations('[{"file":"model/a.ts","line":4,"replacement":1,"class":"x","explanation":"y"}]', 'f.json')).toThrow("f.json[0]: field 'replacement'");
  });

  test('without an explanations file every survivor is unexplained', () => {
    const m = mutationSection(path.join(tmp, 'no-such-survivors.json'));
    expect(m.explanations.available).toBe(false);
    expect(m.unexplained).toBe(3);
    expect(m.byClass).toEqual({ unexplained: 3 });
  });

  test('a malformed explanations file names the entry and the field, and makes the review uncitable', () => {
    expect(() => parseSurvivorExplanations('[{"file":"model/a.ts","line":0,"class":"x","explanation":"y"}]', 'f.json')).toThrow("f.json[0]: field 'line'");
    expect(() => parseSurvivorExplanations('{"file":"model/a.ts"}', 'f.json')).toThrow('expected a JSON array');
    const bad = path.join(tmp, 'bad-survivors.json');
    fs.writeFileSync(bad, '[{"file":"model/a.ts","line":2,"class":"","explanation":"y"}]');
    const v = { ...verification(), mutation: mutationSection(bad) };
    expect(v.mutation.explanations.error).toMatch(/\[0\]: field 'class'/);
    expect(verificationProblems(v).join('\n')).toMatch(/survivor explanations unusable/);
  });

  test('the verification data validates against report.json’s schema, and the schema rejects a wrong verdict', () => {
    const v = verification();
    const ref = { $ref: '#/$defs/verification' };
    expect(validate(JSON.parse(JSON.stringify(v)), ref, REPORT_SCHEMA)).toEqual([]);
    const bad = JSON.parse(JSON.stringify(v));
    bad.killMatrix.rows[0].verdict = 'probably fine';
    expect(validate(bad, ref, REPORT_SCHEMA).join('\n')).toMatch(/rows\[0\]\.verdict/);
  });
});

describe('mutation-merge', () => {
  const core = path.join(FIX, 'mutation-core.json');
  const rest = path.join(FIX, 'mutation-rest.json');

  test('unites the files, a later input replaces an earlier file, tests are matched by file and name across runs', () => {
    const out = path.join(tmp, 'merged', 'mutation.json');
    const merged = mergeMutationReports([core, rest], out, { commit: 'abc1234', date: '2026-11-24' });
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual(merged);
    expect(Object.keys(merged.files)).toEqual(['model/a.ts', 'model/c.ts', 'properties/b.ts']);
    expect(merged.files['model/a.ts']!.source).toBe(read<RawReport>('mutation-rest.json').files['model/a.ts']!.source);
    expect(merged.files['model/a.ts']!.mutants).toHaveLength(1);
    expect(merged.files['model/c.ts']!.source).toBe(read<RawReport>('mutation-core.json').files['model/c.ts']!.source);
    const ids = Object.values(merged.files).flatMap((f) => f.mutants.map((m) => m.id));
    expect(new Set(ids).size).toBe(ids.length);
    // the same two tests ran in both: two entries, not four; the later source wins
    expect(merged.testFiles!['test/a.test.ts']!.tests.map((t) => t.name).sort()).toEqual(['masks bit 9', 'names the patch']);
    expect(merged.testFiles!['test/a.test.ts']!['source']).toBe('rest test source');
    expect(Object.keys(merged.testFiles!).sort()).toEqual(['test/a.test.ts', 'test/b.test.ts']);
    const nameOf = new Map(Object.values(merged.testFiles!).flatMap((f) => f.tests.map((t) => [t.id, t.name] as const)));
    expect(merged.files['model/a.ts']!.mutants[0]!.killedBy!.map((id) => nameOf.get(id))).toEqual(['names the patch']); // rest's id 0
    expect(merged.files['model/c.ts']!.mutants[0]!.killedBy!.map((id) => nameOf.get(id))).toEqual(['names the patch']); // core's id 1
    expect(merged.files['properties/b.ts']!.mutants[1]!.killedBy!.map((id) => nameOf.get(id))).toEqual(['masks bit 9']); // rest's id 1
    expect(merged.config!['mutate']).toEqual(['model/a.ts', 'model/c.ts', 'properties/b.ts']);
    const s = readMutationReport(out);
    expect(s.totals).toMatchObject({ total: 4, killed: 2, timeout: 1, survived: 1, noCoverage: 0 });
    expect(s.origin).toEqual({
      commit: 'abc1234',
      date: '2026-11-24',
      framework: 'StrykerJS 9.6.1',
      mutate: ['model/a.ts', 'model/c.ts', 'properties/b.ts'],
      mergedFrom: [
        { input: core, files: ['model/c.ts'] },
        { input: rest, files: ['model/a.ts', 'properties/b.ts'] },
      ],
    });
    // the other order keeps core's model/a.ts
    const reversed = mergeRawMutationReports([
      { file: rest, raw: read<RawReport>('mutation-rest.json') },
      { file: core, raw: read<RawReport>('mutation-core.json') },
    ]);
    expect(reversed.files['model/a.ts']!.mutants).toHaveLength(4);
    expect(reversed.provenance!.commit).toBeUndefined();
  });

  test('the command merges (0), refuses an input that is not a Stryker report (2) and needs OUT and an input (3)', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const out = path.join(tmp, 'cmd', 'mutation.json');
      expect(await main(['mutation-merge', '--commit', 'deadbeef', out, core, rest])).toBe(0);
      expect(readMutationReport(out).origin.commit).toBe('deadbeef');
      const bad = path.join(tmp, 'not-stryker.json');
      fs.writeFileSync(bad, '{"schemaVersion":"1","files":[]}');
      const out2 = path.join(tmp, 'cmd', 'never.json');
      expect(await main(['mutation-merge', out2, core, bad])).toBe(2);
      expect(fs.existsSync(out2)).toBe(false);
      expect(await main(['mutation-merge', out2])).toBe(3);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });
});
