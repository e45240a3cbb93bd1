import {
  CaseResult,
  CaseSpec,
  FrameSplitter,
  GUEST,
  LIMITS,
  ProtocolError,
  Reply,
  decodeReply,
  decodeRequest,
  encodeCases,
  encodePing,
  encodeProbe,
  encodeReply,
  frame,
} from './protocol';
import { makeRegion, readFcw, readMxcsr, readXstateBv, xmmSeq } from './region';

const region = makeRegion(4096, { xstateBv: 0x7n, fcw: 0x027f, mxcsr: 0x1fa0, xmm: { 0: xmmSeq(1), 15: xmmSeq(0x80) } });
const region2 = makeRegion(4096, { xstateBv: 0x203n });

const cases: CaseSpec[] = [
  {
    policy: 'abort',
    timeoutMs: 150,
    guestRip: GUEST.codeGpa,
    cpuid: [
      { leaf: 0xd, subleaf: 0, flags: 1, eax: 0xe7, ebx: 0x980, ecx: 0x980, edx: 0 },
      { leaf: 1, subleaf: 0, flags: 0, eax: 0xa10f11, ebx: 0, ecx: 0x04000000, edx: 0x078bfbff },
    ],
    steps: [
      { op: 'setCpuid2' },
      { op: 'setSregs', osfxsr: true },
      { op: 'setRegs' },
      { op: 'setXsave', region },
      { op: 'setXcrs', xcr0: 0x7n },
      { op: 'setXsave', region: region2 },
      { op: 'setXsave', region },
      { op: 'setXcrs', xcr0: 0xffffffffffffffffn },
      { op: 'getXsave', ioctl: 'xsave2' },
      { op: 'getXcrs' },
      { op: 'run' },
      { op: 'setCpuid2Host' },
    ],
  },
  { policy: 'continue', timeoutMs: 0, guestRip: GUEST.spinGpa, cpuid: [], steps: [] },
];

const fxsave = new Uint8Array(512).fill(GUEST.fillByte);
fxsave.set([0x7f, 0x02], 0);

const caseResults: CaseResult[] = [
  {
    setupErrno: 0,
    aborted: false,
    stoppedAt: 1,
    steps: [
      { op: 'setCpuid2', skipped: false, errno: 0 },
      { op: 'setXsave', skipped: false, errno: 22 },
      { op: 'getXsave', skipped: false, errno: 0, xsave: region },
      { op: 'getXcrs', skipped: false, errno: 0, xcrs: [{ xcr: 0, value: 0xe7n }], xcr0: 0xe7n },
      {
        op: 'run',
        skipped: false,
        errno: 0,
        run: {
          outcome: 'hlt',
          checkpoint: true,
          started: true,
          runErrno: 0,
          elapsedUs: 123,
          exits: [
            { reason: 2, detail: 0x100101 },
            { reason: 5, detail: 0 },
          ],
          fxsave,
        },
      },
      { op: 'setXcrs', skipped: true, errno: 0 },
    ],
  },
  { setupErrno: 24, aborted: true, stoppedAt: null, steps: [{ op: 'run', skipped: true, errno: 0 }] },
];

describe('kvm protocol: requests', () => {
  it('round-trips a CASES request (values, dedup of regions and XCR0 values, defaults)', () => {
    const body = encodeCases(42, cases);
    const d = decodeRequest(body);
    expect(d.op).toBe(2);
    expect(d.seq).toBe(42);
    expect(d.cases).toHaveLength(2);
    const c0 = d.cases![0];
    expect(c0.policy).toBe('abort');
    expect(c0.timeoutMs).toBe(150);
    expect(c0.cpuid).toEqual(cases[0].cpuid);
    expect(c0.steps).toEqual(cases[0].steps);
    // Two distinct regions and two distinct XCR0 values: the body holds each once.
    expect(body.length).toBe(16 + (20 + 12 * 2 + 2 * 8 + 2 * 28 + 2 * 4096) + 20);
    expect(d.cases![1]).toEqual({ policy: 'continue', timeoutMs: 0, guestRip: GUEST.spinGpa, cpuid: [], steps: [] });
  });

  it('fills CPUID flags for indexed leaves when omitted', () => {
    const d = decodeRequest(
      encodeCases(1, [{ cpuid: [{ leaf: 0xd, subleaf: 1, eax: 1, ebx: 2, ecx: 3, edx: 4 }, { leaf: 1, subleaf: 0, eax: 0, ebx: 0, ecx: 0, edx: 0 }], steps: [{ op: 'setCpuid2' }] }]),
    );
    expect(d.cases![0].cpuid!.map((e) => e.flags)).toEqual([1, 0]);
  });

  it('ping and probe requests have no payload', () => {
    expect(encodePing(7)).toHaveLength(16);
    expect(decodeRequest(encodeProbe(9))).toEqual({ op: 1, seq: 9 });
  });

  it('refuses to encode requests beyond the limits', () => {
    const many = Array.from({ length: LIMITS.maxSteps + 1 }, () => ({ op: 'getXcrs' as const }));
    expect(() => encodeCases(1, [{ steps: many }])).toThrow(ProtocolError);
    expect(() => encodeCases(1, [{ steps: [], timeoutMs: LIMITS.maxTimeoutMs + 1 }])).toThrow(/timeoutMs/);
    expect(() => encodeCases(1, [{ steps: [{ op: 'setXsave', region: new Uint8Array(4096) }, { op: 'setXsave', region: new Uint8Array(8192) }] }])).toThrow(
      /differ in length/,
    );
    expect(() => encodeCases(1, [{ steps: [], guestRip: 0x10000 }])).toThrow(/guestRip/);
  });

  it('decodeRequest rejects truncated and inconsistent bodies', () => {
    const body = encodeCases(3, cases);
    expect(() => decodeRequest(body.subarray(0, 10))).toThrow(/truncated request/);
    expect(() => decodeRequest(body.subarray(0, body.length - 1))).toThrow(ProtocolError);
    const bad = body.slice();
    bad[0] ^= 1;
    expect(() => decodeRequest(bad)).toThrow(/magic/);
  });
});

describe('kvm protocol: replies', () => {
  const replies: Reply[] = [
    { kind: 'ping', seq: 5, pid: 1234, version: 1 },
    { kind: 'error', op: 2, seq: 6, status: 4, statusName: 'MALFORMED', message: 'case 0: bad' },
    {
      kind: 'probe',
      seq: 7,
      probe: {
        apiVersion: 12,
        capXsave2: 4096,
        capXcrs: 1,
        capMaxVcpus: 1024,
        xsaveSize: 4096,
        hostMxcsrMaskRaw: 0x2ffff,
        hostProcessXcr0: 0xe7n,
        release: '6.18.44-test',
        supportedCpuid: [{ leaf: 0xd, subleaf: 0, flags: 1, eax: 0xe7, ebx: 0x980, ecx: 0x980, edx: 0 }],
      },
    },
    { kind: 'cases', seq: 8, cases: caseResults },
  ];

  it.each(replies.map((r) => [r.kind, r] as const))('round-trips a %s reply', (_k, r) => {
    expect(decodeReply(encodeReply(r))).toEqual(r);
  });

  it('decoded XSAVE and FXSAVE bytes are usable with the region readers', () => {
    const d = decodeReply(encodeReply(replies[3]));
    if (d.kind !== 'cases') throw new Error('kind');
    const x = d.cases[0].steps[2].xsave!;
    expect([readFcw(x), readMxcsr(x), readXstateBv(x)]).toEqual([0x027f, 0x1fa0, 0x7n]);
    expect(readFcw(d.cases[0].steps[4].run!.fxsave)).toBe(0x027f);
  });

  it('every truncation of a reply gives a clear ProtocolError, never a wrong result', () => {
    for (const r of replies) {
      const body = encodeReply(r);
      for (let n = 0; n < body.length; n += n < 64 ? 1 : 97) {
        let err: unknown;
        try {
          decodeReply(body.subarray(0, n));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(ProtocolError);
        expect((err as Error).message).toMatch(/truncated|length|bytes|claims|want/);
      }
    }
  });

  it('rejects corrupt replies: magic, version, unknown op, bad step op, bad outcome, trailing bytes', () => {
    const body = encodeReply(replies[3]);
    const corrupt = (at: number, v: number): Uint8Array => {
      const b = body.slice();
      b[at] = v;
      return b;
    };
    expect(() => decodeReply(corrupt(0, 0))).toThrow(/magic/);
    expect(() => decodeReply(corrupt(4, 9))).toThrow(/version/);
    expect(() => decodeReply(corrupt(6, 77))).toThrow(/unknown op/);
    // First case: header at 20, its first step op at 20 + 12.
    expect(() => decodeReply(corrupt(32, 99))).toThrow(/unknown op 99/);
    const withTrailer = new Uint8Array(body.length + 1);
    withTrailer.set(body);
    expect(() => decodeReply(withTrailer)).toThrow(/trailing/);
    // A case length larger than the reply.
    const big = body.slice();
    new DataView(big.buffer).setUint32(20, 0x7fffffff, true);
    expect(() => decodeReply(big)).toThrow(/bad length/);
    // Run outcome byte of the run step.
    const runAt = RUN_DATA_AT;
    expect(() => decodeReply(corrupt(runAt, 9))).toThrow(/run outcome/);
  });

  it('FrameSplitter reassembles frames split at any byte and rejects absurd lengths', () => {
    const frames = replies.map((r) => frame(encodeReply(r)));
    const stream = Buffer.concat(frames);
    for (const step of [1, 3, 7, 1000]) {
      const fs = new FrameSplitter();
      const got: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += step) got.push(...fs.push(stream.subarray(i, i + step)));
      expect(got.map((b) => decodeReply(b))).toEqual(replies);
      expect(fs.pending()).toBe(0);
    }
    const fs = new FrameSplitter(1000);
    expect(() => fs.push(Uint8Array.of(0xff, 0xff, 0xff, 0x7f))).toThrow(/exceeds/);
  });
});

/**
 * Offset of the run-result data (outcome byte) in the encoded cases reply above: reply header 20,
 * case header 12, steps setCpuid2 (12), setXsave (12), getXsave (12 + 4096), getXcrs (12 + 24),
 * then the run step header (12).
 */
const RUN_DATA_AT = 20 + 12 + 12 + 12 + (12 + 4096) + (12 + 24) + 12;
