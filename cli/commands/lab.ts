// xsave-harness lab setup | list | incident | mutants | qemu | lifecycle
//   setup: install the lab's system packages (as root; otherwise print the apt-get line) and
//          fetch and build every lab kernel's boot files into the cache.
//   list:  each lab kernel and host: what it is, where it came from, what was changed, and the
//          state of its cached artefacts.
//   mutants: the real patch (a lab kernel carrying it in C) as the reference for the mutant
//          catalogue: the built-in plug-in must agree with it on every case, every killable
//          mutant must disagree on at least one, an equivalent one on none.
//   qemu:  real QEMU 7.2 as the VMM inside lab VMs: a live migration and a savevm/loadvm from
//          the leaky source to each target, each outcome beside the model's (docs/lab-qemu.md).
import { LAB_HOSTS, LAB_KERNELS } from '../../lab/catalogue';
import { cacheRoot, listArtefacts } from '../../lab/cache';
import { progress } from '../../lab/progress';
import { labSetup, missingPackages } from '../../lab/setup';
import { kernelById, hostByName } from '../../model';
import { EXIT, UsageError } from '../exitCodes';
import { parseArgs } from 'node:util';
import { PVE_FIXUP, type Fixup } from '../../model';
import { writeFileAtomic } from '../../cases/files';
import { loadMutants } from '../../mutants/killMatrix';
import { checkPlugins, PatchCheck } from '../../lab/patchCheck';
import { openLab } from '../../lab/session';
import { qemuAvailability } from '../../lab/vm';
import { parseList } from './labCheck';
import { INCIDENT_TARGETS, describeSource, runIncident } from '../../lab/incident';
import { positiveInt } from '../checkMachine';

export const usage =
  'lab setup | list | incident [--only K,...] [--record F] | mutants [--lab K,...] [--host H,...] [--cases N] [--seed S] [--record F] | qemu [--only K:H,...] [--source K:H] [--json] [--record F] [--strace] [--observe S] [--guest hlt|busy] [--keep DIR] | lifecycle [--drop-at R,...|all] [--depth K] [--json] [--record F]   the kernel lab: real kernels under QEMU (setup installs and builds; list shows kernels, hosts, cache; mutants judges the mutant catalogue against the real patched kernels; qemu runs QEMU 7.2 migrations and rollbacks between lab kernels; lifecycle replays the shortest story that fails when the patch is dropped at R, and the same story as shipped)';

async function setup(): Promise<number> {
  const p = progress('lab setup');
  try {
    const r = await labSetup(p);
    if (r.needRoot) {
      p.done('missing system packages');
      console.error(`xsave-harness lab setup: not root; run as root:\n  ${r.needRoot}`);
      return EXIT.NO_KVM;
    }
    if (r.installed.length) console.log(`installed: ${r.installed.join(' ')}`);
    for (const k of r.kernels) console.log(`${k.id}: boot files ${k.built ? 'built' : 'cached'} (${k.key})`);
    p.done(`ready; cache ${cacheRoot()}`);
    return EXIT.OK;
  } catch (e) {
    p.done('failed');
    console.error(`xsave-harness lab setup: ${(e as Error).message}`);
    return EXIT.UNUSABLE;
  }
}

function list(): number {
  console.log('lab kernels (each is also a model catalogue entry of the same id):');
  for (const k of LAB_KERNELS) {
    const entry = kernelById(k.id);
    console.log(`  ${k.id}: ${k.title}`);
    console.log(`    from: ${k.from}`);
    console.log(`    changed: ${k.changes.length ? k.changes.join('; ') : 'nothing (stock)'}`);
    console.log(`    model: ${entry ? entry.title : 'MISSING from model/kernels.ts'}`);
  }
  console.log('lab hosts (QEMU TCG CPU models; each is also a model catalogue host):');
  for (const h of LAB_HOSTS) {
    const mh = hostByName(h.catalogueHost);
    console.log(`  ${h.id}: -cpu ${h.cpu} → ${h.catalogueHost} (${mh ? `XCR0 0x${mh.xcr0.toString(16)}` : 'MISSING'}): ${h.what}`);
  }
  const missing = missingPackages();
  console.log(`system packages: ${missing.length ? `missing ${missing.join(' ')} (xsave-harness lab setup)` : 'installed'}`);
  const arts = listArtefacts();
  console.log(`cache ${cacheRoot()}: ${arts.length} artefact(s)`);
  for (const a of arts) {
    console.log(`  ${a.dir.split('/').pop()}: ${a.problem ? `CORRUPT (${a.problem}; rebuilt on next use)` : 'ok'}${a.manifest ? `, built ${a.manifest.builtAt} in ${(a.manifest.buildMs / 1000).toFixed(1)} s` : ''}`);
    if (a.manifest) for (const [what, v] of Object.entries(a.manifest.inputs)) console.log(`      ${what}: ${v}`);
  }
  return EXIT.OK;
}

export interface MutantRealRow {
  mutant: string;
  expected: 'agree' | 'disagree';
  /** disagreeing cases per kernel/host */
  disagree: Record<string, number>;
  total: number;
  verdict: 'ok' | 'WRONG';
  examples: string[];
  /** why no ioctl outcome can show this mutant (it is then expected to agree) */
  invisible?: string;
}

async function mutants(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      lab: { type: 'string', default: 'debian-6.1+pve,debian-6.12+pve' },
      host: { type: 'string', default: 'pku,nopku' },
      cases: { type: 'string', default: '3000' },
      seed: { type: 'string', default: '20261204' },
      record: { type: 'string' },
    },
  });
  const kernels = parseList('lab', values.lab, LAB_KERNELS.filter((k) => kernelById(k.id)?.pvePatch).map((k) => k.id), false);
  const hosts = parseList('host', values.host, LAB_HOSTS.map((h) => h.id), true);
  const n = positiveInt('cases', values.cases);
  const q = qemuAvailability();
  if (!q.ok) {
    console.error(`xsave-harness lab mutants: ${q.reason}`);
    return EXIT.NO_KVM;
  }
  const catalogue = await loadMutants();
  const plugins: Fixup[] = [PVE_FIXUP, ...catalogue.map((m) => m.fixup)];
  const checks: PatchCheck[] = [];
  for (const k of kernels) {
    for (const h of hosts) {
      const p = progress(`${k}/${h}`);
      let s;
      try {
        s = await openLab(k, h, { progress: p });
      } catch (e) {
        p.done('INFRASTRUCTURE ERROR');
        console.error(`xsave-harness lab mutants: ${k}/${h}: ${(e as Error).message}`);
        return EXIT.UNUSABLE;
      }
      try {
        if (s.check.kernelDiffering !== 0 || !s.check.hostAgrees) {
          p.done('catalogue check failed');
          console.log(`${k}/${h}: the calibration disagrees with the catalogue (${s.check.kernelDiffering} probe steps; ${s.check.hostDetail}): fix that first (kvm-check --lab ${k} --host ${h})`);
          return EXIT.FAILED;
        }
        const c = await checkPlugins(s, n, values.seed, plugins, (d, t) => p.update(`${d}/${t} cases`));
        p.done(`${c.cases} cases run once, ${plugins.length} plug-ins judged`);
        if (c.lost) {
          console.error(`${k}/${h}: ${c.lost} cases lost to infrastructure errors`);
          return EXIT.UNUSABLE;
        }
        checks.push(c);
      } finally {
        await s.close();
      }
    }
  }
  // A mutant may state why no ioctl outcome can show it (exports.invisibleToIoctls): the real
  // kernel is then expected to agree with it, and the property that kills it is named.
  const invisible = (file: string): string | null => {
    const v = (require(file) as Record<string, unknown>)['invisibleToIoctls'];
    return typeof v === 'string' && v ? v : null;
  };
  const rows: MutantRealRow[] = plugins.map((_pl, i) => {
    const m = i === 0 ? null : catalogue[i - 1]!;
    const why = m ? invisible(m.file) : null;
    const expected = m === null || m.equivalent !== null || why !== null ? 'agree' : 'disagree';
    const disagree: Record<string, number> = {};
    const examples: string[] = [];
    for (const c of checks) {
      const v = c.verdicts[i]!;
      disagree[`${c.kernel}/${c.host}`] = v.disagree;
      examples.push(...v.examples.slice(0, 1).map((x) => `${c.kernel}/${c.host} ${x}`));
    }
    const total = Object.values(disagree).reduce((a, b) => a + b, 0);
    const ok = expected === 'agree' ? total === 0 : total > 0;
    return { mutant: m ? m.name : 'pve (the built-in plug-in)', expected, disagree, total, verdict: ok ? 'ok' : 'WRONG', examples: examples.slice(0, 2), ...(why ? { invisible: why } : {}) };
  });
  const cols = checks.map((c) => `${c.kernel}/${c.host}`);
  console.log(`mutants against the real patched kernels (seed ${values.seed}, ${n} cases per kernel × host; each plug-in predicts the same real results):`);
  console.log(`${'plug-in'.padEnd(32)} ${'must'.padEnd(8)} ${cols.map((c) => c.padStart(Math.max(8, c.length))).join(' ')}  verdict`);
  for (const r of rows) console.log(`${r.mutant.padEnd(32)} ${r.expected.padEnd(8)} ${cols.map((c) => String(r.disagree[c]).padStart(Math.max(8, c.length))).join(' ')}  ${r.verdict}`);
  const wrong = rows.filter((r) => r.verdict !== 'ok');
  for (const r of rows) if (r.invisible) console.log(`note ${r.mutant}: not visible to ioctls: ${r.invisible}`);
  for (const r of wrong) console.log(`WRONG ${r.mutant}: expected to ${r.expected} with the real patch; ${r.examples.join('; ') || 'no disagreement'}`);
  console.log(`rerun: xsave-harness lab mutants --lab ${kernels.join(',')} --host ${hosts.join(',')} --cases ${n} --seed ${values.seed}`);
  if (values.record) {
    writeFileAtomic(values.record, JSON.stringify({ date: new Date().toISOString(), seed: values.seed, casesPerPair: n, columns: cols, rows }, null, 2) + '\n');
  }
  return wrong.length ? EXIT.FAILED : EXIT.OK;
}

async function incident(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { only: { type: 'string' }, jobs: { type: 'string' }, record: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const q = qemuAvailability();
  if (!q.ok) {
    console.error(`xsave-harness lab incident: ${q.reason}`);
    return EXIT.NO_KVM;
  }
  const known = [...new Set(INCIDENT_TARGETS.map((t) => t.kernel))];
  const only = values.only ? parseList('only', values.only, known, false) : known;
  const targets = INCIDENT_TARGETS.filter((t) => only.includes(t.kernel));
  const t0 = Date.now();
  let r;
  try {
    r = await runIncident({ targets, jobs: values.jobs ? positiveInt('jobs', values.jobs) : 2, progress: (label) => progress(label, { quiet: values.json }) });
  } catch (e) {
    console.error(`xsave-harness lab incident: infrastructure error on the source: ${(e as Error).message}`);
    return EXIT.UNUSABLE;
  }
  const hx = (v: bigint): string => '0x' + v.toString(16);
  const record = {
    date: new Date().toISOString(),
    command: `xsave-harness lab incident${values.only ? ` --only ${values.only}` : ''}`,
    elapsedMs: Date.now() - t0,
    source: { ...r.source, savedXstateBv: hx(r.source.savedXstateBv), xcr0: hx(r.source.xcr0), model: { ...r.source.model, savedXstateBv: hx(r.source.model.savedXstateBv) }, region: undefined },
    cells: r.cells.map(({ modelDetail, ...c }) => ({ ...c, modelSteps: modelDetail.restore.steps.map((x) => `${x.step}:${x.rc}`) })),
    failed: r.failed,
  };
  if (values.record) writeFileAtomic(values.record, JSON.stringify(record, null, 2) + '\n');
  if (values.json) console.log(JSON.stringify(record, null, 2));
  else {
    console.log(describeSource(r.source));
    console.log(`${'target'.padEnd(22)} ${'host'.padEnd(6)} ${'QEMU'.padEnd(9)} ${'real'.padEnd(13)} ${'model'.padEnd(11)} agree  restore steps`);
    for (const c of r.cells) {
      console.log(`${c.kernel.padEnd(22)} ${c.host.padEnd(6)} ${c.vmm.padEnd(9)} ${c.real.padEnd(13)} ${c.model.padEnd(11)} ${c.agree ? 'yes  ' : 'NO   '}  ${c.steps.join(' ')}${c.diff.length ? `; differs: ${c.diff.join(', ')}` : ''}`);
    }
    for (const f of r.failed) console.log(`INFRASTRUCTURE ERROR ${f.kernel}/${f.host}: ${f.error}`);
    console.log(`${r.cells.length} cells, ${r.cells.filter((c) => c.agree).length} agree with the model, in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const sourceOk = r.source.ran && r.source.leaked === r.source.model.leaked;
  if (!sourceOk) console.log(`the source does not behave as the model says (ran ${r.source.ran}, leaked ${r.source.leaked}, model ${r.source.model.leaked})`);
  if (r.cells.some((c) => !c.agree) || !sourceOk) return EXIT.FAILED;
  if (r.failed.length) return EXIT.UNUSABLE;
  return EXIT.OK;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'mutants') return mutants(rest);
  if (sub === 'incident') return incident(rest);
  if (sub === 'qemu') return (await import('./labQemu')).runLabQemuCommand(rest);
  if (sub === 'lifecycle') return (await import('./labLifecycle')).runLabLifecycleCommand(rest);
  if (rest.length) throw new UsageError(`lab ${sub}: unexpected arguments ${rest.join(' ')}`);
  if (sub === 'setup') return setup();
  if (sub === 'list') return list();
  throw new UsageError(`lab: expected "setup", "list", "mutants", "incident", "qemu" or "lifecycle", got ${sub ? `"${sub}"` : 'nothing'}`);
}
