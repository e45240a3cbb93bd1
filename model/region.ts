// Little-endian accessors for a standard-format XSAVE region held in a byte buffer. The
// ioctl path works on real bytes: the fixup and the kernel rules read and edit exactly the
// bytes the kernel would.
import { OFF } from './layout';

export function readU16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}
export function readU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}
export function writeU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
}
export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}
export function readU64(b: Uint8Array, off: number): bigint {
  return BigInt(readU32(b, off)) | (BigInt(readU32(b, off + 4)) << 32n);
}
export function writeU64(b: Uint8Array, off: number, v: bigint): void {
  writeU32(b, off, Number(v & 0xffffffffn));
  writeU32(b, off + 4, Number((v >> 32n) & 0xffffffffn));
}

// The vCPU's fpstate images are views into shared slabs: one ArrayBuffer per 64 images rather
// than one each. Every accepted KVM_SET_XSAVE makes a new image (the model's vCPUs are values),
// and a 4 KiB ArrayBuffer apiece made allocation and GC the largest cost of the ioctl path
// (bench/bench.json, "before optimisation"). A slab lives while any image in it does.
const SLAB_BYTES = 256 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

/** A zeroed byte array of n bytes, taken from a slab when small enough. */
export function allocBytes(n: number): Uint8Array {
  if (n > SLAB_BYTES / 8) return new Uint8Array(n);
  if (slabUsed + n > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += (n + 7) & ~7;
  return view;
}

/** A copy of `src` in slab memory. */
export function copyBytes(src: Uint8Array): Uint8Array {
  const out = allocBytes(src.length);
  out.set(src);
  return out;
}

export const xstateBvOf = (r: Uint8Array): bigint => readU64(r, OFF.XSTATE_BV);
export const setXstateBv = (r: Uint8Array, v: bigint): void => writeU64(r, OFF.XSTATE_BV, v);
export const xcompBvOf = (r: Uint8Array): bigint => readU64(r, OFF.XCOMP_BV);
export const mxcsrOf = (r: Uint8Array): number => readU32(r, OFF.MXCSR);

/** True when all of bytes [from, to) are zero. */
export function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

const asBuffer = (a: Uint8Array): Buffer => (Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength));

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && asBuffer(a).equals(b); // native compare (equals takes any Uint8Array)
}

/** Index of the first byte where a and b differ, or -1 (lengths must match). */
export function firstDifference(a: Uint8Array, b: Uint8Array, from = 0): number {
  if (bytesEqual(a.subarray(from), b.subarray(from))) return -1;
  let lo = from;
  let hi = a.length; // invariant: a difference exists in [lo, hi)
  while (hi - lo > 64) {
    const mid = (lo + hi) >>> 1;
    if (!bytesEqual(a.subarray(lo, mid), b.subarray(lo, mid))) hi = mid;
    else lo = mid;
  }
  for (let i = lo; i < hi; i++) if (a[i] !== b[i]) return i;
  return -1;
}

export function toHex(b: Uint8Array): string {
  return asBuffer(b).toString('hex');
}

