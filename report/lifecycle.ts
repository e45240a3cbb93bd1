/**
 * The review's section "When can the patch be dropped?" (issue 15): claims L1 and L2 over a VM's
 * whole life, as data (report.json field `lifecycle`) and as blocks that the Markdown and HTML
 * renderers both print. Built by cli/review/lifecycle.ts from the lifecycle engine (lifecycle/).
 */
import type { Block } from './realKernels';

export interface LifecycleDropRow {
  release: string;
  title: string;
  verdict: 'unsafe' | 'safe-to-depth';
  /** the bound searched */
  depth: number;
  /** length of the shortest failing story (unsafe rows) */
  steps: number | null;
  story: string[] | null;
  /** the failing restore: operation and outcome, e.g. "rollback → aborted (snapshot lost)" */
  failure: string | null;
  /** the corpus case that replays the story, and the command */
  caseFile: string | null;
  replay: string | null;
}

/** One restore of a story replayed in the kernel lab (lab/lifecycle.ts), beside the model's. */
export interface LifecycleRealRestore {
  op: string;
  /** the story's kernel, and the lab kernel/host that applied its rules */
  kernel: string;
  patched: boolean;
  lab: string | null;
  host: string;
  qemu: string;
  model: string;
  real: string;
}

export interface LifecycleRealChain {
  agree: boolean;
  restores: LifecycleRealRestore[];
  /** why the chain was not run (a kernel without a lab stand-in), or an infrastructure error */
  notRun: string | null;
}

/** The decisive stories on real kernels: the recorded run of `xsave-harness lab lifecycle`. */
export interface LifecycleReal {
  command: string;
  date: string;
  /** the recorded file the review read */
  record: string;
  rows: Array<{ release: string; dropped: LifecycleRealChain; shipped: LifecycleRealChain }>;
}

export interface LifecycleSection {
  /** the command that recomputes this section */
  command: string;
  depth: number;
  nodes: number;
  hosts: string[];
  cpuModels: string[];
  firstRelease: string;
  upgrades: string[];
  l1: { holds: boolean; states: number; story: string[] | null; randomLives: number; seed: number };
  notCounted: { story: string[]; why: string } | null;
  rows: LifecycleDropRow[];
  assumptions: string[];
  unconfirmed: string[];
  /** the stories replayed on real kernels (absent when no lab run is recorded) */
  real?: LifecycleReal | null;
}

function realCell(c: LifecycleRealChain): string {
  if (c.notRun) return `not run: ${c.notRun}`;
  return c.restores.map((r) => `${r.op} on ${r.lab ?? '?'}/${r.host} (${r.qemu}): real **${r.real}**, model ${r.model}`).join('; ');
}

export function lifecycleRealBlocks(real: LifecycleReal): Block[] {
  const chains = real.rows.flatMap((r) => [r.dropped, r.shipped]).filter((c) => !c.notRun);
  return [
    { h: 'The stories on real kernels' },
    {
      p:
        `Each release's shortest failing story was replayed in the kernel lab (\`${real.command}\`, recorded ${real.date.slice(0, 10)} in \`${real.record}\`), twice: with the patch dropped and with the patch as shipped. ` +
        `Every shipped kernel of a story is replaced by the lab kernel that applies the same KVM rules (GET, SET, user_xfeatures, guest-supported XCR0, XFD pre-mask, and the patch and its placement: lab/lifecycle.ts \`standIn\`), each host by the lab host with the same PKU answer (a leaky PKU source by \`noavx\`, where TCG saves the real leak 0x203); ` +
        `a real guest runs on the source, is saved as QEMU saves it, and each restore loads the previous real bytes in QEMU's order under the policy of the story's QEMU. ` +
        `${chains.filter((c) => c.agree).length} of ${chains.length} chains agree with the model in every restore.`,
    },
    {
      table: {
        head: ['drop the patch at', 'with the patch dropped', 'with the patch as shipped'],
        rows: real.rows.map((r) => [r.release, `${r.dropped.agree || r.dropped.notRun ? '' : 'DISAGREES: '}${realCell(r.dropped)}`, `${r.shipped.agree || r.shipped.notRun ? '' : 'DISAGREES: '}${realCell(r.shipped)}`]),
      },
    },
  ];
}

export function lifecycleBlocks(s: LifecycleSection): Block[] {
  const out: Block[] = [{ h: 'When can the patch be dropped?' }];
  const unsafe = s.rows.filter((r) => r.verdict === 'unsafe');
  const safe = s.rows.filter((r) => r.verdict !== 'unsafe');
  const answer =
    unsafe.length === s.rows.length
      ? `At no release: dropping the patch at any release from ${s.rows[0]!.title} to ${s.rows[s.rows.length - 1]!.title} lets some VM created on ${s.firstRelease} fail a restore later (stories below).`
      : safe.length === s.rows.length
        ? `At any release, as far as searched: no failing sequence up to depth ${s.depth} for any release.`
        : `Unsafe at ${unsafe.map((r) => r.title).join(', ')}; no failing sequence up to depth ${s.depth} at ${safe.map((r) => r.title).join(', ')} (a proof for that bound only).`;
  out.push({
    p:
      `The patch's message asks whether it can be dropped in a later major release, provided VMs started before PVE 8 can never reach it without the patch. ` +
      `Leaked state travels further than one migration: a snapshot with RAM or a suspend-to-disk image taken on ${s.firstRelease} keeps the leaked XSTATE_BV bit 9 and is restored by whatever kernel runs when it is rolled back or resumed. ` +
      `The model runs a VM's whole life on a cluster (create, run, live-migrate, snapshot with RAM, roll back on any node, suspend to disk, resume, upgrade a node along a supported path, replace its hardware), each saved state being the bytes the model's KVM_GET_XSAVE produced on that node's kernel. ` +
      `Answer: ${answer}`,
  });
  out.push({
    table: {
      head: ['drop the patch at (and every later release)', 'verdict', 'shortest story', 'how it ends', 'replay'],
      rows: s.rows.map((r) => [
        r.title,
        r.verdict === 'unsafe' ? 'unsafe' : `safe up to depth ${r.depth}`,
        r.steps !== null ? `${r.steps} steps` : '—',
        r.failure ?? '—',
        r.replay ? `\`${r.replay}\`` : '—',
      ]),
    },
  });
  for (const r of unsafe) {
    out.push({ h: `Dropped at ${r.title}: ${r.steps} steps` });
    out.push({ ul: r.story! });
  }
  out.push({ h: 'With the patch as shipped (L1)' });
  out.push({
    p: s.l1.holds
      ? `No failing sequence up to depth ${s.depth} (${s.l1.states} distinct states, exhaustive), and none in ${s.l1.randomLives} random lives of up to 24 operations on 2-3 nodes (seed ${s.l1.seed}). This is a proof for that bound and the abstraction below only.`
      : `L1 FAILS: ${s.l1.story?.join(' ') ?? ''}`,
  });
  if (s.notCounted) {
    out.push({ p: `Not counted by L1/L2: ${s.notCounted.why}` });
    out.push({ ul: s.notCounted.story });
  }
  if (s.real) out.push(...lifecycleRealBlocks(s.real));
  out.push({ h: 'Assumptions (what is and is not modelled)' });
  out.push({
    ul: [
      `Cluster: ${s.nodes} nodes, all starting on ${s.firstRelease} with its default kernel; hosts ${s.hosts.join(', ')}; guest CPU models ${s.cpuModels.join(', ')} (random lives: 2-3 nodes and every lifecycle CPU model).`,
      `Supported upgrades: ${s.upgrades.join(', ')}.`,
      ...s.assumptions,
    ],
  });
  if (s.unconfirmed.length) {
    out.push({ p: 'UNCONFIRMED statements these verdicts rest on:' });
    out.push({ ul: s.unconfirmed });
  }
  out.push({ p: `Recompute: \`${s.command}\`.` });
  return out;
}
