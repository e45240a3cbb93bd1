// xsave-harness matrix [--json] [--fixup PATH]: the migration matrix alone (which upgrade paths
// are safe, with and without the patch), computed with the model's migrate().
import { parseArgs } from 'node:util';
import { loadFixup } from '../../cases/fixupLoader';
import { matrixMarkdown } from '../../report/markdown';
import { computeMatrix } from '../../properties/matrix';
import { EXIT, UsageError } from '../exitCodes';

export const usage = 'matrix [--json] [--fixup PATH]              the migration matrix: which upgrade paths are safe, with and without the patch';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, fixup: { type: 'string' } }, allowPositionals: true });
  if (positionals.length) throw new UsageError(`matrix takes no positional arguments (got ${positionals.join(' ')})`);
  const fixup = await loadFixup(values.fixup);
  const m = computeMatrix(fixup);
  if (values.json) process.stdout.write(JSON.stringify(m, null, 1) + '\n');
  else process.stdout.write(matrixMarkdown(m));
  return EXIT.OK;
}
