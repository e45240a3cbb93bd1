// xsave-harness replay [--json] [--fixup PATH] [--backend model|kvm] PATH...
import { parseArgs } from 'node:util';
import { loadFixup } from '../../harness/fixupLoader';
import { formatResult, replayExitCode, replayPaths } from '../../harness/replay';
import { formatKvmResult, replayKvmPaths } from '../../kvm/replayKvm';
import { openKvm } from '../../kvm/session';
import { EXIT, UsageError } from '../exitCodes';

export const usage =
  'replay [--json] [--fixup PATH] [--backend model|kvm] PATH...   replay case files or folders against the model, or (kvm) against the running kernel';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, fixup: { type: 'string' }, backend: { type: 'string', default: 'model' } },
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new UsageError('replay needs at least one case file or folder');
  if (values.backend !== 'model' && values.backend !== 'kvm') throw new UsageError(`--backend ${values.backend}: expected "model" or "kvm"`);
  const plugin = await loadFixup(values.fixup);
  if (values.backend === 'kvm') return runKvm(positionals, plugin, values.json);
  const summary = replayPaths(positionals, plugin);
  for (const m of summary.missing) console.log(values.json ? JSON.stringify({ file: m, status: 'error', error: `${m}: no such file or folder` }) : `ERROR ${m}: no such file or folder`);
  for (const r of summary.results) {
    if (values.json) console.log(JSON.stringify(r));
    else console.log(formatResult(r));
  }
  if (!values.json) console.log(`${summary.passed} passed, ${summary.failed} failed, ${summary.errors} unusable`);
  return replayExitCode(summary);
}

/** Exit 0 every runnable case holds, 1 one fails, 2 a file is unusable, 4 no usable /dev/kvm. */
async function runKvm(paths: string[], plugin: Awaited<ReturnType<typeof loadFixup>>, json: boolean): Promise<number> {
  const session = await openKvm();
  if (!session.ok) {
    console.error(`xsave-harness replay: ${session.noKvm ? 'real KVM is not available' : 'real-KVM backend failed'}: ${session.reason}`);
    return session.noKvm ? EXIT.NO_KVM : EXIT.UNUSABLE;
  }
  const { exec, cal } = session;
  try {
    if (!json) console.log(`backend kvm: this = ${cal.chosen}${cal.exact ? '' : ' (calibration not exact)'} on ${cal.release}, host ${cal.host.vendor} ${'0x' + cal.host.xcr0.toString(16)}`);
    const s = await replayKvmPaths(exec, paths, cal, plugin);
    for (const m of s.missing) console.log(json ? JSON.stringify({ file: m, status: 'error', reason: `${m}: no such file or folder` }) : `ERROR ${m}: no such file or folder`);
    for (const r of s.results) console.log(json ? JSON.stringify(r) : formatKvmResult(r));
    if (!json) console.log(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped, ${s.errors} unusable`);
    if (s.errors > 0) return EXIT.UNUSABLE;
    return s.failed > 0 ? EXIT.FAILED : EXIT.OK;
  } finally {
    await exec.close();
  }
}
