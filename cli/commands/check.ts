// xsave-harness check [--seed S] [--runs N] [--fixup PATH] [--only P1,P2] [--found DIR]
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
import { EXIT, UsageError } from '../exitCodes';

export const usage = 'check [--seed S] [--runs N] [--fixup PATH] [--only P1,..] [--found DIR]   P1-P5 against a fixup';

export function parseSeed(s: string | undefined): number {
  if (s === undefined) return Date.now() % 0x7fffffff;
  if (!/^-?\d+$/.test(s)) throw new UsageError(`--seed: expected an integer, got "${s}"`);
  return Number(s) | 0;
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
    },
  });
  const seed = parseSeed(values.seed);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs: expected a positive integer, got "${values.runs}"`);
  const ids = (values.only ? values.only.split(',') : [...PROPERTY_IDS]) as PropertyId[];
  for (const id of ids) if (!isPropertyId(id)) throw new UsageError(`--only: unknown property "${id}" (P1-P5)`);
  const fixup: Fixup = await loadFixup(values.fixup);
  console.log(`seed ${seed}, ${runs} runs per property, fixup ${fixup.name}`);
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
    console.log(`  seed ${seed}, path ${r.path}`);
    console.log(`  rerun: npx xsave-harness check --only ${id} --seed ${seed} --runs ${runs}${values.fixup ? ` --fixup ${values.fixup}` : ''}`);
    const ce = counterexampleCase(r);
    if (ce) {
      const file = path.join(values.found, `${ce.id}.json`);
      writeFileAtomic(file, ce.json);
      console.log(`  counterexample case: ${file}`);
      console.log(`  replay: npx xsave-harness replay${values.fixup ? ` --fixup ${values.fixup}` : ''} ${file}`);
      console.log(ce.json.length > 4000 ? ce.json.slice(0, 600).replace(/"hex": "[0-9a-f]+"/, '"hex": "…"') + '  …' : ce.json);
    }
  }
  console.log(`${ids.length - failed} passed, ${failed} failed`);
  return failed ? EXIT.FAILED : EXIT.OK;
}
