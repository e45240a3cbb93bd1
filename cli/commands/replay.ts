// xsave-harness replay [--json] [--fixup PATH] PATH...
import { parseArgs } from 'node:util';
import { loadFixup } from '../../harness/fixupLoader';
import { formatResult, replayExitCode, replayPaths } from '../../harness/replay';
import { UsageError } from '../exitCodes';

export const usage = 'replay [--json] [--fixup PATH] PATH...   replay case files or folders against the model';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, fixup: { type: 'string' }, backend: { type: 'string', default: 'model' } },
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new UsageError('replay needs at least one case file or folder');
  if (values.backend !== 'model') throw new UsageError(`--backend ${values.backend}: only "model" is available in this build`);
  const plugin = await loadFixup(values.fixup);
  const summary = replayPaths(positionals, plugin);
  for (const m of summary.missing) console.log(values.json ? JSON.stringify({ file: m, status: 'error', error: `${m}: no such file or folder` }) : `ERROR ${m}: no such file or folder`);
  for (const r of summary.results) {
    if (values.json) console.log(JSON.stringify(r));
    else console.log(formatResult(r));
  }
  if (!values.json) console.log(`${summary.passed} passed, ${summary.failed} failed, ${summary.errors} unusable`);
  return replayExitCode(summary);
}

