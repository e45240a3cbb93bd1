// XSAVE state components 0-19 (SDM Vol. 1 ch. 13; kernel `enum xfeature`, see
// shared/research/kernel-semantics.md §8.1 and cpu-data.md §1a). Bit i of XCR0,
// XSTATE_BV and XCOMP_BV refers to component i.

export const XFEATURE = {
  FP: 0,
  SSE: 1,
  YMM: 2,
  BNDREGS: 3,
  BNDCSR: 4,
  OPMASK: 5,
  ZMM_HI256: 6,
  HI16_ZMM: 7,
  PT: 8,
  PKRU: 9,
  PASID: 10,
  CET_U: 11,
  CET_S: 12,
  HDC: 13,
  UINTR: 14,
  LBR: 15,
  HWP: 16,
  XTILE_CFG: 17,
  XTILE_DATA: 18,
  APX: 19,
} as const;

export const COMPONENT_COUNT = 20;

export function bit(i: number): bigint {
  return 1n << BigInt(i);
}

export const MASK = {
  FP: bit(XFEATURE.FP),
  SSE: bit(XFEATURE.SSE),
  /** x87 and SSE: always allowed for userspace since a1020a25e697. */
  FPSSE: bit(XFEATURE.FP) | bit(XFEATURE.SSE),
  YMM: bit(XFEATURE.YMM),
  MPX: bit(XFEATURE.BNDREGS) | bit(XFEATURE.BNDCSR),
  AVX512: bit(XFEATURE.OPMASK) | bit(XFEATURE.ZMM_HI256) | bit(XFEATURE.HI16_ZMM),
  PKRU: bit(XFEATURE.PKRU),
  XTILE: bit(XFEATURE.XTILE_CFG) | bit(XFEATURE.XTILE_DATA),
  XTILE_DATA: bit(XFEATURE.XTILE_DATA),
  /** Components whose state MXCSR belongs to for the kernel's uabi copy (FP|SSE|YMM). */
  MXCSR_USERS: bit(XFEATURE.FP) | bit(XFEATURE.SSE) | bit(XFEATURE.YMM),
} as const;

export type ComponentClass = 'user' | 'supervisor';

export interface ComponentInfo {
  index: number;
  short: string;
  cls: ComponentClass;
  /** Size in bytes of the component in the standard format (legacy ones: their slice of the legacy area). */
  size: number;
}

// Sizes from cpu-data.md §1b. Supervisor components have no standard-format offset.
export const COMPONENTS: readonly ComponentInfo[] = [
  { index: 0, short: 'FP', cls: 'user', size: 160 },
  { index: 1, short: 'SSE', cls: 'user', size: 256 },
  { index: 2, short: 'YMM', cls: 'user', size: 256 },
  { index: 3, short: 'BNDREGS', cls: 'user', size: 64 },
  { index: 4, short: 'BNDCSR', cls: 'user', size: 64 },
  { index: 5, short: 'OPMASK', cls: 'user', size: 64 },
  { index: 6, short: 'ZMM_Hi256', cls: 'user', size: 512 },
  { index: 7, short: 'Hi16_ZMM', cls: 'user', size: 1024 },
  { index: 8, short: 'PT', cls: 'supervisor', size: 128 },
  { index: 9, short: 'PKRU', cls: 'user', size: 8 },
  { index: 10, short: 'PASID', cls: 'supervisor', size: 8 },
  { index: 11, short: 'CET_U', cls: 'supervisor', size: 16 },
  { index: 12, short: 'CET_S', cls: 'supervisor', size: 24 },
  { index: 13, short: 'HDC', cls: 'supervisor', size: 8 },
  { index: 14, short: 'UINTR', cls: 'supervisor', size: 48 },
  { index: 15, short: 'LBR', cls: 'supervisor', size: 808 },
  { index: 16, short: 'HWP', cls: 'supervisor', size: 8 },
  { index: 17, short: 'XTILECFG', cls: 'user', size: 64 },
  { index: 18, short: 'XTILEDATA', cls: 'user', size: 8192 },
  { index: 19, short: 'APX', cls: 'user', size: 128 },
];

export const USER_MASK: bigint = COMPONENTS.filter((c) => c.cls === 'user').reduce((m, c) => m | bit(c.index), 0n);
export const SUPERVISOR_MASK: bigint = COMPONENTS.filter((c) => c.cls === 'supervisor').reduce(
  (m, c) => m | bit(c.index),
  0n,
);

/** Indices of the set bits of `mask`, lowest first. */
export function bitsOf(mask: bigint): number[] {
  const out: number[] = [];
  // by 32-bit halves: one BigInt operation per half instead of two per bit position
  for (let base = 0; mask !== 0n; base += 32, mask >>= 32n) {
    for (let half = Number(mask & 0xffffffffn); half !== 0; half &= half - 1) out.push(base + 31 - Math.clz32(half & -half));
  }
  return out;
}

// 1n << i for every bit of a 64-bit mask, made once: hasBit runs in every loop over components.
const BIT_VALUES: readonly bigint[] = Array.from({ length: 64 }, (_, i) => 1n << BigInt(i));

export function hasBit(mask: bigint, i: number): boolean {
  const b = BIT_VALUES[i];
  return b !== undefined ? (mask & b) !== 0n : ((mask >> BigInt(i)) & 1n) === 1n;
}

export function isSubset(a: bigint, b: bigint): boolean {
  return (a & ~b) === 0n;
}

export function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}

export function maskName(mask: bigint): string {
  if (mask === 0n) return '0';
  return bitsOf(mask)
    .map((i) => (i < COMPONENT_COUNT ? COMPONENTS[i]!.short : `bit${i}`))
    .join('|');
}
