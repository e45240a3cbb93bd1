// The conformance cases kvm-check runs on a real kernel (issue 12: one case generator). A
// conformance record is a short sequence of vCPU ioctls on one fresh vCPU (kvm/conformance.ts
// predicts and compares it), so the arbitrary draws records, not plain CASE-FORMAT cases: a
// record holds one conformance case, or two (a leaked state run without and with the fixup). A
// disagreement is written as a CASE-FORMAT case by kvm/foundCase.ts.
//
// The record is built imperatively through fc.gen(): every choice is a fast-check draw, so a
// disagreement with a real kernel shrinks (kvm-check --shrink). Each draw shrinks towards its
// simplest value: the first entry of a weighted list, no optional step, zero bytes, 0 bits.
import fc from 'fast-check';
import {
  CPU_MODEL_NAMES,
  CpuidEntry,
  MASK,
  OFF,
  createVcpu,
  resolveCpuModel,
  setCpuid,
  setCpuidRefusal,
  slotOf,
  writeU32,
  writeU64,
} from '../../model';
import type { ThisMachine } from '../../cases/resolve';
import { fillBytes } from './scenarios';

export type CStep =
  | { op: 'setCpuid2' }
  /** KVM_SET_CPUID2 with the executor's KVM_GET_SUPPORTED_CPUID table (CCase.hostTable) */
  | { op: 'setCpuid2Host' }
  | { op: 'setXcrs'; xcr0: bigint }
  | { op: 'setXsave'; region: Uint8Array }
  /** ioctl: 'xsave' = KVM_GET_XSAVE (fails past 4096 bytes), 'xsave2' = KVM_GET_XSAVE2, absent = as QEMU picks (GET2 past 4096) */
  | { op: 'getXsave'; ioctl?: 'xsave' | 'xsave2' }
  | { op: 'getXcrs' }
  /** run the guest (real mode; SET_SREGS/SET_REGS are issued first); must be the last step */
  | { op: 'run' };

/** One conformance case: the steps kvm/conformance.ts predicts, runs and compares. */
export interface CCase {
  /** class label, for the per-class counts */
  cls: string;
  /** entries given to every setCpuid2 step (may be empty) */
  cpuid: CpuidEntry[];
  /** the running kernel's KVM_GET_SUPPORTED_CPUID, for setCpuid2Host steps */
  hostTable?: CpuidEntry[];
  steps: CStep[];
  /** apply the fixup to every SET_XSAVE buffer before the ioctl */
  fixup: boolean;
  /** free text for reports (which variation this case is) */
  what?: string;
  timeoutMs?: number;
}

/** What the machine under test can express: its calibration. */
export interface GenContext {
  machine: ThisMachine;
  /** KVM_GET_SUPPORTED_CPUID of the running kernel */
  table: readonly CpuidEntry[];
  /** region size the executor uses (max(4096, KVM_CAP_XSAVE2)) */
  size: number;
}

/** A conformance record: one case, or a leaked pair (without, then with the fixup). */
export type ConformanceRecord = CCase[];

const U64 = (1n << 64n) - 1n;

/** The draws of one record, each a fast-check value (so each shrinks). */
class Gen {
  constructor(private readonly g: fc.GeneratorValue) {}
  int(n: number): number {
    return n <= 1 ? 0 : this.g(fc.integer, { min: 0, max: n - 1 });
  }
  /** true with probability p; shrinks to false (the optional thing left out) */
  chance(p: number): boolean {
    return this.g(fc.integer, { min: 0, max: 999 }) >= Math.round(1000 * (1 - p));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  u32(): number {
    return this.g(fc.integer, { min: 0, max: 0xffffffff }) >>> 0;
  }
  u64(): bigint {
    return this.g(fc.bigInt, { min: 0n, max: U64 });
  }
  /** Bytes [from, to): zero, or a seeded fill (one draw, not one per byte: a region is 4 KiB or more). */
  bytes(b: Uint8Array, from: number, to: number): void {
    const seed = this.g(fc.integer, { min: 0, max: 0xffff });
    if (seed === 0) b.fill(0, from, to);
    else fillBytes(b, seed, from, to);
  }
  /** A random subset of the bits of `mask`; shrinks to no bit. */
  subset(mask: bigint): bigint {
    return this.u64() & mask;
  }
  /** One of `items` by weight; shrinks to the first. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    const total = items.reduce((a, [w]) => a + w, 0);
    let x = this.int(total);
    for (const [w, v] of items) {
      if ((x -= w) < 0) return v;
    }
    return items[items.length - 1]![1];
  }
}

const hx = (v: bigint | number): string => '0x' + v.toString(16);
const XTILE_CFG = MASK.XTILE & ~MASK.XTILE_DATA;

interface CpuidScenario {
  kind: string;
  /** null: KVM_SET_CPUID2 is never called */
  cpuid: CpuidEntry[] | null;
}

const isD0 = (e: CpuidEntry): boolean => e.leaf === 0xd && e.subleaf === 0;

function withD0(table: readonly CpuidEntry[], xcr0: bigint): CpuidEntry[] {
  return table.map((e) => (isD0(e) ? { ...e, eax: Number(xcr0 & 0xffffffffn) >>> 0, edx: Number((xcr0 >> 32n) & 0xffffffffn) >>> 0 } : { ...e }));
}

/** Leaf 0xD.0 values for the host table: the interesting ones and random ones (never bit 18: that is EPERM). */
function leafD0Value(g: Gen, host: bigint): bigint {
  const noTileData = ~MASK.XTILE_DATA & 0xffffffffffffffffn;
  return g.weighted<() => bigint>([
    [2, () => 0n],
    [2, () => 1n],
    [3, () => 3n],
    [3, () => 7n],
    [3, () => host],
    [3, () => host | MASK.PKRU],
    [1, () => MASK.PKRU | 3n],
    [4, () => g.subset(host | MASK.PKRU | MASK.MPX)],
    [1, () => (BigInt(g.u32()) & noTileData) | (g.chance(0.3) ? BigInt(g.u32()) << 32n : 0n)],
    [1, () => host | XTILE_CFG],
  ])();
}

function cpuidScenario(g: Gen, ctx: GenContext, opts: { needLeaf1?: boolean } = {}): CpuidScenario {
  const T = ctx.table;
  const host = ctx.machine.host.xcr0;
  const zero = (leaf: number, subleaf = 0): CpuidEntry => ({ leaf, subleaf, eax: 0, ebx: 0, ecx: 0, edx: 0 });
  const rnd = (leaf: number, subleaf = 0): CpuidEntry => ({ leaf, subleaf, eax: g.u32(), ebx: g.u32(), ecx: g.u32(), edx: g.u32() });
  const all: Array<readonly [number, () => CpuidScenario]> = [
    [12, () => ({ kind: 'never-set', cpuid: null })],
    [3, () => ({ kind: 'empty-table', cpuid: [] })],
    [12, () => ({ kind: 'host-table', cpuid: T.map((e) => ({ ...e })) })],
    [
      18,
      () => {
        const v = leafD0Value(g, host);
        return { kind: 'host-table/leaf-0xd.0-varied', cpuid: withD0(T, v) };
      },
    ],
    [5, () => ({ kind: 'host-table/no-leaf-0xd', cpuid: T.filter((e) => e.leaf !== 0xd).map((e) => ({ ...e })) })],
    [5, () => ({ kind: 'host-table/no-leaf-1', cpuid: withD0(T, leafD0Value(g, host)).filter((e) => e.leaf !== 1) })],
    [3, () => ({ kind: 'host-table/no-leaf-1/no-leaf-0xd.0', cpuid: T.filter((e) => e.leaf !== 1 && !isD0(e)).map((e) => ({ ...e })) })],
    [3, () => ({ kind: 'minimal/leaf-1', cpuid: [g.chance(0.5) ? zero(1) : { ...rnd(1), subleaf: g.chance(0.8) ? 0 : g.int(4) }] })],
    [
      3,
      () => {
        const v = leafD0Value(g, host);
        return { kind: 'minimal/leaf-0xd.0', cpuid: [{ leaf: 0xd, subleaf: 0, eax: Number(v & 0xffffffffn) >>> 0, ebx: 0, ecx: 0, edx: Number(v >> 32n) >>> 0 }] };
      },
    ],
    [3, () => ({ kind: 'minimal/other-leaves', cpuid: g.pick([[zero(0)], [zero(7)], [zero(0xd, 1)], [zero(0xd, 2)], [zero(0x80000001)], [zero(0), zero(7), zero(0xd, 1)]]) })],
    [
      5,
      () => ({
        kind: 'host-table/random-subset',
        cpuid: withD0(T, leafD0Value(g, host)).filter(() => g.chance(0.5)),
      }),
    ],
    [
      15,
      () => {
        const name = g.pick(CPU_MODEL_NAMES);
        return { kind: `model/${name}`, cpuid: resolveCpuModel(name, ctx.machine.host, ctx.machine.kernel) };
      },
    ],
  ];
  for (;;) {
    const sc = g.weighted(all)();
    // Never an EPERM/EINVAL table here (the cpuid-refused class makes those on purpose).
    if (sc.cpuid && setCpuidRefusal(ctx.machine.kernel, sc.cpuid)) continue;
    if (opts.needLeaf1 && !(sc.cpuid && sc.cpuid.some((e) => e.leaf === 1))) continue;
    return sc;
  }
}

/** The guest-supported XCR0 the model derives for a scenario (used only to aim at valid XCR0 values). */
function modelGsx(ctx: GenContext, sc: CpuidScenario): bigint {
  const v = createVcpu(ctx.machine.kernel, ctx.machine.host);
  if (sc.cpuid) setCpuid(v, sc.cpuid);
  return v.guestSupportedXcr0;
}

function validXcr0(g: Gen, gsx: bigint): bigint {
  let x = g.subset(gsx) | 1n;
  if (x & MASK.YMM) x |= MASK.SSE;
  if ((x & MASK.MPX) !== 0n && (x & MASK.MPX) !== MASK.MPX) x &= ~MASK.MPX;
  const avx512 = x & MASK.AVX512;
  if (avx512 !== 0n && (avx512 !== MASK.AVX512 || !(x & MASK.YMM))) x &= ~MASK.AVX512;
  if ((x & MASK.XTILE) !== 0n && (x & MASK.XTILE) !== MASK.XTILE) x &= ~MASK.XTILE;
  return x;
}

function invalidXcr0(g: Gen, gsx: bigint, host: bigint): bigint {
  return g.weighted<() => bigint>([
    [2, () => 0n],
    [2, () => 2n],
    [2, () => 5n],
    [3, () => 0x203n],
    [2, () => host | MASK.PKRU],
    [2, () => 0x27n],
    [1, () => 0xe3n],
    [1, () => 0x67n],
    [2, () => 0x1bn],
    [1, () => 0x60003n],
    [1, () => (1n << 63n) | 1n],
    [1, () => (1n << 19n) | 3n],
    [2, () => g.u64()],
    [3, () => validXcr0(g, gsx) | (1n << BigInt(g.pick([2, 3, 5, 6, 7, 9, 11, 17, 18, 30, 40])))],
  ])();
}

function xcr0Value(g: Gen, gsx: bigint, host: bigint, pValid = 0.7): bigint {
  return g.chance(pValid) ? validXcr0(g, gsx) : invalidXcr0(g, gsx, host);
}

interface RegionOpts {
  xstateBv: bigint;
  /** contents safe for a guest run: no junk in reserved x87 bytes, zero FOP/FIP/FDP */
  forRun?: boolean;
  mxcsr?: number;
}

function region(g: Gen, ctx: GenContext, o: RegionOpts): Uint8Array {
  const { size } = ctx;
  const host = ctx.machine.host;
  const r = new Uint8Array(size);
  // Legacy area: random register contents.
  g.bytes(r, 0, OFF.MXCSR);
  g.bytes(r, OFF.ST, OFF.LEGACY_RESERVED);
  if (o.forRun) {
    r.fill(0, 5, OFF.MXCSR); // reserved byte, FOP, FIP, FDP
    for (let i = 0; i < 8; i++) r.fill(0, OFF.ST + 16 * i + 10, OFF.ST + 16 * i + 16);
    if (g.chance(0.5)) r[0] = (r[0]! | 0x3f) & 0xff; // often all x87 exceptions masked
  }
  const mask = host.mxcsrMask >>> 0;
  const mxcsr = o.mxcsr ?? (g.chance(0.3) ? 0x1f80 : (g.u32() & mask) >>> 0);
  writeU32(r, OFF.MXCSR, mxcsr);
  writeU32(r, OFF.MXCSR_MASK, g.chance(0.5) ? 0 : g.chance(0.5) ? mask : g.u32());
  if (g.chance(0.3)) g.bytes(r, OFF.LEGACY_RESERVED, OFF.XSTATE_BV); // ignored by SET
  writeU64(r, OFF.XSTATE_BV, o.xstateBv);
  // Extended components: random data in every host slot, whether or not its bit is set.
  for (let i = 2; i < 64; i++) {
    if (!((host.xcr0 >> BigInt(i)) & 1n)) continue;
    const s = slotOf(host.layout, i);
    if (s && s.offset + s.size <= size && g.chance(0.8)) g.bytes(r, s.offset, s.offset + s.size);
  }
  if (g.chance(0.1)) g.bytes(r, size - 64, size); // past every component: ignored
  return r;
}

const FPSSEYMM = MASK.FP | MASK.SSE | MASK.YMM;

/** One record: a class drawn by weight, then its case (or leaked pair). */
function conformanceRecord(g: Gen, ctx: GenContext): ConformanceRecord {
  const host = ctx.machine.host.xcr0;
  const mxMask = ctx.machine.host.mxcsrMask >>> 0;
  const reservedMx = (~mxMask >>> 0) & 0xffffffff;
  const out: CCase[] = [];
  const hostBits = (): bigint => g.subset(host);
  const frame = (sc: CpuidScenario, body: CStep[]): CStep[] => (sc.cpuid ? [{ op: 'setCpuid2' }, ...body] : body);
  const withXcr0 = (sc: CpuidScenario, core: CStep[]): CStep[] => {
    const gsx = modelGsx(ctx, sc);
    const before: CStep[] = g.chance(0.4) ? [{ op: 'setXcrs', xcr0: xcr0Value(g, gsx, host) }] : [];
    const after: CStep[] = g.chance(0.3) ? [{ op: 'setXcrs', xcr0: xcr0Value(g, gsx, host) }] : [];
    return frame(sc, [...before, ...core, ...after, { op: 'getXsave' }, { op: 'getXcrs' }]);
  };
  const push = (cls: string, sc: CpuidScenario, steps: CStep[], fixup = false, what = ''): void => {
    out.push({ cls, cpuid: sc.cpuid ?? [], steps, fixup, what: `${sc.kind}${what ? `; ${what}` : ''}` });
  };

  const classes: Array<readonly [number, () => void]> = [
    [
      20,
      () => {
        const sc = cpuidScenario(g, ctx);
        const xbv = hostBits();
        const fixup = g.chance(0.15);
        push(fixup ? 'valid/fixup-silent' : 'valid', sc, withXcr0(sc, [{ op: 'setXsave', region: region(g, ctx, { xstateBv: xbv }) }]), fixup, `XSTATE_BV ${hx(xbv)}`);
      },
    ],
    [
      10,
      () => {
        // A leaked state (PKRU bit from a host with PKU), once without and once with the fixup.
        const sc = cpuidScenario(g, ctx);
        const xbv = hostBits() | MASK.FPSSE | MASK.PKRU;
        const r = region(g, ctx, { xstateBv: xbv });
        const gsx = modelGsx(ctx, sc);
        const before: CStep[] = g.chance(0.4) ? [{ op: 'setXcrs', xcr0: validXcr0(g, gsx) }] : [];
        const steps = frame(sc, [...before, { op: 'setXsave', region: r }, { op: 'getXsave' }, { op: 'getXcrs' }]);
        push('leaked/no-fixup', sc, steps, false, `XSTATE_BV ${hx(xbv)}`);
        push('leaked/fixup', sc, steps, true, `XSTATE_BV ${hx(xbv)}`);
      },
    ],
    [
      8,
      () => {
        const sc = cpuidScenario(g, ctx);
        const outside = ~(host | MASK.PKRU) & 0xffffffffffffffffn;
        let b = 0n;
        while (b === 0n) b = 1n << BigInt(g.int(64)) & outside;
        const xbv = hostBits() | b;
        const fixup = g.chance(0.3);
        push('refused/outside-host-set', sc, withXcr0(sc, [{ op: 'setXsave', region: region(g, ctx, { xstateBv: xbv }) }]), fixup, `XSTATE_BV ${hx(xbv)}`);
      },
    ],
    [
      5,
      () => {
        const sc = cpuidScenario(g, ctx);
        const xbv = hostBits();
        const r = region(g, ctx, { xstateBv: xbv });
        const xc = g.weighted<() => bigint>([
          [2, () => (1n << 63n) | xbv],
          [2, () => 1n << BigInt(g.int(64))],
          [1, () => g.u64() || 1n],
          [1, () => BigInt(1 + g.int(255)) << BigInt(8 * g.int(8))],
        ])();
        writeU64(r, OFF.XCOMP_BV, xc);
        push('refused/xcomp-bv', sc, withXcr0(sc, [{ op: 'setXsave', region: r }]), g.chance(0.2), `XCOMP_BV ${hx(xc)}`);
      },
    ],
    [
      6,
      () => {
        const sc = cpuidScenario(g, ctx);
        const r = region(g, ctx, { xstateBv: hostBits() });
        const at = OFF.HEADER_RESERVED + g.int(OFF.EXTENDED - OFF.HEADER_RESERVED);
        r[at] = 1 + g.int(255);
        if (g.chance(0.2)) g.bytes(r, OFF.HEADER_RESERVED, OFF.EXTENDED);
        push('refused/header-reserved', sc, withXcr0(sc, [{ op: 'setXsave', region: r }]), g.chance(0.2), `byte ${at}`);
      },
    ],
    [
      5,
      () => {
        if (reservedMx === 0) return; // a host whose MXCSR mask has no reserved bit
        const sc = cpuidScenario(g, ctx);
        let users = 0n;
        while (users === 0n) users = g.subset(FPSSEYMM & host);
        const xbv = users | g.subset(host & ~FPSSEYMM);
        const bad = (1 << g.pick(bitsOf32(reservedMx))) >>> 0;
        const mx = ((g.u32() & mxMask) | bad | (g.chance(0.3) ? g.u32() & reservedMx : 0)) >>> 0;
        push('refused/mxcsr-reserved', sc, withXcr0(sc, [{ op: 'setXsave', region: region(g, ctx, { xstateBv: xbv, mxcsr: mx }) }]), g.chance(0.2), `XSTATE_BV ${hx(xbv)} MXCSR ${hx(mx)}`);
      },
    ],
    [
      4,
      () => {
        // MXCSR is checked only when FP, SSE or YMM is present: reserved bits pass otherwise.
        if (reservedMx === 0) return;
        const sc = cpuidScenario(g, ctx);
        const xbv = g.subset(host & ~FPSSEYMM);
        const mx = ((g.u32() & mxMask) | (1 << g.pick(bitsOf32(reservedMx)))) >>> 0;
        push('accepted/mxcsr-reserved-unchecked', sc, withXcr0(sc, [{ op: 'setXsave', region: region(g, ctx, { xstateBv: xbv, mxcsr: mx }) }]), false, `XSTATE_BV ${hx(xbv)} MXCSR ${hx(mx)}`);
      },
    ],
    [
      10,
      () => {
        // XCR0 sequences, valid and invalid, before and after SET_XSAVE.
        const sc = cpuidScenario(g, ctx);
        const gsx = modelGsx(ctx, sc);
        const steps: CStep[] = [];
        const k = 1 + g.int(3);
        for (let i = 0; i < k; i++) steps.push({ op: 'setXcrs', xcr0: xcr0Value(g, gsx, host, 0.5) }, ...(g.chance(0.5) ? [{ op: 'getXcrs' } as CStep] : []));
        steps.push({ op: 'setXsave', region: region(g, ctx, { xstateBv: hostBits() }) });
        const m = g.int(3);
        for (let i = 0; i < m; i++) steps.push({ op: 'setXcrs', xcr0: xcr0Value(g, gsx, host, 0.5) });
        steps.push({ op: 'getXsave' }, { op: 'getXcrs' });
        push('xcr0', sc, frame(sc, steps));
      },
    ],
    [
      5,
      () => {
        // A refused SET after an accepted one leaves the first state in place.
        const sc = cpuidScenario(g, ctx);
        const a = region(g, ctx, { xstateBv: hostBits() });
        const b = region(g, ctx, { xstateBv: hostBits() });
        const how = g.int(reservedMx === 0 ? 3 : 4);
        if (how === 0) writeU64(b, OFF.XSTATE_BV, hostBits() | MASK.PKRU);
        else if (how === 1) writeU64(b, OFF.XCOMP_BV, 1n);
        else if (how === 2) b[OFF.HEADER_RESERVED + g.int(48)] = 1;
        else {
          writeU64(b, OFF.XSTATE_BV, hostBits() | MASK.SSE);
          writeU32(b, OFF.MXCSR, (0x1f80 | (1 << g.pick(bitsOf32(reservedMx)))) >>> 0);
        }
        push('refused/after-accepted', sc, frame(sc, [{ op: 'setXsave', region: a }, { op: 'getXsave' }, { op: 'setXsave', region: b }, { op: 'getXsave' }, { op: 'getXcrs' }]), false, `invalid kind ${how}`);
      },
    ],
    [
      3,
      () => {
        // KVM_SET_CPUID2 refused (EPERM: XTILE_DATA without permission; EINVAL: virtual-address bits).
        const T = ctx.table;
        const amx = g.chance(0.6);
        const cpuid = amx
          ? withD0(T, (g.chance(0.5) ? host : g.subset(host)) | MASK.XTILE_DATA | (g.chance(0.5) ? XTILE_CFG : 0n))
          : T.map((e) => (e.leaf === 0x80000008 ? { ...e, eax: (e.eax & ~0xff00) | (g.pick([1, 32, 39, 40, 47, 52, 56, 64, 255]) << 8) } : { ...e }));
        const sc = { kind: amx ? 'host-table/leaf-0xd.0-xtiledata' : 'host-table/bad-vaddr-bits', cpuid };
        push('cpuid-refused', sc, [
          { op: 'setCpuid2' },
          { op: 'setXcrs', xcr0: g.pick([0x3n, 0x7n, host]) },
          { op: 'setXsave', region: region(g, ctx, { xstateBv: hostBits() }) },
          { op: 'getXsave' },
          { op: 'getXcrs' },
        ]);
      },
    ],
    [
      3,
      () => {
        // KVM_SET_CPUID2 after KVM_SET_XSAVE: what GET masks follows the CPUID set last.
        let sc = cpuidScenario(g, ctx);
        while (!sc.cpuid) sc = cpuidScenario(g, ctx);
        const steps: CStep[] = [{ op: 'setXsave', region: region(g, ctx, { xstateBv: hostBits() }) }, { op: 'getXsave' }, { op: 'setCpuid2' }, { op: 'getXsave' }];
        if (g.chance(0.5)) steps.push({ op: 'setXcrs', xcr0: xcr0Value(g, modelGsx(ctx, sc), host) });
        // Then the host table (what replay uses to read the unmasked XSTATE_BV back).
        if (g.chance(0.5)) steps.push({ op: 'setCpuid2Host' }, { op: 'getXsave' });
        steps.push({ op: 'getXcrs' });
        push('cpuid-after-xsave', sc, steps);
        out[out.length - 1]!.hostTable = [...ctx.table];
      },
    ],
    [
      6,
      () => {
        // The guest runs after the restore; its own FXSAVE is compared with the model's guest view.
        const sc = cpuidScenario(g, ctx, { needLeaf1: true });
        const gsx = modelGsx(ctx, sc);
        const xbv = g.chance(0.3) ? g.subset(FPSSEYMM & host) : hostBits();
        const steps: CStep[] = [];
        if (g.chance(0.5)) steps.push({ op: 'setXcrs', xcr0: validXcr0(g, gsx) });
        if (g.chance(0.3)) steps.push({ op: 'setXsave', region: region(g, ctx, { xstateBv: hostBits(), forRun: true }) });
        steps.push({ op: 'setXsave', region: region(g, ctx, { xstateBv: xbv, forRun: true }) }, { op: 'run' });
        out.push({ cls: 'guest-run', cpuid: sc.cpuid!, steps: [{ op: 'setCpuid2' }, ...steps], fixup: false, what: `${sc.kind}; XSTATE_BV ${hx(xbv)}`, timeoutMs: 500 });
      },
    ],
  ];
  // A class a host cannot express (no reserved MXCSR bit) yields nothing: draw again.
  while (out.length === 0) g.weighted(classes)();
  return out;
}

/** Conformance records for the machine `ctx` describes. */
export function conformanceRecordArb(ctx: GenContext): fc.Arbitrary<ConformanceRecord> {
  return fc.gen().map((g) => conformanceRecord(new Gen(g), ctx));
}

export interface ConformanceSample {
  cases: CCase[];
  /** for each case, the index of its record in fast-check's run (its replay path, before shrinking) */
  record: number[];
}

/**
 * `n` cases for the integer fast-check seed `seed` (cases/seedText.ts turns any --seed into one):
 * fast-check's first records in order, a leaked pair skipped when only one case is left, so
 * pairs stay whole. The same seed and machine give the same cases.
 */
export function sampleConformanceCases(ctx: GenContext, n: number, seed: number): ConformanceSample {
  const arb = conformanceRecordArb(ctx);
  for (let runs = n + 16; ; runs *= 2) {
    const cases: CCase[] = [];
    const record: number[] = [];
    fc.sample(arb, { seed, numRuns: runs }).forEach((r, k) => {
      if (cases.length + r.length > n) return;
      for (const c of r) {
        cases.push(c);
        record.push(k);
      }
    });
    if (cases.length === n) return { cases, record };
  }
}

function bitsOf32(m: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 32; i++) if ((m >>> i) & 1) out.push(i);
  return out;
}
