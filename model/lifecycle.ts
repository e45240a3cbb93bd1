// A VM's whole life on a Proxmox VE cluster (issue 15): nodes that run a release, one of its
// kernels and a host; one VM that is created, runs, live-migrates, is snapshotted with RAM and
// rolled back (possibly on another node), suspended to disk and resumed, while nodes are
// upgraded along supported paths and their hardware replaced. Every saved state is the bytes
// the model's KVM_GET_XSAVE produced on the saving node's kernel, parsed by QEMU's save
// (vmm.ts qemuSave); every restore is QEMU's restore (qemuRestore) with the model's
// KVM_SET_XSAVE on the restoring node's kernel, host and QEMU of that time.
//
// Outcomes per restore as migration.ts: intact / aborted / incomplete / lost. A live migration
// that aborts leaves the guest running on the source, so only incomplete and lost are failures
// there; a rollback or resume that aborts cannot restore its saved state at all: the snapshot
// (or the suspended VM) is lost, so aborted is a failure too.
//
// Which restores count for the claims L1/L2 (properties/claims.ts): only restores on a kernel
// that carries the Proxmox patch as shipped. A restore on a kernel that never had it (PVE 7.4's
// pve-5.15) fails regardless of any decision about the patch; it is reported separately, and
// the pve-5.15 leak it rests on is UNCONFIRMED (kernels.ts).
//
// Pure: no I/O. Assumptions are listed in docs/lifecycle.md.
import { CpuidEntry, guestSupportedXcr0 } from './cpuid';
import { resolveCpuModel } from './cpuModels';
import { Fixup, PVE_FIXUP } from './fixup';
import { GuestSpec, DEFAULT_HOST_PKRU, sourceVcpu } from './guestState';
import { GuestView, diffViews, guestView } from './guestView';
import { HOSTS, Host } from './hosts';
import { KernelVariant, kernelById } from './kernels';
import type { Outcome } from './migration';
import { RELEASES, Release, UPGRADES, defaultKernel } from './releases';
import { QemuEnv, parseQemu, qemuRestore, qemuSave } from './vmm';
import { Vcpu, createVcpu, kvmSupportedXcr0, setCpuid } from './vcpu';
import { XCR0_RESET } from './xcr0';
import { MASK } from './xfeatures';

// ---------------------------------------------------------------------------------------------
// The abstracted cluster the search and the random sequences walk (docs/lifecycle.md).

/**
 * Hosts a node can have: with and without PKU, in each vendor's layout. Ice Lake-SP and Zen 3
 * enable PKRU; Haswell and Zen 2 (EPYC Rome: leaf 0xD lists PKRU, PKU = 0) do not.
 */
export const LIFECYCLE_HOSTS: readonly string[] = ['icelake-sp', 'haswell', 'zen3', 'zen2'];

/**
 * Guest CPU models a VM can have: those every host above runs unchanged (Proxmox requires a
 * model all nodes support for live migration). qemu64 / kvm64 / x86-64-v2-AES have no XSAVE;
 * x86-64-v3 has XSAVE with x87|SSE|AVX. None has PKU: the leak is about guests without it.
 */
export const LIFECYCLE_CPU_MODELS: readonly string[] = ['qemu64', 'kvm64', 'x86-64-v2-AES', 'x86-64-v3'];

/** The models the exhaustive search uses: one without XSAVE (the others behave alike), one with. */
export const SEARCH_CPU_MODELS: readonly string[] = ['qemu64', 'x86-64-v3'];

/** Snapshots a VM keeps at most in the search (two distinct ones suffice to mix saved states). */
export const MAX_SNAPSHOTS = 2;

// ---------------------------------------------------------------------------------------------
// Releases: order, upgrade paths, and where the patch is.

export function releaseIndex(id: string): number {
  return RELEASES.findIndex((r) => r.id === id);
}

export function releaseOf(id: string): Release {
  const r = RELEASES.find((x) => x.id === id);
  if (!r) throw new RangeError(`unknown release ${id} (known: ${RELEASES.map((x) => x.id).join(', ')})`);
  return r;
}

/** Releases a node can be upgraded to in one supported step. */
export function nextReleases(id: string): string[] {
  return UPGRADES.filter(([a]) => a === id).map(([, b]) => b);
}

/** A shortest chain of supported upgrades from `from` to `to` (the releases after `from`), or null. */
export function upgradePath(to: string, from = RELEASES[0]!.id): string[] | null {
  const prev = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  while (queue.length) {
    const r = queue.shift()!;
    if (r === to) {
      const path: string[] = [];
      for (let x: string | null = to; x !== null && x !== from; x = prev.get(x)!) path.unshift(x);
      return path;
    }
    for (const n of nextReleases(r)) if (!prev.has(n)) (prev.set(n, r), queue.push(n));
  }
  return null;
}

/**
 * The kernel a node boots on `r` after an upgrade or a fresh install: the release's default
 * kernel with every update applied (releases.ts defaultKernel 'current'); the older rows of the
 * release stay reachable with boot-kernel.
 */
export function releaseKernel(r: Release): string {
  return defaultKernel(r, 'current') ?? defaultKernel(r, 'shipped') ?? r.kernels[0]!.kernel;
}

// ---------------------------------------------------------------------------------------------
// State.

export interface LifecycleNode {
  /** as a case file names it (default node1, node2, …) */
  name?: string;
  release: string;
  kernel: string;
  host: Host;
}

/** Where a state was saved or restored, as a story and the kernel lab name it. */
export interface Place {
  node: string;
  release: string;
  kernel: string;
  host: string;
  qemu: string;
}

interface Saved {
  env: QemuEnv;
  /** what the guest saw when it was saved: a restore must give it back */
  view: GuestView;
  key: string;
  savedOn: Place;
  /** 1-based step that saved it */
  step: number;
}

export interface LifecycleVm {
  cpuModel: string;
  guest: GuestSpec;
  node: number;
  status: 'running' | 'suspended';
  /** the vCPU as KVM holds it on the running node (null while suspended) */
  live: Vcpu | null;
  liveKey: string;
  snapshots: readonly Saved[];
  /** the suspend-to-disk image (while suspended) */
  image: Saved | null;
}

export interface LifecycleState {
  nodes: readonly LifecycleNode[];
  cpuModel: string;
  vm: LifecycleVm | null;
}

/** Operations. Nodes and snapshots are 0-based here; stories and case files print them 1-based. */
export type LifecycleOp =
  | { op: 'create'; node: number }
  | { op: 'run' }
  | { op: 'migrate'; node: number }
  | { op: 'snapshot' }
  | { op: 'rollback'; snapshot: number; node: number }
  | { op: 'suspend' }
  | { op: 'resume'; node: number }
  | { op: 'upgrade'; node: number; release: string }
  | { op: 'boot-kernel'; node: number; kernel: string }
  | { op: 'replace-hardware'; node: number; host: Host };

export type OpName = LifecycleOp['op'];
export const OP_NAMES: readonly OpName[] = ['create', 'run', 'migrate', 'snapshot', 'rollback', 'suspend', 'resume', 'upgrade', 'boot-kernel', 'replace-hardware'];

export type RestoreOp = 'migrate' | 'rollback' | 'resume';

export interface RestoreRecord {
  /** 1-based step of the story */
  step: number;
  op: RestoreOp;
  savedOn: Place;
  restoredOn: Place;
  outcome: Outcome;
  /** the failing restore step and its reason (e.g. "xsave: outside-supported"), when one failed */
  detail: string | null;
  /** the guest-visible parts that differ (outcome lost) */
  diff: string[];
  /** the restoring node ran the patch in this story (as shipped, minus --drop-at) */
  patched: boolean;
  /** the restoring kernel carries the patch as shipped: only such restores count for L1/L2 */
  counted: boolean;
  /** this outcome is a failure for this operation */
  failure: boolean;
}

export interface LifecycleStory {
  cpuModel: string;
  cluster: readonly LifecycleNode[];
  /** the first release without the patch (it and every later one lose it); null = as shipped */
  dropAt: string | null;
  steps: readonly LifecycleOp[];
}

export interface LifecycleOptions {
  dropAt: string | null;
  /** replaces the Proxmox patch where it is active (a broken fixup as a negative control) */
  fixup?: Fixup;
}

export class LifecycleError extends Error {}

export function nodeName(i: number, state?: LifecycleState): string {
  return state?.nodes[i]?.name ?? `node${i + 1}`;
}

export function hostHasPku(h: Host): boolean {
  return (h.xcr0 & MASK.PKRU) !== 0n;
}

export function describeHost(h: Host): string {
  return `${h.name}: ${h.vendor === 'intel' ? 'Intel' : 'AMD'}, ${hostHasPku(h) ? 'PKU' : 'no PKU'}`;
}

export function releaseTitle(id: string): string {
  const m = /^pve(\d+\.\d+)$/.exec(id);
  return m ? `PVE ${m[1]}` : id;
}

function kernelOf(id: string): KernelVariant {
  const k = kernelById(id);
  if (!k) throw new LifecycleError(`unknown kernel ${id}`);
  return k;
}

/** The cluster every story starts from: each node on PVE 7.4's default kernel unless given. */
export function initialCluster(hosts: readonly (Host | string)[], release = RELEASES[0]!.id): LifecycleNode[] {
  const r = releaseOf(release);
  return hosts.map((h) => {
    const host = typeof h === 'string' ? HOSTS[h] : h;
    if (!host) throw new LifecycleError(`unknown host ${String(h)}`);
    return { release: r.id, kernel: releaseKernel(r), host };
  });
}

export function initialState(cluster: readonly LifecycleNode[], cpuModel: string): LifecycleState {
  return { nodes: cluster, cpuModel, vm: null };
}

// ---------------------------------------------------------------------------------------------
// Hashing: the search memoises states by content (fnv-1a, two seeds, over the bytes).

function fnv(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function bytesKey(bytes: Uint8Array): string {
  return `${bytes.length}:${fnv(bytes, 0x811c9dc5).toString(36)}.${fnv(bytes, 0x050c5d1f).toString(36)}`;
}

function strKey(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
  }
  return `${s.length}:${a.toString(36)}.${b.toString(36)}`;
}

function vcpuKey(v: Vcpu): string {
  return `${v.fpu.xstateBv.toString(16)}/${v.xcr0.toString(16)}/${v.pkru.toString(16)}/${bytesKey(v.fpu.image)}`;
}

function envKey(env: QemuEnv, view: GuestView): string {
  const comps = [...env.components.entries()].sort((a, b) => a[0] - b[0]).map(([i, b]) => `${i}=${bytesKey(b)}`);
  return strKey(`${env.xstateBv.toString(16)}/${env.xcr0.toString(16)}/${env.pkru.toString(16)}/${bytesKey(env.legacy)}/${comps.join(',')}/${JSON.stringify(view)}`);
}

// ---------------------------------------------------------------------------------------------
// The simulator: applies operations to states. It memoises the model's expensive steps (run,
// save, restore) by their inputs; the results are immutable values shared between states.

export class Lifecycle {
  readonly dropAt: string | null;
  readonly fixup: Fixup;
  private readonly dropIndex: number;
  private readonly runs = new Map<string, { vcpu: Vcpu; key: string }>();
  private readonly saves = new Map<string, { env: QemuEnv; view: GuestView; key: string }>();
  private readonly restores = new Map<string, { outcome: Outcome; vcpu: Vcpu; key: string; detail: string | null; diff: string[] }>();

  constructor(opts: LifecycleOptions) {
    this.dropAt = opts.dropAt;
    this.fixup = opts.fixup ?? PVE_FIXUP;
    this.dropIndex = opts.dropAt === null ? Infinity : releaseIndex(opts.dropAt);
    if (this.dropIndex < 0) throw new LifecycleError(`--drop-at ${opts.dropAt}: unknown release (known: ${RELEASES.map((r) => r.id).join(', ')})`);
  }

  /** The node runs the patch in this story: its kernel carries it as shipped and its release is before --drop-at. */
  patched(n: LifecycleNode): boolean {
    return kernelOf(n.kernel).pvePatch !== null && releaseIndex(n.release) < this.dropIndex;
  }

  place(state: LifecycleState, i: number): Place {
    const n = state.nodes[i]!;
    return { node: nodeName(i, state), release: n.release, kernel: n.kernel, host: n.host.name, qemu: releaseOf(n.release).qemu };
  }

  cpuidOn(cpuModel: string, n: LifecycleNode): CpuidEntry[] {
    return resolveCpuModel(cpuModel, n.host, kernelOf(n.kernel));
  }

  /** The guest a fresh VM of this model holds on this node: every component it has in use, PKRU 0. */
  guestOf(cpuModel: string, n: LifecycleNode): GuestSpec {
    const kernel = kernelOf(n.kernel);
    const gsx = guestSupportedXcr0(this.cpuidOn(cpuModel, n), kvmSupportedXcr0(kernel, n.host));
    const xcr0 = gsx === 0n ? XCR0_RESET : gsx & ~MASK.PKRU;
    return { xcr0, inUse: (xcr0 | MASK.FPSSE) & ~MASK.PKRU, pkru: 0, hostPkru: DEFAULT_HOST_PKRU };
  }

  /** The guest ran on node n: its fpstate as the kernel saved it there (guestState.ts sourceVcpu). */
  private run(cpuModel: string, guest: GuestSpec, n: LifecycleNode): { vcpu: Vcpu; key: string } {
    const k = `${cpuModel}|${n.kernel}|${n.host.name}|${guest.xcr0}|${guest.inUse}|${guest.pkru}|${guest.hostPkru}`;
    let r = this.runs.get(k);
    if (!r) {
      const vcpu = sourceVcpu(kernelOf(n.kernel), n.host, this.cpuidOn(cpuModel, n), guest);
      r = { vcpu, key: vcpuKey(vcpu) };
      this.runs.set(k, r);
    }
    return r;
  }

  /** QEMU's save on the running node: KVM_GET_XSAVE{2} of the live vCPU, parsed into env. */
  private save(vm: LifecycleVm, state: LifecycleState, step: number): Saved {
    const n = state.nodes[vm.node]!;
    const k = `${vm.cpuModel}|${vm.liveKey}|${n.kernel}|${n.host.name}`;
    let s = this.saves.get(k);
    if (!s) {
      const view = guestView(vm.live!);
      const env = qemuSave(vm.live!).env;
      s = { env, view, key: envKey(env, view) };
      this.saves.set(k, s);
    }
    return { ...s, savedOn: this.place(state, vm.node), step };
  }

  /** QEMU's restore of a saved state on node i (a fresh vCPU with the VM's CPU model there). */
  private restore(state: LifecycleState, saved: Saved, i: number): { outcome: Outcome; vcpu: Vcpu; key: string; detail: string | null; diff: string[] } {
    const n = state.nodes[i]!;
    const patched = this.patched(n);
    const k = `${saved.key}|${state.cpuModel}|${n.release}|${n.kernel}|${n.host.name}|${patched}`;
    let r = this.restores.get(k);
    if (!r) {
      const kernel = kernelOf(n.kernel);
      const dst = createVcpu(kernel, n.host);
      setCpuid(dst, this.cpuidOn(state.cpuModel, n));
      const res = qemuRestore(dst, saved.env, patched ? this.fixup : null);
      const policy = parseQemu(releaseOf(n.release).qemu)!.policy;
      const diff = res.failed ? [] : diffViews(saved.view, guestView(res.vcpu));
      const outcome: Outcome = res.failed ? (policy === 'abort' ? 'aborted' : 'incomplete') : diff.length === 0 ? 'intact' : 'lost';
      const failedStep = res.failed ? res.steps.find((s) => s.step === res.failed) : undefined;
      const detail = failedStep ? `${failedStep.step}: ${failedStep.detail ?? failedStep.rc}` : null;
      r = { outcome, vcpu: res.vcpu, key: vcpuKey(res.vcpu), detail, diff };
      this.restores.set(k, r);
    }
    return r;
  }

  /** Why `op` cannot be applied to `state` (null when it can). */
  problem(state: LifecycleState, op: LifecycleOp): string | null {
    const vm = state.vm;
    const nodeOk = (i: number) => Number.isInteger(i) && i >= 0 && i < state.nodes.length;
    if ('node' in op && !nodeOk(op.node)) return `no node ${op.node + 1} (the cluster has ${state.nodes.length})`;
    const newerOrSame = (savedRelease: string, i: number) => releaseIndex(state.nodes[i]!.release) >= releaseIndex(savedRelease);
    switch (op.op) {
      case 'create':
        return vm ? 'the story has its VM already' : null;
      case 'run':
      case 'snapshot':
      case 'suspend':
        if (!vm || vm.status !== 'running') return 'the VM is not running';
        if (op.op === 'snapshot' && vm.snapshots.length >= MAX_SNAPSHOTS) return `the VM has ${MAX_SNAPSHOTS} snapshots already`;
        return null;
      case 'migrate':
        if (!vm || vm.status !== 'running') return 'the VM is not running';
        if (op.node === vm.node) return 'the VM runs on that node already';
        if (!newerOrSame(state.nodes[vm.node]!.release, op.node)) return 'Proxmox VE migrates only to the same or a newer release';
        return null;
      case 'rollback': {
        if (!vm) return 'there is no VM';
        const s = vm.snapshots[op.snapshot];
        if (!s) return `no snapshot ${op.snapshot + 1} (the VM has ${vm.snapshots.length})`;
        if (!newerOrSame(s.savedOn.release, op.node)) return 'a snapshot is restored only on the release it was taken on or a newer one';
        return null;
      }
      case 'resume':
        // On any node: UNCONFIRMED that Proxmox VE resumes a hibernated VM on another node (its
        // state file on shared storage); replacing the node's hardware gives the same stories.
        if (!vm || vm.status !== 'suspended') return 'the VM is not suspended';
        if (!newerOrSame(vm.image!.savedOn.release, op.node)) return 'a suspended VM resumes only on the release it was suspended on or a newer one';
        return null;
      case 'upgrade':
      case 'boot-kernel':
      case 'replace-hardware': {
        if (vm && vm.status === 'running' && vm.node === op.node) return 'the VM runs on this node: migrate it away (or suspend it) first';
        const n = state.nodes[op.node]!;
        if (op.op === 'upgrade' && !nextReleases(n.release).includes(op.release)) return `${releaseTitle(n.release)} → ${releaseTitle(op.release)} is not a supported upgrade`;
        if (op.op === 'boot-kernel') {
          if (!releaseOf(n.release).kernels.some((k) => k.kernel === op.kernel)) return `${op.kernel} is not a kernel of ${releaseTitle(n.release)}`;
          if (op.kernel === n.kernel) return `the node runs ${op.kernel} already`;
        }
        if (op.op === 'replace-hardware' && op.host.name === n.host.name) return `the node is a ${op.host.name} already`;
        return null;
      }
    }
  }

  /**
   * Apply `op` (which must be allowed: see `problem`) as step `step` (1-based). Returns the new
   * state (the old one is not modified) and the restore the operation made, if any. After a
   * failing restore the returned state is the one before it: the story ends there.
   */
  apply(state: LifecycleState, op: LifecycleOp, step: number): { state: LifecycleState; restore: RestoreRecord | null } {
    const why = this.problem(state, op);
    if (why) throw new LifecycleError(`step ${step} (${op.op}): ${why}`);
    const vm = state.vm;
    const withVm = (v: LifecycleVm): LifecycleState => ({ ...state, vm: v });
    const withNode = (i: number, n: LifecycleNode): LifecycleState => ({ ...state, nodes: state.nodes.map((x, j) => (j === i ? n : x)) });
    switch (op.op) {
      case 'create': {
        const n = state.nodes[op.node]!;
        const guest = this.guestOf(state.cpuModel, n);
        const r = this.run(state.cpuModel, guest, n);
        return { state: withVm({ cpuModel: state.cpuModel, guest, node: op.node, status: 'running', live: r.vcpu, liveKey: r.key, snapshots: [], image: null }), restore: null };
      }
      case 'run': {
        const r = this.run(vm!.cpuModel, vm!.guest, state.nodes[vm!.node]!);
        return { state: withVm({ ...vm!, live: r.vcpu, liveKey: r.key }), restore: null };
      }
      case 'snapshot':
        return { state: withVm({ ...vm!, snapshots: [...vm!.snapshots, this.save(vm!, state, step)] }), restore: null };
      case 'suspend':
        return { state: withVm({ ...vm!, status: 'suspended', live: null, liveKey: '', image: this.save(vm!, state, step) }), restore: null };
      case 'migrate':
      case 'rollback':
      case 'resume': {
        const saved = op.op === 'migrate' ? this.save(vm!, state, step) : op.op === 'rollback' ? vm!.snapshots[op.snapshot]! : vm!.image!;
        const r = this.restore(state, saved, op.node);
        const n = state.nodes[op.node]!;
        const failure = op.op === 'migrate' ? r.outcome === 'incomplete' || r.outcome === 'lost' : r.outcome !== 'intact';
        const record: RestoreRecord = {
          step,
          op: op.op,
          savedOn: saved.savedOn,
          restoredOn: this.place(state, op.node),
          outcome: r.outcome,
          detail: r.detail,
          diff: r.diff,
          patched: this.patched(n),
          counted: kernelOf(n.kernel).pvePatch !== null,
          failure,
        };
        if (failure) return { state, restore: record };
        if (r.outcome === 'aborted') return { state, restore: record }; // migration aborted: the guest keeps running on the source
        return { state: withVm({ ...vm!, node: op.node, status: 'running', live: r.vcpu, liveKey: r.key, image: null }), restore: record };
      }
      case 'upgrade': {
        const r = releaseOf(op.release);
        return { state: withNode(op.node, { ...state.nodes[op.node]!, release: r.id, kernel: releaseKernel(r) }), restore: null };
      }
      case 'boot-kernel':
        return { state: withNode(op.node, { ...state.nodes[op.node]!, kernel: op.kernel }), restore: null };
      case 'replace-hardware':
        return { state: withNode(op.node, { ...state.nodes[op.node]!, host: op.host }), restore: null };
    }
  }

  /**
   * A key equal for states with the same future: nodes as a sorted multiset (the VM's node
   * marked), the VM's live vCPU, snapshots and suspend image by content.
   */
  key(state: LifecycleState): string {
    const vm = state.vm;
    const nodes = state.nodes.map((n, i) => `${n.release}/${n.kernel}/${n.host.name}${vm && vm.node === i ? (vm.status === 'running' ? '*' : '+') : ''}`).sort();
    if (!vm) return `${state.cpuModel}#${nodes.join(';')}`;
    const snaps = vm.snapshots.map((s) => `${s.key}@${s.savedOn.release}`).sort();
    return `${state.cpuModel}/${vm.guest.xcr0}/${vm.guest.inUse}#${nodes.join(';')}#${vm.liveKey}#${vm.image ? `${vm.image.key}@${vm.image.savedOn.release}` : ''}#${snaps.join(',')}`;
  }

  /** Every operation allowed in `state` over the abstracted cluster (hosts, kernels, releases). */
  ops(state: LifecycleState, hosts: readonly Host[]): LifecycleOp[] {
    const out: LifecycleOp[] = [];
    const vm = state.vm;
    const N = state.nodes.length;
    const push = (op: LifecycleOp) => {
      if (this.problem(state, op) === null) out.push(op);
    };
    if (!vm) for (let i = 0; i < N; i++) push({ op: 'create', node: i });
    if (vm) {
      push({ op: 'run' });
      push({ op: 'snapshot' });
      push({ op: 'suspend' });
      for (let i = 0; i < N; i++) {
        push({ op: 'migrate', node: i });
        push({ op: 'resume', node: i });
        for (let s = 0; s < vm.snapshots.length; s++) push({ op: 'rollback', snapshot: s, node: i });
      }
    }
    for (let i = 0; i < N; i++) {
      const n = state.nodes[i]!;
      for (const r of nextReleases(n.release)) push({ op: 'upgrade', node: i, release: r });
      for (const k of new Set(releaseOf(n.release).kernels.map((x) => x.kernel))) push({ op: 'boot-kernel', node: i, kernel: k });
      for (const h of hosts) push({ op: 'replace-hardware', node: i, host: h });
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Stories.

export interface StoryRun {
  /** every restore up to the end of the story (or its first failure) */
  restores: RestoreRecord[];
  /** the first failing restore (counted or not): the story ends there */
  failure: RestoreRecord | null;
  /** steps run (the failing step included) */
  stepsRun: number;
  final: LifecycleState;
  /** the story told step by step, one line a step run */
  lines: string[];
}

/** Run a story from its cluster; stops at the first failing restore. Throws LifecycleError on an impossible step. */
export function runStory(story: LifecycleStory, opts: { fixup?: Fixup; sim?: Lifecycle } = {}): StoryRun {
  const sim = opts.sim ?? new Lifecycle({ dropAt: story.dropAt, ...(opts.fixup ? { fixup: opts.fixup } : {}) });
  let state = initialState(story.cluster, story.cpuModel);
  const restores: RestoreRecord[] = [];
  const lines: string[] = [];
  for (let i = 0; i < story.steps.length; i++) {
    const op = story.steps[i]!;
    const before = state;
    const r = sim.apply(state, op, i + 1);
    state = r.state;
    lines.push(`${i + 1}. ${describeStep(before, op, r.restore)}`);
    if (r.restore) {
      restores.push(r.restore);
      if (r.restore.failure) return { restores, failure: r.restore, stepsRun: i + 1, final: state, lines };
    }
  }
  return { restores, failure: null, stepsRun: story.steps.length, final: state, lines };
}

/**
 * The restores a story makes, with where each state was saved and restored and the model's
 * outcome: what a replay on real kernels (the kernel lab) has to reproduce, one restore at a time.
 */
export function restoresOf(story: LifecycleStory, opts: { fixup?: Fixup } = {}): Array<{
  step: number;
  op: RestoreOp;
  /** pku: the host enables PKRU (where a leaky kernel leaks it; where a restore can keep it) */
  savedOn: { release: string; kernel: string; host: string; pku: boolean; qemu: string };
  restoredOn: { release: string; kernel: string; host: string; pku: boolean; qemu: string; patched: boolean };
  modelOutcome: Outcome;
  failure: boolean;
}> {
  const pku = (p: Place): boolean => hostHasPku(hostNamed(p.host, story));
  return runStory(story, opts).restores.map((r) => ({
    step: r.step,
    op: r.op,
    savedOn: { release: r.savedOn.release, kernel: r.savedOn.kernel, host: r.savedOn.host, pku: pku(r.savedOn), qemu: r.savedOn.qemu },
    restoredOn: { release: r.restoredOn.release, kernel: r.restoredOn.kernel, host: r.restoredOn.host, pku: pku(r.restoredOn), qemu: r.restoredOn.qemu, patched: r.patched },
    modelOutcome: r.outcome,
    failure: r.failure,
  }));
}

/** A host a story names (the cluster's or a replacement's), by name. */
function hostNamed(name: string, story: LifecycleStory): Host {
  const all = [...story.cluster.map((n) => n.host), ...story.steps.flatMap((s) => (s.op === 'replace-hardware' ? [s.host] : []))];
  const h = all.find((x) => x.name === name) ?? HOSTS[name];
  if (!h) throw new LifecycleError(`host ${name} is not in the story`);
  return h;
}

function at(state: LifecycleState, i: number): string {
  const n = state.nodes[i]!;
  return `${nodeName(i, state)} (${releaseTitle(n.release)}, ${n.kernel}, ${describeHost(n.host)})`;
}

const CONSEQUENCE: Record<RestoreOp, Record<Outcome, string>> = {
  migrate: { intact: 'intact', aborted: 'aborted, the guest keeps running on the source', incomplete: 'guest resumed with incomplete state', lost: 'guest state lost' },
  rollback: { intact: 'intact', aborted: 'snapshot lost (the restore aborts)', incomplete: 'guest resumed with incomplete state', lost: 'guest state lost' },
  resume: { intact: 'intact', aborted: 'suspended VM lost (the restore aborts)', incomplete: 'guest resumed with incomplete state', lost: 'guest state lost' },
};

/** One line of a story: the operation, where, and for a restore its outcome. */
export function describeStep(before: LifecycleState, op: LifecycleOp, restore: RestoreRecord | null): string {
  const vm = before.vm;
  const out = restore ? ` → ${CONSEQUENCE[restore.op][restore.outcome]}${restore.detail ? ` [${restore.detail}]` : ''}${restore.failure && !restore.counted ? ' (on a kernel without the patch as shipped: not counted)' : ''}` : '';
  switch (op.op) {
    case 'create':
      return `create a ${before.cpuModel} VM on ${at(before, op.node)}`;
    case 'run':
      return `the guest runs on ${nodeName(vm!.node, before)}`;
    case 'migrate':
      return `live-migrate it to ${at(before, op.node)}${out}`;
    case 'snapshot':
      return `take snapshot ${vm!.snapshots.length + 1} with RAM on ${nodeName(vm!.node, before)}`;
    case 'rollback':
      return `roll back to snapshot ${op.snapshot + 1} on ${at(before, op.node)}${out}`;
    case 'suspend':
      return `suspend it to disk on ${nodeName(vm!.node, before)}`;
    case 'resume':
      return `resume it on ${at(before, op.node)}${out}`;
    case 'upgrade':
      return `upgrade ${nodeName(op.node, before)} to ${releaseTitle(op.release)} (kernel ${releaseKernel(releaseOf(op.release))})`;
    case 'boot-kernel':
      return `boot ${nodeName(op.node, before)} into kernel ${op.kernel}`;
    case 'replace-hardware':
      return `replace ${nodeName(op.node, before)}'s hardware with ${describeHost(op.host)}`;
  }
}
