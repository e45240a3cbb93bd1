// z3 (the official WASM build, z3-solver) behind bitLogic.ts's BitOps interface: 64-bit
// bit-vectors and booleans. One Z3 instance per process; releaseZ3() terminates its worker
// threads so that node (and jest) can exit.
import type { BitVec, Bool, Context } from 'z3-solver';
import type { BitOps } from '../model/bitLogic';

export type Z3Ctx = Context<'main'>;
export type BV = BitVec<64, 'main'>;
export type Z3Bool = Bool<'main'>;

type Api = Awaited<ReturnType<typeof import('z3-solver').init>>;

let api: Promise<Api> | null = null;

/** The process-wide Z3 context (initialised on first use; the WASM module takes ~1 s to load). */
export async function z3Context(): Promise<Z3Ctx> {
  if (!api) {
    // Loaded lazily: importing this module costs nothing until a proof runs.
    const z3 = require('z3-solver') as typeof import('z3-solver');
    api = z3.init();
  }
  const a = await api;
  return a.Context('main');
}

/** Terminate Z3's worker threads (the documented killThreads); a later z3Context() starts afresh. */
export async function releaseZ3(): Promise<void> {
  if (!api) return;
  const a = await api;
  api = null;
  const z3 = require('z3-solver') as typeof import('z3-solver');
  await z3.killThreads(a.em);
}

const U64 = (1n << 64n) - 1n;

export function z3Ops(Z: Z3Ctx): BitOps<BV, Z3Bool> {
  const val = (n: bigint): BV => Z.BitVec.val(n & U64, 64) as BV;
  const zero = val(0n);
  return {
    name: 'z3',
    const: val,
    and: (a, b) => a.and(b),
    or: (a, b) => a.or(b),
    xor: (a, b) => a.xor(b),
    not: (a) => a.not(),
    eq: (a, b) => a.eq(b),
    isZero: (a) => a.eq(zero),
    ite: (c, a, b) => Z.If(c, a, b) as BV,
    bool: (b) => Z.Bool.val(b),
    band: (a, b) => Z.And(a, b),
    bor: (a, b) => Z.Or(a, b),
    bnot: (a) => Z.Not(a),
    biff: (a, b) => Z.Iff(a, b),
  };
}
