// Exhaustive mode: P1-P4 checked on every point of a finite abstract domain that stands for
// every 64-bit value.
//
// Why the domain covers every 64-bit value. KVM_SET_XSAVE's outcome and the Proxmox fixup
// depend on XSTATE_BV only through tests of the form "XSTATE_BV ∩ M = ∅" or "bit i ∈ XSTATE_BV",
// where M ranges over masks built from guest-supported XCR0 (gsx), KVM's supported XCR0 (sx),
// user_xfeatures (uxf, itself gsx, gsx|FP|SSE or the host's user set), x87|SSE, PKRU and
// FP|SSE|YMM (the MXCSR users); the component copy reads bit i only for i in sx. Two XSTATE_BV
// values that agree on every such test behave identically. The bits therefore fall into
// classes (the atoms of the Boolean algebra those masks generate) and a value is characterised
// by which classes it meets. We enumerate every host set and every gsx over the user
// components' groups, and take XSTATE_BV over one representative bit of each class that can
// arise: FP, SSE and YMM individually (they feed the MXCSR and FPSSE rules), OPMASK (an
// AVX-512 bit: in gsx, or in sx but not gsx), PKRU (the bit the fixup edits), XTILE_DATA (a bit
// that is in sx only on AMX hosts and in uxf only after the AMX realloc) and bit 63 (outside
// every mask; stands for bits 8, 10-16, 19-62, which no host set here contains). XCOMP_BV and
// the 48 reserved bytes only matter as zero / non-zero, MXCSR only as "reserved bits set or
// not", and the vCPU only through confidential and its gsx. Kernels are enumerated by id;
// two ids whose SET-relevant fields agree give the same answers, which the run reports.
import {
  CPUID_BITS,
  CpuidEntry,
  Fixup,
  KERNELS,
  KernelVariant,
  MASK,
  OFF,
  XFEATURE,
  bytesEqual,
  firstDifference,
  createVcpu,
  customHost,
  fixupContext,
  hex,
  setCpuid,
  setXsave,
  writeU32,
  writeU64,
  Host,
  Vcpu,
} from '../model';
import { withoutPkru } from './properties';

export const HOST_SETS: ReadonlyArray<{ xcr0: bigint; vendor: 'intel' | 'amd' }> = [
  { xcr0: 0x7n, vendor: 'intel' }, // no PKU (Haswell-like)
  { xcr0: 0x207n, vendor: 'amd' }, // PKU, no AVX-512 (Zen 3)
  { xcr0: 0xe7n, vendor: 'amd' }, // AVX-512, no PKU (the project machines)
  { xcr0: 0x2e7n, vendor: 'intel' }, // AVX-512 + PKU (Ice Lake-SP)
  { xcr0: 0x602e7n, vendor: 'intel' }, // + AMX (Sapphire Rapids)
];

/** Groups of user components a guest CPUID can offer (each all-or-nothing, as QEMU builds it). */
export const GSX_GROUPS: readonly bigint[] = [MASK.FP, MASK.SSE, MASK.YMM, MASK.AVX512, MASK.PKRU, MASK.XTILE];
export const BV_REPRESENTATIVES: readonly number[] = [XFEATURE.FP, XFEATURE.SSE, XFEATURE.YMM, XFEATURE.OPMASK, XFEATURE.PKRU, XFEATURE.XTILE_DATA, 63];

export type HeaderVariant = 'clean' | 'xcomp-bv' | 'header-reserved' | 'mxcsr-reserved' | 'confidential';
export const HEADER_VARIANTS: readonly HeaderVariant[] = ['clean', 'xcomp-bv', 'header-reserved', 'mxcsr-reserved', 'confidential'];

export interface DomainPoint {
  kernel: KernelVariant;
  host: Host;
  /** leaf 0xD.0 EAX offered by the CPUID, or null for a vCPU whose CPUID was never set */
  leaf0d: bigint | null;
  xstateBv: bigint;
  header: HeaderVariant;
}

export function subsets(items: readonly bigint[]): bigint[] {
  const out: bigint[] = [];
  for (let m = 0; m < 1 << items.length; m++) {
    let v = 0n;
    items.forEach((x, i) => {
      if (m & (1 << i)) v |= x;
    });
    out.push(v);
  }
  return out;
}

export const LEAF0D_VALUES: ReadonlyArray<bigint | null> = [null, ...subsets(GSX_GROUPS)];
export const BV_VALUES: readonly bigint[] = subsets(BV_REPRESENTATIVES.map((i) => 1n << BigInt(i)));

/**
 * KVM_SET_XSAVE reads only these fields of a kernel variant (the Proxmox patch is passed in as
 * the fixup under test): kernels that agree on them give the same answer at every point.
 */
export function setRuleKey(k: KernelVariant): string {
  return [k.set, k.userXfeatures, hex(k.kvmSupportedXcr0), k.gsx, k.xsave2, k.confidential, k.xfdPremask].join('|');
}

/** One kernel per class of identical SET rules, each listing the ids it stands for. */
export function kernelClasses(kernels: readonly KernelVariant[] = KERNELS): Array<{ representative: KernelVariant; ids: string[] }> {
  const byKey = new Map<string, { representative: KernelVariant; ids: string[] }>();
  for (const k of kernels) {
    const key = setRuleKey(k);
    const c = byKey.get(key);
    if (c) c.ids.push(k.id);
    else byKey.set(key, { representative: k, ids: [k.id] });
  }
  return [...byKey.values()];
}

export function domainSize(kernels: readonly KernelVariant[] = KERNELS): number {
  return kernels.length * HOST_SETS.length * LEAF0D_VALUES.length * BV_VALUES.length * HEADER_VARIANTS.length;
}

export function cpuidFor(leaf0d: bigint): CpuidEntry[] {
  return [
    { leaf: 0xd, subleaf: 0, eax: Number(leaf0d & 0xffffffffn), ebx: 0, ecx: 0, edx: 0 },
    { leaf: 7, subleaf: 0, eax: 0, ebx: 0, ecx: leaf0d & MASK.PKRU ? CPUID_BITS.PKU : 0, edx: 0 },
  ];
}

export function regionFor(vcpu: Vcpu, xstateBv: bigint, header: HeaderVariant): Uint8Array {
  const r = new Uint8Array(vcpu.uabiSize);
  for (let i = 0; i < r.length; i++) r[i] = (i * 7 + 3) & 0xff; // non-zero component contents
  r.fill(0, OFF.XSTATE_BV, OFF.EXTENDED);
  writeU64(r, OFF.XSTATE_BV, xstateBv);
  writeU32(r, OFF.MXCSR, header === 'mxcsr-reserved' ? 0x1f80 | 0x10000 : 0x1f80);
  if (header === 'xcomp-bv') writeU64(r, OFF.XCOMP_BV, 1n << 63n);
  if (header === 'header-reserved') r[560] = 1;
  return r;
}

export interface ExhaustiveFailure {
  property: 'P1' | 'P2' | 'P3' | 'P4';
  point: { kernel: string; hostXcr0: string; leaf0d: string; xstateBv: string; header: HeaderVariant };
  why: string;
}

export interface ExhaustiveResult {
  points: number;
  /** points per class: valid (⊆ gsx|FPSSE), leaked (only PKRU outside), other */
  classes: Record<string, number>;
  checks: Record<'P1' | 'P2' | 'P3' | 'P4', number>;
  failures: ExhaustiveFailure[];
}

const P2_EXCLUDED = new Set(['linux-5.17']); // a1020a25e697's FP/SSE bug, not the PKRU leak

/**
 * Check P1-P4 on every domain point. P2 at the ioctl level: a leaked buffer (XSTATE_BV = a
 * valid set plus PKRU, clean header, not confidential) on a target host that offers every
 * other bit it carries is accepted with the fixup, leaving the state SET would leave for the
 * same buffer without PKRU.
 */
export interface ExhaustiveDomain {
  hostSets?: ReadonlyArray<{ xcr0: bigint; vendor: 'intel' | 'amd' }>;
  leaf0dValues?: ReadonlyArray<bigint | null>;
  bvValues?: readonly bigint[];
}

export function runExhaustive(fixup: Fixup, opts: { kernels?: readonly KernelVariant[]; maxFailures?: number } & ExhaustiveDomain = {}): ExhaustiveResult {
  const kernels = opts.kernels ?? KERNELS;
  // the domain's dimensions; exhaustiveSound.ts widens them (MPX hosts, single-bit witnesses)
  const hostSets = opts.hostSets ?? HOST_SETS;
  const leaf0dValues = opts.leaf0dValues ?? LEAF0D_VALUES;
  const bvValues = opts.bvValues ?? BV_VALUES;
  const maxFailures = opts.maxFailures ?? 20;
  const full = (): boolean => res.failures.length >= maxFailures;
  const res: ExhaustiveResult = { points: 0, classes: {}, checks: { P1: 0, P2: 0, P3: 0, P4: 0 }, failures: [] };
  // The fixup sees only its context and the buffer: P3 is checked once per distinct context.
  const p3Done = new Set<string>();
  for (const kernel of kernels) {
    for (const hs of hostSets) {
      const host = customHost(hs.xcr0, hs.vendor);
      for (const leaf0d of leaf0dValues) {
        if (full()) return res;
        for (const header of HEADER_VARIANTS) {
          const vcpu = createVcpu(kernel, host, { confidential: header === 'confidential' });
          if (leaf0d !== null) setCpuid(vcpu, cpuidFor(leaf0d));
          const ctx = fixupContext(vcpu);
          const gsx = ctx.guestSupportedXcr0;
          const base = regionFor(vcpu, 0n, header);
          const p3Key = `${hex(ctx.hostSupportedXcr0)}|${leaf0d}|${header}|${vcpu.uabiSize}`;
          const checkP3 = !p3Done.has(p3Key);
          p3Done.add(p3Key);
          for (const xstateBv of bvValues) {
            res.points++;
            const fail = (property: ExhaustiveFailure['property'], why: string): void => {
              if (res.failures.length < maxFailures) {
                res.failures.push({ property, why, point: { kernel: kernel.id, hostXcr0: hex(hs.xcr0), leaf0d: leaf0d === null ? 'never-set' : hex(leaf0d), xstateBv: hex(xstateBv), header } });
              }
            };
            const allowed = gsx | MASK.FPSSE;
            const cls = (xstateBv & ~allowed) === 0n ? 'valid' : (xstateBv & ~(allowed | MASK.PKRU)) === 0n ? 'leaked' : 'other';
            res.classes[cls] = (res.classes[cls] ?? 0) + 1;
            const region = base.slice();
            writeU64(region, OFF.XSTATE_BV, xstateBv);
            const plain = setXsave(vcpu, region, null);
            const fixed = setXsave(vcpu, region, fixup);
            // P3: only bit 9 of XSTATE_BV may change, and twice = once.
            if (checkP3) {
            res.checks.P3++;
            const once = region.slice();
            fixup.fn(ctx, once);
            let p3 = null as string | null;
            const bvByte = OFF.XSTATE_BV + 1; // bit 9 of XSTATE_BV
            for (let i = firstDifference(once, region); i !== -1 && !p3; i = firstDifference(once, region, i + 1)) {
              if (!(i === bvByte && ((once[i]! ^ region[i]!) & ~0x02) === 0)) p3 = `byte ${i} changed`;
            }
            if (!p3) {
              const twice = once.slice();
              fixup.fn(ctx, twice);
              if (!bytesEqual(once, twice)) p3 = 'not idempotent';
            }
            if (p3) fail('P3', p3);
            }
            // P1: valid buffers are untouched and SET behaves identically.
            if (cls === 'valid') {
              res.checks.P1++;
              if (fixed.fixupFired) fail('P1', 'the fixup changed a valid buffer');
              else if (plain.rc !== fixed.rc || plain.reason !== fixed.reason) fail('P1', `result ${plain.reason} vs ${fixed.reason}`);
              else if (plain.vcpu.fpu.xstateBv !== fixed.vcpu.fpu.xstateBv || plain.vcpu.pkru !== fixed.vcpu.pkru || !bytesEqual(plain.vcpu.fpu.image, fixed.vcpu.fpu.image)) fail('P1', 'vCPU state differs');
            }
            // P4: refused for a reason other than the PKRU bit ⇒ still refused.
            if (plain.rc !== 0) {
              const cleared = setXsave(vcpu, withoutPkru(region), null);
              if (cleared.rc !== 0) {
                res.checks.P4++;
                if (fixed.rc === 0) fail('P4', `refused without the fixup (${plain.reason}), accepted with it`);
              }
            }
            // P2 (ioctl level): leaked, clean, target host offers every other bit ⇒ accepted.
            if (cls === 'leaked' && header === 'clean' && !P2_EXCLUDED.has(kernel.id) && (xstateBv & ~MASK.PKRU & ~vcpu.supportedXcr0) === 0n) {
              res.checks.P2++;
              const ref = setXsave(vcpu, withoutPkru(region), null);
              if (ref.rc !== 0) continue; // the buffer without PKRU is itself refused: not a leak P2 speaks for
              if (fixed.rc !== 0) fail('P2', `leaked buffer refused with the fixup (${fixed.reason})`);
              else if (fixed.vcpu.fpu.xstateBv !== ref.vcpu.fpu.xstateBv || fixed.vcpu.pkru !== ref.vcpu.pkru) fail('P2', 'state differs from SET of the buffer without PKRU');
            }
          }
        }
      }
    }
  }
  return res;
}
