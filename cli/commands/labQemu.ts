// xsave-harness lab qemu [--only K:H,...] [--source K:H] [--json] [--record F] [--strace]
//                        [--observe S] [--guest hlt|busy] [--timeout S] [--keep DIR]
// Real QEMU 7.2 as the VMM inside lab VMs (lab/qemuVmm.ts, docs/lab-qemu.md): the guest runs on
// the source kernel and host, is saved by `savevm` and by a live migration, and restored on each
// target (`-loadvm`, `-incoming`); each outcome is printed beside the model's prediction and
// written as a corpus case into the record file.
// Exit: 0 every cell ran and agrees · 1 a disagreement · 2 infrastructure (a cell did not run,
// a lab kernel missing from the catalogue) · 3 usage · 4 QEMU missing.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../../cases/files';
import { LAB_KERNELS } from '../../lab/catalogue';
import { progress } from '../../lab/progress';
import { DEFAULT_SOURCE, DEFAULT_TARGETS, Endpoint, label, parseEndpoints } from '../../lab/qemuPlan';
import { cellLine, LabQemuResult, runLabQemu } from '../../lab/qemuRun';
import { QemuMissing } from '../../lab/qemuVmm';
import { qemuAvailability } from '../../lab/vm';
import { EXIT, UsageError } from '../exitCodes';

function posInt(name: string, v: string): number {
  if (!/^[1-9][0-9]*$/.test(v)) throw new UsageError(`--${name}: expected a positive integer, got "${v}"`);
  return Number(v);
}

/** The exit code of a finished run. */
export function exitOf(r: LabQemuResult): number {
  if (r.cells.some((c) => c.agree === false)) return EXIT.FAILED;
  if (!r.cells.length || r.cells.some((c) => c.agree === null)) return EXIT.UNUSABLE;
  return EXIT.OK;
}

export async function runLabQemuCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      only: { type: 'string' },
      source: { type: 'string' },
      json: { type: 'boolean', default: false },
      record: { type: 'string', default: 'reports/lab-qemu.json' },
      'no-record': { type: 'boolean', default: false },
      strace: { type: 'boolean', default: false },
      observe: { type: 'string', default: '5' },
      guest: { type: 'string', default: 'hlt' },
      timeout: { type: 'string', default: '300' },
      keep: { type: 'string' },
    },
  });
  if (positionals.length) throw new UsageError(`lab qemu: unexpected arguments ${positionals.join(' ')}`);
  if (values.guest !== 'hlt' && values.guest !== 'busy') throw new UsageError(`--guest: expected hlt or busy, got "${values.guest}"`);
  const observe = posInt('observe', values.observe!);
  const limitMs = posInt('timeout', values.timeout!) * 1000;
  let source: Endpoint = DEFAULT_SOURCE;
  let targets: Endpoint[] = [...DEFAULT_TARGETS];
  try {
    if (values.source) {
      const [kernel, host] = values.source.split(':');
      if (!kernel || !host) throw new RangeError(`--source: expected KERNEL:HOST, got "${values.source}"`);
      source = parseEndpoints(values.source, [{ kernel, host }], '--source')[0]!;
    }
    if (values.only) targets = parseEndpoints(values.only, DEFAULT_TARGETS, '--only');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const q = qemuAvailability();
  if (!q.ok) {
    console.error(`xsave-harness lab qemu: ${q.reason}`);
    return EXIT.NO_KVM;
  }
  const p = progress('lab qemu', { quiet: values.json });
  let r: LabQemuResult;
  try {
    r = await runLabQemu({ source, targets, observe, guest: values.guest, strace: values.strace!, limitMs, keep: values.keep, log: (s) => p.update(s) });
  } catch (e) {
    p.done('failed');
    console.error(`xsave-harness lab qemu: ${(e as Error).message}`);
    return e instanceof QemuMissing ? EXIT.NO_KVM : EXIT.UNUSABLE;
  }
  p.done(`done; consoles in ${r.workDir}`);
  const code = exitOf(r);
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    commit = null;
  }
  const record = {
    format: 'xsave-harness/lab-qemu/1',
    command: `xsave-harness lab qemu ${argv.join(' ')}`.trim(),
    commit,
    exit: code,
    ...r,
    cases: r.cells.filter((c) => c.case).map((c) => c.case),
  };
  if (!values['no-record']) writeFileAtomic(values.record!, JSON.stringify(record, null, 2) + '\n');
  if (values.json) {
    console.log(JSON.stringify(record, null, 2));
    return code;
  }
  console.log(`${r.qemu ?? 'QEMU ?'}; outer VMs ${r.accel}; source ${label(r.source)}${r.source.release ? ` (${r.source.release})` : ''}`);
  if (r.source.problem) console.log(`source: ${r.source.problem}`);
  for (const k of ['migrate', 'savevm'] as const) {
    const s = r.stream[k];
    console.log(`${k === 'migrate' ? 'migration stream' : 'savevm snapshot'}: env.xstate_bv ${s.xstateBv ?? '?'}${s.leaked ? ' (carries a bit outside x87|SSE: leaked)' : s.leaked === false ? ' (no leak)' : ''}${s.error && s.error !== 'not run' ? ` [${s.error}]` : ''}`);
  }
  for (const c of r.cells) console.log(cellLine(c, r.stream));
  const agree = r.cells.filter((c) => c.agree).length;
  const dis = r.cells.filter((c) => c.agree === false).length;
  const notRun = r.cells.filter((c) => c.agree === null).length;
  console.log(`${agree} agree, ${dis} disagree, ${notRun} not run${values['no-record'] ? '' : `; record ${values.record}`}`);
  if (notRun && r.cells.some((c) => c.problem && /not in lab\/catalogue/.test(c.problem))) {
    console.log(`lab kernels here: ${LAB_KERNELS.map((k) => k.id).join(', ')}`);
  }
  return code;
}
