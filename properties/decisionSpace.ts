// The decision space of the PKRU fixup (issue 14 item 3): every KVM_SET_XSAVE a property makes
// falls in one cell of XSTATE_BV bit 9 × CPUID 0xD.0 bit 9 × host supports PKRU × CPUID.7 PKU ×
// vCPU XCR0 bit 9 × confidential, read off the vCPU the ioctl runs on and the buffer it gets.
// Which cells a property's domain can reach is computed, not listed: a cell is feasible when a
// scenario of a finite enumeration of the domain (values each arbitrary can draw) lands in it.
// A fixed-seed run that leaves a feasible cell empty is a blind spot of the generator.
import { CpuidEntry, CPUID_BITS, MASK, MigrationSpec, OFF, Vcpu, createVcpu, findCpuid, getXsave, kvmSupportedXcr0, derivedGuestSupportedXcr0, readU64, setCpuid, sourceVcpu, DEFAULT_HOST_PKRU, HOSTS, KERNELS, cpuidOn } from '../model';
import fc from 'fast-check';
import { CpuidChoice, RawTableChoice, cpuidFor } from './arbitraries/cpuid';
import { BuiltIoctl, IoctlScenario, LeakScenario, P2_SOURCE_KERNELS, P2_TARGET_KERNELS, QEMU_VERSIONS, buildIoctl, guestSpecFor } from './arbitraries/scenarios';
import { IOCTL_BV_KINDS, P5_KERNELS, PropertyId, RoundTripScenario, leakSpec } from './properties';
import { PROPERTY_IDS } from './claims';
import { Counts, bump } from './coverage';

/** The axes, in the order of the cell key's digits. */
export const DECISION_AXES = ['XSTATE_BV bit 9', 'CPUID 0xD.0 bit 9', 'host supports PKRU', 'CPUID.7 PKU', 'vCPU XCR0 bit 9', 'confidential'] as const;

/**
 * A cell: one digit (0/1) per axis of DECISION_AXES, e.g. "100100". CPUID 0xD.0 bit 9 is the raw
 * table's (the first 0xD.0 entry, as KVM reads it), before KVM intersects it with the host set;
 * "host supports PKRU" is KVM's supported XCR0 (host XCR0 ∩ the kernel's set).
 */
export function decisionCell(vcpu: Vcpu, xstateBv: bigint): string {
  const bit = (b: boolean) => (b ? '1' : '0');
  const leaf7 = vcpu.cpuid ? findCpuid(vcpu.cpuid as CpuidEntry[], 7, 0) : undefined;
  return (
    bit((xstateBv & MASK.PKRU) !== 0n) +
    bit((vcpu.cpuidXcr0 & MASK.PKRU) !== 0n) +
    bit((vcpu.supportedXcr0 & MASK.PKRU) !== 0n) +
    bit(leaf7 !== undefined && (leaf7.ecx & CPUID_BITS.PKU) !== 0) +
    bit((vcpu.xcr0 & MASK.PKRU) !== 0n) +
    bit(vcpu.confidential)
  );
}

/** The cell of a property's scenario: where its KVM_SET_XSAVE (P2: the target's; P5: the fresh vCPU's) runs. */
export function decisionCellOf(id: PropertyId, s: unknown, built?: unknown): string {
  switch (id) {
    case 'P1':
    case 'P3':
    case 'P4': {
      const b = (built as BuiltIoctl | undefined) ?? buildIoctl(s as IoctlScenario);
      return decisionCell(b.vcpu, readU64(b.region, OFF.XSTATE_BV));
    }
    case 'P2': {
      // QEMU writes env->xstate_bv verbatim (kernel-semantics.md §7.4): the source GET's XSTATE_BV.
      const spec = (built as MigrationSpec | undefined) ?? leakSpec(s as LeakScenario);
      const src = sourceVcpu(spec.source.kernel, spec.source.host, cpuidOn(spec.vcpu, spec.source.host, spec.source.kernel), spec.guest);
      const dst = createVcpu(spec.target.kernel, spec.target.host);
      const t = cpuidOn(spec.vcpu, spec.target.host, spec.target.kernel);
      if (t) setCpuid(dst, t);
      return decisionCell(dst, readU64(getXsave(src).region, OFF.XSTATE_BV));
    }
    case 'P5': {
      const r = s as RoundTripScenario;
      const cpuid = cpuidFor(r.cpuid, r.host, r.kernel);
      const spec = guestSpecFor(r.guest, derivedGuestSupportedXcr0(r.kernel, kvmSupportedXcr0(r.kernel, r.host), cpuid));
      const src = sourceVcpu(r.kernel, r.host, cpuid, spec);
      const dst = createVcpu(r.kernel, r.host);
      if (cpuid) setCpuid(dst, cpuid);
      return decisionCell(dst, readU64(getXsave(src).region, OFF.XSTATE_BV));
    }
  }
}

/** Cells of scenarios, counted. */
export function decisionCounts(id: PropertyId, scenarios: Iterable<unknown>): Counts {
  const c: Counts = {};
  for (const s of scenarios) bump(c, decisionCellOf(id, s));
  return c;
}

// ---- the enumerated domains (values every arbitrary can draw) ---------------------------------
const GRID_HOSTS = ['skylake-sp', 'haswell', 'zen3', 'zen1'].map((n) => HOSTS[n]!);
const table = (eax: number | null, pku: boolean): RawTableChoice => ({
  kind: 'table',
  leaf1Xsave: true,
  leaf0d: eax === null ? null : { eax, edx: 0 },
  dup0d: null,
  pku,
  mpx: false,
  reversed: false,
  amxPermission: true,
});
const gridCpuid = (eaxs: readonly number[]): CpuidChoice[] => [
  { kind: 'never-set' },
  ...[null, ...eaxs].flatMap((eax) => [table(eax, false), table(eax, true)]),
];

function* ioctlGrid(id: 'P1' | 'P3' | 'P4'): Generator<IoctlScenario> {
  for (const kernel of KERNELS)
    for (const host of GRID_HOSTS)
      for (const cpuid of gridCpuid([0x7, 0x207]))
        for (const xcr0Candidate of [0x7n, 0x207n])
          for (const bvKind of IOCTL_BV_KINDS[id])
            for (const bvBits of [0x3n, 0x203n])
              for (const confidential of [false, true])
                yield { kernel, host, cpuid, confidential, xcr0Candidate, bvKind, bvBits, xcompBv: 0n, reserved: null, mxcsr: 0x1f80, fill: 0, pkruArea: 0, xfd: 0n };
}

function* leakGrid(): Generator<LeakScenario> {
  for (const sourceKernel of P2_SOURCE_KERNELS)
    for (const sourceHost of GRID_HOSTS.filter((h) => (h.xcr0 & MASK.PKRU) !== 0n))
      for (const targetKernel of P2_TARGET_KERNELS)
        for (const targetBase of GRID_HOSTS)
          for (const cpuid of gridCpuid([0x7]))
            yield { sourceKernel, sourceHost, targetKernel, targetBase, vmm: QEMU_VERSIONS[0]!, cpuid, guest: { xcr0Candidate: 0x7n, inUse: 0x3n, pkru: 0, hostPkru: DEFAULT_HOST_PKRU, mxcsr: 0x1f80 } };
}

function* roundTripGrid(): Generator<RoundTripScenario> {
  for (const kernel of P5_KERNELS)
    for (const host of GRID_HOSTS)
      for (const cpuid of gridCpuid([0x7, 0x207]))
        for (const xcr0Candidate of [0x7n, 0x207n])
          for (const pkru of [0, 1]) yield { kernel, host, cpuid, guest: { xcr0Candidate, inUse: 0x3n, pkru, hostPkru: DEFAULT_HOST_PKRU, mxcsr: 0x1f80 } };
}

function grid(id: PropertyId): Iterable<unknown> {
  return id === 'P2' ? leakGrid() : id === 'P5' ? roundTripGrid() : ioctlGrid(id);
}

const feasibleMemo = new Map<PropertyId, readonly string[]>();

/** The cells the property's domain reaches, sorted (computed once per process). */
export function feasibleCells(id: PropertyId): readonly string[] {
  let f = feasibleMemo.get(id);
  if (!f) feasibleMemo.set(id, (f = Object.keys(decisionCounts(id, grid(id))).sort()));
  return f;
}

// ---- the table ---------------------------------------------------------------------------------
export interface DecisionCellCount {
  /** one digit per axis (DECISION_AXES) */
  cell: string;
  /** in the property's domain (computed) */
  feasible: boolean;
  /** scenarios of the run in this cell */
  cases: number;
}

export interface PropertyDecisionSpace {
  cases: number;
  feasible: number;
  /** feasible cells with at least one case */
  reached: number;
  /** every feasible cell and every reached one, sorted by cell */
  cells: DecisionCellCount[];
}

export interface DecisionSpace {
  axes: string[];
  byProperty: Record<PropertyId, PropertyDecisionSpace>;
}

/** The table of a run from its per-property cell counts. A reached infeasible cell means the enumeration misses part of the domain. */
export function decisionSpace(counts: Partial<Record<PropertyId, Counts>>): DecisionSpace {
  const byProperty = {} as Record<PropertyId, PropertyDecisionSpace>;
  for (const id of PROPERTY_IDS) {
    const c = counts[id] ?? {};
    const feasible = new Set(feasibleCells(id));
    const keys = [...new Set([...feasible, ...Object.keys(c)])].sort();
    const cells = keys.map((cell) => ({ cell, feasible: feasible.has(cell), cases: c[cell] ?? 0 }));
    byProperty[id] = {
      cases: cells.reduce((n, x) => n + x.cases, 0),
      feasible: feasible.size,
      reached: cells.filter((x) => x.feasible && x.cases > 0).length,
      cells,
    };
  }
  return { axes: [...DECISION_AXES], byProperty };
}

/** Feasible cells a run never reached, "P1 101010" (property runs with no case at all are left out). */
export function unreachedCells(ds: DecisionSpace): string[] {
  return PROPERTY_IDS.flatMap((id) => {
    const p = ds.byProperty[id];
    return p.cases === 0 ? [] : p.cells.filter((x) => x.feasible && x.cases === 0).map((x) => `${id} ${x.cell}`);
  });
}

/** A fixed-seed sample of `arb` counted by cell (the test and its negative control). */
export function sampleCells(id: PropertyId, arb: fc.Arbitrary<unknown>, seed: number, numRuns: number): Counts {
  return decisionCounts(id, fc.sample(arb, { seed, numRuns }));
}


