// The migration matrix: which upgrade paths are safe, with and without the Proxmox patch.
// Every cell is one `migrate()` of the reference model on catalogue hosts:
//   source kernel × target kernel and fixup × source host × target host × QEMU error policy × guest model.
// The base hosts (the cells the review's tables show): source skylake-sp (Intel, PKU, AVX-512,
// MPX), target skylake-sp (PKU) or zen4-nopku (the project machines' Zen 4 without PKU). Since
// issue 14 item 6 PKU is no longer confounded with the vendor and the source is not fixed: an AMD
// source with PKU (zen4) and the targets zen4 (AMD with PKU) and skylake-client (Intel without
// PKU) join them; verdicts and M1-M3 cover every host. All are real parts (cpu-data.md §2); none
// is constructed. Guest state: XCR0 = everything the guest's CPUID offers on the source,
// components x87 and SSE in use, the host PKRU register at Linux's default 0x55555554, and a
// guest with XCR0.PKRU holding that same default PKRU value.
import {
  DEFAULT_HOST_PKRU,
  Fixup,
  FixupMode,
  GuestSpec,
  HOSTS,
  Host,
  KERNELS,
  KernelVariant,
  MASK,
  Outcome,
  createVcpu,
  hex,
  isLeaky,
  kernelById,
  kvmSupportedXcr0,
  migrate,
  parseQemu,
  resolveCpuModel,
  setCpuid,
} from '../model';
import { MatrixClaimId } from './claims';
import { UnconfirmedStatement, unconfirmedOf } from './unconfirmed';

export const MATRIX_SOURCE_KERNELS = ['linux-5.15', 'linux-5.16', 'pve-5.15', 'linux-6.2', 'linux-6.6', 'pve-6.8'] as const;
export const MATRIX_SOURCE_HOST = 'skylake-sp';
/** The base target hosts, one per PKU class (the review's per-cell tables show these). */
export const MATRIX_TARGET_HOSTS = { pku: 'skylake-sp', 'no-pku': 'zen4-nopku' } as const;
export type HostPku = keyof typeof MATRIX_TARGET_HOSTS;
/** Source hosts: the base one, then AMD with PKU (Zen 4; a leaky kernel leaks there too). */
export const MATRIX_SOURCE_HOSTS = [MATRIX_SOURCE_HOST, 'zen4'] as const;
/** Target hosts: the base pair, then AMD with PKU (Zen 4) and Intel without PKU (Core i5-6600). */
export const MATRIX_TARGET_HOST_LIST = [MATRIX_TARGET_HOSTS.pku, MATRIX_TARGET_HOSTS['no-pku'], 'zen4', 'skylake-client'] as const;
export const MATRIX_QEMU = ['qemu-8.0', 'qemu-8.2'] as const;
export type MatrixQemu = (typeof MATRIX_QEMU)[number];

/** Guest model classes and the named CPU model standing for each. */
export const GUEST_CLASSES = {
  'no-xsave': 'qemu64',
  'xsave-no-pku': 'x86-64-v3',
  pku: 'Skylake-Server',
} as const;
export type GuestClass = keyof typeof GUEST_CLASSES;

export interface MatrixTarget {
  kernel: string;
  fixup: FixupMode;
  /** whether the fixup is active on this target (kernel carries it, or forced) */
  patched: boolean;
  /** label used in tables: "linux-6.6" or "linux-6.6 + pve" */
  label: string;
}

/** One combination of the per-path axes: source host × target host × QEMU policy × guest model class. */
export interface MatrixCondition {
  /** absent in reports written before issue 14 item 6: the base hosts */
  sourceHost?: string;
  targetHost?: string;
  /** whether the target host has PKU (derived from targetHost) */
  hostPku: HostPku;
  qemu: MatrixQemu;
  guest: GuestClass;
}

export interface MatrixCell extends MatrixCondition {
  source: string;
  target: string;
  fixup: FixupMode;
  patched: boolean;
  cpuModel: string;
  outcome: Outcome;
  leaked: boolean;
  fixupFired: boolean;
  /** the restore step that failed and why, or the state that differs */
  detail: string | null;
  /**
   * false when the guest's CPUID offers components on the source that the target host lacks
   * (a PKU guest to a no-PKU host): such a migration fails whatever the kernels do, and QEMU
   * with `enforce` or a cluster CPU policy would refuse it. Verdicts leave these cells out.
   */
  feasible: boolean;
}

export type Verdict = 'safe' | 'refused' | 'unsafe';

/** One upgrade path (source kernel → target kernel with a fixup mode) under every condition. */
export interface PathResult {
  source: string;
  target: string;
  fixup: FixupMode;
  patched: boolean;
  /** over the feasible cells: safe = all intact; refused = none incomplete/lost, some aborted; unsafe = some incomplete or lost */
  verdict: Verdict;
  /** outcomes of the feasible cells */
  counts: Record<Outcome, number>;
  /** cells left out of the verdict because the target host lacks the guest's features */
  infeasible: number;
  /** the non-intact feasible cells, e.g. "no-pku/qemu-8.0/no-xsave: incomplete (xsave: outside-supported)" */
  problems: string[];
  /** per condition, in the order of MigrationMatrix.conditions */
  outcomes: Outcome[];
  feasible: boolean[];
  leaked: boolean[];
  fixupFired: boolean[];
  details: (string | null)[];
}

export interface MigrationMatrix {
  description: string;
  fixup: string;
  sourceHost: string;
  targetHosts: Record<HostPku, string>;
  /** every source and target host of the conditions, "name (vendor, XCR0 …, PKU or no PKU)" (absent in older reports) */
  hosts?: { sources: string[]; targets: string[] };
  guestModels: Record<GuestClass, string>;
  guestState: string;
  sources: string[];
  targets: MatrixTarget[];
  qemu: string[];
  conditions: MatrixCondition[];
  paths: PathResult[];
  /** UNCONFIRMED statements of the matrix's kernels and QEMU versions: every verdict of the matrix may rest on them (absent in reports written before them) */
  unconfirmed?: UnconfirmedStatement[];
}

/**
 * Each catalogue kernel with what it carries; then every upstream one with the patch forced on
 * and every Proxmox one with it forced off, so each kernel is seen with and without the patch.
 */
export function matrixTargets(): MatrixTarget[] {
  const out: MatrixTarget[] = KERNELS.map((k) => ({ kernel: k.id, fixup: 'kernel-default' as FixupMode, patched: k.pvePatch !== null, label: k.id }));
  for (const k of KERNELS) if (k.pvePatch === null) out.push({ kernel: k.id, fixup: 'pve', patched: true, label: `${k.id} + pve` });
  for (const k of KERNELS) if (k.pvePatch !== null) out.push({ kernel: k.id, fixup: 'none', patched: false, label: `${k.id} − patch` });
  return out;
}

function kernel(id: string): KernelVariant {
  const k = kernelById(id);
  if (!k) throw new Error(`matrix: unknown kernel ${id}`);
  return k;
}

/** The guest's state on the source: XCR0 = all its CPUID offers there, x87+SSE in use. */
export function matrixGuest(cpuModel: string, sourceKernel: KernelVariant, sourceHost: Host): GuestSpec {
  const probe = createVcpu(sourceKernel, sourceHost);
  setCpuid(probe, resolveCpuModel(cpuModel, sourceHost, sourceKernel));
  const xcr0 = probe.guestSupportedXcr0 | MASK.FP;
  return { xcr0, inUse: MASK.FPSSE, pkru: (xcr0 & MASK.PKRU) !== 0n ? DEFAULT_HOST_PKRU : 0, hostPkru: DEFAULT_HOST_PKRU };
}

function host(name: string): Host {
  const h = HOSTS[name];
  if (!h) throw new Error(`matrix: unknown host ${name}`);
  return h;
}

const pkuOf = (h: Host): HostPku => ((h.xcr0 & MASK.PKRU) !== 0n ? 'pku' : 'no-pku');

export function matrixCell(source: string, target: MatrixTarget, cond: MatrixCondition, plugin?: Fixup): MatrixCell {
  const { hostPku, qemu, guest } = cond;
  const srcKernel = kernel(source);
  const srcHost = host(cond.sourceHost ?? MATRIX_SOURCE_HOST);
  const dstHost = host(cond.targetHost ?? MATRIX_TARGET_HOSTS[hostPku]);
  const cpuModel = GUEST_CLASSES[guest];
  const spec = matrixGuest(cpuModel, srcKernel, srcHost);
  const r = migrate(
    {
      vcpu: { cpuModel },
      source: { kernel: srcKernel, host: srcHost },
      target: { kernel: kernel(target.kernel), host: dstHost, fixup: target.fixup },
      vmm: parseQemu(qemu)!,
      guest: spec,
    },
    plugin,
  );
  const failed = r.restore.steps.find((s) => s.rc !== 0 && s.rc !== 'skipped');
  const detail = failed ? `${failed.step}: ${failed.detail ?? failed.rc}` : r.diff.length ? `differs in ${r.diff.join(',')}` : null;
  return {
    source,
    target: target.kernel,
    fixup: target.fixup,
    patched: target.patched,
    sourceHost: srcHost.name,
    targetHost: dstHost.name,
    hostPku,
    qemu,
    guest,
    cpuModel,
    outcome: r.outcome,
    leaked: r.leaked,
    fixupFired: r.fixupFired,
    detail,
    feasible: (spec.xcr0 & ~kvmSupportedXcr0(kernel(target.kernel), dstHost)) === 0n,
  };
}

/** The base conditions first (the base source host, the base target hosts in PKU order), so a query without hosts finds them. */
export function matrixConditions(): MatrixCondition[] {
  const out: MatrixCondition[] = [];
  for (const sourceHost of MATRIX_SOURCE_HOSTS)
    for (const targetHost of MATRIX_TARGET_HOST_LIST)
      for (const qemu of MATRIX_QEMU)
        for (const guest of Object.keys(GUEST_CLASSES) as GuestClass[]) out.push({ sourceHost, targetHost, hostPku: pkuOf(host(targetHost)), qemu, guest });
  return out;
}

/** A condition on the base hosts (the review's per-cell tables show only these; verdicts and claims use all). */
export function isBaseCondition(c: MatrixCondition): boolean {
  return (c.sourceHost ?? MATRIX_SOURCE_HOST) === MATRIX_SOURCE_HOST && (c.targetHost ?? MATRIX_TARGET_HOSTS[c.hostPku]) === MATRIX_TARGET_HOSTS[c.hostPku];
}

/** Indices of the base conditions, in order. */
export function baseConditionIndices(m: MigrationMatrix): number[] {
  return m.conditions.flatMap((c, i) => (isBaseCondition(c) ? [i] : []));
}

export function conditionLabel(c: MatrixCondition): string {
  const base = `${c.hostPku}/${c.qemu}/${c.guest}`;
  return isBaseCondition(c) ? base : `${c.sourceHost}→${c.targetHost}/${base}`;
}

export function pathResult(source: string, t: MatrixTarget, cells: readonly MatrixCell[]): PathResult {
  const counts: Record<Outcome, number> = { intact: 0, aborted: 0, incomplete: 0, lost: 0 };
  const problems: string[] = [];
  let infeasible = 0;
  for (const c of cells) {
    if (!c.feasible) {
      infeasible++;
      continue;
    }
    counts[c.outcome]++;
    if (c.outcome !== 'intact') problems.push(`${conditionLabel(c)}: ${c.outcome}${c.detail ? ` (${c.detail})` : ''}`);
  }
  const verdict: Verdict = counts.incomplete + counts.lost > 0 ? 'unsafe' : counts.aborted > 0 ? 'refused' : 'safe';
  return {
    source,
    target: t.kernel,
    fixup: t.fixup,
    patched: t.patched,
    verdict,
    counts,
    infeasible,
    problems,
    outcomes: cells.map((c) => c.outcome),
    feasible: cells.map((c) => c.feasible),
    leaked: cells.map((c) => c.leaked),
    fixupFired: cells.map((c) => c.fixupFired),
    details: cells.map((c) => c.detail),
  };
}

export function computeMatrix(plugin?: Fixup): MigrationMatrix {
  const paths: PathResult[] = [];
  for (const step of matrixSteps(plugin)) paths.push(step());
  return matrixOf(paths, plugin);
}

/**
 * The same matrix, yielding to the event loop between paths: the fuzz parent computes it while
 * its workers run, and since issue 14 item 6 (four times the cells) computing it in one go held
 * back their findings and the stop at --max-findings.
 */
export async function computeMatrixYielding(plugin?: Fixup): Promise<MigrationMatrix> {
  const paths: PathResult[] = [];
  for (const step of matrixSteps(plugin)) {
    paths.push(step());
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return matrixOf(paths, plugin);
}

/** One step per path, in matrix order. */
function matrixSteps(plugin?: Fixup): (() => PathResult)[] {
  const conditions = matrixConditions();
  return MATRIX_SOURCE_KERNELS.flatMap((source) => matrixTargets().map((t) => () => pathResult(source, t, conditions.map((c) => matrixCell(source, t, c, plugin)))));
}

function matrixOf(paths: PathResult[], plugin?: Fixup): MigrationMatrix {
  const targets = matrixTargets();
  const conditions = matrixConditions();
  const sourceHost = HOSTS[MATRIX_SOURCE_HOST]!;
  return {
    description: matrixDescription(),
    fixup: plugin?.name ?? 'pve',
    sourceHost: `${sourceHost.name} (XCR0 ${hex(sourceHost.xcr0)})`,
    targetHosts: {
      pku: `${MATRIX_TARGET_HOSTS.pku} (XCR0 ${hex(HOSTS[MATRIX_TARGET_HOSTS.pku]!.xcr0)})`,
      'no-pku': `${MATRIX_TARGET_HOSTS['no-pku']} (XCR0 ${hex(HOSTS[MATRIX_TARGET_HOSTS['no-pku']]!.xcr0)})`,
    },
    hosts: { sources: MATRIX_SOURCE_HOSTS.map(hostLabel), targets: MATRIX_TARGET_HOST_LIST.map(hostLabel) },
    guestModels: { ...GUEST_CLASSES },
    guestState: `XCR0 = every component the guest CPUID offers on the source; x87 and SSE in use; host PKRU ${hex(DEFAULT_HOST_PKRU)}; guest PKRU ${hex(DEFAULT_HOST_PKRU)} when its XCR0 has PKRU, else 0`,
    sources: [...MATRIX_SOURCE_KERNELS],
    targets,
    qemu: [...MATRIX_QEMU],
    conditions,
    paths,
    unconfirmed: unconfirmedOf([...MATRIX_SOURCE_KERNELS, ...targets.map((t) => t.kernel)], MATRIX_QEMU),
  };
}

function hostLabel(name: string): string {
  const h = host(name);
  return `${name} (${h.vendor}, XCR0 ${hex(h.xcr0)}, ${pkuOf(h) === 'pku' ? 'PKU' : 'no PKU'})`;
}

/** What a cell is; the QEMU 8.2 boundary's status is taken from the QEMU version data (model/vmm.ts). */
function matrixDescription(): string {
  const abort = parseQemu('qemu-8.2')!;
  const boundary = abort.unconfirmed?.length ? `; UNCONFIRMED: ${abort.unconfirmed.join('; ')}` : '';
  return (
    'migrate() of the reference model: the source kernel saves on skylake-sp or zen4 (Intel or AMD, both with PKU), QEMU restores on the target kernel (with what it carries, with the Proxmox patch forced on, or a Proxmox kernel with it forced off) on a PKU or a no-PKU host of either vendor (skylake-sp, zen4; zen4-nopku, skylake-client); ' +
    'QEMU 8.0 ignores a failed restore step and resumes the guest with partial state (incomplete: what the guest then does is not modelled; the incident report, the Proxmox patch 1559d22f3510, describes a vCPU spinning at 100% CPU; with real QEMU 7.2 in the kernel lab the guest kept running with reset x87/SSE state and a broken clock, docs/lab-qemu.md), ' +
    `QEMU 8.2 aborts (the guest stays on the source${boundary})`
  );
}

export function findPath(m: MigrationMatrix, source: string, target: string, fixup: FixupMode = 'kernel-default'): PathResult | undefined {
  return m.paths.find((p) => p.source === source && p.target === target && p.fixup === fixup);
}

/** The outcome of one cell, looked up in a computed (or parsed) matrix. */
export function findCell(
  m: MigrationMatrix,
  q: { source: string; target: string; fixup?: FixupMode; hostPku: HostPku; qemu: MatrixQemu; guest: GuestClass; sourceHost?: string; targetHost?: string },
): { outcome: Outcome; feasible: boolean; leaked: boolean; fixupFired: boolean; detail: string | null } | undefined {
  const p = findPath(m, q.source, q.target, q.fixup);
  // Without hosts: the base hosts (the first conditions of each PKU class).
  const i = m.conditions.findIndex(
    (c) => c.hostPku === q.hostPku && c.qemu === q.qemu && c.guest === q.guest && (q.sourceHost === undefined || c.sourceHost === q.sourceHost) && (q.targetHost === undefined || c.targetHost === q.targetHost),
  );
  if (!p || i < 0) return undefined;
  return { outcome: p.outcomes[i]!, feasible: p.feasible[i]!, leaked: p.leaked[i]!, fixupFired: p.fixupFired[i]!, detail: p.details[i]! };
}

export function isLeakySource(id: string): boolean {
  return isLeaky(kernel(id));
}

// ---- summaries ---------------------------------------------------------------------------

/** Sources whose every path gives the same cells, e.g. [linux-5.16, pve-5.15]. */
export interface SourceGroup {
  sources: string[];
  leaky: boolean;
}

function pathKey(p: PathResult): string {
  return `${p.target}|${p.fixup}|${p.outcomes.join(',')}|${p.feasible.join(',')}|${p.details.join(',')}`;
}

export function sourceGroups(m: MigrationMatrix): SourceGroup[] {
  const groups: { key: string; sources: string[] }[] = [];
  for (const s of m.sources) {
    const key = m.paths.filter((p) => p.source === s).map(pathKey).join(';');
    const g = groups.find((x) => x.key === key);
    if (g) g.sources.push(s);
    else groups.push({ key, sources: [s] });
  }
  return groups.map((g) => ({ sources: g.sources, leaky: g.sources.some((s) => isLeakySource(s)) }));
}

/** One kernel seen without and with the patch (its default and its forced counterpart). */
export interface PatchPair {
  kernel: string;
  carriesPatch: boolean;
  without: { fixup: FixupMode; byGroup: PathResult[] };
  with: { fixup: FixupMode; byGroup: PathResult[] };
}

export function patchPairs(m: MigrationMatrix, groups: SourceGroup[] = sourceGroups(m)): PatchPair[] {
  const kernels = m.targets.filter((t) => t.fixup === 'kernel-default').map((t) => ({ kernel: t.kernel, carries: t.patched }));
  return kernels.map(({ kernel: k, carries }) => {
    const withoutFixup: FixupMode = carries ? 'none' : 'kernel-default';
    const withFixup: FixupMode = carries ? 'kernel-default' : 'pve';
    const pick = (fixup: FixupMode) => groups.map((g) => findPath(m, g.sources[0]!, k, fixup)!);
    return { kernel: k, carriesPatch: carries, without: { fixup: withoutFixup, byGroup: pick(withoutFixup) }, with: { fixup: withFixup, byGroup: pick(withFixup) } };
  });
}

/** Claims the matrix decides by enumerating its whole (finite) domain. */
export interface MatrixClaim {
  id: MatrixClaimId;
  title: string;
  statement: string;
  /** cells the claim quantifies over */
  cells: number;
  holds: boolean;
  /** the cells that contradict it, "source → target[fixup] condition: outcome (detail)" */
  counterexamples: string[];
  /** UNCONFIRMED statements of the kernels and QEMU versions it quantifies over */
  unconfirmed: UnconfirmedStatement[];
}

const cellName = (p: PathResult, c: MatrixCondition, i: number): string =>
  `${p.source} → ${p.target}${p.fixup === 'kernel-default' ? '' : ` [fixup ${p.fixup}]`} ${conditionLabel(c)}: ${p.outcomes[i]}${p.details[i] ? ` (${p.details[i]})` : ''}`;

/** SET accepts every host-supported bit (8647c52e9504, 6.6): a non-leaky kernel whose user_xfeatures is the host set. */
function acceptsHostBits(id: string): boolean {
  const kv = kernelById(id);
  return kv !== undefined && kv.userXfeatures === 'host' && !isLeaky(kv);
}

export function matrixClaims(m: MigrationMatrix): MatrixClaim[] {
  const leakySources = m.sources.filter(isLeakySource);
  const cleanSources = m.sources.filter((s) => !isLeakySource(s));
  const claims: MatrixClaim[] = [];
  // Reports written before issue 14 item 6 have one source host and two target hosts.
  const sourceHosts = m.hosts ? `each source host (${m.hosts.sources.join('; ')})` : m.sourceHost;
  const targetHosts = m.hosts ? `each target host (${m.hosts.targets.join('; ')})` : 'a target host with and without PKU';

  // M1: with the fixup, every feasible migration from a leaky source is intact.
  {
    let cells = 0;
    const bad: string[] = [];
    for (const p of m.paths) {
      if (!leakySources.includes(p.source) || !p.patched || p.target === 'linux-5.17') continue;
      m.conditions.forEach((c, i) => {
        if (!p.feasible[i]) return;
        cells++;
        if (p.outcomes[i] !== 'intact') bad.push(cellName(p, c, i));
      });
    }
    claims.push({
      id: 'M1',
      title: 'with the fixup, every leaked state migrates intact (matrix domain)',
      statement: `For every source kernel that leaks PKRU (${leakySources.join(', ')}) on ${sourceHosts}, every target kernel with the fixup active (each Proxmox kernel as shipped and each upstream kernel with it forced on; linux-5.17 excepted, whose own FP/SSE bug refuses non-XSAVE guests), ${targetHosts}, QEMU 8.0 and 8.2, and each guest model (${Object.values(m.guestModels).join(', ')}) whose components the target host offers: the migration outcome is intact.`,
      cells,
      holds: bad.length === 0,
      counterexamples: bad,
      unconfirmed: unconfirmedOf([...leakySources, ...m.targets.filter((t) => t.patched && t.kernel !== 'linux-5.17').map((t) => t.kernel)], m.qemu),
    });
  }

  // M2: the fixup never changes a migration from a source that does not leak.
  {
    let cells = 0;
    const bad: string[] = [];
    for (const pair of patchPairs(m, cleanSources.map((s) => ({ sources: [s], leaky: false })))) {
      pair.without.byGroup.forEach((a, gi) => {
        const b = pair.with.byGroup[gi]!;
        m.conditions.forEach((c, i) => {
          cells++;
          if (a.outcomes[i] !== b.outcomes[i]) bad.push(`${cellName(b, c, i)}, without the fixup: ${a.outcomes[i]}`);
        });
      });
    }
    claims.push({
      id: 'M2',
      title: 'the fixup changes no migration from a non-leaky source (matrix domain)',
      statement: `For every source kernel that does not leak (${cleanSources.join(', ')}) on ${sourceHosts}, every catalogue target kernel, ${targetHosts}, both QEMU policies and every guest model: the outcome with the fixup equals the outcome without it.`,
      cells,
      holds: bad.length === 0,
      counterexamples: bad,
      unconfirmed: unconfirmedOf([...cleanSources, ...m.targets.map((t) => t.kernel)], m.qemu),
    });
  }

  // M3: the model reproduces the incident: without the fixup, leaky sources leave 6.x/7.x targets
  // incomplete under QEMU 8.0. On kernels with 8647c52e9504 (SET accepts any host-supported bit:
  // 6.6 and the kernels that backport it) only when the target host lacks PKU (issue 14 item 6:
  // the claim said "every 6.x/7.x kernel" without that condition).
  {
    let cells = 0;
    const missing: string[] = [];
    const modern = m.targets.filter((t) => !t.patched && /^(linux|pve|debian)-(6|7)\./.test(t.kernel) && !isLeakySource(t.kernel));
    const hostRule = modern.filter((t) => acceptsHostBits(t.kernel)).map((t) => t.kernel);
    for (const t of modern) {
      for (const s of leakySources) {
        const p = findPath(m, s, t.kernel, t.fixup)!;
        cells += m.conditions.length;
        // on each source host (issue 14 item 6: the source is no longer fixed)
        for (const sh of new Set(m.conditions.map((c) => c.sourceHost))) {
          const name = `${s}${sh ? ` on ${sh}` : ''} → ${t.kernel}${t.fixup === 'kernel-default' ? '' : ` [fixup ${t.fixup}]`}`;
          const incomplete = (host: HostPku): boolean => m.conditions.some((c, i) => c.sourceHost === sh && c.qemu === 'qemu-8.0' && c.hostPku === host && p.feasible[i] && p.outcomes[i] === 'incomplete');
          if (!incomplete('pku') && !incomplete('no-pku')) missing.push(`${name}: no feasible cell is incomplete under qemu-8.0`);
          else if (hostRule.includes(t.kernel) && incomplete('pku')) missing.push(`${name}: incomplete on a PKU host too, although the kernel accepts every host-supported bit (8647c52e9504)`);
          else if (hostRule.includes(t.kernel) && !incomplete('no-pku')) missing.push(`${name}: not incomplete on a no-PKU host`);
          else if (!hostRule.includes(t.kernel) && !incomplete('pku')) missing.push(`${name}: not incomplete on a PKU host, although the kernel refuses guest-unsupported bits (6.2 rule)`);
        }
      }
    }
    const hostRuleIds = [...new Set(hostRule)];
    const strictIds = [...new Set(modern.map((t) => t.kernel).filter((k) => !hostRuleIds.includes(k)))];
    claims.push({
      id: 'M3',
      title: 'without the fixup the incident reproduces on every 6.x/7.x kernel; on 6.6 and later only with a target host without PKU (matrix domain)',
      statement: `For every source kernel that leaks PKRU (${leakySources.join(', ')}) on ${sourceHosts} and every 6.x/7.x target kernel without the fixup (upstream as released, Proxmox with the patch forced off): some feasible migration under QEMU 8.0 ends incomplete (a restore step failed, QEMU ignored it and the guest resumed with partial state; the incident report's 100%-CPU hang is its reported symptom, not modelled and not observed in the lab). On the kernels with the 6.2 rule (SET refuses bits the guest does not support: ${strictIds.join(', ')}) this happens with a target host with PKU as well; on the kernels with 8647c52e9504 (SET accepts every host-supported bit: 6.6 and later and the kernels that backport it: ${hostRuleIds.join(', ')}) only with a target host without PKU: from a PKU host to a PKU host they are not incomplete. This is the problem the patch addresses, shown by the same model.`,
      cells,
      holds: missing.length === 0,
      counterexamples: missing,
      unconfirmed: unconfirmedOf([...leakySources, ...modern.map((t) => t.kernel)], ['qemu-8.0']),
    });
  }
  return claims;
}
