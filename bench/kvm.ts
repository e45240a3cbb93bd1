// KVM bench: the executor's throughput (XsaveExecutor.runCases, TypeScript encode → pipe → C
// executor → pipe → decode) next to a raw C loop of the same ioctls (executor/raw-bench.c),
// measured in the same run, interleaved, as a ratio (goal ≥ 50% of raw). Also, for information:
// the raw loop with one reused vCPU (the upper bound of vCPU reuse) and kvm-check's end-to-end
// rate (generate, predict, run, compare). Writes bench/kvm.json atomically.
//   node dist/bench/kvm.js [--cases N] [--reps R] [--out FILE] [--json]
// Timings are never asserted by tests.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../cases/files';
import { executorDir, kvmAvailability } from '../kvm/available';
import { calibrateMachine } from '../kvm/calibration';
import { runConformance } from '../kvm/conformance';
import { XsaveExecutor } from '../kvm/executor';
import { generateCases } from '../kvm/generate';
import { typicalCase } from './typicalCase';

interface RawResult {
  cases: number;
  seconds: number;
  casesPerSec: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function raw(n: number, reuse = false): RawResult {
  const bin = path.join(executorDir(), 'build', 'xsave-raw-bench');
  const out = execFileSync(bin, [String(n), ...(reuse ? ['reuse'] : [])], { encoding: 'utf8', timeout: 300_000 });
  return JSON.parse(out.trim()) as RawResult;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '10000' },
      reps: { type: 'string', default: '5' },
      out: { type: 'string', default: path.join(path.dirname(executorDir()), 'bench', 'kvm.json') },
      json: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.cases);
  const reps = Number(values.reps);
  const avail = kvmAvailability();
  if (!avail.ok && !avail.reason.startsWith('executor binary')) {
    console.error(`bench/kvm: SKIPPED (real KVM unavailable): ${avail.reason}`);
    return 4;
  }
  execFileSync('make', ['-s', '-C', executorDir(), 'bench'], { stdio: 'inherit' });
  const exec = new XsaveExecutor();
  try {
    const probe = await exec.probe();
    if (probe.xsaveSize !== 4096) throw new Error(`bench/kvm: XSAVE2 size ${probe.xsaveSize} ≠ 4096 is not supported by the raw baseline`);
    const one = typicalCase(probe.supportedCpuid, probe.xsaveSize);
    const cases = Array.from({ length: n }, () => one);
    await exec.runCases(cases.slice(0, 500)); // warm up
    raw(500);
    const rawRates: number[] = [];
    const execRates: number[] = [];
    const serialRates: number[] = [];
    // VM teardown (1024 vCPUs per VM) continues in the kernel after a run: let it settle before
    // the next measurement, and alternate which side goes first.
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));
    const measureExec = async (pipeline: number): Promise<number> => {
      await settle();
      const t = process.hrtime.bigint();
      const res = await exec.runCases(cases, { chunkSize: 500, pipeline });
      const rate = n / (Number(process.hrtime.bigint() - t) / 1e9);
      if (res.some((r) => r.steps.some((s) => s.errno !== 0))) throw new Error('bench/kvm: an ioctl failed in the bench case');
      return rate;
    };
    const measureRaw = async (): Promise<number> => {
      await settle();
      return raw(n).casesPerSec;
    };
    for (let k = 0; k < reps; k++) {
      if (k % 2 === 0) {
        rawRates.push(await measureRaw());
        execRates.push(await measureExec(2));
      } else {
        execRates.push(await measureExec(2));
        rawRates.push(await measureRaw());
      }
      serialRates.push(await measureExec(1));
    }
    const rawReuse = raw(n, true).casesPerSec;
    // kvm-check end to end (information only).
    const cal = await calibrateMachine(exec, { install: false });
    const machine = { kernel: cal.kernel, host: cal.host };
    const tg = Date.now();
    const ccases = generateCases({ machine, table: cal.table, size: cal.size }, n, 1);
    const genMs = Date.now() - tg;
    const conf = await runConformance(exec, machine, ccases);
    const agree = conf.outcomes.filter((o) => o.status === 'agree').length;

    const rawMed = median(rawRates);
    const execMed = median(execRates);
    const report = {
      date: new Date().toISOString(),
      machine: { release: os.release(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '' },
      casesPerRep: n,
      reps,
      case: 'fresh vCPU; KVM_SET_CPUID2 (host table) → KVM_SET_XCRS → KVM_SET_XSAVE → KVM_GET_XSAVE → KVM_GET_XCRS',
      rawCasesPerSec: { median: Math.round(rawMed), all: rawRates.map(Math.round) },
      executorCasesPerSec: { median: Math.round(execMed), all: execRates.map(Math.round), chunkSize: 500, pipeline: 2 },
      executorSerialCasesPerSec: { median: Math.round(median(serialRates)), all: serialRates.map(Math.round), pipeline: 1 },
      ratio: Number((execMed / rawMed).toFixed(3)),
      goal: 0.5,
      rawReusedVcpuCasesPerSec: Math.round(rawReuse),
      kvmCheck: {
        cases: ccases.length,
        agree,
        generateMs: genMs,
        predictRunCompareMs: conf.elapsedMs,
        executorMs: conf.executorMs,
        casesPerSec: Math.round((ccases.length / (genMs + conf.elapsedMs)) * 1000),
      },
    };
    writeFileAtomic(values.out, JSON.stringify(report, null, 2) + '\n');
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`raw C loop        ${report.rawCasesPerSec.median} cases/s (${rawRates.map(Math.round).join(', ')})`);
      console.log(`executor (pipe)   ${report.executorCasesPerSec.median} cases/s (${execRates.map(Math.round).join(', ')}), serial ${report.executorSerialCasesPerSec.median}`);
      console.log(`ratio             ${(report.ratio * 100).toFixed(1)}% of raw (goal ≥ 50%)`);
      console.log(`raw, one vCPU reused: ${report.rawReusedVcpuCasesPerSec} cases/s (upper bound of vCPU reuse)`);
      console.log(`kvm-check end to end: ${report.kvmCheck.casesPerSec} cases/s (${agree}/${ccases.length} agree)`);
      console.log(`written ${values.out}`);
    }
    return 0;
  } finally {
    await exec.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error((e as Error).stack ?? e);
      process.exitCode = 2;
    },
  );
}
