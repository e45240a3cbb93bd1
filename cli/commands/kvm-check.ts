// xsave-harness kvm-check [--cases N] [--seed S] [--shrink N] [--json] [--found DIR] [--fixup PATH] [--chunk N]
//                         [--lab KERNEL[,KERNEL...] --host pku|nopku|noavx|all [--jobs J]]
// Conformance of the model with a real kernel: calibrate (kernel/host `this`; with --lab, the lab
// kernel booted under QEMU, its calibration a check of its catalogue entry), generate cases the
// host can express, predict them with the model, run them for real, compare. Every disagreement
// is written to DIR as a case file; with --shrink N the first disagreements are shrunk on the
// same backend (at most N candidate runs each) and printed with the seed and a rerun command. Exit 0 full agreement, 1 a disagreement, 2 cases lost to an
// infrastructure failure, 3 usage, 4 no usable /dev/kvm (with --lab: QEMU is not installed).
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadFixup } from '../../cases/fixupLoader';
import { describeCalibration } from '../../kvm/calibration';
import { openKvm } from '../../kvm/session';
import { EXIT, UsageError } from '../exitCodes';
import { checkMachine, positiveInt } from '../checkMachine';
import { runLab } from './labCheck';

export { KvmCheckReport, LeakDemo, checkMachine, leakDemo, positiveInt } from '../checkMachine';

export const usage = 'kvm-check [--cases N] [--seed S] [--shrink N] [--json] [--found DIR] [--fixup PATH] [--chunk N] [--lab K1,K2 --host pku|nopku|noavx|all [--jobs J]]   the model against a real kernel: the running one (/dev/kvm) or lab kernels under QEMU';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cases: { type: 'string', default: '10000' },
      seed: { type: 'string' },
      shrink: { type: 'string' },
      json: { type: 'boolean', default: false },
      found: { type: 'string', default: path.join('corpus', 'found') },
      fixup: { type: 'string' },
      chunk: { type: 'string' },
      lab: { type: 'string' },
      host: { type: 'string' },
      jobs: { type: 'string' },
      record: { type: 'string' },
    },
  });
  const n = positiveInt('cases', values.cases);
  // Chunk size: 500 cases per request on /dev/kvm; 250 in a lab VM, where smaller batches keep
  // the emulated virtio port busy while the guest works (bench/lab.ts measured 250 fastest).
  const chunk = positiveInt('chunk', values.chunk ?? (values.lab !== undefined || values.host !== undefined ? '250' : '500'));
  const shrink = values.shrink === undefined ? 0 : positiveInt('shrink', values.shrink);
  // --seed: an integer or any string (cases/seedText.ts: a string through seedrandom) seeds the
  // fast-check arbitrary of the cases (properties/arbitraries/conformance.ts)
  if (values.seed !== undefined && values.seed.length === 0) throw new UsageError('--seed: expected an integer or a non-empty string, got ""');
  const seed = values.seed ?? String(Date.now() % 0x7fffffff);
  const plugin = await loadFixup(values.fixup);
  const log = (s: string): void => {
    if (!values.json) console.log(s);
  };

  if (values.lab !== undefined || values.host !== undefined) {
    return runLab({ kernels: values.lab ?? '', hosts: values.host ?? 'all', n, chunk, seed, plugin, json: values.json, found: values.found, jobs: values.jobs, record: values.record, shrink });
  }
  const t0 = Date.now();
  const session = await openKvm();
  if (!session.ok) {
    console.error(`xsave-harness kvm-check: ${session.noKvm ? 'real KVM is not available' : 'real-KVM backend failed'}: ${session.reason}`);
    return session.noKvm ? EXIT.NO_KVM : EXIT.UNUSABLE;
  }
  const { exec, cal } = session;
  try {
    log(`calibration (${cal.elapsedMs} ms):\n  ${describeCalibration(cal).split('\n').join('\n  ')}`);
    const machine = { kernel: cal.kernel, host: cal.host };
    const { report, exit } = await checkMachine(exec, cal, machine, {
      n,
      chunk,
      seed,
      shrink,
      plugin,
      json: values.json,
      found: values.found,
      t0,
      target: { kernel: 'this', host: 'this', backend: 'kvm', release: cal.release, calibratedAs: cal.chosen },
      onChunk: (done, total) => {
        if (!values.json && process.stderr.isTTY) process.stderr.write(`\r  ${done}/${total}`);
      },
    });
    if (!values.json && process.stderr.isTTY) process.stderr.write('\n');
    if (values.json) console.log(JSON.stringify(report, null, 2));
    return exit;
  } finally {
    await exec.close();
  }
}

