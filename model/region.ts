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

export const xstateBvOf = (r: Uint8Array): bigint => readU64(r, OFF.XSTATE_BV);
export const setXstateBv = (r: Uint8Array, v: bigint): void => writeU64(r, OFF.XSTATE_BV, v);
export const xcompBvOf = (r: Uint8Array): bigint => readU64(r, OFF.XCOMP_BV);
export const mxcsrOf = (r: Uint8Array): number => readU32(r, OFF.MXCSR);

/** True when all of bytes [from, to) are zero. */
export function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}
