// z3 (the official WASM build, z3-solver) behind bitLogic.ts's BitOps interface: 64-bit
// bit-vectors and booleans. One Z3 instance per process; releaseZ3() terminates its worker
// threads so that node (and jest) can exit.
import type { BitVec, Bool, Context, SMTArray, BitVecSort } from 'z3-solver';
import type { BitOps, ByteOps } from '../model/bitLogic';

export type Z3Ctx = Context<'main'>;
export type BV = BitVec<64, 'main'>;
export type Z3Bool = Bool<'main'>;
/** a buffer: 32-bit byte index → byte */
export type Bytes = SMTArray<'main', [BitVecSort<32, 'main'>], BitVecSort<8, 'main'>>;

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
    known: () => undefined,
  };
}

/** A fresh symbolic buffer: every byte at every 32-bit index free. */
export function z3Bytes(Z: Z3Ctx, name: string): Bytes {
  return Z.Array.const(name, Z.BitVec.sort(32), Z.BitVec.sort(8)) as Bytes;
}

/** bitLogic.ts's ByteOps over z3: a buffer is a z3 array (index → byte), each write a store. */
export function z3ByteOps(Z: Z3Ctx): ByteOps<BV, Z3Bool, Bytes> {
  const o = z3Ops(Z);
  const idx = (n: number) => Z.BitVec.val(n, 32);
  const byte = (r: Bytes, off: number) => r.select(idx(off)) as BitVec<8, 'main'>;
  const read = (r: Bytes, off: number, n: number): BV => {
    const bytes: BitVec<number, 'main'>[] = [];
    for (let i = n - 1; i >= 0; i--) bytes.push(byte(r, off + i)); // little-endian: the highest byte first in a concat
    const v = bytes.length === 1 ? bytes[0]! : Z.Concat(...bytes);
    return (n === 8 ? v : v.zeroExt(64 - 8 * n)) as BV;
  };
  const write = (r: Bytes, off: number, v: BV, n: number): Bytes => {
    let out = r;
    for (let i = 0; i < n; i++) out = out.store(idx(off + i), Z.Extract(8 * i + 7, 8 * i, v) as BitVec<8, 'main'>) as Bytes;
    return out;
  };
  const zero8 = Z.BitVec.val(0, 8);
  return {
    ...o,
    name: 'z3-bytes',
    readU8: (r, off) => read(r, off, 1),
    readU32: (r, off) => read(r, off, 4),
    readU64: (r, off) => read(r, off, 8),
    writeU8: (r, off, v) => write(r, off, v, 1),
    writeU32: (r, off, v) => write(r, off, v, 4),
    writeU64: (r, off, v) => write(r, off, v, 8),
    allZero: (r, from, to) => {
      let all: Z3Bool = Z.Bool.val(true);
      for (let i = from; i < to; i++) all = Z.And(all, byte(r, i).eq(zero8));
      return all;
    },
    fillZero: (r, from, to) => {
      let out = r;
      for (let i = from; i < to; i++) out = out.store(idx(i), zero8) as Bytes;
      return out;
    },
    iteBytes: (c, a, b) => Z.If(c, a, b) as unknown as Bytes,
  };
}
