// The environment section of a report: versions of node and of the packages whose behaviour
// the results depend on. A deterministic report (the committed review) names the node version
// the package requires rather than the one it happened to run on.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPORTED_PACKAGES = ['fast-check', 'seedrandom', 'typescript', 'jest', 'ts-jest', 'jest-junit'] as const;

export interface Environment {
  /** true: only values that do not depend on the machine or the moment */
  deterministic: boolean;
  /** process.version, or "engines: >=20" in a deterministic report */
  node: string;
  platform: string | null;
  arch: string | null;
  /** uname -r of the machine the fuzzer ran on (not the kernel under test) */
  osRelease: string | null;
  cpus: number | null;
  harnessVersion: string;
  /** installed versions (node_modules/NAME/package.json) */
  packages: Record<string, string>;
  /** the running kernel as calibrated through /dev/kvm; null until the real-KVM backend reports */
  runningKernel: null | { release: string; variant: string };
}

/** The repository root: report/ (ts) or dist/report/ (compiled). */
export function repoRoot(): string {
  for (const cand of [path.resolve(__dirname, '..'), path.resolve(__dirname, '..', '..')]) {
    if (fs.existsSync(path.join(cand, 'package.json')) && fs.existsSync(path.join(cand, 'model'))) return cand;
  }
  return path.resolve(__dirname, '..');
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export function packageVersions(root: string = repoRoot()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of REPORTED_PACKAGES) {
    const pj = readJson(path.join(root, 'node_modules', name, 'package.json'));
    out[name] = typeof pj?.['version'] === 'string' ? (pj['version'] as string) : 'not installed';
  }
  return out;
}

export function environment(deterministic: boolean, root: string = repoRoot()): Environment {
  const pkg = readJson(path.join(root, 'package.json')) ?? {};
  const engines = (pkg['engines'] as Record<string, string> | undefined)?.['node'];
  return {
    deterministic,
    node: deterministic ? `engines: ${engines ?? 'unspecified'}` : process.version,
    platform: deterministic ? null : process.platform,
    arch: deterministic ? null : process.arch,
    osRelease: deterministic ? null : os.release(),
    cpus: deterministic ? null : os.cpus().length,
    harnessVersion: typeof pkg['version'] === 'string' ? (pkg['version'] as string) : 'unknown',
    packages: packageVersions(root),
    runningKernel: null,
  };
}
