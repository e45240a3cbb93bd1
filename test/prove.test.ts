// The symbolic proof (z3): P1, P3 and P4 proved for the Proxmox patch's own logic, counterexamples
// for broken symbolic fixups that really violate the property in the concrete model, and the
// checks that keep the proof tied to the code the model runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { PVE_FIXUP, fixupContext, setXsave, Fixup, bytesEqual, kernelById, createVcpu, setCpuid, HOSTS, OFF, pveMaskXstateBv, readU32, CPUID_BITS, KERNELS } from '../model';
import { BIGINT_OPS, BitOps, FieldFixup, SET_REASONS, confidentialOutcome, fieldSteps, pveFixupLogic, pveMaskLogic, setXsaveDecision } from '../model/bitLogic';
import { fixupValues, liftFieldFixup, regionFields, snapshotFields } from '../model/xsaveFields';
import { setLimits } from '../model/setXsave';
import { IoctlCase, parseCaseText } from '../cases/caseFormat';
import { evaluateCase } from '../cases/evaluate';
import { buildIoctl, ioctlScenarioArb } from '../properties/arbitraries/scenarios';
import { P1, P3, P4 } from '../properties/properties';
import { loadMutants, mutantsDir } from '../mutants/killMatrix';
import { CLAIMS, ClaimId, proofVars } from '../proof/claims';
import { proveFixup, scenarioFor } from '../proof/prove';
import { PVE_SUBJECT, ProofSubject, proofSubject, proofSubjects } from '../proof/subjects';
import { byteFixupFn } from '../model/xsaveFields';
import { brokenFixup } from '../properties/brokenFixups';
import { releaseZ3, z3Context, z3Ops } from '../proof/z3';
import * as proveCmd from '../cli/commands/prove';

afterAll(async () => {
  await releaseZ3();
});

const PROPERTY = { P1, P3, P4 };

/** The catalogue entry `name` as the prover reads it. */
function symbolicFixup(name: string): ProofSubject {
  const s = proofSubject(name);
  if (!s || typeof s === 'string') throw new Error(`not provable: ${name}: ${s}`);
  return s;
}

describe('the Proxmox patch', () => {
  test('P1, P3 and P4 are proved for every 64-bit input on every kernel rule set', async () => {
    const r = await proveFixup(PVE_SUBJECT, { found: null });
    expect(r.claims).toEqual({ P1: 'proved', P3: 'proved', P4: 'proved' });
    // header fields: 4 rule sets for P1 and P4, one query for P3; every catalogue kernel is covered
    expect(r.results.filter((x) => x.level === 'header fields')).toHaveLength(9);
    // bytes: P1 and P3 over every byte, and the header-field patch is the byte function pveFixup runs
    expect(r.results.filter((x) => x.level === 'bytes').map((x) => [x.claim, x.status])).toEqual([
      ['P1', 'proved'],
      ['P3', 'proved'],
    ]);
    expect(r.fieldsAreBytes).toBe('proved');
    expect(r.levels).toEqual({
      P1: { 'header fields': 'proved', bytes: 'proved' },
      P3: { 'header fields': 'proved', bytes: 'proved' },
      P4: { 'header fields': 'proved', bytes: 'not stated' },
    });
    for (const id of ['P1', 'P4'] as ClaimId[]) expect(new Set(r.results.filter((x) => x.claim === id).flatMap((x) => x.kernels)).size).toBe(KERNELS.length);
  });

  test('… also without the invariant guest-supported ⊆ supported XCR0 (literally all values)', async () => {
    const r = await proveFixup(PVE_SUBJECT, { found: null, invariants: false });
    expect(r.proved).toBe(true);
  });

  test('the proof is not vacuous: the same queries find counterexamples for a fixup that clears bit 9 always', async () => {
    const r = await proveFixup(symbolicFixup('always-clear'), { found: null, realize: false });
    expect(r.claims.P1).toBe('counterexample');
  });
});

describe('broken symbolic fixups', () => {
  let found: string;
  beforeAll(() => {
    found = fs.mkdtempSync(path.join(os.tmpdir(), 'prove-found-'));
  });
  afterAll(() => fs.rmSync(found, { recursive: true, force: true }));

  test.each([
    ['decide-xcr0', 'P1'],
    ['toggle-pkru', 'P3'],
    ['also-clears-xcomp', 'P4'],
    ['clear-outside-guest-supported', 'P4'],
    ['mask-0x300', 'P3'],
  ] as Array<[string, ClaimId]>)('%s: the %s counterexample, evaluated concretely with the model, violates the property', async (name, claim) => {
    const sf = symbolicFixup(name);
    const r = await proveFixup(sf, { claims: [claim], found });
    expect(r.claims[claim]).toBe('counterexample');
    const realised = r.results.filter((x) => x.status === 'counterexample' && x.realized);
    expect(realised.length).toBeGreaterThan(0);
    const lifted: Fixup = { name, fn: liftFieldFixup(sf.fields!) };
    for (const res of realised) {
      const z = res.realized!;
      // the counterexample, read back as values, as a scenario for the property's own predicate
      const a = Object.fromEntries(Object.entries(z.assignment).map(([k, v]) => [k, typeof v === 'string' ? BigInt(v) : v])) as never;
      const scenario = scenarioFor(kernelById(z.kernel)!, a);
      expect(PROPERTY[claim].check(scenario, lifted)).not.toBeNull();
      expect(PROPERTY[claim].check(scenario, PVE_FIXUP)).toBeNull();
      expect(z.propertyReason).not.toBeNull();
      // the claim itself, evaluated with the bigint implementation of the same formulas
      const claimDef = CLAIMS.find((c) => c.id === claim)!;
      const rules = { set: scenario.kernel.set, confidential: scenario.kernel.confidential, xfdPremask: scenario.kernel.xfdPremask };
      expect(claimDef.holds(BIGINT_OPS, rules, proofVars<bigint, boolean>(a), sf.fields!)).toBe(false);
      // the case file: written, parses, passes with the patch, fails with the broken fixup
      expect(z.case.file).not.toBeNull();
      const c = parseCaseText(fs.readFileSync(z.case.file!, 'utf8'), z.case.file!) as IoctlCase;
      expect(c.kind).toBe('ioctl');
      expect('xstateBv' in c.xsave).toBe(true); // sparse form
      expect(evaluateCase(c).mismatches).toEqual([]);
      expect(z.replayPassesWithPve).toBe(true);
      expect(evaluateCase(c, lifted).mismatches.length).toBeGreaterThan(0);
    }
  });

  test('decide-host-supported clears less than the patch: P1, P3 and P4 are proved for it (only P2 catches it)', async () => {
    const r = await proveFixup(symbolicFixup('decide-host-supported'), { found: null });
    expect(r.proved).toBe(true);
  });

  test('clear-when-confidential (argued equivalent in the catalogue) is proved to satisfy P1, P3 and P4', async () => {
    const r = await proveFixup(symbolicFixup('clear-when-confidential'), { found: null });
    expect(r.proved).toBe(true);
  });
});

describe('the proof checks the code the model runs', () => {
  const scenarios = fc.sample(
    fc.tuple(ioctlScenarioArb(['valid', 'leaked', 'random']), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.nat({ max: 3 })),
    { seed: 11, numRuns: 1500 },
  );

  test('pveFixup is bitLogic.ts pveFixupLogic on the buffer', () => {
    for (const [s] of scenarios) {
      const b = buildIoctl(s);
      const ctx = fixupContext(b.vcpu);
      const out = snapshotFields(regionFields(b.region));
      const bytes = b.region.slice();
      byteFixupFn(PVE_SUBJECT.bytes)(ctx, bytes); // what the byte-level proof runs
      const expected = pveFixupLogic(BIGINT_OPS, fixupValues(ctx), out);
      const r = b.region.slice();
      PVE_FIXUP.fn(ctx, r);
      expect(snapshotFields(regionFields(r))).toEqual(expected);
      const lifted = b.region.slice();
      liftFieldFixup(pveFixupLogic)(ctx, lifted);
      expect(bytesEqual(r, lifted)).toBe(true);
      expect(bytesEqual(r, bytes)).toBe(true);
    }
  });

  // setXsave and the prover run the same composition (setXsaveDecision); what differs is its
  // steps: bytes and a plug-in (setXsave.ts KernelCopy) or header values (fieldSteps). This checks the two sets of steps agree.
  test("the prover's steps (header values) agree with setXsave's (bytes) on random buffers, XFD values and fixups", () => {
    const fixups = [null, PVE_SUBJECT, symbolicFixup('also-clears-xcomp'), symbolicFixup('toggle-pkru')];
    for (const [s, xfd, which] of scenarios) {
      const b = buildIoctl(s);
      b.vcpu.xfd = xfd & (s.bvBits | (1n << 18n)); // overlapping XSTATE_BV often
      const sf = fixups[which]!;
      const concrete = setXsave(b.vcpu, b.region, sf ? { name: sf.name, fn: liftFieldFixup(sf.fields!) } : null, { keepKernelCopy: true });
      const k = b.vcpu.kernel;
      const d = setXsaveDecision(
        BIGINT_OPS,
        { set: k.set, confidential: k.confidential, xfdPremask: k.xfdPremask },
        { ...setLimits(b.vcpu), confidential: b.vcpu.confidential, xfd: b.vcpu.xfd },
        snapshotFields(regionFields(b.region)),
        fieldSteps(BIGINT_OPS, fixupValues(fixupContext(b.vcpu)), sf ? sf.fields : null),
      );
      const out = d.outcome;
      expect({ rejected: out.rejected, ignored: out.ignored, reason: SET_REASONS.find((x) => out.reasonIs[x]) ?? null }).toEqual({
        rejected: concrete.rc !== 0,
        ignored: concrete.ignored,
        reason: concrete.reason,
      });
      if (!b.vcpu.confidential) expect(d.copy).toEqual(snapshotFields(regionFields(concrete.kernelCopy!)));
    }
  });

  test('each plug-in file mutants/NAME.js, loaded as a user loads it, is byte-for-byte the byte function the prover reads', async () => {
    const files = new Map((await loadMutants(mutantsDir())).map((m) => [m.name, m]));
    const subjects = proofSubjects().filter((x) => x.mutant);
    expect(subjects.length).toBeGreaterThanOrEqual(18);
    for (const sf of subjects) {
      const js = files.get(sf.mutant!);
      expect(js).toBeDefined();
      const bytes = byteFixupFn(sf.bytes);
      for (const [s] of scenarios.slice(0, 300)) {
        const b = buildIoctl(s);
        const ctx = fixupContext(b.vcpu);
        const x = b.region.slice();
        const y = b.region.slice();
        bytes(ctx, x);
        js!.fixup.fn(ctx, y);
        if (!bytesEqual(x, y)) throw new Error(`${sf.name} differs from mutants/${sf.mutant}.js on ${JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`);
      }
    }
  });
});

describe('byte-level proof: negative controls', () => {
  test('zero-pkru-area changes only bit 9 as far as header fields go, but the byte-level P3 refutes it and names the PKRU bytes', async () => {
    const r = await proveFixup(symbolicFixup('zero-pkru-area'), { found: null, claims: ['P3'] });
    expect(r.levels.P3).toEqual({ 'header fields': 'not expressible', bytes: 'counterexample' });
    const res = r.results.find((x) => x.level === 'bytes')!;
    expect(res.status).toBe('counterexample');
    expect(Number(res.counterexample!['index'])).toBeGreaterThanOrEqual(0);
    // replayed concretely: the fixup zeroed a byte of the PKRU area (2688-2691, Intel offset)
    expect(res.violation).toMatch(/the fixup changed byte (51[23]|2688|2689|2690|2691): /);
    expect(res.violation).toMatch(/byte 26(88|89|90|91): 0x[0-9a-f]+ → 0x0/);
    expect(r.proved).toBe(false);
  });

  test('a byte function written apart from its header-field logic is caught by fields = bytes (the patch with a PKRU-area write)', async () => {
    const wrong: ProofSubject = { ...PVE_SUBJECT, name: 'pve-bytes-broken', bytes: (brokenFixup('zero-pkru-area').source as { logic: ProofSubject['bytes'] }).logic };
    const r = await proveFixup(wrong, { found: null, claims: ['P1'] });
    expect(r.fieldsAreBytes).toBe('counterexample');
    expect(r.proved).toBe(false);
  });

  test('P1 over bytes refutes always-clear, and zero-pkru-area-always (which keeps XSTATE_BV) only over bytes', async () => {
    expect((await proveFixup(symbolicFixup('always-clear'), { found: null, realize: false, claims: ['P1'] })).levels.P1).toEqual({ 'header fields': 'counterexample', bytes: 'counterexample' });
    const z = await proveFixup(symbolicFixup('zero-pkru-area-always'), { found: null, claims: ['P1', 'P4'] });
    expect(z.levels.P1).toEqual({ 'header fields': 'not expressible', bytes: 'counterexample' });
    // no query for P4 at any level: not called proved
    expect(z.claims.P4).toBeUndefined();
    expect(z.levels.P4).toEqual({ 'header fields': 'not expressible', bytes: 'not stated' });
  });

  test('always-writes (argued equivalent) is proved equal to the patch byte for byte: P1 and P3 over bytes', async () => {
    const r = await proveFixup(symbolicFixup('always-writes'), { found: null, claims: ['P1', 'P3'] });
    expect(r.levels.P1.bytes).toBe('proved');
    expect(r.levels.P3.bytes).toBe('proved');
  });
});

describe('the shared bit-level pieces', () => {
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const triples = fc.sample(fc.tuple(u64, u64, u64, fc.boolean(), fc.boolean()), { seed: 5, numRuns: 60 });

  test('the bigint and the z3 implementations of BitOps agree on every operation', async () => {
    const Z = await z3Context();
    const z = z3Ops(Z);
    const solver = new Z.Solver();
    expect(await solver.check()).toBe('sat');
    const model = solver.model();
    const zv = (e: unknown): bigint => (model.eval(e as never, true) as unknown as { value(): bigint }).value();
    const zb = (e: unknown): boolean => Z.isTrue(model.eval(e as never, true));
    for (const [a, b, c, p, q] of triples) {
      const ops = <V, B>(o: BitOps<V, B>) => {
        const [x, y, w] = [o.const(a), o.const(b), o.const(c)];
        return {
          v: [o.and(x, y), o.or(x, y), o.xor(x, y), o.not(x), o.ite(o.bool(p), x, y), o.const(-1n), pveMaskLogic(o, y, x), o.ite(o.isZero(o.and(x, w)), y, w)],
          b: [o.eq(x, y), o.eq(x, x), o.isZero(o.and(x, o.not(x))), o.isZero(x), o.band(o.bool(p), o.bool(q)), o.bor(o.bool(p), o.bool(q)), o.bnot(o.bool(p)), o.biff(o.bool(p), o.bool(q))],
        };
      };
      const concrete = ops(BIGINT_OPS);
      const symbolic = ops(z);
      expect(symbolic.v.map(zv)).toEqual(concrete.v);
      expect(symbolic.b.map(zb)).toEqual(concrete.b);
    }
  });

  test('pveMaskXstateBv (the exported decision) is pveMaskLogic: bit 9 cleared only when guest-supported lacks PKRU', () => {
    expect(pveMaskXstateBv(0x7n, 0x203n)).toBe(0x3n);
    expect(pveMaskXstateBv(0x207n, 0x203n)).toBe(0x203n);
    expect(pveMaskXstateBv(0x0n, 0xffffffffffffffffn)).toBe(0xfffffffffffffdffn);
    for (const [a, b] of triples) expect(pveMaskXstateBv(a, b)).toBe(pveMaskLogic(BIGINT_OPS, a, b));
  });

  test('confidential vCPUs: SET is ignored before 6.12 and refused with protected-state from 6.12', () => {
    expect(confidentialOutcome('ignore')).toEqual({ reason: null, ignored: true });
    expect(confidentialOutcome('einval')).toEqual({ reason: 'protected-state', ignored: false });
    const region = new Uint8Array(4096);
    const old = setXsave(createVcpu(kernelById('linux-6.6')!, HOSTS['zen4']!, { confidential: true }), region, PVE_FIXUP);
    expect([old.rc, old.reason, old.ignored, old.fixupFired]).toEqual([0, null, true, false]);
    const now = setXsave(createVcpu(kernelById('linux-6.12')!, HOSTS['zen4']!, { confidential: true }), region, PVE_FIXUP);
    expect([now.rc, now.reason, now.ignored]).toEqual(['EINVAL', 'protected-state', false]);
  });

  test('a fixup over values, lifted to bytes, writes back exactly the fields it changed', () => {
    const everything: FieldFixup = (o, _ctx, f) => ({ xstateBv: o.const(0x3n), xcompBv: o.const(0x8000000000000000n), mxcsr: o.const(0x1f80n), headerReservedNonZero: o.bnot(f.headerReservedNonZero) });
    const vcpu = createVcpu(kernelById('linux-6.6')!, HOSTS['zen4']!);
    const r = new Uint8Array(4096).fill(0xaa);
    liftFieldFixup(everything)(fixupContext(vcpu), r);
    expect(snapshotFields(regionFields(r))).toEqual({ xstateBv: 0x3n, xcompBv: 0x8000000000000000n, mxcsr: 0x1f80n, headerReservedNonZero: false });
    expect(r.subarray(OFF.HEADER_RESERVED, OFF.EXTENDED).every((x) => x === 0)).toBe(true);
    expect(r[OFF.MXCSR - 1]).toBe(0xaa);
    expect(r[OFF.EXTENDED]).toBe(0xaa);
    liftFieldFixup(everything)(fixupContext(vcpu), r); // reserved bytes zero → non-zero: byte 528 = 1
    expect(r[OFF.HEADER_RESERVED]).toBe(1);
    expect(readU32(r, OFF.MXCSR)).toBe(0x1f80);
    const same = new Uint8Array(4096).fill(0x55);
    liftFieldFixup((_o, _c, f) => f)(fixupContext(vcpu), same);
    expect(same.every((x) => x === 0x55)).toBe(true);
  });

  test("what a fixup sees: fixupContext copies the vCPU's CPUID, and cpuidPku reads CPUID.7.0:ECX.PKU", () => {
    const vcpu = createVcpu(kernelById('linux-6.6')!, HOSTS['zen4']!);
    expect(fixupValues(fixupContext(vcpu)).cpuidPku).toBe(false); // CPUID never set
    setCpuid(vcpu, [
      { leaf: 0xd, subleaf: 0, eax: 0x207, ebx: 0, ecx: 0, edx: 0 },
      { leaf: 7, subleaf: 0, eax: 0, ebx: 0, ecx: CPUID_BITS.PKU, edx: 0 },
    ]);
    const ctx = fixupContext(vcpu);
    expect(ctx.cpuid).toEqual(vcpu.cpuid);
    // a copy (made on first access, then the same one): a plug-in cannot edit the vCPU through it
    expect(ctx.cpuid[0]).not.toBe(vcpu.cpuid![0]);
    expect(ctx.cpuid).toBe(ctx.cpuid);
    ctx.cpuid[0]!.eax = 0;
    ctx.cpuid.push({ leaf: 1, subleaf: 0, eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect(vcpu.cpuid![0]!.eax).toBe(0x207);
    expect(vcpu.cpuid).toHaveLength(2);
    expect(fixupContext(vcpu).cpuid).toEqual(vcpu.cpuid);
    expect(fixupValues(ctx)).toMatchObject({ guestSupportedXcr0: 0x207n, hostSupportedXcr0: vcpu.supportedXcr0, xcr0: 1n, confidential: false, cpuidPku: true });
    setCpuid(vcpu, [{ leaf: 7, subleaf: 0, eax: 0, ebx: 0, ecx: CPUID_BITS.OSPKE, edx: 0 }]);
    expect(fixupValues(fixupContext(vcpu)).cpuidPku).toBe(false);
  });
});

describe('`prove` command', () => {
  test('prints each claim as proved and exits 0 for the patch; exits 1 with a counterexample for a broken fixup', async () => {
    const out: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    try {
      expect(await proveCmd.run(['--no-write'])).toBe(0);
      expect(out.join('\n')).toMatch(/P1 proved \(header fields\)[\s\S]*P1 proved \(bytes\)[\s\S]*P3 proved \(header fields\)[\s\S]*P3 proved \(bytes\)[\s\S]*P4 proved \(header fields\)/);
      // what is proved, per level, and what is tested only
      expect(out.join('\n')).toContain('P4: header fields proved; bytes not stated');
      expect(out.join('\n')).toContain('P2, P5: tested only');
      out.length = 0;
      expect(await proveCmd.run(['--json', '--no-write', '--mutant', 'toggle-pkru', '--claims', 'P3'])).toBe(1);
      const j = JSON.parse(out.join('\n'));
      expect(j.claims).toEqual({ P3: 'counterexample' });
      expect(j.results[0].violation).toMatch(/idempotent/);
    } finally {
      log.mockRestore();
    }
  });

  test('--fixup is a usage error: a .js plug-in cannot be proved', async () => {
    await expect(proveCmd.run(['--fixup', 'mutants/toggle-pkru.js'])).rejects.toThrow(/cannot read/);
  });

  test('a catalogue entry written as a plain byte function is tested only: --mutant says so', async () => {
    await expect(proveCmd.run(['--mutant', 'number-arithmetic'])).rejects.toThrow(/tested only/);
  });

  test('a byte-level counterexample is printed with the byte that changed, and exits 1', async () => {
    const out: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    try {
      expect(await proveCmd.run(['--no-write', '--mutant', 'zero-pkru-area', '--claims', 'P3'])).toBe(1);
      const text = out.join('\n');
      expect(text).toContain('P3 COUNTEREXAMPLE (bytes)');
      expect(text).toMatch(/byte 26(88|89|90|91): 0x[0-9a-f]+ → 0x0/);
      expect(text).toContain('P3: header fields not expressible; bytes counterexample');
    } finally {
      log.mockRestore();
    }
  });
});
