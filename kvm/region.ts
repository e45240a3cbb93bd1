/**
 * Builders and readers for standard-format XSAVE regions (struct kvm_xsave) and FXSAVE images,
 * as used by the KVM driver's tests and probes. Offsets: model/layout.ts (kernel-semantics.md §8.2).
 */
import { OFF } from '../model/layout';

export { bitsOf, hex } from '../model/xfeatures';
export { toHex } from '../model/region';

/** The model's offsets (model/layout.ts OFF) under the names the driver's tests use. */
export const XSAVE_OFF = {
  fcw: OFF.FCW,
  fsw: OFF.FSW,
  ftw: OFF.FTW,
  fop: OFF.FOP,
  mxcsr: OFF.MXCSR,
  mxcsrMask: OFF.MXCSR_MASK,
  st0: OFF.ST,
  xmm0: OFF.XMM,
  xstateBv: OFF.XSTATE_BV,
  xcompBv: OFF.XCOMP_BV,
  hdrReserved: OFF.HEADER_RESERVED,
  ext: OFF.EXTENDED,
} as const;

export interface RegionFields {
  xstateBv?: bigint;
  xcompBv?: bigint;
  fcw?: number;
  fsw?: number;
  ftw?: number;
  mxcsr?: number;
  mxcsrMask?: number;
  /** XMM registers by index (16 bytes each). */
  xmm?: Record<number, Uint8Array>;
  /** Arbitrary byte patches: offset → bytes. */
  patch?: Array<[number, Uint8Array]>;
}

/** A zero-filled region of `size` bytes with the given fields set. MXCSR defaults to 0x1f80. */
export function makeRegion(size: number, f: RegionFields = {}): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint16(XSAVE_OFF.fcw, f.fcw ?? 0x037f, true);
  v.setUint16(XSAVE_OFF.fsw, f.fsw ?? 0, true);
  v.setUint16(XSAVE_OFF.ftw, f.ftw ?? 0, true);
  v.setUint32(XSAVE_OFF.mxcsr, f.mxcsr ?? 0x1f80, true);
  v.setUint32(XSAVE_OFF.mxcsrMask, f.mxcsrMask ?? 0, true);
  for (const [k, x] of Object.entries(f.xmm ?? {})) {
    const i = Number(k);
    if (x.length !== 16 || i < 0 || i > 15) throw new Error(`bad xmm${k}`);
    b.set(x, XSAVE_OFF.xmm0 + 16 * i);
  }
  v.setBigUint64(XSAVE_OFF.xstateBv, f.xstateBv ?? 0x3n, true);
  v.setBigUint64(XSAVE_OFF.xcompBv, f.xcompBv ?? 0n, true);
  for (const [off, bytes] of f.patch ?? []) b.set(bytes, off);
  return b;
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export const readFcw = (b: Uint8Array): number => dv(b).getUint16(XSAVE_OFF.fcw, true);
export const readFsw = (b: Uint8Array): number => dv(b).getUint16(XSAVE_OFF.fsw, true);
export const readMxcsr = (b: Uint8Array): number => dv(b).getUint32(XSAVE_OFF.mxcsr, true);
export const readMxcsrMask = (b: Uint8Array): number => dv(b).getUint32(XSAVE_OFF.mxcsrMask, true);
export const readXstateBv = (b: Uint8Array): bigint => dv(b).getBigUint64(XSAVE_OFF.xstateBv, true);
export const readXcompBv = (b: Uint8Array): bigint => dv(b).getBigUint64(XSAVE_OFF.xcompBv, true);
export function readXmm(b: Uint8Array, i: number): Uint8Array {
  return b.slice(XSAVE_OFF.xmm0 + 16 * i, XSAVE_OFF.xmm0 + 16 * (i + 1));
}

/** A 16-byte value with every byte = `byte`, or bytes `start, start+1, …`. */
export function xmmFill(byte: number): Uint8Array {
  return new Uint8Array(16).fill(byte & 0xff);
}
export function xmmSeq(start: number): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => (start + i) & 0xff);
}
