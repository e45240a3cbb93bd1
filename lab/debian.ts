/**
 * Pinned Debian packages for the lab: fetched with `apt-get download NAME=VERSION` into the
 * cache, checked against the SHA-256 that apt's own (signed) package lists give for that exact
 * version, and unpacked with `dpkg-deb -x` without installing anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheRoot, sha256File } from './cache';
import { CommandError, runCommand } from './run';

export interface DebPackage {
  name: string;
  version: string;
}

export function debsDir(): string {
  return path.join(cacheRoot(), 'debs');
}

/** The file name apt-get download gives a package (':' in an epoch becomes %3a). */
export function debFileName(p: DebPackage, arch = 'amd64'): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${arch}.deb`;
}

/** The package's file in `dir`, whichever architecture it is built for (amd64 or all). */
function findDeb(dir: string, p: DebPackage): string {
  for (const arch of ['amd64', 'all']) {
    const f = path.join(dir, debFileName(p, arch));
    if (fs.existsSync(f)) return f;
  }
  return path.join(dir, debFileName(p));
}

export class LabSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabSetupError';
  }
}

/** SHA-256 of NAME=VERSION according to apt's package lists. */
export async function aptSha256(p: DebPackage): Promise<string> {
  let out: string;
  try {
    out = await runCommand('apt-cache', ['show', `${p.name}=${p.version}`], { timeoutMs: 60_000 });
  } catch (e) {
    throw new LabSetupError(
      `${p.name} ${p.version} is not in apt's package lists (${(e as Error).message.split('\n')[0]}); run \`xsave-harness lab setup\` (it runs apt-get update)`,
    );
  }
  const m = /^SHA256: ([0-9a-f]{64})$/m.exec(out);
  if (!m) throw new LabSetupError(`apt-cache show ${p.name}=${p.version} gives no SHA256 field`);
  return m[1]!;
}

/** Path of the verified .deb in the cache, downloading it when missing or corrupt. */
export async function ensureDeb(p: DebPackage, log: (s: string) => void = () => undefined): Promise<{ file: string; sha256: string; downloaded: boolean }> {
  const dir = debsDir();
  fs.mkdirSync(dir, { recursive: true });
  let file = findDeb(dir, p);
  const key = `${p.name}=${p.version}`;
  const seen = verified.get(key);
  if (seen && fs.existsSync(file)) {
    const st = fs.statSync(file);
    if (st.size === seen.size && st.mtimeMs === seen.mtimeMs) return { file, sha256: seen.sha256, downloaded: false };
  }
  const want = await aptSha256(p);
  if (fs.existsSync(file)) {
    const got = sha256File(file);
    if (got === want) return remember(key, file, want, false);
    log(`${path.basename(file)}: sha256 ${got.slice(0, 12)}… differs from apt's ${want.slice(0, 12)}…: downloading it again`);
    fs.rmSync(file, { force: true });
  }
  log(`downloading ${p.name} ${p.version}`);
  try {
    await runCommand('apt-get', ['download', '-q', `${p.name}=${p.version}`], { cwd: dir, timeoutMs: 15 * 60_000 });
  } catch (e) {
    throw new LabSetupError(`apt-get download ${p.name}=${p.version} failed: ${(e as CommandError).message}`);
  }
  file = findDeb(dir, p);
  if (!fs.existsSync(file)) throw new LabSetupError(`apt-get download ${p.name}=${p.version} did not write ${file}`);
  const got = sha256File(file);
  if (got !== want) {
    fs.rmSync(file, { force: true });
    throw new LabSetupError(`${file}: downloaded file has sha256 ${got}, apt's lists say ${want}`);
  }
  return remember(key, file, want, true);
}

/**
 * Packages already checked by this process (size and mtime at the check): a command that boots
 * many lab VMs asks apt and hashes each .deb (up to 150 MB) once, not at every boot.
 */
const verified = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

function remember(key: string, file: string, sha: string, downloaded: boolean): { file: string; sha256: string; downloaded: boolean } {
  const st = fs.statSync(file);
  verified.set(key, { size: st.size, mtimeMs: st.mtimeMs, sha256: sha });
  return { file, sha256: sha, downloaded };
}

/** Unpacks a .deb's files into `dir` (no maintainer scripts run). */
export async function extractDeb(file: string, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await runCommand('dpkg-deb', ['-x', file, dir], { timeoutMs: 10 * 60_000 });
}
