// Seeds of a fuzz run. One base seed S per run (by default the UTC date as YYYYMMDD, so a
// nightly run is reproducible from its date); every worker draws its batches from its own
// seedrandom stream keyed by (S, shard, worker), and every batch seed of shard I of N is
// ≡ I-1 (mod N): shards never share a batch seed, whatever their worker counts.
import seedrandom from 'seedrandom';
import { PROPERTY_IDS } from '../properties/claims';
import { PropertyId } from '../properties/properties';

/** 1-based shard index I of N (like jest's --shard). */
export interface Shard {
  index: number;
  count: number;
}

/** YYYYMMDD of the UTC date. */
export function dateSeed(d: Date = new Date()): number {
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

export function describeDateSeed(seed: number): string {
  const s = String(seed);
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}

export class ShardError extends Error {}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new ShardError(`--shard: expected I/N (e.g. 2/4), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new ShardError(`--shard: I must be in 1..N, got ${index}/${count}`);
  if (count > 1024) throw new ShardError(`--shard: at most 1024 shards, got ${count}`);
  return { index, count };
}

/** Batch seeds are non-negative 31-bit integers. */
const SEED_SPACE = 2 ** 31;

export interface BatchPlan {
  property: PropertyId;
  /** the fast-check seed of the batch */
  seed: number;
}

/**
 * The batch sequence of one worker: a seedrandom stream keyed by the base seed, the shard and
 * the worker index. Each call gives the property to run and the fast-check seed to run it with.
 */
export class BatchSeeds {
  private readonly rng: seedrandom.PRNG;
  private readonly slots: number;

  constructor(
    readonly baseSeed: number,
    readonly shard: Shard,
    readonly worker: number,
    readonly properties: readonly PropertyId[] = PROPERTY_IDS,
  ) {
    if (properties.length === 0) throw new Error('BatchSeeds: no properties');
    this.rng = seedrandom(`xsave-harness/fuzz/v1/${baseSeed}/${shard.index}/${shard.count}/${worker}`);
    this.slots = Math.floor(SEED_SPACE / shard.count);
  }

  next(): BatchPlan {
    const property = this.properties[Math.floor(this.rng() * this.properties.length)]!;
    const slot = Math.floor(this.rng() * this.slots);
    return { property, seed: batchSeedInShard(slot, this.shard) };
  }
}

/** The slot-th seed of a shard: slot·N + (I-1), so shards are disjoint residue classes mod N. */
export function batchSeedInShard(slot: number, shard: Shard): number {
  return slot * shard.count + (shard.index - 1);
}

/** The shard a batch seed belongs to, for a split into N. */
export function shardOfSeed(seed: number, count: number): number {
  return (seed % count) + 1;
}

// --seed as any string (issue 14): the text helpers live below the engines, for report/ and cli/ too.
export { SeedError, describeSeed, parseSeedText, seedFromString, shellSeed } from '../cases/seedText';
export type { SeedSpec } from '../cases/seedText';
