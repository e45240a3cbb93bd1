// The layer rule (.dependency-cruiser.js, docs/architecture.md): model/ → cases/ → properties/ →
// engines → report/ → cli/, no engine importing another (but lab/ → kvm/), report/ naming the
// engines' types but running none of their code, no cycles. Checked on
// the repository, and on test/fixtures/layers, a tree that breaks each rule once: if a rule
// stops biting (a renamed folder, a pattern that matches nothing), that test fails.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.js');
const BIN = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: Array<{ name: string }>;
}
interface Cruise {
  summary: { violations: Violation[]; error: number; totalCruised: number };
}

function cruise(cwd: string): Cruise {
  const r = spawnSync(process.execPath, [BIN, '--config', CONFIG, '--output-type', 'json', '.'], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.error) throw r.error;
  if (!r.stdout) throw new Error(`dependency-cruiser printed nothing (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Cruise;
}

const line = (v: Violation): string => `${v.rule.name}: ${v.from} → ${v.to}`;

test('the repository keeps the layer rule: no import runs upward, no engine imports another, no cycle', () => {
  const r = cruise(ROOT);
  expect(r.summary.violations.map(line)).toEqual([]);
  expect(r.summary.error).toBe(0);
  // It read the code (a pattern that excludes everything would also report nothing).
  expect(r.summary.totalCruised).toBeGreaterThan(150);
});

test('negative control: each rule reports its breach in test/fixtures/layers; lab/ → kvm/ and a type-only import of an engine by report/ are allowed', () => {
  const r = cruise(path.join(ROOT, 'test', 'fixtures', 'layers'));
  expect(r.summary.violations.map(line).sort()).toEqual(
    [
      'layer-cases: cases/case.ts → properties/prop.ts',
      'layer-engine-fuzz: fuzz/engine.ts → proof/a.ts',
      'layer-engine-kvm: kvm/uplab.ts → lab/engine.ts',
      'layer-model: model/up.ts → cli/main.ts',
      'layer-properties: properties/prop.ts → fuzz/engine.ts',
      'layer-report: report/render.ts → cli/main.ts',
      'no-cycles: proof/a.ts → proof/b.ts',
      'no-import-of-tops: model/tops.ts → test/helper.ts',
      'no-test-helpers-in-code: kvm/session.ts → kvm/testkit.ts',
      'no-unresolvable: cases/moved.ts → ../harness/files',
      'report-renders-only: report/runsEngine.ts → kvm/driver.ts',
      'renderers-print-documents: report/markdown.ts → properties/prop.ts',
    ].sort(),
  );
  const cycle = r.summary.violations.find((v) => v.rule.name === 'no-cycles');
  expect(cycle?.cycle?.map((c) => c.name)).toEqual(['proof/b.ts', 'proof/a.ts']);
  expect(r.summary.error).toBe(12);
});
