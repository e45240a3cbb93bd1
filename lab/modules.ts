/**
 * Kernel modules for the lab's initramfs: found by name in an unpacked kernel package
 * (`.ko`, or `.ko.xz` as Debian's 6.12 ships them), their dependencies read from the module's own
 * `.modinfo` ("depends=a,b"), and put in load order. Debian's image packages carry no
 * modules.dep, and busybox insmod loads one file without resolving anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCommandBytes } from './run';

/** Module names compare with '-' and '_' as the same character (as modprobe does). */
export function canonicalModule(name: string): string {
  return name.replace(/-/g, '_');
}

/** Index of every module file under lib/modules/RELEASE/kernel: canonical name → path. */
export function indexModules(root: string, release: string): Map<string, string> {
  const base = path.join(root, 'lib', 'modules', release, 'kernel');
  if (!fs.existsSync(base)) throw new Error(`no modules folder ${base}`);
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const m = /^(.*)\.ko(\.xz|\.zst)?$/.exec(e.name);
        if (m) out.set(canonicalModule(m[1]!), p);
      }
    }
  };
  walk(base);
  return out;
}

/** Modules built into the kernel image (lib/modules/RELEASE/modules.builtin): nothing to load. */
export function builtinModules(root: string, release: string): Set<string> {
  const f = path.join(root, 'lib', 'modules', release, 'modules.builtin');
  if (!fs.existsSync(f)) return new Set();
  return new Set(
    fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .map((l) => /([^/]+)\.ko$/.exec(l.trim())?.[1])
      .filter((x): x is string => !!x)
      .map(canonicalModule),
  );
}

/** The module's bytes, decompressed. */
export async function readModule(file: string): Promise<Buffer> {
  if (file.endsWith('.ko')) return fs.readFileSync(file);
  if (file.endsWith('.xz')) return runCommandBytes('xz', ['-dc', file], { timeoutMs: 60_000 });
  if (file.endsWith('.zst')) return runCommandBytes('zstd', ['-dc', file], { timeoutMs: 60_000 });
  throw new Error(`${file}: unknown module compression`);
}

/** The "depends=" list of a module image (empty when it has none). */
export function moduleDepends(image: Uint8Array): string[] {
  const b = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const at = b.indexOf('\0depends=');
  if (at < 0) return [];
  const start = at + '\0depends='.length;
  const end = b.indexOf(0, start);
  const v = b.toString('latin1', start, end < 0 ? b.length : end);
  return v ? v.split(',').filter(Boolean).map(canonicalModule) : [];
}

export interface LoadedModule {
  name: string;
  image: Buffer;
  depends: string[];
}

/**
 * `roots` and everything they depend on, dependencies first; modules built into the image
 * (`builtin`) are skipped. `override` replaces a module's file (patched KVM modules built by the
 * lab). Throws naming the module when one is missing.
 */
export async function moduleClosure(
  index: ReadonlyMap<string, string>,
  roots: readonly string[],
  override: ReadonlyMap<string, string> = new Map(),
  builtin: ReadonlySet<string> = new Set(),
): Promise<LoadedModule[]> {
  const loaded = new Map<string, LoadedModule>();
  const order: LoadedModule[] = [];
  const visiting = new Set<string>();
  const visit = async (raw: string, from: string): Promise<void> => {
    const name = canonicalModule(raw);
    if (loaded.has(name) || (builtin.has(name) && !override.has(name))) return;
    if (visiting.has(name)) throw new Error(`module dependency cycle through ${name}`);
    visiting.add(name);
    const file = override.get(name) ?? index.get(name);
    if (!file) throw new Error(`module ${name}${from ? ` (needed by ${from})` : ''} is not in the kernel package`);
    const image = await readModule(file);
    const depends = moduleDepends(image);
    for (const d of depends) await visit(d, name);
    const m = { name, image, depends };
    loaded.set(name, m);
    order.push(m);
    visiting.delete(name);
  };
  for (const r of roots) await visit(r, '');
  return order;
}
