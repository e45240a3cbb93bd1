/**
 * What a real-mode guest's FXSAVE image shows of its x87/SSE state, and the same projection of
 * the model's guest view, so the two can be compared field by field.
 *
 * The model keeps register contents as the bytes of the XSAVE image; real hardware transforms a
 * few x87 fields on the way through XRSTOR(S) → FXSAVE. These transformations are properties of
 * the x87 unit, not of KVM, and were measured on the project machine (docs/kvm-findings.md §12):
 *  - FCW: bits 13-15 read as 0 and bit 6 reads as 1 (FCW 0x0000 → 0x0040, 0xffff → 0x1f7f);
 *  - FSW: ES (bit 7) and B (bit 15) are recomputed as "an unmasked exception flag is set",
 *    i.e. (FSW & ~FCW & 0x3f) ≠ 0 (FSW 0x80ff with FCW 0x1f3f → 0x007f; FSW 0x8000 → 0);
 *  - FOP/FIP/FDP are saved only when ES = 1 (AMD), so they are compared only then;
 *  - the reserved byte 5 and bytes 10-15 of each ST slot read as 0.
 * A real-mode FXSAVE (KVM's emulator, not 64-bit mode) writes XMM0-7 only (bytes 160-287).
 */
import { GuestView, Host } from '../model';

export interface FxView {
  fcw: number;
  fsw: number;
  ftw: number;
  /** FOP (11 bits), FIP and FDP as raw bytes 6..23, or null when not saved (ES = 0) */
  pointers: string | null;
  /** ST0-7, 10 bytes each, hex */
  st: string[];
  mxcsr: number;
  /** XMM0-7, 16 bytes each, hex */
  xmm: string[];
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/**
 * The x87/SSE fields of a legacy-format image (FXSAVE image, or the model's FP bytes 0..159
 * followed by XMM bytes at 160), normalised as the hardware does (see the header).
 * `mxcsr` is passed separately because the model's FP component blanks bytes 24..31.
 */
export function fxViewOf(fp: Uint8Array, xmm: Uint8Array, mxcsr: number): FxView {
  const fcwRaw = u16(fp, 0);
  const fswRaw = u16(fp, 2);
  const es = (fswRaw & ~fcwRaw & 0x3f) !== 0;
  const st: string[] = [];
  for (let i = 0; i < 8; i++) st.push(hex(fp.subarray(32 + 16 * i, 32 + 16 * i + 10)));
  const xs: string[] = [];
  for (let i = 0; i < 8; i++) xs.push(hex(xmm.subarray(16 * i, 16 * i + 16)));
  return {
    fcw: (fcwRaw & 0x1f3f) | 0x40,
    fsw: (fswRaw & 0x7f7f) | (es ? 0x8080 : 0),
    ftw: fp[4]!,
    pointers: es ? hex(fp.subarray(6, 24)) : null,
    st,
    mxcsr,
    xmm: xs,
  };
}

/** The guest's FXSAVE image (512 bytes written by the guest at GUEST.fxsaveGpa). */
export function fxViewOfImage(image: Uint8Array): FxView {
  const v = fxViewOf(image.subarray(0, 160), image.subarray(160, 288), u32(image, 24));
  // Pointers are saved only with ES = 1; the raw image then holds them in its own format.
  return v;
}

/**
 * The model's guest view projected to what a real-mode FXSAVE shows on `host`. Under QEMU's TCG
 * (the lab's hosts) FXSAVE never stores FOP, so the pointers are not predicted there.
 */
export function fxViewOfModel(view: GuestView, host?: Pick<Host, 'fxsave'>): FxView {
  const fp = Buffer.from(view.components['FP'] ?? '', 'hex');
  const sse = Buffer.from(view.components['SSE'] ?? '', 'hex');
  const v = fxViewOf(new Uint8Array(fp), new Uint8Array(sse).subarray(0, 128), parseInt(view.mxcsr, 16));
  return host?.fxsave === 'qemu-tcg' ? { ...v, pointers: null } : v;
}

/** Field names where two views differ (empty when equal). */
export function diffFx(a: FxView, b: FxView): string[] {
  const out: string[] = [];
  if (a.fcw !== b.fcw) out.push('fcw');
  if (a.fsw !== b.fsw) out.push('fsw');
  if (a.ftw !== b.ftw) out.push('ftw');
  if (a.pointers !== null && b.pointers !== null && a.pointers !== b.pointers) out.push('fop/fip/fdp');
  a.st.forEach((s, i) => {
    if (s !== b.st[i]) out.push(`st${i}`);
  });
  if (a.mxcsr !== b.mxcsr) out.push('mxcsr');
  a.xmm.forEach((s, i) => {
    if (s !== b.xmm[i]) out.push(`xmm${i}`);
  });
  return out;
}

export function describeFx(v: FxView): string {
  return `fcw 0x${v.fcw.toString(16)} fsw 0x${v.fsw.toString(16)} ftw 0x${v.ftw.toString(16)} mxcsr 0x${v.mxcsr.toString(16)} st0 ${v.st[0]} xmm0 ${v.xmm[0]}`;
}
