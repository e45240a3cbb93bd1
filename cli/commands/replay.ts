// xsave-harness replay [--json] [--fixup PATH] [--backend model|kvm|lab:KERNEL:HOST] PATH...
import { parseArgs } from 'node:util';
import { loadFixup } from '../../cases/fixupLoader';
import { formatResult, replayExitCode, replayPaths } from '../../cases/replay';
import { formatKvmResult, replayKvmPaths } from '../../kvm/replayKvm';
import { openKvm } from '../../kvm/session';
import { MachineCalibration } from '../../kvm/calibration';
import { XsaveExecutor } from '../../kvm/executor';
import { setThisMachine } from '../../cases/resolve';
import { LAB_HOSTS, LAB_KERNELS } from '../../lab/catalogue';
import { openLab } from '../../lab/session';
import { qemuAvailability } from '../../lab/vm';
import { progress } from '../../lab/progress';
import { EXIT, UsageError } from '../exitCodes';

export const usage =
  'replay [--json] [--fixup PATH] [--backend model|kvm|lab:KERNEL:HOST] PATH...   replay case files or folders against the model, the running kernel (kvm), or a lab kernel under QEMU';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, fixup: { type: 'string' }, backend: { type: 'string', default: 'model' } },
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new UsageError('replay needs at least one case file or folder');
  const lab = /^lab:([^:]+):([^:]+)$/.exec(values.backend);
  if (values.backend !== 'model' && values.backend !== 'kvm' && !lab) throw new UsageError(`--backend ${values.backend}: expected "model", "kvm" or "lab:KERNEL:HOST"`);
  if (lab && !LAB_KERNELS.some((k) => k.id === lab[1])) throw new UsageError(`--backend ${values.backend}: unknown lab kernel "${lab[1]}" (known: ${LAB_KERNELS.map((k) => k.id).join(', ')})`);
  if (lab && !LAB_HOSTS.some((h) => h.id === lab[2])) throw new UsageError(`--backend ${values.backend}: unknown lab host "${lab[2]}" (known: ${LAB_HOSTS.map((h) => h.id).join(', ')})`);
  const plugin = await loadFixup(values.fixup);
  if (values.backend === 'kvm') return runKvm(positionals, plugin, values.json);
  if (lab) return runLabReplay(lab[1]!, lab[2]!, positionals, plugin, values.json);
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
    return await replayOn(exec, cal, paths, plugin, json);
  } finally {
    await exec.close();
  }
}

/**
 * Replays on a lab kernel: the cases whose target is the lab kernel's catalogue id (or `this`)
 * and a host of the lab host's shape run in the VM; `this` stands for the lab machine meanwhile.
 */
async function runLabReplay(kernelId: string, hostId: string, paths: string[], plugin: Awaited<ReturnType<typeof loadFixup>>, json: boolean): Promise<number> {
  const q = qemuAvailability();
  if (!q.ok) {
    console.error(`xsave-harness replay --backend lab:${kernelId}:${hostId}: ${q.reason}`);
    return EXIT.NO_KVM;
  }
  let s;
  try {
    s = await openLab(kernelId, hostId, { progress: progress(`${kernelId}/${hostId}`, { quiet: json }) });
  } catch (e) {
    console.error(`xsave-harness replay: lab ${kernelId}/${hostId}: infrastructure error: ${(e as Error).message}`);
    return EXIT.UNUSABLE;
  }
  try {
    const cal: MachineCalibration = { ...s.cal, kernel: s.machine.kernel, host: s.machine.host, chosen: kernelId, exact: s.check.kernelDiffering === 0 };
    setThisMachine(s.machine);
    if (!json) console.log(`backend lab:${kernelId}:${hostId}: ${s.cal.release} under QEMU; catalogue check: host ${s.check.hostAgrees ? 'agrees' : 'DIFFERS'}, kernel entry ${s.check.kernelDiffering === 0 ? 'agrees' : `differs in ${s.check.kernelDiffering} probe steps`}`);
    return await replayOn(s.vm.exec, cal, paths, plugin, json);
  } finally {
    await s.close();
  }
}

async function replayOn(exec: XsaveExecutor, cal: MachineCalibration, paths: string[], plugin: Awaited<ReturnType<typeof loadFixup>>, json: boolean): Promise<number> {
  {
    const s = await replayKvmPaths(exec, paths, cal, plugin);
    for (const m of s.missing) console.log(json ? JSON.stringify({ file: m, status: 'error', reason: `${m}: no such file or folder` }) : `ERROR ${m}: no such file or folder`);
    for (const r of s.results) console.log(json ? JSON.stringify(r) : formatKvmResult(r));
    if (!json) console.log(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped, ${s.errors} unusable`);
    if (s.errors > 0) return EXIT.UNUSABLE;
    return s.failed > 0 ? EXIT.FAILED : EXIT.OK;
  }
}
