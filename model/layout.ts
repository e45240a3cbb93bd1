// The standard (non-compacted) XSAVE format that KVM_GET/SET_XSAVE use. Offsets of the
// extended components follow the *host's* CPUID leaf 0xD (KVM api.rst §4.42), so the layout
// is a host parameter: Intel keeps the MPX hole, AMD packs it (cpu-data.md §0.1, §1b).
import { bitsOf, XFEATURE } from './xfeatures';

export const XSAVE_REGION_SIZE = 4096; // struct kvm_xsave region[1024]
export const LEGACY_SIZE = 512;
export const OFF = {
  FCW: 0,
  FSW: 2,
  FTW: 4,
  FOP: 6,
  FIP: 8,
  FDP: 16,
  MXCSR: 24,
  MXCSR_MASK: 28,
  ST: 32,
  XMM: 160,
  LEGACY_RESERVED: 416, // 416-463: reserved
  SW_RESERVED: 464, // 464-511: software-available (Linux fills it with its FX_SW bytes on GET)
  XSTATE_BV: 512,
  XCOMP_BV: 520,
  HEADER_RESERVED: 528, // 48 bytes, 528-575
  EXTENDED: 576,
} as const;

export type Vendor = 'intel' | 'amd';

export interface Slot {
  offset: number;
  size: number;
}

export interface Layout {
  name: string;
  vendor: Vendor;
  /** Standard-format slot of each extended user component the host enumerates (index ≥ 2). */
  slots: Readonly<Record<number, Slot>>;
}

// Intel: fixed offsets on every part seen, MPX hole kept (cpu-data.md §1b, §1d).
export const INTEL_LAYOUT: Layout = {
  name: 'intel',
  vendor: 'intel',
  slots: {
    [XFEATURE.YMM]: { offset: 576, size: 256 },
    [XFEATURE.BNDREGS]: { offset: 960, size: 64 },
    [XFEATURE.BNDCSR]: { offset: 1024, size: 64 },
    [XFEATURE.OPMASK]: { offset: 1088, size: 64 },
    [XFEATURE.ZMM_HI256]: { offset: 1152, size: 512 },
    [XFEATURE.HI16_ZMM]: { offset: 1664, size: 1024 },
    [XFEATURE.PKRU]: { offset: 2688, size: 8 },
    [XFEATURE.XTILE_CFG]: { offset: 2752, size: 64 },
    [XFEATURE.XTILE_DATA]: { offset: 2816, size: 8192 },
  },
};

// AMD Zen 3/4/5: no MPX area; AVX-512 at 832/896/1408, PKRU at 2432 (cpu-data.md §1b; also
// measured on this project's Zen 4 machine, real-kvm-here.md).
export const AMD_LAYOUT: Layout = {
  name: 'amd',
  vendor: 'amd',
  slots: {
    [XFEATURE.YMM]: { offset: 576, size: 256 },
    [XFEATURE.OPMASK]: { offset: 832, size: 64 },
    [XFEATURE.ZMM_HI256]: { offset: 896, size: 512 },
    [XFEATURE.HI16_ZMM]: { offset: 1408, size: 1024 },
    [XFEATURE.PKRU]: { offset: 2432, size: 8 },
  },
};

// Zen 2 reports component 9 in leaf 0xD with size 64 at offset 832 although CPUID.7 PKU = 0
// (cpu-data.md §0.4). Linux masks PKRU on such hosts, so the slot is never used by KVM.
export const ZEN2_LAYOUT: Layout = {
  name: 'amd-zen2',
  vendor: 'amd',
  slots: {
    [XFEATURE.YMM]: { offset: 576, size: 256 },
    [XFEATURE.PKRU]: { offset: 832, size: 64 },
  },
};

// QEMU's TCG CPU models (the kernel lab's hosts, lab/catalogue.ts): an AMD vendor string with
// QEMU's own XSAVE table, which uses Intel's offsets (AVX 576, PKRU 2688). Measured from
// KVM_GET_SUPPORTED_CPUID leaf 0xD inside the lab guest (shared/research/lab-tcg.md).
export const TCG_LAYOUT: Layout = {
  name: 'qemu-tcg',
  vendor: 'amd',
  slots: {
    [XFEATURE.YMM]: { offset: 576, size: 256 },
    [XFEATURE.PKRU]: { offset: 2688, size: 8 },
  },
};

export function layoutFor(vendor: Vendor): Layout {
  return vendor === 'intel' ? INTEL_LAYOUT : AMD_LAYOUT;
}

/** Byte range of component i in a standard-format region, or undefined when the host has no slot. */
export function slotOf(layout: Layout, i: number): Slot | undefined {
  if (i === XFEATURE.FP) return { offset: 0, size: 160 }; // FCW..FDP, MXCSR(+mask), ST0-7
  if (i === XFEATURE.SSE) return { offset: OFF.XMM, size: 256 }; // XMM0-15
  return layout.slots[i];
}

/** Standard-format size for the components in `mask` (at least legacy + header). */
export function standardSize(layout: Layout, mask: bigint): number {
  let end = OFF.EXTENDED;
  for (const i of bitsOf(mask)) {
    const s = i >= 2 ? layout.slots[i] : undefined;
    if (s && s.offset + s.size > end) end = s.offset + s.size;
  }
  return end;
}
