// kvm-check --lab KERNEL[,KERNEL...] --host pku|nopku|noavx|all: the same generated cases as
// kvm-check, on lab kernels booted under QEMU (lab/). Each kernel × host pair: boot, calibrate
// (a check of the catalogue entries of the kernel and the host), generate with the seed, predict,
// run, compare; disagreements are written as case files naming the lab kernel and host, replayed
// with `replay --backend lab:KERNEL:HOST`.
import * as os from 'node:os';
import { writeFileAtomic } from '../../cases/files';
import { shellSeed } from '../../cases/seedText';
import type { Fixup } from '../../model';
import { LAB_HOSTS, LAB_KERNELS } from '../../lab/catalogue';
import { progress } from '../../lab/progress';
import { LabSession, openLab } from '../../lab/session';
import { labAccel, qemuAvailability } from '../../lab/vm';
import { execFileSync } from 'node:child_process';
import { EXIT, UsageError } from '../exitCodes';
import { KvmCheckReport, checkMachine, positiveInt } from '../checkMachine';

export interface LabRunOptions {
  kernels: string;
  hosts: string;
  n: number;
  chunk: number;
  seed: string;
  plugin: Fixup;
  json: boolean;
  found: string;
  jobs?: string;
  record?: string;
  /** kvm-check --shrink: candidate runs per shrunk disagreement (0: none) */
  shrink?: number;
}

export interface LabPairResult {
  kernel: string;
  host: string;
  catalogueHost: string;
  release: string | null;
  accel: string;
  bootMs: number | null;
  check: LabSession['check'] | null;
  cases: number;
  agree: number;
  disagree: number;
  infraCases: number;
  casesPerSec: number;
  /** an infrastructure failure that stopped the pair (boot, calibration), else null */
  infra: string | null;
  restarts: number;
  report: KvmCheckReport | null;
}

export function parseList(what: string, v: string, known: readonly string[], allowAll: boolean): string[] {
  if (allowAll && v === 'all') return [...known];
  const xs = v.split(',').map((x) => x.trim()).filter(Boolean);
  if (!xs.length) throw new UsageError(`--${what}: expected ${allowAll ? '"all" or ' : ''}a comma-separated list of ${known.join(', ')}`);
  for (const x of xs) if (!known.includes(x)) throw new UsageError(`--${what}: unknown "${x}" (known: ${known.join(', ')}${allowAll ? ', all' : ''})`);
  return [...new Set(xs)];
}

async function runPair(kernel: string, host: string, o: LabRunOptions, lines: string[]): Promise<LabPairResult> {
  const label = `${kernel}/${host}`;
  const p = progress(label, { quiet: o.json });
  const log = (s: string): void => {
    lines.push(s);
  };
  const res: LabPairResult = {
    kernel,
    host,
    catalogueHost: LAB_HOSTS.find((h) => h.id === host)!.catalogueHost,
    release: null,
    accel: labAccel(),
    bootMs: null,
    check: null,
    cases: 0,
    agree: 0,
    disagree: 0,
    infraCases: 0,
    casesPerSec: 0,
    infra: null,
    restarts: 0,
    report: null,
  };
  const t0 = Date.now();
  let s: LabSession;
  try {
    s = await openLab(kernel, host, { progress: p });
  } catch (e) {
    res.infra = `boot or calibration failed: ${(e as Error).message}`;
    p.done(`INFRASTRUCTURE ERROR: ${res.infra.split('\n')[0]}`);
    log(`[${label}] INFRASTRUCTURE ERROR: ${res.infra}`);
    return res;
  }
  try {
    res.release = s.cal.release;
    res.bootMs = Date.now() - t0;
    res.check = s.check;
    const c = s.check;
    log(`[${label}] kernel ${s.cal.release} booted and calibrated in ${(res.bootMs / 1000).toFixed(1)} s (${s.cal.probeCases} probe cases, ${s.cal.probeSteps} steps)`);
    log(`  host: ${c.hostAgrees ? 'agrees with' : 'DISAGREES with'} the catalogue: ${c.hostDetail}`);
    log(
      `  kernel: catalogue entry ${kernel} ${c.kernelDiffering === 0 ? `predicts all ${s.cal.probeSteps} probe steps` : `predicts ${c.kernelDiffering} probe steps WRONGLY`}` +
        (c.alsoExact.length ? ` (so do: ${c.alsoExact.join(', ')})` : ''),
    );
    for (const x of c.kernelExamples) log(`    ${x}`);
    const { report, exit } = await checkMachine(s.vm.exec, s.cal, s.machine, {
      n: o.n,
      chunk: o.chunk,
      seed: o.seed,
      plugin: o.plugin,
      json: o.json,
      found: o.found,
      t0,
      target: { kernel, host: res.catalogueHost, backend: `lab:${kernel}:${host}`, release: s.cal.release, calibratedAs: kernel },
      shrink: o.shrink,
      rerun: `xsave-harness kvm-check --lab ${kernel} --host ${host} --cases ${o.n} --seed ${shellSeed(o.seed)}`,
      onChunk: (done, total) => p.update(`${done}/${total} cases`),
      log: (x) => log(`  ${x}`),
    });
    void exit;
    res.report = report;
    res.cases = report.cases;
    res.agree = report.agree;
    res.disagree = report.disagree;
    res.infraCases = report.infra;
    res.casesPerSec = report.casesPerSec;
    res.restarts = s.vm.exec.restarts;
    p.done(`${report.agree}/${report.cases} agree, ${report.casesPerSec} cases/s`);
  } catch (e) {
    res.infra = (e as Error).message;
    p.done(`INFRASTRUCTURE ERROR: ${res.infra.split('\n')[0]}`);
    log(`[${label}] INFRASTRUCTURE ERROR: ${res.infra}`);
  } finally {
    await s.close();
  }
  return res;
}

/** Runs `tasks` with at most `jobs` at once, results in task order. */
async function pool<T>(tasks: Array<() => Promise<T>>, jobs: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  return out;
}

export function pairVerdict(r: LabPairResult): 'agree' | 'disagree' | 'infra' {
  if (r.disagree > 0 || (r.check && (!r.check.hostAgrees || r.check.kernelDiffering !== 0))) return 'disagree';
  if (r.infra || r.infraCases > 0 || r.cases === 0) return 'infra';
  return 'agree';
}

export async function runLab(o: LabRunOptions): Promise<number> {
  const kernels = parseList('lab', o.kernels, LAB_KERNELS.map((k) => k.id), false);
  const hosts = parseList('host', o.hosts, LAB_HOSTS.map((h) => h.id), true);
  const jobs = o.jobs !== undefined ? positiveInt('jobs', o.jobs) : Math.max(1, Math.min(2, os.cpus().length));
  const q = qemuAvailability();
  if (!q.ok) {
    console.error(`xsave-harness kvm-check --lab: ${q.reason}`);
    return EXIT.NO_KVM;
  }
  const t0 = Date.now();
  if (!o.json) console.log(`kvm-check --lab: kernels ${kernels.join(', ')} × hosts ${hosts.join(', ')}, seed ${o.seed}, ${o.n} cases each, fixup ${o.plugin.name}, ${jobs} VM(s) at once`);
  const pairs = kernels.flatMap((k) => hosts.map((h) => [k, h] as const));
  const results = await pool(
    pairs.map(([k, h]) => async () => {
      const lines: string[] = [];
      const r = await runPair(k, h, o, lines);
      if (!o.json) console.log(lines.join('\n'));
      return r;
    }),
    jobs,
  );
  const elapsedMs = Date.now() - t0;
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    /* not a git checkout */
  }
  const summary = {
    date: new Date().toISOString(),
    commit,
    command: `xsave-harness kvm-check --lab ${kernels.join(',')} --host ${o.hosts} --cases ${o.n} --seed ${shellSeed(o.seed)}`,
    seed: o.seed,
    fixup: o.plugin.name,
    casesPerPair: o.n,
    elapsedMs,
    pairs: results.map(({ report, ...r }) => ({ ...r, verdict: pairVerdict({ report, ...r }), disagreements: report?.disagreements.map((d) => d.file).filter(Boolean) ?? [] })),
  };
  if (o.record) writeFileAtomic(o.record, JSON.stringify(summary, null, 2) + '\n');
  if (o.json) {
    console.log(JSON.stringify({ ...summary, reports: results.map((r) => r.report) }, null, 2));
  } else {
    console.log('');
    console.log(`${'kernel'.padEnd(14)} ${'host'.padEnd(6)} ${'cases'.padStart(6)} ${'agree'.padStart(6)}  catalogue check         verdict`);
    for (const r of results) {
      const cat = r.check ? `${r.check.hostAgrees ? 'host ok' : 'HOST DIFFERS'}, ${r.check.kernelDiffering === 0 ? 'kernel ok' : `KERNEL ${r.check.kernelDiffering} steps`}` : '-';
      console.log(`${r.kernel.padEnd(14)} ${r.host.padEnd(6)} ${String(r.cases).padStart(6)} ${String(r.agree).padStart(6)}  ${cat.padEnd(23)} ${pairVerdict(r)}`);
    }
    console.log(`${results.length} kernel × host pairs in ${(elapsedMs / 1000).toFixed(1)} s; replay one disagreement with: xsave-harness replay --backend lab:KERNEL:HOST FILE`);
    console.log(`rerun: xsave-harness kvm-check --lab ${kernels.join(',')} --host ${o.hosts} --cases ${o.n} --seed ${shellSeed(o.seed)}${o.plugin.name !== 'pve' ? ' --fixup …' : ''}`);
  }
  const verdicts = results.map(pairVerdict);
  if (verdicts.includes('disagree')) return EXIT.FAILED;
  if (verdicts.includes('infra')) return EXIT.UNUSABLE;
  return EXIT.OK;
}
