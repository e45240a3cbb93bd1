// xsave-harness mutants [--seconds N] [--seed S] [--json] [--only a,b] [--dir DIR]
// P1-P5 against every broken fixup of the mutant catalogue (mutants/*.js), with growing run
// counts until killed or the per-mutant time budget runs out; prints the kill matrix.
// Exit 0 when every killable mutant is killed (by its expected killer among others), every
// equivalent one survives and the Proxmox patch (control row) survives; 1 otherwise.
import { parseArgs } from 'node:util';
import { CatalogueError, formatKillMatrix, killMatrix } from '../../mutants/killMatrix';
import { PROPERTY_IDS } from '../../properties/claims';
import { PropertyId } from '../../properties/properties';
import { EXIT, UsageError } from '../exitCodes';
import { describeSeed } from '../../cases/seedText';
import { parseSeed } from './check';

export const usage = 'mutants [--seconds N] [--seed S] [--json] [--only NAME,..] [--dir DIR]   kill matrix of the broken-fixup catalogue';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '5' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      properties: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--seconds: expected a positive number, got "${values.seconds}"`);
  const seedSpec = parseSeed(values.seed);
  const seed = seedSpec.value;
  const properties = values.properties ? (values.properties.split(',') as PropertyId[]) : [...PROPERTY_IDS];
  for (const p of properties) if (!PROPERTY_IDS.includes(p)) throw new UsageError(`--properties: unknown property "${p}" (P1-P5)`);
  // A string seed (seedrandom's semantics), printed first: the matrix records the integer fast-check ran with.
  if (!values.json && seedSpec.derived) console.log(`seed ${describeSeed(seedSpec)}`);
  let m;
  try {
    m = await killMatrix({
      seconds,
      seed,
      properties,
      ...(values.dir ? { dir: values.dir } : {}),
      ...(values.only ? { only: values.only.split(',') } : {}),
      onRow: values.json ? undefined : (r) => process.stderr.write(`  ${r.mutant}: ${r.verdict}${r.killedBy.length ? ` by ${r.killedBy.join(',')}` : ''} (${r.elapsedMs} ms)\n`),
    });
  } catch (e) {
    if (e instanceof CatalogueError) {
      console.error(`xsave-harness mutants: ${e.message}`);
      return EXIT.UNUSABLE;
    }
    throw e;
  }
  // The JSON is committed as reports/kill-matrix.json: say when and at which commit it was made.
  console.log(values.json ? JSON.stringify({ recordedAt: new Date().toISOString(), commit: headCommit(), ...m, ...(seedSpec.derived ? { seedText: seedSpec.text } : {}) }, null, 2) : formatKillMatrix(m));
  return m.summary.ok ? EXIT.OK : EXIT.FAILED;
}

/** The checked-out commit ("+dirty" when model/, properties/ or mutants/ have changes), or null outside git. */
function headCommit(): string | null {
  try {
    const run = (args: string[]): string => require('node:child_process').execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return run(['rev-parse', 'HEAD']) + (run(['status', '--porcelain', '--untracked-files=no', '--', 'model', 'properties', 'mutants']) ? '+dirty' : '');
  } catch {
    return null;
  }
}
