// Model and property throughput on one core, and corpus replay time.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { PVE_FIXUP, setXsave } from '../model';
import { buildIoctl, ioctlScenarioArb } from '../properties/arbitraries/scenarios';
import { PROPERTIES, PROPERTY_IDS } from '../properties/claims';
import { runProperty } from '../properties/properties';
import { replayPaths } from '../cases/replay';
import { collectCaseFiles } from '../cases/files';
import { ratePerSecond } from './stats';

export interface ModelBench {
  fullPathPerSecond: number;
  propertyCasesPerSecond: Record<string, number>;
  replay10kSeconds: number;
}

/** Fixup + SET validation + resulting state on pre-generated 4 KiB buffers. */
export function benchFullPath(): number {
  const built = fc.sample(ioctlScenarioArb(), { seed: 1, numRuns: 1000 }).map(buildIoctl).filter((b) => b.region.length === 4096);
  const N = 200_000;
  return ratePerSecond(N, () => {
    for (let i = 0; i < N; i++) {
      const b = built[i % built.length]!;
      setXsave(b.vcpu, b.region, PVE_FIXUP);
    }
  }).median;
}

export function benchProperties(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of PROPERTY_IDS.map((id) => PROPERTIES[id])) {
    const N = 5000;
    let seed = 1;
    out[p.id] = ratePerSecond(N, () => void runProperty(p, PVE_FIXUP, { seed: seed++, numRuns: N, coverage: false }), 3).median;
  }
  return out;
}

export interface ProcessSamples {
  fullPath: number[];
  properties: Record<string, number[]>;
}

/**
 * The full path and the property rates measured in `processes` fresh Node processes, one after
 * the other. A process's figure varies by ±15% from one process to the next on this machine
 * (JIT and heap layout), more than within a process, so the bench takes the median over
 * processes and shows every sample.
 */
export function benchModelInProcesses(processes = 5): ProcessSamples {
  const out: ProcessSamples = { fullPath: [], properties: {} };
  for (let i = 0; i < processes; i++) {
    const json = execFileSync(process.execPath, [__filename, '--model-child'], { encoding: 'utf8', timeout: 600_000 });
    const r = JSON.parse(json) as { fullPath: number; properties: Record<string, number> };
    out.fullPath.push(r.fullPath);
    for (const [k, v] of Object.entries(r.properties)) (out.properties[k] ??= []).push(v);
  }
  return out;
}

if (require.main === module && process.argv.includes('--model-child')) {
  process.stdout.write(JSON.stringify({ fullPath: benchFullPath(), properties: benchProperties() }));
}

/** Replay of 10,000 cases: the committed corpus copied under fresh ids until there are 10,000 files. */
export function benchReplay10k(): number {
  const { files } = collectCaseFiles([path.join(__dirname, '..', '..', 'corpus')].filter(fs.existsSync).concat(fs.existsSync('corpus') ? ['corpus'] : []).slice(0, 1));
  const sources = files.filter((f) => !f.includes(`${path.sep}found${path.sep}`)).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-bench-'));
  for (let i = 0; i < 10_000; i++) {
    const c = sources[i % sources.length]!;
    fs.writeFileSync(path.join(dir, `c${i}.json`), JSON.stringify({ ...c, id: `${c['id']}-${i}` }));
  }
  const t = process.hrtime.bigint();
  const s = replayPaths([dir]);
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  fs.rmSync(dir, { recursive: true, force: true });
  if (s.errors || s.failed) throw new Error(`replay bench: ${s.failed} failed, ${s.errors} unusable`);
  return secs;
}
