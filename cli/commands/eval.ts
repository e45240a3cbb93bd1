// xsave-harness eval [--json] [--fixup PATH] FILE: what the model computes, `expect` ignored.
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parseCaseText } from '../../cases/caseFormat';
import { evaluateCase } from '../../cases/evaluate';
import { loadFixup } from '../../cases/fixupLoader';
import { EXIT, UsageError } from '../exitCodes';

export const usage = 'eval [--json] [--fixup PATH] FILE            what the model computes for a case (its expect ignored)';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, fixup: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('eval takes exactly one case file');
  const file = positionals[0]!;
  const plugin = await loadFixup(values.fixup);
  const c = parseCaseText(fs.readFileSync(file, 'utf8'), file);
  const { computed } = evaluateCase(c, plugin);
  if (values.json) console.log(JSON.stringify({ file, id: c.id, kind: c.kind, computed }));
  else {
    console.log(`${c.id} (${c.kind})`);
    for (const [k, v] of Object.entries(computed)) console.log(`  ${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  }
  return EXIT.OK;
}
