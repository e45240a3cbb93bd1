// xsave-harness lab setup | list
//   setup: install the lab's system packages (as root; otherwise print the apt-get line) and
//          fetch and build every lab kernel's boot files into the cache.
//   list:  each lab kernel and host: what it is, where it came from, what was changed, and the
//          state of its cached artefacts.
import { LAB_HOSTS, LAB_KERNELS } from '../../lab/catalogue';
import { cacheRoot, listArtefacts } from '../../lab/cache';
import { progress } from '../../lab/progress';
import { labSetup, missingPackages } from '../../lab/setup';
import { kernelById, hostByName } from '../../model';
import { EXIT, UsageError } from '../exitCodes';

export const usage = 'lab setup | list   the kernel lab: real kernels under QEMU (setup installs and builds; list shows kernels, hosts, cache)';

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

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (rest.length) throw new UsageError(`lab ${sub}: unexpected arguments ${rest.join(' ')}`);
  if (sub === 'setup') return setup();
  if (sub === 'list') return list();
  throw new UsageError(`lab: expected "setup" or "list", got ${sub ? `"${sub}"` : 'nothing'}`);
}
