// fast-check model-based commands for a VM's life (issue 15): one command class per operation
// of model/lifecycle.ts, each with check (is the operation allowed in the current state),
// run (apply it to the simulator; a failing restore that counts ends the run with
// LifecycleFailure) and toString. `fc.modelRun` skips commands whose check fails, so any drawn
// sequence becomes a possible life; fast-check shrinks a failing one to a short story.
import fc from 'fast-check';
import {
  HOSTS,
  Host,
  LIFECYCLE_CPU_MODELS,
  LIFECYCLE_HOSTS,
  Lifecycle,
  LifecycleNode,
  LifecycleOp,
  LifecycleState,
  LifecycleStory,
  RestoreRecord,
  initialCluster,
  initialState,
  nextReleases,
  releaseOf,
} from '../../model';

/** What check() reads: the state the operations have led to so far. */
export interface LifeModel {
  state: LifecycleState;
  /** the VM's life ended with a failure that does not count (on a kernel without the patch as shipped) */
  over: boolean;
}

/** The system the commands drive: the lifecycle simulator over real XSAVE bytes. */
export interface LifeReal {
  sim: Lifecycle;
  state: LifecycleState;
  story: LifecycleStory;
  steps: LifecycleOp[];
  restores: RestoreRecord[];
}

export class LifecycleFailure extends Error {
  constructor(
    readonly story: LifecycleStory,
    readonly failure: RestoreRecord,
  ) {
    super(`step ${failure.step} (${failure.op}) on ${failure.restoredOn.release}/${failure.restoredOn.kernel}/${failure.restoredOn.host}: ${failure.outcome}`);
  }
}

abstract class LifeCommand implements fc.Command<LifeModel, LifeReal> {
  /** the operation this command stands for in `state`, or null when it has none there */
  abstract opIn(state: LifecycleState): LifecycleOp | null;
  abstract label(): string;
  private ran: LifecycleOp | null = null;

  check(m: Readonly<LifeModel>): boolean {
    const op = this.opIn(m.state);
    return !m.over && op !== null && sim(m).problem(m.state, op) === null;
  }

  run(m: LifeModel, r: LifeReal): void {
    const op = this.opIn(r.state)!;
    this.ran = op;
    const res = r.sim.apply(r.state, op, r.steps.length + 1);
    r.steps.push(op);
    if (res.restore) r.restores.push(res.restore);
    if (res.restore?.failure) {
      const story = { ...r.story, steps: r.steps.slice() };
      // Only restores on kernels carrying the patch as shipped count (L1/L2); a failure on
      // one without it (pve-5.15) ends this life without failing the property.
      if (res.restore.counted) throw new LifecycleFailure(story, res.restore);
      m.over = true;
      return;
    }
    r.state = res.state;
    m.state = res.state;
  }

  toString(): string {
    return this.ran ? `${this.ran.op}(${describeOp(this.ran)})` : this.label();
  }
}

function describeOp(op: LifecycleOp): string {
  const parts: string[] = [];
  if ('node' in op) parts.push(`node${op.node + 1}`);
  if ('snapshot' in op) parts.push(`snapshot${op.snapshot + 1}`);
  if ('release' in op) parts.push(op.release);
  if ('kernel' in op) parts.push(op.kernel);
  if ('host' in op) parts.push(op.host.name);
  return parts.join(',');
}

// The simulator is shared by the model and the real side (it is pure apart from its memo).
const SIMS = new WeakMap<LifeModel, Lifecycle>();
function sim(m: Readonly<LifeModel>): Lifecycle {
  return SIMS.get(m as LifeModel)!;
}

class Create extends LifeCommand {
  constructor(readonly node: number) {
    super();
  }
  opIn(): LifecycleOp {
    return { op: 'create', node: this.node };
  }
  label(): string {
    return `create(node${this.node + 1})`;
  }
}
class Simple extends LifeCommand {
  constructor(readonly kind: 'run' | 'snapshot' | 'suspend') {
    super();
  }
  opIn(): LifecycleOp {
    return { op: this.kind };
  }
  label(): string {
    return `${this.kind}()`;
  }
}
class ToNode extends LifeCommand {
  constructor(
    readonly kind: 'migrate' | 'resume',
    readonly node: number,
  ) {
    super();
  }
  opIn(): LifecycleOp {
    return { op: this.kind, node: this.node };
  }
  label(): string {
    return `${this.kind}(node${this.node + 1})`;
  }
}
class Rollback extends LifeCommand {
  constructor(
    readonly snapshot: number,
    readonly node: number,
  ) {
    super();
  }
  opIn(): LifecycleOp {
    return { op: 'rollback', snapshot: this.snapshot, node: this.node };
  }
  label(): string {
    return `rollback(snapshot${this.snapshot + 1},node${this.node + 1})`;
  }
}
class Upgrade extends LifeCommand {
  constructor(
    readonly node: number,
    readonly choice: number,
  ) {
    super();
  }
  opIn(s: LifecycleState): LifecycleOp | null {
    const n = s.nodes[this.node];
    const next = n ? nextReleases(n.release) : [];
    return next.length ? { op: 'upgrade', node: this.node, release: next[this.choice % next.length]! } : null;
  }
  label(): string {
    return `upgrade(node${this.node + 1})`;
  }
}
class BootKernel extends LifeCommand {
  constructor(
    readonly node: number,
    readonly choice: number,
  ) {
    super();
  }
  opIn(s: LifecycleState): LifecycleOp | null {
    const n = s.nodes[this.node];
    if (!n) return null;
    const ks = releaseOf(n.release).kernels;
    return { op: 'boot-kernel', node: this.node, kernel: ks[this.choice % ks.length]!.kernel };
  }
  label(): string {
    return `boot-kernel(node${this.node + 1})`;
  }
}
class ReplaceHardware extends LifeCommand {
  constructor(
    readonly node: number,
    readonly host: Host,
  ) {
    super();
  }
  opIn(): LifecycleOp {
    return { op: 'replace-hardware', node: this.node, host: this.host };
  }
  label(): string {
    return `replace-hardware(node${this.node + 1},${this.host.name})`;
  }
}

export const MAX_NODES = 3;

/** The commands over a cluster of up to MAX_NODES nodes and the lifecycle hosts. */
export function lifecycleCommandArbs(hosts: readonly string[] = LIFECYCLE_HOSTS): fc.Arbitrary<fc.Command<LifeModel, LifeReal>>[] {
  const node = fc.nat({ max: MAX_NODES - 1 });
  const host = fc.constantFrom(...hosts.map((h) => HOSTS[h]!));
  return [
    node.map((n) => new Create(n)),
    fc.constantFrom('run', 'snapshot', 'suspend' as const).map((k) => new Simple(k)),
    fc.tuple(fc.constantFrom('migrate', 'resume' as const), node).map(([k, n]) => new ToNode(k, n)),
    fc.tuple(fc.nat({ max: 1 }), node).map(([s, n]) => new Rollback(s, n)),
    fc.tuple(node, fc.nat({ max: 3 })).map(([n, c]) => new Upgrade(n, c)),
    fc.tuple(node, fc.nat({ max: 3 })).map(([n, c]) => new BootKernel(n, c)),
    fc.tuple(node, host).map(([n, h]) => new ReplaceHardware(n, h)),
  ];
}

export interface LifeSetup {
  cluster: LifecycleNode[];
  cpuModel: string;
}

/** A starting cluster (2 or 3 nodes on the first release, any lifecycle hosts) and a guest CPU model. */
export function lifeSetupArb(hosts: readonly string[] = LIFECYCLE_HOSTS, cpuModels: readonly string[] = LIFECYCLE_CPU_MODELS): fc.Arbitrary<LifeSetup> {
  return fc
    .record({ hosts: fc.array(fc.constantFrom(...hosts), { minLength: 2, maxLength: MAX_NODES }), cpuModel: fc.constantFrom(...cpuModels) })
    .map(({ hosts: hs, cpuModel }) => ({ cluster: initialCluster(hs), cpuModel }));
}

/** Fresh model and real sides for one run. */
export function lifeStart(setup: LifeSetup, shared: Lifecycle): { model: LifeModel; real: LifeReal } {
  const state = initialState(setup.cluster, setup.cpuModel);
  const model: LifeModel = { state, over: false };
  SIMS.set(model, shared);
  return { model, real: { sim: shared, state, story: { cpuModel: setup.cpuModel, cluster: setup.cluster, dropAt: shared.dropAt, steps: [] }, steps: [], restores: [] } };
}
