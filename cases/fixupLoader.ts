// Loading a fixup plug-in (`--fixup PATH`): a CommonJS or ES module .js file that exports
// `fixup(ctx, region)` (CASE-FORMAT.md, "The fixup plug-in").
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Fixup, FixupFn, PVE_FIXUP } from '../model';

export class FixupLoadError extends Error {}

// A real dynamic import that TypeScript's CommonJS output does not turn into require().
const dynamicImport = new Function('u', 'return import(u)') as (u: string) => Promise<Record<string, unknown>>;

export async function loadFixup(file: string | undefined): Promise<Fixup> {
  if (!file) return PVE_FIXUP;
  const abs = path.resolve(file);
  let mod: Record<string, unknown>;
  try {
    mod = file.endsWith('.mjs') ? await dynamicImport(pathToFileURL(abs).href) : (require(abs) as Record<string, unknown>);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ESM') mod = await dynamicImport(pathToFileURL(abs).href);
    else throw new FixupLoadError(`${file}: cannot load fixup module: ${(e as Error).message}`);
  }
  const fn = (mod['fixup'] ?? (mod['default'] as Record<string, unknown> | undefined)?.['fixup']) as unknown;
  if (typeof fn !== 'function') throw new FixupLoadError(`${file}: field 'fixup': the module must export a function fixup(ctx, region)`);
  return { name: path.basename(file), fn: fn as FixupFn };
}
