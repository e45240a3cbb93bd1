// `check --exhaustive`: the exhaustive mode made sound for a plug-in, or refusing to call itself
// exhaustive (issue 14 item 4).
//
// The exhaustive mode (exhaustive.ts) lets one bit stand for a class of bits. That holds for the
// model's SET (its tests are "XSTATE_BV ∩ M = ∅" over masks built from the host set, gsx, uxf)
// and for the Proxmox patch, whose code reads bit 9 only; it does not hold for an arbitrary
// plug-in: `mutants/mask-0x300.js` clears bit 8, which bit 63 stood for, and passed the whole
// domain. This run therefore
//   1. widens the domain: MPX hosts (MPX in the host set, and in gsx when the CPUID offers it)
//      and, per host set, one representative for every atom of the masks on that host: FP, SSE,
//      YMM, PKRU, MPX (bit 3 for 3-4) and AVX-512 (bit 5 for 5-7) where the host has them,
//      XTILE_CFG and XTILE_DATA apart (user_xfeatures tells them apart after the AMX realloc),
//      and bit 63 for every bit outside the host set;
//   2. checks the abstraction's premise against the plug-in: in every fixup context of the
//      domain (host set, KVM's supported XCR0, CPUID leaf 0xD.0, header variant, region size)
//      and for a set of base vectors, every one of the 64 bit positions on its own is
//      substituted for its class's representative, and added beside it: the plug-in's output
//      must be the representative's output with the bit renamed. Inputs the domain fixes are
//      varied too: ctx.xcr0, the CPUID table's order and an extra leaf, the component contents,
//      MXCSR's non-reserved bits, XCOMP_BV's value and the reserved header byte's position: the
//      plug-in's edit must not change;
//   3. runs P1-P4 on the witnesses of a failed premise (the single-bit values), so that a broken
//      plug-in shows the property it breaks. The premise runs first; when it fails, the
//      widened domain is not run (it could not stand for every value), only the witnesses.
// The run calls itself exhaustive only when the premise held. For a plug-in (a black box) the
// premise check is a test of the premise, not a proof: it says so in its output.
import { CpuidEntry, Fixup, KERNELS, KernelVariant, MASK, OFF, XFEATURE, bytesEqual, createVcpu, customHost, fixupContext, hex, readU64, setCpuid, writeU32, writeU64 } from '../model';
import { ExhaustiveFailure, ExhaustiveResult, GSX_GROUPS, HEADER_VARIANTS, HOST_SETS, HeaderVariant, cpuidFor, kernelClasses, regionFor, runExhaustive, subsets } from './exhaustive';

type HostSet = { xcr0: bigint; vendor: 'intel' | 'amd' };

/** HOST_SETS plus the MPX shapes it lacked. */
export const SOUND_HOST_SETS: readonly HostSet[] = [
  ...HOST_SETS,
  { xcr0: 0x21fn, vendor: 'intel' }, // MPX + PKU, no AVX-512 (Skylake client-like)
  { xcr0: 0x2ffn, vendor: 'intel' }, // MPX + AVX-512 + PKU (Skylake-SP)
];

const hasAll = (set: bigint, m: bigint): boolean => (set & m) === m;

/** CPUID leaf 0xD.0 values: every subset of the groups, with MPX as a group on MPX hosts. */
export function leaf0dValuesFor(hs: HostSet): Array<bigint | null> {
  const groups = hasAll(hs.xcr0, MASK.MPX) ? [...GSX_GROUPS, MASK.MPX] : [...GSX_GROUPS];
  return [null, ...subsets(groups)];
}

/** One representative bit per atom on this host set (see the header). */
export function representativesFor(hostXcr0: bigint): number[] {
  const reps = [XFEATURE.FP, XFEATURE.SSE, XFEATURE.YMM, XFEATURE.PKRU, 63];
  if (hasAll(hostXcr0, MASK.MPX)) reps.push(XFEATURE.BNDREGS);
  if (hasAll(hostXcr0, MASK.AVX512)) reps.push(XFEATURE.OPMASK);
  if (hostXcr0 & MASK.XTILE) reps.push(XFEATURE.XTILE_CFG, XFEATURE.XTILE_DATA);
  return reps.sort((a, b) => a - b);
}

/** The representative that stands for bit b in a context whose KVM-supported XCR0 is sx. */
export function representativeOf(b: number, sx: bigint, reps: readonly number[]): number {
  if (b <= XFEATURE.YMM || b === XFEATURE.PKRU || b === 63) return b;
  const inSx = ((sx >> BigInt(b)) & 1n) === 1n;
  if (!inSx) return 63; // every bit outside KVM's supported set fails SET's first check alike
  if (reps.includes(b)) return b;
  if ((MASK.MPX & bit(b)) !== 0n && reps.includes(XFEATURE.BNDREGS)) return XFEATURE.BNDREGS;
  if ((MASK.AVX512 & bit(b)) !== 0n && reps.includes(XFEATURE.OPMASK)) return XFEATURE.OPMASK;
  return 63;
}

const bit = (i: number): bigint => 1n << BigInt(i);
const bvOf = (r: Uint8Array): bigint => readU64(r, OFF.XSTATE_BV);

export interface PremiseViolation {
  context: string;
  what: string;
  /** the XSTATE_BV to add to the domain as a witness (null: the violation is about another input) */
  witness: { host: HostSet; xstateBv: bigint } | null;
}

export interface SoundResult {
  /** true only when the premise held: then P1-P4 were checked for every 64-bit value */
  exhaustive: boolean;
  points: number;
  contexts: number;
  premiseCalls: number;
  violations: PremiseViolation[];
  /** the violations found in all (only the first few are kept in `violations`) */
  violationCount: number;
  failures: ExhaustiveFailure[];
  checks: ExhaustiveResult['checks'];
  /** what the premise check covers and what it cannot */
  scope: string[];
}

function swapBits(v: bigint, a: number, b: number): bigint {
  const ba = (v >> BigInt(a)) & 1n;
  const bb = (v >> BigInt(b)) & 1n;
  return (v & ~bit(a) & ~bit(b)) | (ba << BigInt(b)) | (bb << BigInt(a));
}

/** The fixup applied to a copy of `region` with `ctx`. */
function apply(fixup: Fixup, ctx: ReturnType<typeof fixupContext>, region: Uint8Array): Uint8Array {
  const out = region.slice();
  fixup.fn(ctx, out);
  return out;
}

/** the edit the fixup made: out XOR in, as bytes */
function edit(inp: Uint8Array, out: Uint8Array): Uint8Array {
  const d = new Uint8Array(inp.length);
  for (let i = 0; i < inp.length; i++) d[i] = inp[i]! ^ out[i]!;
  return d;
}

/** A context like `ctx` with other values of the inputs the domain fixes. */
function contextWith(ctx: ReturnType<typeof fixupContext>, over: { xcr0?: bigint; cpuid?: CpuidEntry[] }): ReturnType<typeof fixupContext> {
  return {
    guestSupportedXcr0: ctx.guestSupportedXcr0,
    hostSupportedXcr0: ctx.hostSupportedXcr0,
    xcr0: over.xcr0 ?? ctx.xcr0,
    confidential: ctx.confidential,
    get cpuid(): CpuidEntry[] {
      return (over.cpuid ?? ctx.cpuid).map((e) => ({ ...e }));
    },
  } as ReturnType<typeof fixupContext>;
}

export const KEEP = 48;

/**
 * The premise check (step 2 of the header). Returns the violations; `onWitness` collects the
 * XSTATE_BV witnesses per host set.
 */
export function checkPremise(fixup: Fixup, kernels: readonly KernelVariant[], hostSets: readonly HostSet[] = SOUND_HOST_SETS): { contexts: number; calls: number; violations: PremiseViolation[]; count: number } {
  const violations: PremiseViolation[] = [];
  let count = 0;
  let calls = 0;
  const seen = new Set<string>();
  const violate = (v: PremiseViolation): void => {
    count++;
    if (violations.length < KEEP) violations.push(v);
  };
  // Stops after KEEP violations: the verdict (not exhaustive) is known by then.
  outer: for (const kernel of kernels) {
    for (const hs of hostSets) {
      const host = customHost(hs.xcr0, hs.vendor);
      const reps = representativesFor(hs.xcr0);
      const allReps = reps.reduce((a, r) => a | bit(r), 0n);
      const bases = [MASK.FPSSE, MASK.FPSSE | MASK.PKRU, allReps, allReps & ~MASK.PKRU];
      for (const leaf0d of leaf0dValuesFor(hs)) {
        for (const header of HEADER_VARIANTS) {
          const vcpu = createVcpu(kernel, host, { confidential: header === 'confidential' });
          if (leaf0d !== null) setCpuid(vcpu, cpuidFor(leaf0d));
          const ctx = fixupContext(vcpu);
          const key = `${hex(ctx.hostSupportedXcr0)}|${hex(ctx.guestSupportedXcr0)}|${hs.vendor}|${leaf0d}|${header}|${vcpu.uabiSize}`;
          if (seen.has(key)) continue;
          if (count >= KEEP) break outer;
          seen.add(key);
          const where = `host ${hex(hs.xcr0)} (${hs.vendor}), KVM-supported ${hex(ctx.hostSupportedXcr0)}, CPUID 0xD.0 ${leaf0d === null ? 'never set' : hex(leaf0d)}, header ${header}`;
          const sx = ctx.hostSupportedXcr0;
          const base = regionFor(vcpu, 0n, header);
          const at = (bv: bigint): Uint8Array => {
            const r = base.slice();
            writeU64(r, OFF.XSTATE_BV, bv);
            return r;
          };
          const cache = new Map<bigint, Uint8Array>();
          const out = (bv: bigint): Uint8Array => {
            let o = cache.get(bv);
            if (!o) {
              calls++;
              o = apply(fixup, ctx, at(bv));
              cache.set(bv, o);
            }
            return o;
          };
          for (const v0 of bases) {
            // (a) every bit position on its own, against its class's representative
            for (let b = 0; b < 64; b++) {
              const r = representativeOf(b, sx, reps);
              if (r === b) continue;
              const cases: Array<{ input: bigint; predicted: () => Uint8Array; how: string }> = [];
              if ((v0 & bit(r)) !== 0n) {
                cases.push({
                  input: (v0 & ~bit(r)) | bit(b),
                  predicted: () => {
                    const p = out(v0).slice();
                    writeU64(p, OFF.XSTATE_BV, swapBits(bvOf(p), r, b));
                    return p;
                  },
                  how: `in place of bit ${r}`,
                });
                cases.push({
                  input: v0 | bit(b),
                  predicted: () => {
                    const p = out(v0).slice();
                    const o = bvOf(p);
                    writeU64(p, OFF.XSTATE_BV, (o & ~bit(b)) | (((o >> BigInt(r)) & 1n) << BigInt(b)));
                    return p;
                  },
                  how: `beside bit ${r}`,
                });
              } else {
                cases.push({
                  input: v0 | bit(b),
                  predicted: () => {
                    const p = out(v0 | bit(r)).slice();
                    writeU64(p, OFF.XSTATE_BV, swapBits(bvOf(p), r, b));
                    return p;
                  },
                  how: `in place of bit ${r}`,
                });
              }
              for (const c of cases) {
                const got = out(c.input);
                const want = c.predicted();
                if (!bytesEqual(got, want)) {
                  violate({
                    context: where,
                    what: `bit ${b} is not treated like bit ${r}, the bit that stands for it (XSTATE_BV ${hex(c.input)}, bit ${b} ${c.how}: the plug-in gives XSTATE_BV ${hex(bvOf(got))}, the class predicts ${hex(bvOf(want))}${bvOf(got) === bvOf(want) ? ', and other bytes differ' : ''})`,
                    witness: { host: hs, xstateBv: c.input },
                  });
                }
              }
            }
            // (b) the inputs the domain fixes: the plug-in's edit must not depend on them
            const inp = at(v0);
            const ref = edit(inp, out(v0));
            const variants: Array<[string, ReturnType<typeof fixupContext>, Uint8Array]> = [];
            variants.push(['ctx.xcr0 0x3 instead of the reset value 0x1', contextWith(ctx, { xcr0: 0x3n }), inp]);
            variants.push([`ctx.xcr0 ${hex((ctx.guestSupportedXcr0 & sx) | 0x1n)} (the guest's whole set)`, contextWith(ctx, { xcr0: (ctx.guestSupportedXcr0 & sx) | 0x1n }), inp]);
            if (leaf0d !== null) {
              const t = cpuidFor(leaf0d);
              variants.push(['the CPUID table in the other order', contextWith(ctx, { cpuid: [...t].reverse() }), inp]);
              variants.push(['an extra CPUID leaf 0x80000008', contextWith(ctx, { cpuid: [...t, { leaf: 0x80000008, subleaf: 0, eax: 0x3030, ebx: 0, ecx: 0, edx: 0 }] }), inp]);
            }
            const contents = inp.slice();
            for (let i = OFF.EXTENDED; i < contents.length; i++) contents[i] = (i * 13 + 5) & 0xff;
            for (let i = 32; i < 416; i++) contents[i] = (i * 11 + 1) & 0xff; // x87/XMM registers
            variants.push(['other component contents', ctx, contents]);
            const mx = inp.slice();
            writeU32(mx, OFF.MXCSR, (readU64(mx, OFF.MXCSR) & 0x10000n ? 0x10000 : 0) | 0x0040);
            variants.push(['other MXCSR bits (reserved bits kept)', ctx, mx]);
            if (header === 'xcomp-bv') {
              const x = inp.slice();
              writeU64(x, OFF.XCOMP_BV, 0x3n);
              variants.push(['XCOMP_BV 0x3 instead of bit 63', ctx, x]);
            }
            if (header === 'header-reserved') {
              const x = inp.slice();
              x[560] = 0;
              x[575] = 0x80;
              variants.push(['the reserved header byte at 575 instead of 560', ctx, x]);
            }
            for (const [what, c, r] of variants) {
              calls++;
              const o = apply(fixup, c, r);
              if (!bytesEqual(edit(r, o), ref)) violate({ context: where, what: `the plug-in's edit changes with ${what} (XSTATE_BV ${hex(v0)}); the domain fixes that input`, witness: null });
            }
          }
        }
      }
    }
  }
  return { contexts: seen.size, calls, violations, count };
}

/** check --exhaustive: see the header. `kernels` defaults to one kernel per class of SET rules. */
export function runExhaustiveSound(fixup: Fixup, opts: { kernels?: readonly KernelVariant[]; hostSets?: readonly HostSet[]; maxFailures?: number; builtIn?: boolean } = {}): SoundResult {
  const kernels = opts.kernels ?? kernelClasses(KERNELS).map((c) => c.representative);
  const hostSets = opts.hostSets ?? SOUND_HOST_SETS;
  const maxFailures = opts.maxFailures ?? 20;
  const res: SoundResult = { exhaustive: false, points: 0, contexts: 0, premiseCalls: 0, violations: [], violationCount: 0, failures: [], checks: { P1: 0, P2: 0, P3: 0, P4: 0 }, scope: [] };
  const merge = (r: ExhaustiveResult): void => {
    res.points += r.points;
    for (const p of ['P1', 'P2', 'P3', 'P4'] as const) res.checks[p] += r.checks[p];
    for (const f of r.failures) if (res.failures.length < maxFailures) res.failures.push(f);
  };
  // 1. the premise, first: when it fails the run is not exhaustive whatever the domain shows
  const p = checkPremise(fixup, kernels, hostSets);
  res.contexts = p.contexts;
  res.premiseCalls = p.calls;
  res.violations = p.violations;
  res.violationCount = p.count;
  // 2. the widened domain, per host set with that host's representatives (only when it can
  // stand for every value)
  if (p.count === 0) {
    for (const hs of hostSets) {
      const bvValues = subsets(representativesFor(hs.xcr0).map(bit));
      merge(runExhaustive(fixup, { kernels, maxFailures, hostSets: [hs], leaf0dValues: leaf0dValuesFor(hs), bvValues }));
    }
  }
  // 3. P1-P4 on the witnesses
  const byHost = new Map<HostSet, Set<bigint>>();
  for (const v of p.violations) {
    if (!v.witness) continue;
    const s = byHost.get(v.witness.host) ?? new Set<bigint>();
    s.add(v.witness.xstateBv);
    byHost.set(v.witness.host, s);
  }
  for (const [hs, values] of byHost) merge(runExhaustive(fixup, { kernels, maxFailures, hostSets: [hs], leaf0dValues: leaf0dValuesFor(hs), bvValues: [...values] }));
  res.exhaustive = p.count === 0;
  res.scope = [
    `domain: ${kernels.length} kernel(s) (${kernels.map((k) => k.id).join(', ')}) × ${hostSets.length} host sets (${hostSets.map((h) => `${hex(h.xcr0)} ${h.vendor}`).join(', ')}) × every CPUID leaf 0xD.0 over the groups × every XSTATE_BV over one bit per atom of that host × ${HEADER_VARIANTS.length} header variants`,
    `premise: ${p.contexts} fixup contexts × 4 base vectors × each of the 64 XSTATE_BV bits on its own (in place of and beside its representative), and ctx.xcr0, the CPUID table's order and an extra leaf, component contents, MXCSR, XCOMP_BV's value and the reserved byte's position varied`,
    opts.builtIn
      ? 'the built-in Proxmox patch: the premise also follows from its code (it reads bit 9 of XSTATE_BV and of guest-supported XCR0 only)'
      : 'a plug-in is a black box: the premise check tests the premise on those variations; it cannot prove it for every input (a plug-in may, for instance, keep state between calls)',
  ];
  return res;
}

export function formatSound(r: SoundResult, fixupName: string): string[] {
  const out: string[] = [];
  out.push(`exhaustive check of P1-P4, fixup ${fixupName}`);
  for (const s of r.scope) out.push(`  ${s}`);
  out.push(`  ${r.points} domain points (with the witnesses), ${r.premiseCalls} premise calls; checks P1 ${r.checks.P1}, P2 ${r.checks.P2}, P3 ${r.checks.P3}, P4 ${r.checks.P4}`);
  if (r.violationCount) {
    out.push(`premise FAILS (${r.violationCount} violation${r.violationCount > 1 ? 's' : ''}${r.violationCount >= KEEP ? ', the check stopped there' : ''}): one bit cannot stand for its class with this plug-in, so the domain does not cover every 64-bit value; the domain was not run${r.violations.some((v) => v.witness) ? ', its witnesses were' : ''}`);
    for (const v of r.violations.slice(0, 8)) out.push(`  ${v.what}; ${v.context}`);
    if (r.violations.some((v) => v.witness)) out.push('  each such XSTATE_BV was added to the domain as a witness (results below)');
  } else out.push('premise holds on every variation checked');
  for (const f of r.failures) out.push(`${f.property} FAILS at kernel ${f.point.kernel}, host ${f.point.hostXcr0}, CPUID 0xD.0 ${f.point.leaf0d}, XSTATE_BV ${f.point.xstateBv}, header ${f.point.header}: ${f.why}`);
  if (!r.exhaustive) out.push(`NOT EXHAUSTIVE for ${fixupName}: the premise failed, so ${r.failures.length ? 'beyond the failures above, ' : ''}P1-P4 are not established for every 64-bit value`);
  else if (!r.failures.length) out.push(`P1-P4 hold on the whole domain: exhaustive${r.scope[2]!.startsWith('a plug-in') ? ' (premise tested, not proved, for a plug-in)' : ''}`);
  return out;
}

export type { HeaderVariant };
