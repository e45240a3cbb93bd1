/**
 * The lab's cache: downloaded Debian packages and built artefacts (static executor, initramfs,
 * patched kernel modules), each artefact in a folder named by the hash of everything that went
 * into it, with a manifest holding the SHA-256 of every file. A second run finds the folder,
 * checks the hashes and builds nothing; a corrupt or half-written entry fails the check and is
 * rebuilt. Entries are built in a temporary folder and renamed into place (atomic).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function cacheRoot(): string {
  return process.env.XSAVE_LAB_CACHE || path.join(os.homedir(), '.cache', 'xsave-harness', 'lab');
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** A stable key for a list of inputs (strings; order matters). */
export function keyOf(parts: readonly string[]): string {
  return sha256(parts.join('\0')).slice(0, 20);
}

export interface Manifest {
  kind: string;
  key: string;
  /** what went in, for `lab list` and for humans */
  inputs: Record<string, string>;
  /** file name → sha256 */
  files: Record<string, string>;
  builtAt: string;
  buildMs: number;
}

export interface Artefact {
  dir: string;
  manifest: Manifest;
  /** true when this call built it (false: found in the cache and verified) */
  built: boolean;
  file(name: string): string;
}

/** Why the entry at `dir` is unusable, or null when every file matches its manifest hash. */
export function verifyEntry(dir: string): string | null {
  const mf = path.join(dir, 'manifest.json');
  if (!fs.existsSync(mf)) return 'no manifest.json';
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(mf, 'utf8')) as Manifest;
  } catch (e) {
    return `manifest.json: ${(e as Error).message}`;
  }
  for (const [name, want] of Object.entries(m.files ?? {})) {
    const f = path.join(dir, name);
    if (!fs.existsSync(f)) return `${name} is missing`;
    const got = sha256File(f);
    if (got !== want) return `${name}: sha256 ${got.slice(0, 12)}…, manifest says ${want.slice(0, 12)}…`;
  }
  return null;
}

export interface EnsureOptions {
  kind: string;
  key: string;
  inputs: Record<string, string>;
  /** fills `tmpDir` with the artefact's files (every regular file in it is hashed) */
  build: (tmpDir: string) => Promise<void> | void;
  /** called when an existing entry failed verification and is rebuilt */
  onCorrupt?: (why: string) => void;
}

function artefact(dir: string, manifest: Manifest, built: boolean): Artefact {
  return { dir, manifest, built, file: (name: string) => path.join(dir, name) };
}

/** Returns the cached artefact, building (or rebuilding a corrupt one) when needed. */
export async function ensureArtefact(o: EnsureOptions): Promise<Artefact> {
  const root = path.join(cacheRoot(), 'artefacts');
  const dir = path.join(root, `${o.kind}-${o.key}`);
  if (fs.existsSync(dir)) {
    const why = verifyEntry(dir);
    if (why === null) return artefact(dir, JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest, false);
    o.onCorrupt?.(why);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(root, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, `.tmp-${o.kind}-`));
  try {
    const t0 = Date.now();
    await o.build(tmp);
    const files: Record<string, string> = {};
    for (const name of fs.readdirSync(tmp).sort()) {
      if (fs.statSync(path.join(tmp, name)).isFile()) files[name] = sha256File(path.join(tmp, name));
    }
    const manifest: Manifest = { kind: o.kind, key: o.key, inputs: o.inputs, files, builtAt: new Date().toISOString(), buildMs: Date.now() - t0 };
    fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // Another process finished the same entry first: use theirs if it verifies.
      if (fs.existsSync(dir) && verifyEntry(dir) === null) {
        fs.rmSync(tmp, { recursive: true, force: true });
        return artefact(dir, JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest, false);
      }
      throw e;
    }
    return artefact(dir, manifest, true);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Every artefact entry in the cache with its verification status (for `lab list`). */
export function listArtefacts(): Array<{ dir: string; manifest: Manifest | null; problem: string | null }> {
  const root = path.join(cacheRoot(), 'artefacts');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((n) => !n.startsWith('.'))
    .sort()
    .map((n) => {
      const dir = path.join(root, n);
      const problem = verifyEntry(dir);
      let manifest: Manifest | null = null;
      try {
        manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
      } catch {
        manifest = null;
      }
      return { dir, manifest, problem };
    });
}
