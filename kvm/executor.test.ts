/**
 * Real-KVM tests of the executor and its driver: the ASan build on a small batch and malformed
 * input, kill -9 recovery, and guest runs showing what a guest sees after a restore.
 * Skipped (with the reason printed) when /dev/kvm or a C compiler is not available.
 */
import { defaultExecutorPath } from './available';
import { CasesError, ExecutorInfraError, ExecutorRequestError, XsaveExecutor } from './executor';
import { CaseSpec, CpuidEntry, GUEST, KVM_EXIT, Reply, encodeCases, frame } from './protocol';
import { makeRegion, readFcw, readMxcsr, readXmm, readXstateBv, xmmFill, xmmSeq } from './region';
import { kvmTestAvailability, restoreAndRun } from './testkit';

const avail = kvmTestAvailability('kvm/executor.test');
const itKvm = avail.ok ? it : it.skip;
const describeKvm = avail.ok ? describe : describe.skip;

const asanAvail = avail.ok ? kvmTestAvailability('kvm/executor.test (asan)', true) : avail;
const itAsan = asanAvail.ok ? it : it.skip;

/** A valid CASES body without guest runs (fast whatever a mutation does to it). */
function sampleBody(seq: number): Uint8Array {
  return encodeCases(seq, [
    {
      steps: [
        { op: 'setXsave', region: makeRegion(4096, { xstateBv: 0x3n, fcw: 0x027f }) },
        { op: 'getXsave' },
        { op: 'setXcrs', xcr0: 0x1n },
        { op: 'getXcrs' },
      ],
    },
  ]);
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function statusOf(r: { ok: true; value: Reply } | { ok: false; error: unknown }): string {
  if (r.ok) return 'OK';
  if (r.error instanceof ExecutorRequestError) return r.error.statusName;
  return `infra:${(r.error as Error).message}`;
}

describe('executor under ASan/UBSan', () => {
  itAsan('runs a batch, answers malformed messages with error statuses, and exits cleanly', async () => {
    const ex = new XsaveExecutor({
      binary: defaultExecutorPath(true),
      env: { ASAN_OPTIONS: 'detect_leaks=1:exitcode=66', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' },
    });
    try {
      const { pid } = await ex.ping();
      const probe = await ex.probe();
      expect(probe.xsaveSize).toBeGreaterThanOrEqual(4096);

      // A small good batch, including a guest run.
      const good = await ex.runCases([
        { steps: [{ op: 'setXsave', region: makeRegion(probe.xsaveSize, { fcw: 0x027f }) }, { op: 'getXsave' }, { op: 'getXcrs' }] },
        restoreAndRun({ cpuid: probe.supportedCpuid, region: makeRegion(probe.xsaveSize, { fcw: 0x027f }), policy: 'abort' }),
        { steps: [{ op: 'setCpuid2Host' }, { op: 'setCpuid2Host' }, { op: 'getXcrs' }] },
      ]);
      expect(readFcw(good[0].steps[1].xsave!)).toBe(0x027f);
      expect(good[1].steps.find((s) => s.op === 'run')!.run!.checkpoint).toBe(true);
      expect(good[2].steps.map((s) => s.errno)).toEqual([0, 0, 0]);

      const hdr = (magic: number, version: number, op: number, count: number, extra = new Uint8Array(0)): Uint8Array => {
        const b = new Uint8Array(16 + extra.length);
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        v.setUint32(0, magic, true);
        v.setUint16(4, version, true);
        v.setUint16(6, op, true);
        v.setUint32(8, 77, true);
        v.setUint32(12, count, true);
        b.set(extra, 16);
        return b;
      };
      const patched = (at: number, bytes: number[]): Uint8Array => {
        const b = sampleBody(78);
        b.set(bytes, at);
        return b;
      };
      const le16 = (v: number): number[] => [v & 0xff, v >> 8];
      const le32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
      // Body offsets: header 16; case: len 16, policy 20, n_steps 21, n_regions 22, n_xcr0 23,
      // n_cpuid 24, timeout 26, region_len 28, guest_rip 32, steps 36.
      const bad: Array<[string, Uint8Array, string]> = [
        ['body shorter than its header', frame(Uint8Array.of(1, 2, 3)), 'MALFORMED'],
        ['empty body', frame(new Uint8Array(0)), 'MALFORMED'],
        ['bad magic', frame(hdr(0x12345678, 1, 0, 0)), 'BAD_MAGIC'],
        ['bad version', frame(hdr(0x51585358, 2, 0, 0)), 'BAD_VERSION'],
        ['unknown op', frame(hdr(0x51585358, 1, 9, 0)), 'BAD_OP'],
        ['ping with payload', frame(hdr(0x51585358, 1, 0, 0, Uint8Array.of(1))), 'MALFORMED'],
        ['case count beyond the data', frame(hdr(0x51585358, 1, 2, 3)), 'MALFORMED'],
        ['case count beyond the limit', frame(hdr(0x51585358, 1, 2, 70000)), 'LIMIT'],
        ['case_len 0xffffffff', frame(patched(16, le32(0xffffffff))), 'MALFORMED'],
        ['case_len too small', frame(patched(16, le32(3))), 'MALFORMED'],
        ['n_cpuid 300', frame(patched(24, le16(300))), 'LIMIT'],
        ['timeout 60000 ms', frame(patched(26, le16(60000))), 'LIMIT'],
        ['n_steps larger than the record', frame(patched(21, [200])), 'MALFORMED'],
        ['region_len 100', frame(patched(28, le32(100))), 'MALFORMED'],
        ['region_len 1 GiB', frame(patched(28, le32(1 << 30))), 'LIMIT'],
        ['guest_rip outside guest memory', frame(patched(32, le32(0x20000))), 'MALFORMED'],
        ['unknown step op', frame(patched(36, [99, 0])), 'MALFORMED'],
        ['region index out of range', frame(patched(36, [3, 7])), 'MALFORMED'],
        ['policy 9', frame(patched(20, [9])), 'MALFORMED'],
        ['trailing bytes', frame(Uint8Array.from([...sampleBody(79), 0])), 'MALFORMED'],
      ];
      for (const [what, bytes, want] of bad) {
        const r = await ex.__rawRequest(bytes);
        expect([what, statusOf(r)]).toEqual([what, want]);
      }

      // Seeded random corruption of a valid request: every reply is OK or an error status.
      const rnd = rng(12345);
      const seen = new Set<string>();
      for (let i = 0; i < 150; i++) {
        const b = sampleBody(100 + i);
        const n = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < n; k++) b[Math.floor(rnd() * Math.min(b.length, 64 + 600 * rnd()))] = Math.floor(rnd() * 256);
        const cut = rnd() < 0.3 ? Math.floor(rnd() * b.length) : b.length;
        const st = statusOf(await ex.__rawRequest(frame(b.subarray(0, cut))));
        expect(st).not.toMatch(/^infra/);
        seen.add(st);
      }
      expect(seen.size).toBeGreaterThan(1);

      // Still the same process, still working.
      expect((await ex.ping()).pid).toBe(pid);
      expect((await ex.runCases([{ steps: [{ op: 'getXcrs' }] }]))[0].steps[0].xcr0).toBe(0x1n);

      // A frame length beyond the maximum cannot be resynchronised: error reply, then exit 3.
      const huge = new Uint8Array(4);
      new DataView(huge.buffer, huge.byteOffset, huge.byteLength).setUint32(0, 0xfffffff0, true);
      expect(statusOf(await ex.__rawRequest(huge))).toBe('BAD_FRAME');
      await new Promise((r) => setTimeout(r, 200));
      expect(ex.pid).toBeUndefined();
      expect(ex.stderr).not.toMatch(/AddressSanitizer|runtime error|LeakSanitizer/);
      // The driver restarts it on the next request; then a clean shutdown (exit 0, no leaks).
      expect((await ex.ping()).pid).not.toBe(pid);
      expect(ex.restarts).toBe(1);
      await ex.runCases([{ steps: [{ op: 'getXsave' }] }]);
      const stderrBefore = ex.stderr;
      const exit = await ex.close(10_000);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(stderrBefore).not.toMatch(/AddressSanitizer|runtime error|LeakSanitizer/);
    } finally {
      await ex.close();
    }
  }, 60_000);
});

describe('executor driver: crash recovery', () => {
  itKvm('kill -9 during a batch: typed infrastructure error, earlier chunks kept, executor restarted', async () => {
    const ex = new XsaveExecutor();
    try {
      const pid1 = (await ex.ping()).pid;
      const quick: CaseSpec = { steps: [{ op: 'getXcrs' }] };
      const spin: CaseSpec = { steps: [{ op: 'setSregs' }, { op: 'setRegs' }, { op: 'run' }], guestRip: GUEST.spinGpa, timeoutMs: 5000 };
      const t0 = Date.now();
      const out = await ex.__runCases([quick, quick, spin, quick], {
        chunkSize: 2,
        onChunk: (done) => {
          if (done === 2) setTimeout(() => ex.kill('SIGKILL'), 150);
        },
      });
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(out.ok).toBe(false);
      if (out.ok) return;
      expect(out.error).toBeInstanceOf(ExecutorInfraError);
      expect(out.error).toMatchObject({ kind: 'died', signal: 'SIGKILL' });
      expect(out.results).toHaveLength(2);
      expect(out.results.map((r) => r.steps[0].xcr0)).toEqual([0x1n, 0x1n]);

      // The throwing variant reports the same, carrying the partial results.
      const next = await ex.ping();
      expect(next.pid).not.toBe(pid1);
      expect(ex.restarts).toBe(1);
      const again = await ex.runCases([quick]);
      expect(again[0].steps[0].errno).toBe(0);

      const thrown = ex.runCases([quick, spin], {
        chunkSize: 1,
        onChunk: (done) => {
          if (done === 1) setTimeout(() => ex.kill('SIGKILL'), 100);
        },
      });
      await expect(thrown).rejects.toBeInstanceOf(CasesError);
      await thrown.catch((e: CasesError) => {
        expect(e.partial).toHaveLength(1);
        expect(e.error).toBeInstanceOf(ExecutorInfraError);
      });
      expect(ex.restarts).toBe(1); // restarted lazily, on the next request
      await ex.ping();
      expect(ex.restarts).toBe(2);
    } finally {
      await ex.close();
    }
  }, 20_000);

  itKvm('a hung executor (SIGSTOP) hits the watchdog: typed timeout error, killed, restarted', async () => {
    const ex = new XsaveExecutor({ baseTimeoutMs: 300 });
    try {
      const pid1 = (await ex.ping()).pid;
      ex.kill('SIGSTOP');
      const r = await ex.__ping();
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ kind: 'timeout' });
      const again = await ex.ping();
      expect(again.pid).not.toBe(pid1);
      expect(ex.restarts).toBe(1);
    } finally {
      await ex.close();
    }
  });

  itKvm('a missing binary is a typed spawn error', async () => {
    const ex = new XsaveExecutor({ binary: '/nonexistent/xsave-exec' });
    const r = await ex.__ping();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'spawn' });
    await ex.close();
  });
});

describeKvm('guest runs: what the guest sees after a restore', () => {
  let ex: XsaveExecutor;
  let cpuid: CpuidEntry[];
  let size: number;
  beforeAll(async () => {
    ex = new XsaveExecutor();
    const p = await ex.probe();
    cpuid = p.supportedCpuid;
    size = p.xsaveSize;
  });
  afterAll(async () => {
    await ex.close();
  });

  const xmm = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [i, xmmSeq(0x10 * (i + 1))]));

  it('a successful SET_XSAVE restore: the guest FXSAVE shows the FCW, MXCSR and XMM0-7 that were set', async () => {
    const region = makeRegion(size, { xstateBv: 0x3n, fcw: 0x027f, mxcsr: 0x9fc0, xmm });
    const [r] = await ex.runCases([restoreAndRun({ cpuid, region, xcr0: 0x3n, policy: 'abort' })]);
    expect(r.stoppedAt).toBeNull();
    expect(r.steps.every((s) => s.errno === 0 && !s.skipped)).toBe(true);
    const run = r.steps.find((s) => s.op === 'run')!.run!;
    expect(run.outcome).toBe('hlt');
    expect(run.checkpoint).toBe(true);
    expect(run.exits.map((e) => e.reason)).toEqual([KVM_EXIT.IO, KVM_EXIT.IO, KVM_EXIT.HLT]);
    expect(readFcw(run.fxsave)).toBe(0x027f);
    expect(readMxcsr(run.fxsave)).toBe(0x9fc0);
    for (let i = 0; i < 8; i++) expect(Buffer.from(readXmm(run.fxsave, i))).toEqual(Buffer.from(xmm[i]));
  });

  // XSTATE_BV bit 9 (PKRU) is outside this host's supported set, so SET_XSAVE fails with EINVAL.
  const pkruRegion = (): Uint8Array => makeRegion(size, { xstateBv: 0x203n, fcw: 0x027f, mxcsr: 0x9fc0, xmm });

  it('a failed SET_XSAVE under the "ignore" policy (QEMU < 8.2): the guest runs with the reset FPU state', async () => {
    const [r] = await ex.runCases([restoreAndRun({ cpuid, region: pkruRegion(), xcr0: 0x3n, policy: 'ignore' })]);
    const idx = r.steps.findIndex((s) => s.op === 'setXsave');
    expect(r.steps[idx].errno).toBe(22);
    expect(r.stoppedAt).toBe(idx);
    expect(r.steps[idx + 1]).toMatchObject({ op: 'setXcrs', skipped: true });
    expect(r.aborted).toBe(false);
    const run = r.steps.find((s) => s.op === 'run')!.run!;
    expect(run.checkpoint).toBe(true);
    // Not the intended state: reset values instead.
    expect(readFcw(run.fxsave)).toBe(0x037f);
    expect(readMxcsr(run.fxsave)).toBe(0x1f80);
    for (let i = 0; i < 8; i++) expect(Buffer.from(readXmm(run.fxsave, i))).toEqual(Buffer.alloc(16));
    // XCR0 was never restored either (the step after the failure was skipped).
    const after = r.steps[r.steps.length - 1].xsave!;
    expect(readXstateBv(after)).toBe(0n);
  });

  it('a failed SET_XSAVE under the "abort" policy (QEMU >= 8.2): the guest is not run', async () => {
    const [r] = await ex.runCases([restoreAndRun({ cpuid, region: pkruRegion(), xcr0: 0x3n, policy: 'abort' })]);
    expect(r.aborted).toBe(true);
    const run = r.steps.find((s) => s.op === 'run')!;
    expect(run.skipped).toBe(true);
    expect(run.run).toBeUndefined();
  });

  it('"ignore" with an earlier failure (CPUID refused) leaves sregs/regs unloaded: no checkpoint', async () => {
    const amx = cpuid.map((e) => (e.leaf === 0xd && e.subleaf === 0 ? { ...e, eax: e.eax | 0x60000 } : e));
    const [r] = await ex.runCases([restoreAndRun({ cpuid: amx, region: makeRegion(size, {}), policy: 'ignore', timeoutMs: 200 })]);
    expect(r.steps[0].errno).not.toBe(0);
    expect(r.stoppedAt).toBe(0);
    const run = r.steps.find((s) => s.op === 'run')!.run!;
    expect(run.started).toBe(false);
    expect(run.checkpoint).toBe(false);
  });

  it('a guest that never reaches its checkpoint is reported as a timeout, within its time limit', async () => {
    const t0 = Date.now();
    const [r] = await ex.runCases([
      { steps: [{ op: 'setSregs' }, { op: 'setRegs' }, { op: 'run' }], guestRip: GUEST.spinGpa, timeoutMs: 100 },
    ]);
    const run = r.steps[2].run!;
    expect(run.outcome).toBe('timeout');
    expect(run.checkpoint).toBe(false);
    expect(run.elapsedUs).toBeGreaterThanOrEqual(90_000);
    expect(Date.now() - t0).toBeLessThan(2000);
    // The guest did not write its FXSAVE area.
    expect(Buffer.from(run.fxsave)).toEqual(Buffer.alloc(512, GUEST.fillByte));
  });

  it('a batch larger than one VM holds (1024 vCPUs) recycles VMs transparently', async () => {
    const region = makeRegion(size, { xstateBv: 0x3n, fcw: 0x027f });
    const n = 1100;
    const res = await ex.runCases(
      Array.from({ length: n }, () => ({ steps: [{ op: 'setXsave', region }, { op: 'getXsave' }] }) as CaseSpec),
      { chunkSize: n },
    );
    expect(res).toHaveLength(n);
    expect(res.filter((r) => r.setupErrno !== 0 || r.steps.some((s) => s.errno !== 0))).toHaveLength(0);
    expect(res.every((r) => readFcw(r.steps[1].xsave!) === 0x027f)).toBe(true);
  });

  it('SET_CPUID2_HOST sets the executor\'s own KVM_GET_SUPPORTED_CPUID table', async () => {
    // A never-set vCPU masks GET to x87|SSE; after SET_CPUID2_HOST the kernel's guest-supported
    // XCR0 covers the host set (upstream: leaf 0xD.0 = host set; PVM: leaf 1 present).
    const region = makeRegion(size, { xstateBv: 0x7n, fcw: 0x027f });
    const [r] = await ex.runCases([{ steps: [{ op: 'setXsave', region }, { op: 'getXsave' }, { op: 'setCpuid2Host' }, { op: 'getXsave' }, { op: 'setXcrs', xcr0: 0x7n }] }]);
    expect(r.steps.map((s) => s.errno)).toEqual([0, 0, 0, 0, 0]);
    expect(readXstateBv(r.steps[1].xsave!)).toBe(0x3n);
    expect(readXstateBv(r.steps[3].xsave!)).toBe(0x7n);
  });

  it('SET then GET on one vCPU: GET_XSAVE and GET_XCRS reflect what was set', async () => {
    const region = makeRegion(size, { xstateBv: 0x3n, fcw: 0x027f, mxcsr: 0x1fa0, xmm: { 0: xmmFill(0x5a) } });
    const [r] = await ex.runCases([
      { cpuid, steps: [{ op: 'setCpuid2' }, { op: 'setXsave', region }, { op: 'setXcrs', xcr0: 0x7n }, { op: 'getXsave' }, { op: 'getXcrs' }] },
    ]);
    const g = r.steps[3].xsave!;
    expect([readXstateBv(g), readFcw(g), readMxcsr(g)]).toEqual([0x3n, 0x027f, 0x1fa0]);
    expect(Buffer.from(readXmm(g, 0))).toEqual(Buffer.alloc(16, 0x5a));
    expect(r.steps[4].xcr0).toBe(0x7n);
  });
});
