// Coverage counters of a fuzz run: scenarios per property and per class. Workers send deltas,
// the parent and merge-reports add them up; the report schema (report/SCHEMA.md)
// documents the same shape.
import { PropertyId } from './properties';
import { PROPERTY_IDS } from './claims';

export type Counts = Record<string, number>;

export interface PropertyCoverage {
  /** scenarios checked (shrinking steps after a failure are not counted) */
  cases: number;
  /** fast-check runs (batches) started */
  batches: number;
  /** PropertyDef.classify of each scenario */
  classes: Counts;
  /** further dimensions, "dimension:value" (each dimension sums to `cases`) */
  extra: Counts;
  /** scenarios per decision-space cell (properties/decisionSpace.ts; issue 14 item 3); sums to `cases` */
  decision: Counts;
}

/** KVM_SET_XSAVE scenarios of P1, P3 and P4 by buffer class; valid + leaked + other = cases. */
export interface IoctlCoverage {
  cases: number;
  /** XSTATE_BV ⊆ guest-supported XCR0 ∪ {x87, SSE} */
  valid: number;
  /** valid plus only the PKRU bit, on a vCPU whose CPUID does not offer PKRU */
  leaked: number;
  /** any other XSTATE_BV */
  other: number;
  /** of all classes: those the kernel without the fixup refuses (-EINVAL) */
  rejected: number;
}

export interface Coverage {
  cases: number;
  batches: number;
  byProperty: Record<PropertyId, PropertyCoverage>;
  ioctl: IoctlCoverage;
}

export function emptyPropertyCoverage(): PropertyCoverage {
  return { cases: 0, batches: 0, classes: {}, extra: {}, decision: {} };
}

export function emptyIoctl(): IoctlCoverage {
  return { cases: 0, valid: 0, leaked: 0, other: 0, rejected: 0 };
}

export function emptyCoverage(): Coverage {
  const byProperty = {} as Record<PropertyId, PropertyCoverage>;
  for (const id of PROPERTY_IDS) byProperty[id] = emptyPropertyCoverage();
  return { cases: 0, batches: 0, byProperty, ioctl: emptyIoctl() };
}

export function addCounts(into: Counts, from: Counts): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

export function bump(into: Counts, key: string, n = 1): void {
  into[key] = (into[key] ?? 0) + n;
}

export function addCoverage(into: Coverage, from: Coverage): void {
  into.cases += from.cases;
  into.batches += from.batches;
  for (const id of PROPERTY_IDS) {
    const a = into.byProperty[id];
    const b = from.byProperty[id];
    if (!b) continue;
    a.cases += b.cases;
    a.batches += b.batches;
    addCounts(a.classes, b.classes);
    addCounts(a.extra, b.extra);
    addCounts(a.decision, b.decision ?? {}); // absent in reports written before it
  }
  into.ioctl.cases += from.ioctl.cases;
  into.ioctl.valid += from.ioctl.valid;
  into.ioctl.leaked += from.ioctl.leaked;
  into.ioctl.other += from.ioctl.other;
  into.ioctl.rejected += from.ioctl.rejected;
}

/** Keys sorted, so that the JSON of equal coverage is byte-identical. */
export function sortedCounts(c: Counts): Counts {
  const out: Counts = {};
  for (const k of Object.keys(c).sort()) out[k] = c[k]!;
  return out;
}

export function normaliseCoverage(c: Coverage): Coverage {
  const byProperty = {} as Record<PropertyId, PropertyCoverage>;
  for (const id of PROPERTY_IDS) {
    const p = c.byProperty[id] ?? emptyPropertyCoverage();
    byProperty[id] = { cases: p.cases, batches: p.batches, classes: sortedCounts(p.classes), extra: sortedCounts(p.extra), decision: sortedCounts(p.decision ?? {}) };
  }
  return { cases: c.cases, batches: c.batches, byProperty, ioctl: { ...c.ioctl } };
}
