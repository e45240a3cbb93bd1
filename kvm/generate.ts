// The conformance cases of kvm-check and the lab: a thin adapter over the fast-check arbitrary
// (properties/arbitraries/conformance.ts), which replaced this file's seedrandom generator so
// that a disagreement shrinks (issue 12). Seeds recorded before that name different cases.
import { parseSeedText } from '../cases/seedText';
import { CCase, GenContext, sampleConformanceCases } from '../properties/arbitraries/conformance';

export type { GenContext };

/** The integer fast-check seed of a --seed (an integer as it is, any other string through seedrandom). */
export function conformanceSeed(seed: number | string): number {
  return typeof seed === 'number' ? seed : parseSeedText(seed).value;
}

/** `n` cases for `seed` (leaked pairs count as two and stay whole). */
export function generateCases(ctx: GenContext, n: number, seed: number | string): CCase[] {
  return sampleConformanceCases(ctx, n, conformanceSeed(seed)).cases;
}
