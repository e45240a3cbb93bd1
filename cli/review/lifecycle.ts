// The review's lifecycle section (report/lifecycle.ts): the table of lifecycle/table.ts for
// every release, L1 by exhaustive search and random lives, and the corpus case that replays
// each release's story (corpus/lifecycle/, written by scripts/lifecycle-corpus.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIFECYCLE_CPU_MODELS, RELEASES, UPGRADES, kernelById, releaseTitle } from '../../model';
import { checkRandomLives } from '../../properties/lifecycle';
import { dropTable } from '../../lifecycle/table';
import type { LifecycleReal, LifecycleRealChain, LifecycleSection } from '../../report/lifecycle';

const CONSEQUENCE: Record<string, string> = {
  aborted: 'aborted (the saved state is lost)',
  incomplete: 'incomplete (the guest resumed with part of its state)',
  lost: 'lost (guest-visible state differs)',
};

export const LIFECYCLE_SEED = 20261205;
export const LIFECYCLE_RANDOM_LIVES = 300;

export function collectLifecycle(opts: { corpus?: string; depth?: number; labRecord?: string } = {}): LifecycleSection {
  const corpus = opts.corpus ?? path.join('corpus', 'lifecycle');
  const files = fs.existsSync(corpus) ? fs.readdirSync(corpus).sort() : [];
  const t = dropTable(opts.depth !== undefined ? { depth: opts.depth } : {});
  const random = checkRandomLives({ dropAt: null, seed: LIFECYCLE_SEED, numRuns: LIFECYCLE_RANDOM_LIVES });
  const unpatchedKernels = [...new Set(RELEASES.flatMap((r) => r.kernels.map((k) => k.kernel)).filter((k) => kernelById(k)?.pvePatch == null))];
  const unconfirmed = new Set<string>();
  for (const r of RELEASES) {
    for (const u of r.unconfirmed) unconfirmed.add(`${r.id}: ${u}`);
    for (const k of r.kernels) for (const u of kernelById(k.kernel)?.unconfirmed ?? []) unconfirmed.add(`${k.kernel}: ${u}`);
  }
  return {
    command: `npx xsave-harness lifecycle --table --depth ${t.depth}`,
    depth: t.depth,
    nodes: t.nodes,
    hosts: t.l1.hosts,
    cpuModels: t.l1.cpuModels,
    firstRelease: releaseTitle(RELEASES[0]!.id),
    upgrades: UPGRADES.map(([a, b]) => `${releaseTitle(a)} → ${releaseTitle(b)}`),
    l1: { holds: t.l1.failure === null && random.failure === null, states: t.l1.states, story: t.l1Story, randomLives: random.numRuns, seed: random.seed },
    notCounted: t.regardlessStory
      ? {
          story: t.regardlessStory,
          why: `a restore on a kernel row without the patch as shipped (${unpatchedKernels.join(', ')}) fails whatever is decided about dropping it; the shortest such story follows. On pve-5.15 it rests on the UNCONFIRMED backport of the 5.16 FPU rework (kernel-semantics.md §3.2).`,
        }
      : null,
    rows: t.rows.map((r) => {
      const file = files.find((f) => f.startsWith(`lifecycle.drop-at-${r.release}.`));
      const caseFile = file ? path.join(corpus, file) : null;
      return {
        release: r.release,
        title: r.title,
        verdict: r.verdict,
        depth: r.depth,
        steps: r.steps,
        story: r.story,
        failure: r.failure ? `${r.failure.op} on ${r.failure.restoredOn.kernel}, ${r.failure.restoredOn.host} → ${CONSEQUENCE[r.failure.outcome] ?? r.failure.outcome}` : null,
        caseFile,
        replay: caseFile ? `npx xsave-harness replay ${caseFile}` : r.verdict === 'unsafe' ? `npx xsave-harness lifecycle --drop-at ${r.release} --depth ${r.depth}` : null,
      };
    }),
    assumptions: [
      `Random lives draw the guest CPU models ${LIFECYCLE_CPU_MODELS.join(', ')}; the exhaustive search uses one without XSAVE and one with (the others behave alike in the model).`,
      'One VM at a time; its guest CPU model is one every host runs unchanged (Proxmox requires that for live migration); models with PKU are out of scope (they cannot move to a host without PKU at all).',
      'The guest has every component of its XCR0 in use and its own PKRU 0; the host\'s PKRU is the Linux default 0x55555554 (so a leaky GET on a PKU host saves XSTATE_BV bit 9).',
      'Migration, rollback and resume go only to the same or a newer release; a node is upgraded, boots another kernel of its release or has its hardware replaced only while the VM does not run on it.',
      'A rollback may run on another node (the VM\'s disks moved there); a suspended VM may resume on another node (its state file on shared storage): UNCONFIRMED that Proxmox VE allows the latter.',
      `The patch dropped at R means: no node on R or a later release runs it (in every kernel of those releases); a live migration that aborts leaves the guest on the source (not a failure); a rollback or resume that aborts loses the snapshot (a failure).`,
      'Not modelled: VMs with PKU in their CPU model, confidential VMs, AMX/XFD, nodes joining on a later release (only upgrades), machine-type and other non-XSAVE migration incompatibilities.',
      ...RELEASES.filter((r) => r.kernels.every((k) => kernelById(k.kernel)?.pvePatch === null)).map((r) => `${releaseTitle(r.id)} kernels carry no patch as shipped: restores there are not counted (reported apart).`),
    ],
    unconfirmed: [...unconfirmed],
    real: readLabLifecycle(opts.labRecord ?? LAB_LIFECYCLE_RECORD),
  };
}

/** The committed record of `xsave-harness lab lifecycle --drop-at all --record reports/lab-lifecycle.json`. */
export const LAB_LIFECYCLE_RECORD = path.join('reports', 'lab-lifecycle.json');

interface RecordedChain {
  agree: boolean;
  infrastructure: string[];
  hops: Array<{ op: string; kernel: string; patched: boolean; lab: string | null; host: string; qemu: string; model: string; real: string }>;
}

/** The lab's record, or null when there is none; a record that does not parse is an error naming the file and the field. */
export function readLabLifecycle(file: string): LifecycleReal | null {
  if (!fs.existsSync(file)) return null;
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { command?: unknown; date?: unknown; rows?: unknown };
  if (typeof j.command !== 'string') throw new Error(`${file}: field "command": expected a string`);
  if (typeof j.date !== 'string') throw new Error(`${file}: field "date": expected a string`);
  if (!Array.isArray(j.rows)) throw new Error(`${file}: field "rows": expected an array`);
  const chain = (c: unknown, where: string): LifecycleRealChain => {
    if (c && typeof c === 'object' && 'notRun' in c) return { agree: false, restores: [], notRun: String((c as { notRun: unknown }).notRun) };
    const r = c as RecordedChain;
    if (!r || !Array.isArray(r.hops)) throw new Error(`${file}: field "${where}.hops": expected an array`);
    return {
      agree: r.agree === true,
      restores: r.hops.map((h) => ({ op: h.op, kernel: h.kernel, patched: h.patched, lab: h.lab, host: h.host, qemu: h.qemu, model: h.model, real: h.real })),
      notRun: r.infrastructure?.length ? `infrastructure error: ${r.infrastructure.join('; ')}` : null,
    };
  };
  return {
    command: j.command,
    date: j.date,
    record: file,
    rows: (j.rows as Array<{ release: string; dropped: unknown; shipped: unknown }>).map((r, i) => ({ release: r.release, dropped: chain(r.dropped, `rows[${i}].dropped`), shipped: chain(r.shipped, `rows[${i}].shipped`) })),
  };
}
