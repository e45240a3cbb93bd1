// report.json against its schema, the rendered Markdown and HTML, and merge-reports.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PVE_FIXUP } from '../model';
import { brokenFixup } from '../properties/brokenFixups';
import { runBatch } from '../fuzz/batch';
import { Coverage, emptyCoverage } from '../properties/coverage';
import { findingRecord } from '../fuzz/findings';
import { environment } from '../report/environment';
import { renderHtml } from '../report/html';
import { renderMarkdown } from '../report/markdown';
import { computeMatrix } from '../properties/matrix';
import { mergeReports, readReport } from '../report/merge';
import { Report, buildReport, reportJson } from '../report/report';
import { REVIEW_SEED, generateReview } from '../cli/review/generate';
import { validateReport } from '../report/schema';
import { writeReport } from '../report/write';
import { run as mergeCommand } from '../cli/commands/merge-reports';

const SEED = 99;
const matrix = computeMatrix();
let review: Report;
let tmp: string;

beforeAll(() => {
  review = generateReview({ batches: 1, batchRuns: 100, controls: false });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-report-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function shardReport(index: number, count: number, opts: { broken?: boolean; partial?: boolean } = {}): Report {
  const cov: Coverage = emptyCoverage();
  const findings = [];
  for (const id of ['P1', 'P3'] as const) {
    const r = runBatch(id, opts.broken ? brokenFixup('always-clear') : PVE_FIXUP, SEED * 10 + index, 50);
    cov.cases += r.cases;
    cov.batches++;
    cov.byProperty[id].cases += r.cases;
    cov.byProperty[id].batches++;
    for (const [k, v] of Object.entries(r.classes)) cov.byProperty[id].classes[k] = (cov.byProperty[id].classes[k] ?? 0) + v;
    for (const k of ['cases', 'valid', 'leaked', 'other', 'rejected'] as const) cov.ioctl[k] += r.ioctl![k];
    if (r.finding) findings.push(findingRecord(r.finding, { file: `corpus/found/${r.finding.caseId}.json`, duplicate: false, fixupPath: null, shard: index }));
  }
  return buildReport({
    kind: 'fuzz',
    partialReasons: opts.partial ? ['interrupted (SIGINT/SIGTERM) before the time budget was spent'] : [],
    run: {
      seed: SEED,
      seedSource: 'option',
      shard: { index, count },
      workers: 2,
      budgetSeconds: 10,
      batchRuns: 50,
      maxFindings: 1,
      stopReason: 'time budget spent',
      fixup: { name: 'pve', path: null },
      backend: 'model',
      properties: ['P1', 'P3'],
      timing: { startedAt: `2026-11-24T00:00:0${index}.000Z`, finishedAt: `2026-11-24T00:00:1${index}.000Z`, elapsedSeconds: 10, casesPerSecond: 10 },
    },
    environment: environment(false),
    coverage: cov,
    findings,
    matrix,
  });
}

test(`a review report validates against the xsave-report/1 schema (seed ${REVIEW_SEED})`, () => {
  const parsed = JSON.parse(reportJson(review));
  expect(validateReport(parsed)).toEqual([]);
  expect(parsed.environment.deterministic).toBe(true);
  expect(parsed.run.timing).toBeNull();
  expect(parsed.claims.map((c: { id: string }) => c.id)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5', 'M1', 'M2', 'M3', 'KVM']);
  for (const c of parsed.claims.slice(0, 5)) expect(c.statement.length).toBeGreaterThan(50);
});

test('the validator rejects what the schema forbids', () => {
  const bad = JSON.parse(reportJson(review));
  bad.schema = 'xsave-report/2';
  bad.extra = true;
  delete bad.coverage.ioctl.leaked;
  bad.claims[0].result = 'probably';
  bad.matrix.paths[0].outcomes[0] = 'fine';
  const errors = validateReport(bad).join('\n');
  expect(errors).toMatch(/\$\.schema: expected "xsave-report\/1"/);
  expect(errors).toMatch(/unknown field "extra"/);
  expect(errors).toMatch(/\$\.coverage\.ioctl: missing field "leaked"/);
  expect(errors).toMatch(/\$\.claims\[0\]\.result/);
  expect(errors).toMatch(/\$\.matrix\.paths\[0\]\.outcomes\[0\]/);
});

test('REVIEW.md has the sections a reviewer decides from', () => {
  const md = renderMarkdown(review);
  for (const h of ['## Decision summary', '## Claims', '## Findings', '## Migration matrix', '### Which upgrade paths are safe, with and without the patch', '## Claim details', '## Coverage', '## Environment']) {
    expect(md).toContain(h);
  }
  // issue 14 item 6: the outcome is what the model knows; the hang is cited to the incident report
  expect(md).toContain(
    'The incident path (pve-5.15 → linux-6.2, qemu64 guest, QEMU 8.0) is incomplete (a restore step failed, the guest resumed); the model says no more: the 100%-CPU hang is the incident report\'s symptom (Proxmox pve-kernel commit 1559d22f3510, "kvm: xsave set: mask-out PKRU bit in xfeatures if vCPU has no support"); to pve-6.2-2023-07, the first kernel with the patch, it is intact.',
  );
  expect(md).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/); // no timestamps in the deterministic review
});

test('review.html is self-contained: no scripts, no external resources', () => {
  const html = renderHtml(review);
  expect(html).toMatch(/^<!DOCTYPE html>/);
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<link/i);
  expect(html).not.toMatch(/\bsrc\s*=/i);
  expect(html).not.toMatch(/@import|url\(/i);
  expect(html).not.toMatch(/href="(?!#)/i); // only in-page anchors
  expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(3);
  expect(html).toContain('Which upgrade paths are safe');
});

test(`merge-reports sums coverage, unites findings and names missing shards (seed ${SEED})`, async () => {
  const a = shardReport(1, 3);
  const c = shardReport(3, 3, { broken: true });
  const fa = path.join(tmp, 's1', 'report.json');
  const fc = path.join(tmp, 's3', 'report.json');
  writeReport(path.dirname(fa), a);
  writeReport(path.dirname(fc), c);
  const merged = mergeReports([
    { file: fa, report: readReport(fa) },
    { file: fc, report: readReport(fc) },
  ]);
  expect(validateReport(JSON.parse(reportJson(merged)))).toEqual([]);
  expect(merged.kind).toBe('merged');
  expect(merged.coverage.cases).toBe(a.coverage.cases + c.coverage.cases);
  expect(merged.coverage.byProperty.P1.cases).toBe(a.coverage.byProperty.P1.cases + c.coverage.byProperty.P1.cases);
  expect(merged.coverage.ioctl.valid).toBe(a.coverage.ioctl.valid + c.coverage.ioctl.valid);
  for (const [k, v] of Object.entries(merged.coverage.byProperty.P3.classes)) {
    expect(v).toBe((a.coverage.byProperty.P3.classes[k] ?? 0) + (c.coverage.byProperty.P3.classes[k] ?? 0));
  }
  expect(merged.findings.map((f) => f.key).sort()).toEqual([...a.findings, ...c.findings].map((f) => f.key).sort());
  expect(merged.findings.length).toBeGreaterThan(0);
  expect(merged.findings.every((f) => f.shard === 3)).toBe(true);
  expect(merged.shards).toEqual({ count: 3, present: [1, 3], missing: [2], inputs: [fa, fc] });
  expect(merged.partial).toBe(true);
  expect(merged.partialReasons[0]).toBe('missing shard 2 of 3');
  expect(merged.run.workers).toBe(4);
  expect(merged.claims.find((x) => x.id === 'P1')!.result).toBe('fails');

  // The command: folders are searched for report.json; a finding makes it exit 1.
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    expect(await mergeCommand([path.join(tmp, 'merged'), path.join(tmp, 's1'), path.join(tmp, 's3')])).toBe(1);
    const written = readReport(path.join(tmp, 'merged', 'report.json'));
    expect(written.shards!.missing).toEqual([2]);
    expect(fs.readFileSync(path.join(tmp, 'merged', 'REVIEW.md'), 'utf8')).toContain('missing shard 2 of 3');
    // No finding but shards missing: 2 (the run is incomplete).
    expect(await mergeCommand([path.join(tmp, 'merged1'), fa])).toBe(2);
    // Every shard present and no finding: 0.
    writeReport(path.join(tmp, 'h1'), shardReport(1, 2));
    writeReport(path.join(tmp, 'h2'), shardReport(2, 2));
    expect(await mergeCommand([path.join(tmp, 'merged2'), path.join(tmp, 'h1'), path.join(tmp, 'h2')])).toBe(0);
    expect(readReport(path.join(tmp, 'merged2', 'report.json')).partial).toBe(false);
    // Reports of different runs do not merge.
    const other = shardReport(2, 3);
    other.run.seed = SEED + 1;
    writeReport(path.join(tmp, 'o2'), other);
    expect(await mergeCommand([path.join(tmp, 'merged3'), fa, path.join(tmp, 'o2')])).toBe(2);
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
});
