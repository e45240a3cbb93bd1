// xsave-harness check [--seed S] [--runs N] [--fixup PATH] [--only P1,P2] [--found DIR]
// xsave-harness check --exhaustive [--fixup PATH]: P1-P4 on every point of the widened abstract
// domain, after checking the abstraction's premise against the fixup (properties/exhaustiveSound.ts);
// exit 0 only when the premise held and every point passed.
// P1-P5 once against a fixup. On a failure: exit 1, print the seed, fast-check's path and the
// counterexample as a case file (also written to DIR, default corpus/found).
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Fixup } from '../../model';
import { counterexampleCase } from '../../properties/counterexample';
import { writeFileAtomic } from '../../cases/files';
import { loadFixup } from '../../cases/fixupLoader';
import { PROPERTIES, PROPERTY_IDS, isPropertyId } from '../../properties/claims';
import { PropertyId, runProperty } from '../../properties/properties';
import { decisionSpace, sampleCells } from '../../properties/decisionSpace';
import { fromFlatBlocks } from '../../report/document';
import { sectionMarkdown } from '../../report/markdown';
import { decisionSpaceBlocks } from '../../report/decisionSpace';
import { formatSound, runExhaustiveSound } from '../../properties/exhaustiveSound';
import { SeedError, SeedSpec, describeSeed, parseSeedText, shellSeed } from '../../cases/seedText';
import { EXIT, UsageError } from '../exitCodes';

export const usage = 'check [--seed S] [--runs N] [--fixup PATH] [--only P1,..] [--found DIR] | check --exhaustive [--fixup PATH]   P1-P5 against a fixup (--exhaustive: P1-P4 for every 64-bit value, or says why not)';

/**
 * --seed S: an integer (fast-check's seed, as before) or any other string, with seedrandom's
 * semantics: the integer is derived from the string (cases/seedText.ts parseSeedText), the
 * string is printed and repeated in rerun commands. Default: the clock, printed as an integer.
 */
export function parseSeed(s: string | undefined): SeedSpec {
  if (s === undefined) {
    const value = Date.now() % 0x7fffffff;
    return { text: String(value), value, derived: false };
  }
  try {
    const spec = parseSeedText(s);
    return spec.derived ? spec : { ...spec, value: spec.value | 0 };
  } catch (e) {
    if (e instanceof SeedError) throw new UsageError(e.message);
    throw e;
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      runs: { type: 'string', default: '1000' },
      fixup: { type: 'string' },
      only: { type: 'string' },
      found: { type: 'string', default: path.join('corpus', 'found') },
      exhaustive: { type: 'boolean', default: false },
    },
  });
  if (values.exhaustive) {
    for (const o of ['seed', 'runs', 'only'] as const) {
      if (argv.some((a) => a === `--${o}` || a.startsWith(`--${o}=`))) throw new UsageError(`--exhaustive checks every point of its domain: --${o} does not apply`);
    }
    const fixup: Fixup = await loadFixup(values.fixup);
    const r = runExhaustiveSound(fixup, { builtIn: values.fixup === undefined });
    for (const line of formatSound(r, fixup.name)) console.log(line);
    const ok = r.exhaustive && r.failures.length === 0;
    if (!ok) console.log(`rerun: npx xsave-harness check --exhaustive${values.fixup ? ` --fixup ${values.fixup}` : ''} (deterministic: no seed)`);
    return ok ? EXIT.OK : EXIT.FAILED;
  }
  const seedSpec = parseSeed(values.seed);
  const seed = seedSpec.value;
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs: expected a positive integer, got "${values.runs}"`);
  const ids = (values.only ? values.only.split(',') : [...PROPERTY_IDS]) as PropertyId[];
  for (const id of ids) if (!isPropertyId(id)) throw new UsageError(`--only: unknown property "${id}" (P1-P5)`);
  const fixup: Fixup = await loadFixup(values.fixup);
  console.log(`seed ${describeSeed(seedSpec)}, ${runs} runs per property, fixup ${fixup.name}`);
  let failed = 0;
  for (const id of ids) {
    const r = runProperty(PROPERTIES[id], fixup, { seed, numRuns: runs, coverage: false });
    if (!r.failed) {
      console.log(`${id} holds: ${r.title}`);
      continue;
    }
    failed++;
    console.log(`${id} FAILS: ${r.title}`);
    console.log(`  why: ${r.reason}`);
    console.log(`  seed ${seedSpec.text}, path ${r.path}`);
    console.log(`  rerun: npx xsave-harness check --only ${id} --seed ${shellSeed(seedSpec.text)} --runs ${runs}${values.fixup ? ` --fixup ${values.fixup}` : ''}`);
    const ce = counterexampleCase(r);
    if (ce) {
      const file = path.join(values.found, `${ce.id}.json`);
      writeFileAtomic(file, ce.json);
      console.log(`  counterexample case: ${file}`);
      console.log(`  replay: npx xsave-harness replay${values.fixup ? ` --fixup ${values.fixup}` : ''} ${file}`);
      console.log(ce.json.length > 4000 ? ce.json.slice(0, 600).replace(/"hex": "[0-9a-f]+"/, '"hex": "…"') + '  …' : ce.json);
    }
  }
  // The scenarios of these runs (same seed, same values) by decision-space cell (issue 14 item 3).
  const cells = Object.fromEntries(ids.map((id) => [id, sampleCells(id, PROPERTIES[id].arb, seed, runs)]));
  for (const line of sectionMarkdown(fromFlatBlocks(decisionSpaceBlocks(decisionSpace(cells))))) console.log(line);
  console.log(`${ids.length - failed} passed, ${failed} failed`);
  return failed ? EXIT.FAILED : EXIT.OK;
}
