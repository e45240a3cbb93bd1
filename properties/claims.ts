// The claims, listed once: P1-P5 (checked by random generation, properties.ts), M1-M3 (decided
// on every cell of the migration matrix, matrix.ts) and the subset of P1-P5 that z3 proves for
// all 64-bit values (proof/claims.ts states them as formulas). The fuzzer's batches and seeds,
// `check`, the kill matrix, the report and its schema all read these lists.
import { P1, P2, P3, P4, P5, PropertyDef, PropertyId } from './properties';

/** P1-P5, in report order. */
export const PROPERTY_IDS: readonly PropertyId[] = ['P1', 'P2', 'P3', 'P4', 'P5'];

/** Each property's definition by id. */
export const PROPERTIES: Readonly<Record<PropertyId, PropertyDef<unknown>>> = { P1, P2, P3, P4, P5 } as unknown as Record<PropertyId, PropertyDef<unknown>>;

export const MATRIX_CLAIM_IDS = ['M1', 'M2', 'M3'] as const;
export type MatrixClaimId = (typeof MATRIX_CLAIM_IDS)[number];

/** The properties that proof/ proves with z3 for all 64-bit values. */
export const PROVED_PROPERTY_IDS = ['P1', 'P3', 'P4'] as const satisfies readonly PropertyId[];
export type ProvedPropertyId = (typeof PROVED_PROPERTY_IDS)[number];

export function isPropertyId(s: string): s is PropertyId {
  return (PROPERTY_IDS as readonly string[]).includes(s);
}

// Lifecycle claims (issue 15): a VM's whole life on a cluster (model/lifecycle.ts), decided by
// a bounded exhaustive search (lifecycle/search.ts) and by random operation sequences
// (properties/lifecycle.ts). Only restores on kernels carrying the patch as shipped count.
export const LIFECYCLE_CLAIM_IDS = ['L1', 'L2'] as const;
export type LifecycleClaimId = (typeof LIFECYCLE_CLAIM_IDS)[number];

export const LIFECYCLE_CLAIMS: Readonly<Record<LifecycleClaimId, string>> = {
  L1: 'With the patch in every PVE kernel as shipped, no sequence of operations on a VM (create, run, live-migrate, snapshot with RAM, roll back, suspend to disk, resume, upgrade a node, replace its hardware) ends in a failed restore.',
  L2: 'For each release R, with the patch dropped from R and every later release (--drop-at R): the shortest sequence that ends in a failed restore, or "no failing sequence up to depth k".',
};
