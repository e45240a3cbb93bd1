// The prover: P1, P3 and P4 (proof/claims.ts) over header fields for a fixup over values, for every
// 64-bit input, one z3 query per claim and kernel rule set; and P1 and P3 over bytes (byteClaims.ts)
// for the fixup over bytes. A counterexample is read back, checked concretely
// (bigint) against the claim, then realised as a vCPU the model can build (a catalogue kernel, a
// custom host, CPUID leaves 0xD and 7, reset XCR0): the property's own predicate (properties.ts
// P1/P3/P4) is run on it with the fixup lifted to bytes, and it is written as a corpus case
// (CASE-FORMAT ioctl, sparse xsave form).
import * as path from 'node:path';
import { FixupFn, HOSTS, OFF, PVE_FIXUP, createVcpu, customHost, getXsave, hex, kernelById, readU64, setCpuid, setXsave, writeU32, writeU64 } from '../model';
import { CpuidEntry, CPUID_BITS } from '../model/cpuid';
import { KernelVariant } from '../model/kernels';
import { XCR0_RESET } from '../model/xcr0';
import { MASK } from '../model/xfeatures';
import { liftFieldFixup, liftFields, fixupValues } from '../model/xsaveFields';
import { fixupContext } from '../model/fixup';
import { BitOps, FieldFixup, fieldsEqual, pveFixupLogic, subset } from '../model/bitLogic';
import { FORMAT, IoctlCase, parseCaseText } from '../cases/caseFormat';
import { evaluateCase } from '../cases/evaluate';
import { contentId, writeFileAtomic } from '../cases/files';
import { IoctlScenario, buildIoctl } from '../properties/arbitraries/scenarios';
import { P1, P3, P4, PropertyDef } from '../properties/properties';
import { Assignment, BOOL_VARS, BV_VARS, CLAIMS, ClaimDef, ClaimId, ProofVars, RuleGroup, domain, proofVars, ruleGroups } from './claims';
import { BYTE_CLAIMS, ByteClaimDef, ByteCounterexample, proveByteClaim } from './byteClaims';
import { ProofSubject } from './subjects';
import type { Model } from 'z3-solver';
import { BV, Z3Bool, Z3Ctx, z3Context, z3Ops } from './z3';

export interface Realization {
  /** the catalogue kernel the counterexample was realised on */
  kernel: string;
  assignment: AssignmentJson;
  /** the property's predicate (properties.ts) on the realised vCPU and buffer, with the fixup lifted to bytes */
  propertyReason: string | null;
  case: { id: string; json: string; file: string | null };
  /** replaying the case with the fixup (lifted to bytes) mismatches its expectation */
  replayFailsWithFixup: boolean;
  /** replaying the case with the Proxmox patch matches its expectation */
  replayPassesWithPve: boolean;
}

export type AssignmentJson = Record<keyof Assignment, string | boolean>;

/** What a result is about: SET's decision over the header fields, or the fixup over every byte. */
export type ProofLevel = 'header fields' | 'bytes';

export interface ClaimResult {
  claim: ClaimId;
  level: ProofLevel;
  title: string;
  statement: string;
  /** kernel rule set (P3 does not depend on one) */
  group: string;
  kernels: string[];
  status: 'proved' | 'counterexample';
  ms: number;
  counterexample: Record<string, string | boolean> | null;
  /** the claim's part the counterexample violates, evaluated concretely (bigint) */
  violation: string | null;
  realized: Realization | null;
}

/** Per claim and level: proved, refuted, or why it was not a query. */
export type LevelStatus = 'proved' | 'counterexample' | 'not expressible' | 'not stated' | 'not run';

export interface ProofReport {
  fixup: string;
  description: string;
  mutant: string | null;
  results: ClaimResult[];
  /** per claim, what each level says (P4 has no byte-level statement; a fixup written over bytes has no header-field one) */
  levels: Record<ClaimId, Record<ProofLevel, LevelStatus>>;
  /** the header-field fixup is the byte function the model runs (only for the patch, whose two are written separately) */
  fieldsAreBytes: 'proved' | 'counterexample' | null;
  /** per claim that was a query at some level: proved at every level and rule set, or not */
  claims: Partial<Record<ClaimId, 'proved' | 'counterexample'>>;
  proved: boolean;
}

export interface ProveOptions {
  claims?: ClaimId[];
  /** realise counterexamples as vCPUs and case files (default true) */
  realize?: boolean;
  /** folder for counterexample cases; null: do not write */
  found?: string | null;
  /** assume the model's structural invariant guest-supported ⊆ supported XCR0 (default true; claims.ts domain) */
  invariants?: boolean;
}

const PROPERTY_OF: Record<ClaimId, PropertyDef<IoctlScenario>> = { P1, P3, P4 };

export function toJson(a: Assignment): AssignmentJson {
  const out = {} as AssignmentJson;
  for (const k of BV_VARS) out[k] = hex(a[k]);
  for (const k of BOOL_VARS) out[k] = a[k];
  return out;
}

interface Symbols {
  vars: ProofVars<BV, Z3Bool>;
  named: Record<keyof Assignment, BV | Z3Bool>;
}

function symbols(Z: Z3Ctx): Symbols {
  const named = {} as Record<keyof Assignment, BV | Z3Bool>;
  for (const k of BV_VARS) named[k] = Z.BitVec.const(k, 64) as BV;
  for (const k of BOOL_VARS) named[k] = Z.Bool.const(k);
  return { vars: proofVars<BV, Z3Bool>(named as never), named };
}

function readModel(Z: Z3Ctx, s: Symbols, model: Model<'main'>): Assignment {
  const a = {} as Record<string, bigint | boolean>;
  for (const k of BV_VARS) a[k] = (model.eval(s.named[k] as BV, true) as unknown as { value(): bigint }).value();
  for (const k of BOOL_VARS) a[k] = Z.isTrue(model.eval(s.named[k] as Z3Bool, true));
  return a as unknown as Assignment;
}

/** A kernel's realisable inputs: what createVcpu/setCpuid/customHost and a case file can express. */
function realizable(o: BitOps<BV, Z3Bool>, v: ProofVars<BV, Z3Bool>, k: KernelVariant): Z3Bool {
  const sx = v.vcpu.supportedXcr0;
  return [
    subset(o, sx, o.const(k.kvmSupportedXcr0)),
    subset(o, o.const(MASK.FPSSE), sx),
    subset(o, v.ctx.guestSupportedXcr0, sx), // CPUID(0xD,0) ∩ supported XCR0
    o.eq(v.vcpu.mxcsrMask, o.const(BigInt(HOSTS['zen4']!.mxcsrMask))),
    o.eq(v.vcpu.xfd, o.const(0n)), // QEMU restores MSRs (XFD) after XSAVE; the case format has no XFD
    o.eq(v.ctx.xcr0, o.const(XCR0_RESET)), // QEMU restores XCRS after XSAVE
  ].reduce((x, y) => o.band(x, y));
}

function leafEntries(gsx: bigint, pku: boolean): CpuidEntry[] {
  return [
    { leaf: 0xd, subleaf: 0, eax: Number(gsx & 0xffffffffn), ebx: 0, ecx: 0, edx: Number(gsx >> 32n) },
    { leaf: 7, subleaf: 0, eax: 0, ebx: 0, ecx: pku ? CPUID_BITS.PKU : 0, edx: 0 },
  ];
}

export function scenarioFor(k: KernelVariant, a: Assignment): IoctlScenario {
  return {
    kernel: k,
    host: customHost(a.supportedXcr0, 'intel'),
    cpuid: { kind: 'leaf0d', eax: Number(a.guestSupportedXcr0 & 0xffffffffn), edx: Number(a.guestSupportedXcr0 >> 32n), pku: a.cpuidPku },
    confidential: a.confidential,
    xcr0Candidate: XCR0_RESET,
    bvKind: 'random',
    bvBits: a.xstateBv,
    xcompBv: a.xcompBv,
    reserved: a.headerReservedNonZero ? { offset: OFF.HEADER_RESERVED, value: 1 } : null,
    mxcsr: Number(a.mxcsr),
    fill: 0,
    pkruArea: 0,
    xfd: 0n, // the proof's domain fixes XFD at 0 (see above)
  };
}

/** The sparse-form case for an assignment on kernel k; the expectation is what the claim demands. */
export function caseFor(claim: ClaimDef, k: KernelVariant, a: Assignment, title: string, fixupName: string): { id: string; json: string } {
  const host = customHost(a.supportedXcr0, 'intel');
  const entries = leafEntries(a.guestSupportedXcr0, a.cpuidPku);
  const vcpu = createVcpu(k, host, { confidential: a.confidential });
  setCpuid(vcpu, entries);
  const region = new Uint8Array(vcpu.uabiSize);
  writeU32(region, OFF.MXCSR, Number(a.mxcsr));
  writeU64(region, OFF.XSTATE_BV, a.xstateBv);
  writeU64(region, OFF.XCOMP_BV, a.xcompBv);
  if (a.headerReservedNonZero) region[OFF.HEADER_RESERVED] = 1;
  // P1: the unpatched kernel's result; P3: the reference patch's; P4: a refusal.
  const expect: Record<string, unknown> = {};
  if (claim.id === 'P4') expect['result'] = 'einval';
  else {
    const ref = setXsave(vcpu, region, claim.id === 'P1' ? null : PVE_FIXUP);
    expect['result'] = ref.rc === 0 ? 'ok' : 'einval';
    expect['fixupFired'] = ref.fixupFired;
    if (ref.rc === 0) expect['xstateBv'] = hex(ref.vcpu.fpu.xstateBv);
    expect['pkru'] = hex(ref.vcpu.pkru);
    const got = getXsave(ref.vcpu);
    if (got.rc === 0) expect['getXstateBv'] = hex(readU64(got.region, OFF.XSTATE_BV));
  }
  const body: Record<string, unknown> = {
    kind: 'ioctl',
    vcpu: {
      cpuid: entries.map((e) => ({ leaf: hex(e.leaf), subleaf: e.subleaf, eax: hex(e.eax), ebx: hex(e.ebx), ecx: hex(e.ecx), edx: hex(e.edx) })),
      ...(a.confidential ? { confidential: true } : {}),
    },
    target: { kernel: k.id, fixup: 'pve', host: { supportedXcr0: hex(a.supportedXcr0), layout: 'intel' } },
    xsave: {
      xstateBv: hex(a.xstateBv),
      xcompBv: hex(a.xcompBv),
      mxcsr: hex(a.mxcsr),
      ...(a.headerReservedNonZero ? { bytes: { [String(OFF.HEADER_RESERVED)]: '01' } } : {}),
    },
    expect,
  };
  const id = `prove-${claim.id.toLowerCase()}-${contentId(JSON.stringify(body))}`;
  const note = `${claim.id} counterexample found by \`xsave-harness prove\` for fixup ${fixupName}: ${title}`;
  return { id, json: JSON.stringify({ format: FORMAT, kind: 'ioctl', id, note, ...body }, null, 2) + '\n' };
}

function concreteVars(a: Assignment): ProofVars<bigint, boolean> {
  return proofVars<bigint, boolean>(a as never);
}

async function realize(
  Z: Z3Ctx,
  claim: ClaimDef,
  group: RuleGroup,
  sf: ProofSubject & { fields: FieldFixup },
  found: string | null,
): Promise<Realization | null> {
  const o = z3Ops(Z);
  const lifted: FixupFn = liftFieldFixup(sf.fields);
  // First look for a counterexample where one application of the fixup already differs from
  // the patch's (so that replaying the case with the fixup shows it), then for any.
  const attempts = [true, false].flatMap((distinguishable) => group.kernels.map((kid) => ({ distinguishable, kid })));
  for (const { distinguishable, kid } of attempts) {
    const k = kernelById(kid)!;
    const s = symbols(Z);
    const solver = new Z.Solver();
    solver.add(domain(o, s.vars), Z.Not(claim.holds(o, group.rules, s.vars, sf.fields)), realizable(o, s.vars, k));
    if (distinguishable) solver.add(Z.Not(fieldsEqual(o, sf.fields(o, s.vars.ctx, s.vars.fields), pveFixupLogic(o, s.vars.ctx, s.vars.fields))));
    // user_xfeatures is whatever the model derives for this kernel, host and CPUID: fix the
    // solver's host and CPUID, ask the model, and solve again with its value (a few rounds).
    for (let round = 0; round < 8; round++) {
      if ((await solver.check()) !== 'sat') break;
      const m = readModel(Z, s, solver.model());
      const built = buildIoctl(scenarioFor(k, m));
      const uxf = built.vcpu.userXfeatures;
      solver.push();
      solver.add(
        s.vars.vcpu.supportedXcr0.eq(o.const(m.supportedXcr0)),
        s.vars.ctx.guestSupportedXcr0.eq(o.const(m.guestSupportedXcr0)),
        Z.Iff(s.vars.ctx.cpuidPku, Z.Bool.val(m.cpuidPku)),
        s.vars.vcpu.userXfeatures.eq(o.const(uxf)),
      );
      const ok = (await solver.check()) === 'sat';
      const final = ok ? readModel(Z, s, solver.model()) : null;
      solver.pop();
      if (!final) {
        solver.add(Z.Not(Z.And(s.vars.vcpu.supportedXcr0.eq(o.const(m.supportedXcr0)), s.vars.ctx.guestSupportedXcr0.eq(o.const(m.guestSupportedXcr0)))));
        continue;
      }
      const scenario = scenarioFor(k, final);
      const b = buildIoctl(scenario);
      // sanity: the built vCPU is the assignment
      const ctx = fixupContext(b.vcpu);
      const fv = fixupValues(ctx);
      if (b.vcpu.supportedXcr0 !== final.supportedXcr0 || ctx.guestSupportedXcr0 !== final.guestSupportedXcr0 || b.vcpu.userXfeatures !== final.userXfeatures || fv.cpuidPku !== final.cpuidPku || b.vcpu.xcr0 !== final.xcr0) {
        throw new Error(`internal: counterexample for ${claim.id} on ${kid} does not build as solved`);
      }
      const propertyReason = PROPERTY_OF[claim.id].check(scenario, { name: sf.name, fn: lifted });
      const title = claim.violated(group.rules, concreteVars(final), sf.fields) ?? claim.title;
      const c = caseFor(claim, k, final, title, sf.name);
      let file: string | null = null;
      if (found) {
        file = path.join(found, `${c.id}.json`);
        writeFileAtomic(file, c.json);
      }
      const parsed = parseCaseText(c.json, file ?? `${c.id}.json`) as IoctlCase;
      return {
        kernel: kid,
        assignment: toJson(final),
        propertyReason,
        case: { ...c, file },
        replayFailsWithFixup: evaluateCase(parsed, { name: sf.name, fn: lifted }).mismatches.length > 0,
        replayPassesWithPve: evaluateCase(parsed).mismatches.length === 0,
      };
    }
  }
  return null;
}

/** Prove P1, P3 and P4 over header fields (all inputs, every kernel rule set) and P1 and P3 over bytes. */
export async function proveFixup(sf: ProofSubject, opts: ProveOptions = {}): Promise<ProofReport> {
  const Z = await z3Context();
  const o = z3Ops(Z);
  const ids = opts.claims ?? CLAIMS.map((c) => c.id);
  const groups = ruleGroups();
  const results: ClaimResult[] = [];
  const fields = sf.fields;
  for (const claim of CLAIMS.filter((c) => ids.includes(c.id))) {
    if (!fields) break; // written over bytes only: no header-field statement
    // P3 is about the fixup alone: one query covers every kernel.
    const gs: RuleGroup[] = claim.id === 'P3' ? [{ ...groups[0]!, kernels: groups.flatMap((g) => g.kernels), label: 'any kernel' }] : groups;
    for (const g of gs) {
      const t0 = Date.now();
      const s = symbols(Z);
      const solver = new Z.Solver();
      solver.add(domain(o, s.vars, opts.invariants !== false), Z.Not(claim.holds(o, g.rules, s.vars, fields)));
      const r = await solver.check();
      if (r === 'unknown') throw new Error(`z3 returned unknown for ${claim.id} (${g.label})`);
      const base = { claim: claim.id, level: 'header fields' as const, title: claim.title, statement: claim.statement, group: g.label, kernels: g.kernels };
      if (r === 'unsat') {
        results.push({ ...base, status: 'proved', ms: Date.now() - t0, counterexample: null, violation: null, realized: null });
        continue;
      }
      const a = readModel(Z, s, solver.model());
      const violation = claim.violated(g.rules, concreteVars(a), fields);
      if (violation === null) throw new Error(`internal: z3's counterexample for ${claim.id} (${g.label}) satisfies the claim concretely`);
      const realized = opts.realize === false ? null : await realize(Z, claim, g, { ...sf, fields }, opts.found === undefined ? null : opts.found);
      results.push({ ...base, status: 'counterexample', ms: Date.now() - t0, counterexample: toJson(a), violation, realized });
    }
  }
  const allKernels = groups.flatMap((g) => g.kernels);
  for (const bc of BYTE_CLAIMS.filter((c) => c.id !== 'fields=bytes' && ids.includes(c.id as ClaimId))) {
    const r = await proveByteClaim(Z, bc.id, sf.bytes, null, opts.invariants !== false);
    results.push(byteResult(bc, r.status, r.ms, r.counterexample, allKernels));
  }
  let fieldsAreBytes: ProofReport['fieldsAreBytes'] = null;
  if (sf.separateBytes && sf.fields) {
    const lifted = liftFields(sf.fields);
    fieldsAreBytes = (await proveByteClaim(Z, 'fields=bytes', lifted, sf.bytes, opts.invariants !== false)).status;
  }
  const claims: Partial<Record<ClaimId, 'proved' | 'counterexample'>> = {};
  const levels = {} as Record<ClaimId, Record<ProofLevel, LevelStatus>>;
  for (const id of ids) {
    // a claim with no query at any level (P4 of a fixup written over bytes) is not called proved
    if (results.some((r) => r.claim === id)) claims[id] = results.some((r) => r.claim === id && r.status === 'counterexample') ? 'counterexample' : 'proved';
    const at = (level: ProofLevel): LevelStatus => {
      const rs = results.filter((r) => r.claim === id && r.level === level);
      if (rs.length) return rs.some((r) => r.status === 'counterexample') ? 'counterexample' : 'proved';
      if (level === 'bytes') return BYTE_CLAIMS.some((c) => c.id === id) ? 'not run' : 'not stated';
      return fields ? 'not run' : 'not expressible';
    };
    levels[id] = { 'header fields': at('header fields'), bytes: at('bytes') };
  }
  const proved = Object.values(claims).every((c) => c === 'proved') && fieldsAreBytes !== 'counterexample';
  return { fixup: sf.name, description: sf.description, mutant: sf.mutant, results, claims, levels, fieldsAreBytes, proved };
}

function byteResult(bc: ByteClaimDef, status: 'proved' | 'counterexample', ms: number, cx: ByteCounterexample | null, kernels: string[]): ClaimResult {
  return {
    claim: bc.id as ClaimId,
    level: 'bytes',
    title: bc.title,
    statement: bc.statement,
    group: 'any kernel (the fixup over bytes)',
    kernels,
    status,
    ms,
    counterexample: cx ? cx.values : null,
    violation: cx ? cx.replay : null,
    realized: null,
  };
}

/** One line per claim and level: what was proved, at which level, and what is tested only. */
export function proofLevelsText(r: ProofReport): string[] {
  const out: string[] = [];
  for (const id of Object.keys(r.levels) as ClaimId[]) {
    const l = r.levels[id];
    out.push(`  ${id}: header fields ${l['header fields']}; bytes ${l.bytes}`);
    if (id === 'P1' && l.bytes === 'proved') out.push("      (the vCPU state after SET then equals the one without the fixup by construction, not by z3: setXsave computes it from the vCPU and the kernel's copy only)");
  }
  if (r.fieldsAreBytes) out.push(`  header-field fixup = byte function the model runs: ${r.fieldsAreBytes}`);
  out.push('  P2, P5: tested only (fuzz, exhaustive mode, kill matrix); not part of the proof');
  return out;
}

/** The report as text: each claim "proved" or its counterexample. */
export function formatProofReport(r: ProofReport): string {
  const lines = [`fixup ${r.fixup}: ${r.description}`];
  const levels: ProofLevel[] = ['header fields', 'bytes'];
  for (const [id, level] of (Object.keys(r.claims) as ClaimId[]).flatMap((c) => levels.map((l) => [c, l] as const))) {
    const rs = r.results.filter((x) => x.claim === id && x.level === level);
    if (!rs.length) continue;
    const ms = rs.reduce((t, x) => t + x.ms, 0);
    const bad = rs.filter((x) => x.status === 'counterexample');
    if (!bad.length) {
      const scope = level === 'bytes' ? 'every byte of every buffer, all 64-bit fixup inputs, any kernel' : `all 64-bit inputs, ${rs.length} kernel rule set(s), ${rs.flatMap((x) => x.kernels).length} kernels`;
      lines.push(`  ${id} proved (${level}): ${rs[0]!.title} — ${scope} (${ms} ms)`);
      continue;
    }
    lines.push(`  ${id} COUNTEREXAMPLE (${level}): ${rs[0]!.title}`);
    for (const b of bad) {
      lines.push(`    [${b.group}] ${b.violation}`);
      lines.push(`      ${Object.entries(b.counterexample!).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      if (b.realized) {
        const z = b.realized;
        lines.push(`      realised on ${z.kernel} (custom Intel host, CPUID leaves 0xD/7, reset XCR0): property ${id} says: ${z.propertyReason ?? 'holds (!)'}`);
        lines.push(`      case ${z.case.file ?? z.case.id}${z.replayFailsWithFixup ? ' — fails when replayed with this fixup' : ' — replay with this fixup does not show it (a single SET cannot)'}`);
        if (z.case.file && r.mutant) lines.push(`      replay: npx xsave-harness replay --fixup mutants/${r.mutant}.js ${z.case.file}`);
      } else if (b.level === 'bytes') {
        lines.push('      (replayed concretely on a 4096-byte buffer holding the bytes z3 chose; a byte-level counterexample is not written as a case)');
      } else if (b.status === 'counterexample') {
        lines.push('      (not realisable as a catalogue kernel + custom host + CPUID leaves with reset XCR0)');
      }
    }
    const ok = rs.filter((x) => x.status === 'proved').map((x) => x.group);
    if (ok.length) lines.push(`    proved for: ${ok.join('; ')}`);
  }
  lines.push(' what is proved, per claim and level:', ...proofLevelsText(r));
  return lines.join('\n');
}
