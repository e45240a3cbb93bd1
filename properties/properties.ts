// P1-P5: the claims the harness makes about a fixup, each an exact statement, a generator and
// a predicate. A predicate returns null when the claim holds for the scenario, otherwise a
// one-line reason. Properties are parameterised by the fixup under test, so the same code
// checks the Proxmox patch and every deliberately broken one.
import fc from 'fast-check';
import {
  derivedGuestSupportedXcr0,
  kvmSupportedXcr0,
  Fixup,
  KERNELS,
  KernelVariant,
  MASK,
  OFF,
  Vcpu,
  XFEATURE,
  bytesEqual,
  firstDifference,
  createVcpu,
  diffViews,
  fixupContext,
  getXsave,
  guestView,
  hex,
  isLeaky,
  migrate,
  setCpuid,
  setXcrs,
  setXsave,
  sourceVcpu,
  writeU64,
  readU64,
  MigrationSpec,
  SetXsaveResult,
} from '../model';
import { cpuidChoiceArb, cpuidFor, describeCpuid } from './arbitraries/cpuid';
import { hostArb } from './arbitraries/hosts';
import {
  BuiltIoctl,
  BvKind,
  GuestChoice,
  IoctlScenario,
  LeakScenario,
  buildIoctl,
  guestChoiceArb,
  guestSpecFor,
  ioctlScenarioArb,
  leakScenarioArb,
  sourceGuestFeatures,
  targetHostFor,
} from './arbitraries/scenarios';
import { CpuidChoice } from './arbitraries/cpuid';
import { Host } from '../model';

export type PropertyId = 'P1' | 'P2' | 'P3' | 'P4' | 'P5';

export interface PropertyDef<S, B = unknown> {
  id: PropertyId;
  title: string;
  statement: string;
  arb: fc.Arbitrary<S>;
  /**
   * The model objects a scenario stands for. A fuzz batch builds them once per case and hands
   * them to the coverage counters, `classify` and `check` (issue 12: a case was built up to
   * three times). Callers that have none let `check` and `classify` build their own.
   */
  build(s: S): B;
  /** null when the claim holds for this scenario, else why not */
  check(s: S, fixup: Fixup, built?: B): string | null;
  /** the class a scenario belongs to, for coverage statistics */
  classify(s: S, built?: B): string;
}

/**
 * A KVM_SET_XSAVE case of P1, P3 and P4, built once: the vCPU and buffer, and the unpatched
 * kernel's answer, computed on first use and shared by P4's check, its classification and the
 * coverage count of rejected buffers.
 */
export interface IoctlCase extends BuiltIoctl {
  plain(): SetXsaveResult;
}

export function buildIoctlCase(s: IoctlScenario): IoctlCase {
  const b = buildIoctl(s);
  let plain: SetXsaveResult | null = null;
  return {
    vcpu: b.vcpu,
    region: b.region,
    guestSupported: b.guestSupported,
    cls: b.cls,
    plain: () => (plain ??= setXsave(b.vcpu, b.region, null)),
  };
}

function stateDiff(a: Vcpu, b: Vcpu): string | null {
  if (a.fpu.xstateBv !== b.fpu.xstateBv) return `XSTATE_BV ${hex(a.fpu.xstateBv)} vs ${hex(b.fpu.xstateBv)}`;
  if (a.pkru !== b.pkru) return `vcpu pkru ${hex(a.pkru)} vs ${hex(b.pkru)}`;
  if (!bytesEqual(a.fpu.image, b.fpu.image)) return 'fpstate contents differ';
  return null;
}

/** The XSTATE_BV classes each KVM_SET_XSAVE property quantifies over (its domain, read by decisionSpace.ts too). */
export const IOCTL_BV_KINDS: Readonly<Record<'P1' | 'P3' | 'P4', readonly BvKind[]>> = {
  P1: ['valid'],
  P3: ['valid', 'leaked', 'random'],
  P4: ['random', 'leaked', 'valid'],
};

// ---- P1 ----------------------------------------------------------------------------------
export const P1: PropertyDef<IoctlScenario, IoctlCase> = {
  id: 'P1',
  title: 'no valid state is modified',
  statement:
    'For every kernel, host, vCPU CPUID (named models and raw tables as a VMM may hand them over unfiltered), XCR0, IA32_XFD and buffer whose XSTATE_BV ⊆ guest-supported XCR0 ∪ {x87, SSE} (any contents, any header and MXCSR), the fixup leaves every byte of the kernel copy unchanged, and KVM_SET_XSAVE returns the same result and leaves the same vCPU state with and without it.',
  arb: ioctlScenarioArb(IOCTL_BV_KINDS.P1),
  build: buildIoctlCase,
  check(s, fixup, b = buildIoctlCase(s)) {
    const plain = b.plain();
    const fixed = setXsave(b.vcpu, b.region, fixup);
    if (fixed.fixupFired) return 'the fixup changed a valid buffer';
    if (plain.rc !== fixed.rc || plain.reason !== fixed.reason) return `result ${plain.rc}/${plain.reason} without the fixup, ${fixed.rc}/${fixed.reason} with it`;
    return stateDiff(plain.vcpu, fixed.vcpu);
  },
  classify: (s) => `kernel:${s.kernel.id}`,
};

// ---- P2 ----------------------------------------------------------------------------------
export interface LeakCase {
  scenario: LeakScenario;
  targetHost: Host;
}

export function leakSpec(s: LeakScenario): Parameters<typeof migrate>[0] {
  const features = sourceGuestFeatures(s);
  const targetHost = targetHostFor(s.targetBase, features);
  return {
    vcpu: cpuidChoiceAsVcpu(s.cpuid, s.sourceHost, s.sourceKernel),
    source: { kernel: s.sourceKernel, host: s.sourceHost },
    target: { kernel: s.targetKernel, host: targetHost, fixup: 'pve' },
    vmm: s.vmm,
    guest: guestSpecFor(s.guest, features),
  };
}

/** Named models travel as names (QEMU resolves them on each host); other choices as entries. */
export function cpuidChoiceAsVcpu(c: CpuidChoice, host: Host, kernel: KernelVariant): { cpuModel: string } | { cpuid: ReturnType<typeof cpuidFor> & object } {
  if (c.kind === 'model') return { cpuModel: c.name };
  return { cpuid: cpuidFor(c, host, kernel) ?? [] };
}

export function makeP2(arb: fc.Arbitrary<LeakScenario> = leakScenarioArb()): PropertyDef<LeakScenario, MigrationSpec> {
  return {
    id: 'P2',
    title: 'every leaked state becomes runnable',
    statement:
      'For every guest whose CPUID does not offer PKRU, saved by a leaky source kernel (linux-5.16, pve-5.15) on a PKU host with a non-zero host PKRU, restored by QEMU (7.2, 8.0, 8.2, 9.2) on any target kernel carrying the fixup (all catalogue kernels but linux-5.17) on a target host that supports the guest\'s features, with or without PKU: the saved state is leaked and the migration outcome is intact.',
    arb,
    build: leakSpec,
    check(s, fixup, spec = leakSpec(s)) {
      const r = migrate(spec, fixup);
      if (!r.leaked) return `precondition: the saved XSTATE_BV ${hex(r.savedXstateBv)} is not leaked`;
      if (r.outcome !== 'intact') {
        const step = r.restore.steps.find((x) => x.rc !== 0 && x.rc !== 'skipped');
        return `outcome ${r.outcome}${step ? ` (${step.step}: ${step.detail})` : ''}${r.diff.length ? `, differs in ${r.diff.join(',')}` : ''}`;
      }
      return null;
    },
    classify: (s) => `target:${s.targetKernel.id}`,
  };
}
export const P2 = makeP2();

// ---- P3 ----------------------------------------------------------------------------------
const BV_BYTE = OFF.XSTATE_BV + 1; // bit 9 of the little-endian XSTATE_BV lives in byte 513, bit 1

export const P3: PropertyDef<IoctlScenario, IoctlCase> = {
  id: 'P3',
  title: 'the fixup changes at most bit 9 of XSTATE_BV, and is idempotent',
  statement:
    'For every vCPU and every buffer (any XSTATE_BV, header, MXCSR and contents), the fixup changes no byte other than bit 9 of XSTATE_BV (byte 513, bit 1), and applying it twice gives the same buffer as applying it once.',
  arb: ioctlScenarioArb(IOCTL_BV_KINDS.P3),
  build: buildIoctlCase,
  check(s, fixup, b = buildIoctlCase(s)) {
    const ctx = fixupContext(b.vcpu);
    const once = b.region.slice();
    fixup.fn(ctx, once);
    if (once.length !== b.region.length) return 'the fixup changed the buffer length';
    for (let i = firstDifference(once, b.region); i !== -1; i = firstDifference(once, b.region, i + 1)) {
      if (i === BV_BYTE && ((once[i]! ^ b.region[i]!) & ~0x02) === 0) continue;
      return `byte ${i} changed from 0x${b.region[i]!.toString(16)} to 0x${once[i]!.toString(16)}`;
    }
    const twice = once.slice();
    fixup.fn(fixupContext(b.vcpu), twice);
    if (!bytesEqual(once, twice)) return 'not idempotent: a second application changed the buffer again';
    return null;
  },
  classify: (s) => `bv:${s.bvKind}`,
};

// ---- P4 ----------------------------------------------------------------------------------
export function withoutPkru(region: Uint8Array): Uint8Array {
  const r = region.slice();
  writeU64(r, OFF.XSTATE_BV, readU64(r, OFF.XSTATE_BV) & ~MASK.PKRU);
  return r;
}

export const P4: PropertyDef<IoctlScenario, IoctlCase> = {
  id: 'P4',
  title: 'rejections stay rejections',
  statement:
    'For every kernel, vCPU (any CPUID table, XCR0 and IA32_XFD) and buffer the unpatched kernel refuses for a reason other than the leaked PKRU bit (it still refuses the buffer with bit 9 of XSTATE_BV cleared), the kernel with the fixup refuses it too.',
  arb: ioctlScenarioArb(IOCTL_BV_KINDS.P4),
  build: buildIoctlCase,
  check(s, fixup, b = buildIoctlCase(s)) {
    const plain = b.plain();
    if (plain.rc === 0) return null;
    const plainCleared = setXsave(b.vcpu, withoutPkru(b.region), null);
    if (plainCleared.rc === 0) return null; // refused only for the PKRU bit: the fixup may accept
    const fixed = setXsave(b.vcpu, b.region, fixup);
    if (fixed.rc === 0) return `refused without the fixup (${plain.reason}) but accepted with it`;
    return null;
  },
  classify: (s, b = buildIoctlCase(s)) => {
    const r = b.plain();
    return r.rc === 0 ? 'accepted' : `rejected:${r.reason}`;
  },
};

// ---- P5 ----------------------------------------------------------------------------------
/**
 * Kernels P5 speaks for: the non-leaky ones, except linux-5.17, whose GET drops x87/SSE for
 * guests without XSAVE (the bug a1020a25e697 fixed), and linux-6.18-pvm, whose guest-supported
 * XCR0 is not CPUID-derived so the CPUID-based fixup can disagree with it (see
 * properties/findings.test.ts for both).
 */
export const P5_KERNELS = KERNELS.filter((k) => !isLeaky(k) && k.id !== 'linux-5.17' && k.gsx === 'cpuid');

export interface RoundTripScenario {
  kernel: KernelVariant;
  host: Host;
  cpuid: CpuidChoice;
  guest: GuestChoice;
}

export function roundTripArb(kernels: readonly KernelVariant[] = P5_KERNELS): fc.Arbitrary<RoundTripScenario> {
  return fc.record({
    kernel: fc.constantFrom(...kernels),
    host: hostArb,
    cpuid: cpuidChoiceArb,
    guest: guestChoiceArb({ hostPkruNonZero: true }),
  });
}

export function roundTrip(s: RoundTripScenario, fixup: Fixup | null): { diff: string[]; setRc: string; why: string | null } {
  const cpuid = cpuidFor(s.cpuid, s.host, s.kernel);
  const spec = guestSpecFor(s.guest, derivedGuestSupportedXcr0(s.kernel, kvmSupportedXcr0(s.kernel, s.host), cpuid));
  const src = sourceVcpu(s.kernel, s.host, cpuid, spec);
  const got = getXsave(src);
  const dst = createVcpu(s.kernel, s.host);
  if (cpuid) setCpuid(dst, cpuid);
  const set = setXsave(dst, got.region, fixup);
  if (set.rc !== 0) return { diff: [], setRc: String(set.rc), why: `SET refused GET's own buffer (${set.reason})` };
  const xr = setXcrs(set.vcpu, spec.xcr0);
  if (xr.rc !== 0) return { diff: [], setRc: '0', why: `SET_XCRS refused ${hex(spec.xcr0)} (${xr.reason})` };
  const diff = diffViews(guestView(src), guestView(set.vcpu));
  return { diff, setRc: '0', why: diff.length ? `guest-visible state differs in ${diff.join(',')}` : null };
}

export function makeP5(arb: fc.Arbitrary<RoundTripScenario> = roundTripArb()): PropertyDef<RoundTripScenario, null> {
  return {
    id: 'P5',
    title: 'round trip',
    statement:
      'On every non-leaky kernel (but linux-5.17 and the PVM variant, see findings), for every host, vCPU CPUID and guest state with a non-zero host PKRU, KVM_SET_XSAVE (with the fixup) of KVM_GET_XSAVE\'s buffer on a fresh vCPU with the same CPUID, followed by KVM_SET_XCRS, restores the guest-visible state.',
    arb,
    build: () => null, // the round trip builds two vCPUs per fixup; nothing to share
    check: (s, fixup) => roundTrip(s, fixup).why,
    classify: (s) => `kernel:${s.kernel.id}`,
  };
}
export const P5 = makeP5();

// ---- running -----------------------------------------------------------------------------
export interface PropertyRun<S> {
  id: PropertyId;
  title: string;
  statement: string;
  seed: number;
  numRuns: number;
  failed: boolean;
  /** fast-check's replay path of the shrunk counterexample */
  path: string | null;
  counterexample: S | null;
  reason: string | null;
  /** scenarios per class among the generated ones */
  coverage: Record<string, number>;
  error: string | null;
}

export function runProperty<S, B>(p: PropertyDef<S, B>, fixup: Fixup, opts: { seed: number; numRuns: number; path?: string; coverage?: boolean }): PropertyRun<S> {
  const coverage: Record<string, number> = {};
  const prop = fc.property(p.arb, (s) => {
    const why = p.check(s, fixup, p.build(s));
    if (why !== null) throw new PropertyFailure(why);
  });
  const details = fc.check(prop, { seed: opts.seed, numRuns: opts.numRuns, ...(opts.path ? { path: opts.path } : {}) });
  if (opts.coverage !== false) {
    // The classes the generator produced, on the same seed (fast-check regenerates the same values).
    const sample = fc.sample(p.arb, { seed: opts.seed, numRuns: Math.min(opts.numRuns, 2000) });
    for (const s of sample) {
      const c = p.classify(s, p.build(s));
      coverage[c] = (coverage[c] ?? 0) + 1;
    }
  }
  return propertyRunOf(p, details, opts, coverage);
}

/**
 * What fast-check found checking `p` (a predicate that throws PropertyFailure with the reason),
 * as a PropertyRun: the counterexample is the one fast-check shrank, kept as it is.
 */
export function propertyRunOf<S>(p: PropertyDef<S, unknown>, details: fc.RunDetails<[S]>, opts: { seed: number; numRuns: number }, coverage: Record<string, number> = {}): PropertyRun<S> {
  const ce = details.failed ? (details.counterexample?.[0] as S) ?? null : null;
  const err = details.errorInstance;
  const reason = err instanceof PropertyFailure ? err.message : err ? String(err) : null;
  return {
    id: p.id,
    title: p.title,
    statement: p.statement,
    seed: opts.seed,
    numRuns: opts.numRuns,
    failed: details.failed,
    path: details.counterexamplePath ?? null,
    counterexample: ce,
    reason: details.failed ? reason : null,
    coverage,
    error: details.failed && !(err instanceof PropertyFailure) ? reason : null,
  };
}

export class PropertyFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyFailure';
  }
}

// Re-exported so callers can describe scenarios without reaching into arbitraries/.
export { describeCpuid, BuiltIoctl, XFEATURE };
