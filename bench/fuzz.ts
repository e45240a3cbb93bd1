// Fuzz scaling: `xsave-harness fuzz --workers 2` against `--workers 1`, as a ratio of cases run
// in the same time, measured side by side in one bench run (alternating, so a change in the
// machine's load hits both). The cases counted are the report's own (report.json coverage.cases).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Goal, median } from './stats';

const SECONDS = 15;
const PAIRS = 3;

/** Cases one `fuzz` run completes in `seconds` with `workers` workers. */
function fuzzCases(workers: number, seconds: number, seed: number): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-bench-fuzz-'));
  try {
    const cli = path.join(__dirname, '..', 'cli', 'main.js');
    execFileSync(process.execPath, [cli, 'fuzz', '--seconds', String(seconds), '--workers', String(workers), '--seed', String(seed), '--out', path.join(dir, 'out'), '--found', path.join(dir, 'found')], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: (seconds + 120) * 1000,
    });
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'report.json'), 'utf8')) as { coverage: { cases: number } };
    return report.coverage.cases;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function benchSection(): Goal[] {
  const ratios: number[] = [];
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const c1 = fuzzCases(1, SECONDS, 100 + i);
    const c2 = fuzzCases(2, SECONDS, 100 + i);
    one.push(c1);
    two.push(c2);
    ratios.push(c2 / c1);
  }
  const ratio = median(ratios);
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  return [
    {
      name: `fuzz --workers 2 vs --workers 1, cases in ${SECONDS} s (same run, ${PAIRS} pairs)`,
      value: Number(ratio.toFixed(2)),
      unit: '×',
      goal: '≥ 1.8×',
      met: ratio >= 1.8,
      note: `workers 1: ${one.map((c) => Math.round(c / SECONDS)).join('/')} cases/s; workers 2: ${two.map((c) => Math.round(c / SECONDS)).join('/')} cases/s; ratios ${ratios.map((r) => r.toFixed(2)).join('/')}; ${cpus} CPUs`,
    },
  ];
}
