// The concrete byte implementation of bitLogic.ts's ByteOps (a Uint8Array, edited in place).
import { BIGINT_OPS, ByteOps } from './bitLogic';
import { allZero, readU32, readU64, writeU32, writeU64 } from './region';

/**
 * The concrete byte implementation: a Uint8Array, edited in place (ByteOps' writes return the
 * same array). What the model runs for a fixup written over bytes.
 */
export const BYTE_OPS: ByteOps<bigint, boolean, Uint8Array> = {
  ...BIGINT_OPS,
  name: 'bigint-bytes',
  readU8: (r, off) => BigInt(r[off] ?? 0),
  readU32: (r, off) => BigInt(readU32(r, off)),
  readU64: (r, off) => readU64(r, off),
  writeU8: (r, off, v) => {
    r[off] = Number(v & 0xffn);
    return r;
  },
  writeU32: (r, off, v) => {
    writeU32(r, off, Number(v & 0xffffffffn));
    return r;
  },
  writeU64: (r, off, v) => {
    writeU64(r, off, v);
    return r;
  },
  allZero: (r, from, to) => allZero(r, from, to),
  fillZero: (r, from, to) => {
    r.fill(0, from, to);
    return r;
  },
  iteBytes: (c, a, b) => (c ? a : b),
};

