// A lifecycle case (kind "lifecycle", issue 15): a cluster, a guest CPU model, the release the
// patch is dropped at (if any) and a sequence of operations, evaluated by the model's
// lifecycle simulator (model/lifecycle.ts). Also the other way: a story found by the search
// written as a case, so that `replay` repeats it.
import {
  Fixup,
  Host,
  LifecycleError,
  LifecycleNode,
  LifecycleOp,
  LifecycleStory,
  Outcome,
  RELEASES,
  Release,
  releaseKernel,
  hostByName,
  runStory,
} from '../model';
import { CaseError, FORMAT, HostRef, LifecycleCase, LifecycleExpect } from './caseFormat';
import { resolveHost, resolveKernel } from './resolve';

export interface LifecycleComputed {
  failure: boolean;
  /** 1-based step of the first failing restore, or null */
  failedAt: number | null;
  outcome: Outcome | null;
  counted: boolean | null;
  /** the story as the model tells it, one line a step run */
  story: string[];
}

function release(c: LifecycleCase, field: string, id: string): Release {
  const r = RELEASES.find((x) => x.id === id);
  if (!r) throw new CaseError(c.file, field, `unknown release "${id}" (known: ${RELEASES.map((x) => x.id).join(', ')})`);
  return r;
}

function noThis(c: LifecycleCase, field: string, ref: HostRef): void {
  if ('name' in ref && ref.name === 'this') throw new CaseError(c.file, field, 'a lifecycle story runs on catalogue hosts, not on "this" machine');
}

/** The story a case describes, with every name resolved (errors name the field). */
export function storyOfCase(c: LifecycleCase): LifecycleStory {
  const cluster: LifecycleNode[] = c.cluster.map((n, i) => {
    const f = `cluster[${i}]`;
    const r = release(c, `${f}.release`, n.release);
    const kernel = n.kernel ?? releaseKernel(r);
    if (kernel === 'this') throw new CaseError(c.file, `${f}.kernel`, 'a lifecycle story runs catalogue kernels, not "this"');
    resolveKernel(c.file, `${f}.kernel`, kernel);
    if (!r.kernels.some((k) => k.kernel === kernel)) throw new CaseError(c.file, `${f}.kernel`, `${kernel} is not a kernel of ${r.id} (its kernels: ${r.kernels.map((k) => k.kernel).join(', ')})`);
    noThis(c, `${f}.host`, n.host);
    return { name: n.name, release: r.id, kernel, host: resolveHost(c.file, `${f}.host`, n.host) };
  });
  if (c.dropAt !== undefined) release(c, 'dropAt', c.dropAt);
  const index = (name: string): number => c.cluster.findIndex((n) => n.name === name);
  const steps: LifecycleOp[] = c.steps.map((s, i) => {
    const f = `steps[${i}]`;
    switch (s.op) {
      case 'create':
      case 'migrate':
      case 'resume':
        return { op: s.op, node: index(s.node) };
      case 'run':
      case 'snapshot':
      case 'suspend':
        return { op: s.op };
      case 'rollback':
        return { op: 'rollback', node: index(s.node), snapshot: s.snapshot - 1 };
      case 'upgrade':
        release(c, `${f}.release`, s.release);
        return { op: 'upgrade', node: index(s.node), release: s.release };
      case 'boot-kernel':
        resolveKernel(c.file, `${f}.kernel`, s.kernel);
        return { op: 'boot-kernel', node: index(s.node), kernel: s.kernel };
      case 'replace-hardware':
        noThis(c, `${f}.host`, s.host);
        return { op: 'replace-hardware', node: index(s.node), host: resolveHost(c.file, `${f}.host`, s.host) };
    }
  });
  return { cpuModel: c.vcpu.cpuModel!, cluster, dropAt: c.dropAt ?? null, steps };
}

export function evaluateLifecycle(c: LifecycleCase, plugin?: Fixup): LifecycleComputed {
  const story = storyOfCase(c);
  let run;
  try {
    run = runStory(story, plugin ? { fixup: plugin } : {});
  } catch (e) {
    if (e instanceof LifecycleError) {
      const m = /^step (\d+) /.exec(e.message);
      throw new CaseError(c.file, m ? `steps[${Number(m[1]) - 1}]` : 'steps', e.message);
    }
    if (e instanceof Error && /unknown CPU model/.test(e.message)) throw new CaseError(c.file, 'vcpu.cpuModel', e.message);
    throw e;
  }
  const f = run.failure;
  return { failure: f !== null, failedAt: f?.step ?? null, outcome: f?.outcome ?? null, counted: f ? f.counted : null, story: run.lines };
}

/** A host as a case names it: its catalogue name, or its supported XCR0 and layout. */
function hostJson(h: Host): string | { supportedXcr0: string; layout: string } {
  return hostByName(h.name) === h ? h.name : { supportedXcr0: `0x${h.xcr0.toString(16)}`, layout: h.vendor };
}

/** A story as case JSON (what the `lifecycle` command writes and `replay` reads back). */
export function lifecycleCaseJson(story: LifecycleStory, id: string, note: string, expect: LifecycleExpect): Record<string, unknown> {
  const names = story.cluster.map((n, i) => n.name ?? `node${i + 1}`);
  // Hosts by catalogue name, or by supported XCR0 and layout (hostJson), as in cluster[].host.
  const steps = story.steps.map((s): Record<string, unknown> => {
    switch (s.op) {
      case 'create':
      case 'migrate':
      case 'resume':
        return { op: s.op, node: names[s.node]! };
      case 'run':
      case 'snapshot':
      case 'suspend':
        return { op: s.op };
      case 'rollback':
        return { op: 'rollback', node: names[s.node]!, snapshot: s.snapshot + 1 };
      case 'upgrade':
        return { op: 'upgrade', node: names[s.node]!, release: s.release };
      case 'boot-kernel':
        return { op: 'boot-kernel', node: names[s.node]!, kernel: s.kernel };
      case 'replace-hardware':
        return { op: 'replace-hardware', node: names[s.node]!, host: hostJson(s.host) };
    }
  });
  return {
    format: FORMAT,
    kind: 'lifecycle',
    id,
    note,
    vcpu: { cpuModel: story.cpuModel },
    cluster: story.cluster.map((n, i) => ({ name: names[i], release: n.release, kernel: n.kernel, host: hostJson(n.host) })),
    ...(story.dropAt !== null ? { dropAt: story.dropAt } : {}),
    steps,
    expect: { ...expect },
  };
}
