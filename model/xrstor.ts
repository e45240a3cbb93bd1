// XRSTOR, standard form (SDM Vol. 1 §13.8.1, as encoded by QEMU's TCG helper_xrstor /
// valid_xrstor_header; kernel-semantics.md §8.3). Used to derive what a guest sees after the
// kernel restores its FPU state: loaded components, initialised components, MXCSR.
import { Layout, OFF, slotOf } from './layout';
import { allZero, readU32, readU64, writeU16 } from './region';
import { XFEATURE, bitsOf, hasBit } from './xfeatures';

export type XrstorFault =
  | '#UD' // CR4.OSXSAVE = 0
  | '#GP:xstate-bv-outside-xcr0' // any XSTATE_BV bit not in XCR0 (all bits, not only RFBM)
  | '#GP:header' // header bytes 8-23 (XCOMP_BV and the first reserved qword) not zero
  | '#GP:mxcsr'; // MXCSR sets bits outside MXCSR_MASK

/** MXCSR's initial value (part of SSE state's initial configuration, SDM Vol. 1 §13.6). */
export const MXCSR_INIT = 0x1f80;

/**
 * Register contents per component (FP excludes the MXCSR/MXCSR_MASK bytes), plus MXCSR. The
 * byte arrays are read-only: they may be views of the XRSTOR source or shared initial values.
 */
export interface RegisterFile {
  comps: Map<number, Uint8Array>;
  mxcsr: number;
}

export interface XrstorEnv {
  xcr0: bigint;
  /** requested-feature bitmap EDX:EAX (intersected with XCR0 by the instruction) */
  request: bigint;
  mxcsrMask: number;
  osxsave?: boolean;
  /**
   * Which form's MXCSR rule applies (default 'standard'). `mem` is always read as a
   * standard-format image (the model holds the kernel's compacted buffer as one); only the
   * MXCSR rule differs. 'standard' (SDM Vol. 1 §13.8.1): MXCSR is loaded whenever RFBM[1] or
   * RFBM[2] is set, even with XSTATE_BV[1] = 0. 'compacted' (SDM Vol. 1 §13.8.2, XRSTORS and the
   * compacted XRSTOR): MXCSR is loaded iff RFBM[1] = XSTATE_BV[1] = 1 and initialised to 0x1F80
   * when RFBM[1] = 1 and XSTATE_BV[1] = 0; RFBM[2] is not considered. The compacted rule is what
   * a guest observes on the project machine (docs/kvm-findings.md §5 and §12).
   */
  form?: 'standard' | 'compacted';
}

/** Initial configuration of component i (x87: FCW = 0x037F, everything else zero). */
export function initComponent(layout: Layout, i: number): Uint8Array {
  const slot = slotOf(layout, i);
  const bytes = new Uint8Array(slot ? slot.size : 0);
  if (i === XFEATURE.FP) writeU16(bytes, OFF.FCW, 0x037f);
  return bytes;
}

/** Component i as stored in a standard-format region (FP with its MXCSR bytes blanked). */
export function componentBytes(region: Uint8Array, layout: Layout, i: number): Uint8Array {
  const slot = slotOf(layout, i);
  if (!slot) return new Uint8Array(0);
  const bytes = region.slice(slot.offset, slot.offset + slot.size);
  if (i === XFEATURE.FP) bytes.fill(0, OFF.MXCSR, OFF.ST);
  return bytes;
}

// xrstorStandard's initial values, one shared (read-only) array per layout and component: the
// guest view restores every component the host supports, most of them initial.
const INIT_CACHE = new WeakMap<Layout, Map<number, Uint8Array>>();

function sharedInit(layout: Layout, i: number): Uint8Array {
  let perLayout = INIT_CACHE.get(layout);
  if (!perLayout) INIT_CACHE.set(layout, (perLayout = new Map()));
  let bytes = perLayout.get(i);
  if (!bytes) perLayout.set(i, (bytes = initComponent(layout, i)));
  return bytes;
}

/** componentBytes without the copy for components other than FP: a view of `region`. */
function componentView(region: Uint8Array, layout: Layout, i: number): Uint8Array {
  if (i === XFEATURE.FP) return componentBytes(region, layout, i);
  const slot = slotOf(layout, i);
  return slot ? region.subarray(slot.offset, slot.offset + slot.size) : new Uint8Array(0);
}

export function xrstorStandard(
  mem: Uint8Array,
  layout: Layout,
  env: XrstorEnv,
  prior: RegisterFile,
): { fault: XrstorFault } | { fault: null; regs: RegisterFile } {
  if (env.osxsave === false) return { fault: '#UD' };
  const xstateBv = readU64(mem, OFF.XSTATE_BV);
  if ((xstateBv & ~env.xcr0) !== 0n) return { fault: '#GP:xstate-bv-outside-xcr0' };
  if (!allZero(mem, OFF.XCOMP_BV, OFF.XCOMP_BV + 16)) return { fault: '#GP:header' };
  const rfbm = env.request & env.xcr0;
  const regs: RegisterFile = { comps: new Map(prior.comps), mxcsr: prior.mxcsr };
  if ((env.form ?? 'standard') === 'standard') {
    // MXCSR is loaded whenever RFBM[1] or RFBM[2] is set, even with XSTATE_BV[1] = 0
    // (SDM wording for RFBM[2] UNCONFIRMED here; QEMU's TCG uses RFBM[1]).
    if (hasBit(rfbm, XFEATURE.SSE) || hasBit(rfbm, XFEATURE.YMM)) {
      const mxcsr = readU32(mem, OFF.MXCSR);
      if ((mxcsr & ~env.mxcsrMask) !== 0) return { fault: '#GP:mxcsr' };
      regs.mxcsr = mxcsr;
    }
  } else if (hasBit(rfbm, XFEATURE.SSE)) {
    // Compacted form: MXCSR belongs to SSE state only; XSTATE_BV[1] = 0 initialises it.
    if (hasBit(xstateBv, XFEATURE.SSE)) {
      const mxcsr = readU32(mem, OFF.MXCSR);
      if ((mxcsr & ~env.mxcsrMask) !== 0) return { fault: '#GP:mxcsr' };
      regs.mxcsr = mxcsr;
    } else {
      regs.mxcsr = MXCSR_INIT;
    }
  }
  for (const i of bitsOf(rfbm)) {
    regs.comps.set(i, hasBit(xstateBv, i) ? componentView(mem, layout, i) : sharedInit(layout, i));
  }
  return { fault: null, regs };
}
