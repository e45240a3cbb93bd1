// The regression corpus: every case in corpus/ (except the machine-written corpus/found/) must
// replay with status pass against the model, and the corpus must cover what the issue asks for.
// Coverage is computed from the parsed cases and the model's catalogues, not from fixed counts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatResult, replayFile } from '../cases/replay';
import { Case, HostRef, IoctlCase, MigrationCase, parseCaseText } from '../cases/caseFormat';
import {
  Host,
  KERNELS,
  KernelVariant,
  MASK,
  SetXsaveRejection,
  XFEATURE,
  CPUID_BITS,
  createVcpu,
  customHost,
  hostByName,
  kernelById,
  parseQemu,
  resolveCpuModel,
  setCpuid,
  slotOf,
} from '../model';

const CORPUS = path.resolve(__dirname, '..', 'corpus');
const FOUND = path.join(CORPUS, 'found');
// Cases for the running machine (kernel/host `this`): replayed by test/kvm-replay.test.ts.
const REAL_KVM = path.join(CORPUS, 'real-kvm');

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (p === FOUND || p === REAL_KVM) continue;
    if (fs.statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

const FILES = walk(CORPUS);
const rel = (f: string): string => path.relative(CORPUS, f);

// Files that do not parse are reported by their own replay test; coverage uses the rest.
const CASES: Case[] = [];
for (const f of FILES) {
  try {
    CASES.push(parseCaseText(fs.readFileSync(f, 'utf8'), f));
  } catch {
    /* reported by the per-file test */
  }
}
const IOCTL = CASES.filter((c): c is IoctlCase => c.kind === 'ioctl');
const MIGRATION = CASES.filter((c): c is MigrationCase => c.kind === 'migration');
// Cases with one target kernel and host (lifecycle stories, corpus/lifecycle/, have a cluster instead).
const TARGETED = CASES.filter((c): c is IoctlCase | MigrationCase => c.kind !== 'lifecycle');

function hostOf(ref: HostRef): Host {
  if ('supportedXcr0' in ref) return customHost(ref.supportedXcr0, ref.layout);
  const h = hostByName(ref.name);
  if (!h) throw new Error(`host "${ref.name}" is not in the catalogue`);
  return h;
}
function kernelOf(id: string): KernelVariant {
  const k = kernelById(id);
  if (!k) throw new Error(`kernel "${id}" is not in the catalogue`);
  return k;
}
const hostHasPku = (ref: HostRef): boolean => (hostOf(ref).xcr0 & MASK.PKRU) !== 0n;
const hostName = (ref: HostRef): string => ('name' in ref ? ref.name : 'custom');
const vmmAborts = (vmm: string): boolean => parseQemu(vmm)?.policy === 'abort';
const ids = (cs: Case[]): string => cs.map((c) => c.id).join(', ') || '(none)';

describe('every corpus case replays with status pass', () => {
  test('the corpus folder holds case files', () => {
    expect(FILES.length).toBeGreaterThan(0);
  });
  test.each(FILES.map((f) => [rel(f), f] as const))('%s', (_name, file) => {
    const r = replayFile(file);
    expect({ status: r.status, detail: r.status === 'pass' ? '' : formatResult(r) }).toEqual({ status: 'pass', detail: '' });
  });
});

describe('corpus hygiene', () => {
  test('every file parses', () => {
    expect(CASES.length).toBe(FILES.length);
  });

  test('ids are unique', () => {
    const seen = new Map<string, string>();
    const dups: string[] = [];
    for (const c of CASES) {
      const other = seen.get(c.id);
      if (other !== undefined) dups.push(`${c.id}: ${rel(other)} and ${rel(c.file)}`);
      seen.set(c.id, c.file);
    }
    expect(dups).toEqual([]);
  });

  test('each file is named after its id and carries a note citing its source', () => {
    const bad = CASES.filter(
      (c) =>
        path.basename(c.file) !== `${c.id}.json` ||
        !c.note ||
        !/§|[0-9a-f]{12}|real-kvm-here|cpu-data|CASE-FORMAT|\[[A-Z]/.test(c.note),
    );
    expect(bad.map((c) => rel(c.file))).toEqual([]);
  });

  test('the running kernel ("this") is not used: real-KVM cases live elsewhere', () => {
    const uses = TARGETED.filter((c) => {
      const refs: Array<string | HostRef> = [c.target.kernel, c.target.host];
      if (c.kind === 'migration') refs.push(c.source.kernel, c.source.host);
      return refs.some((r) => r === 'this' || (typeof r === 'object' && 'name' in r && r.name === 'this'));
    });
    expect(ids(uses)).toBe('(none)');
  });

  test('there are at least 40 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });
});

describe('coverage', () => {
  test('every catalogue kernel is a target', () => {
    const targets = new Set(TARGETED.map((c) => c.target.kernel));
    expect(KERNELS.map((k) => k.id).filter((id) => !targets.has(id))).toEqual([]);
  });

  test('every pre-XSAVE2 kernel (linux-5.15, linux-5.16, pve-5.15) is a migration source', () => {
    const sources = new Set(MIGRATION.map((c) => c.source.kernel));
    const pre517 = KERNELS.filter((k) => !k.xsave2).map((k) => k.id);
    expect(pre517).toEqual(expect.arrayContaining(['linux-5.15', 'linux-5.16', 'pve-5.15']));
    expect(pre517.filter((id) => !sources.has(id))).toEqual([]);
  });

  test.each([
    ['intel', 2688],
    ['amd', 2432],
  ] as const)('a %s PKRU value is written at %i and read back into vcpu->arch.pkru', (vendor, offset) => {
    const hits = IOCTL.filter((c) => {
      const host = hostOf(c.target.host);
      if (host.vendor !== vendor || 'hex' in c.xsave || c.expect.pkru === undefined || c.expect.pkru === 0n) return false;
      const slot = slotOf(host.layout, XFEATURE.PKRU);
      if (!slot || slot.offset !== offset) return false;
      const at = c.xsave.bytes.find((b) => b.offset === offset && b.data.length >= 4);
      return at !== undefined && BigInt(Buffer.from(at.data).readUInt32LE(0)) === c.expect.pkru;
    });
    expect(ids(hits)).not.toBe('(none)');
  });

  test('a migration goes from an Intel host to an AMD host', () => {
    const hits = MIGRATION.filter((c) => hostOf(c.source.host).vendor === 'intel' && hostOf(c.target.host).vendor === 'amd');
    expect(ids(hits)).not.toBe('(none)');
  });

  test.each(['qemu64', 'kvm64', 'x86-64-v2-AES', 'x86-64-v3', 'x86-64-v4', 'Skylake-Server', 'EPYC-Milan', 'SapphireRapids', 'host'])(
    'the guest %s appears',
    (name) => {
      expect(ids(CASES.filter((c) => c.vcpu.cpuModel === name))).not.toBe('(none)');
    },
  );

  test('the Zen 2 quirk appears: raw CPUID leaf 0xD.0 lists PKRU while leaf 7 PKU = 0', () => {
    const hits = TARGETED.filter((c) => {
      const e = c.vcpu.cpuid;
      if (!e) return false;
      const d0 = e.find((x) => x.leaf === 0xd && x.subleaf === 0);
      const l7 = e.find((x) => x.leaf === 7 && x.subleaf === 0);
      return d0 !== undefined && (BigInt(d0.eax) & MASK.PKRU) !== 0n && l7 !== undefined && (l7.ecx & CPUID_BITS.PKU) === 0;
    });
    // … on a PKU host (the patch keys on leaf 0xD and stays silent) and on a Zen 2 host (it fires).
    expect(hits.filter((c) => hostHasPku(c.target.host) && c.expect.fixupFired === false).length).toBeGreaterThan(0);
    expect(hits.filter((c) => !hostHasPku(c.target.host) && c.expect.fixupFired === true).length).toBeGreaterThan(0);
  });

  test('every rejection reason appears in some expect.reason, and no unknown reason does', () => {
    // A Record over the union type: the compiler rejects this object if setXsave.ts gains or loses a reason.
    const REASONS: Record<SetXsaveRejection, true> = {
      'protected-state': true,
      'outside-supported': true,
      'outside-user-xfeatures': true,
      'xcomp-bv': true,
      'header-reserved': true,
      'mxcsr-reserved': true,
    };
    const used = new Set(IOCTL.map((c) => c.expect.reason).filter((r): r is string => r !== undefined));
    expect(Object.keys(REASONS).filter((r) => !used.has(r))).toEqual([]);
    expect([...used].filter((r) => !(r in REASONS))).toEqual([]);
  });

  test('confidential vCPUs: ignored (rc 0) before 6.12, -EINVAL from 6.12', () => {
    const conf = IOCTL.filter((c) => c.vcpu.confidential);
    const ignoring = conf.filter((c) => kernelOf(c.target.kernel).confidential === 'ignore');
    const refusing = conf.filter((c) => kernelOf(c.target.kernel).confidential === 'einval');
    expect(ignoring.length).toBeGreaterThan(0);
    expect(refusing.length).toBeGreaterThan(0);
    expect(ignoring.filter((c) => c.expect.result !== 'ok').map((c) => c.id)).toEqual([]);
    expect(refusing.filter((c) => c.expect.result !== 'einval' || c.expect.reason !== 'protected-state').map((c) => c.id)).toEqual([]);
    expect(ids(ignoring.filter((c) => c.target.kernel === 'linux-6.2'))).not.toBe('(none)');
    expect(ids(ignoring.filter((c) => c.target.kernel === 'linux-6.6'))).not.toBe('(none)');
  });

  test('an AMX case uses an XSAVE2 region larger than 4096 bytes', () => {
    const hits = IOCTL.filter((c) => {
      if (c.vcpu.cpuModel === undefined || 'hex' in c.xsave || (c.xsave.xstateBv & MASK.XTILE) === 0n) return false;
      const kernel = kernelOf(c.target.kernel);
      const host = hostOf(c.target.host);
      const vcpu = createVcpu(kernel, host);
      setCpuid(vcpu, resolveCpuModel(c.vcpu.cpuModel, host, kernel));
      return vcpu.uabiSize > 4096 && c.expect.result === 'ok';
    });
    expect(ids(hits)).not.toBe('(none)');
  });

  test("linux-5.17's FP/SSE bug: a non-XSAVE guest's FP|SSE is refused (outside-user-xfeatures)", () => {
    const hits = IOCTL.filter(
      (c) =>
        c.target.kernel === 'linux-5.17' &&
        !('hex' in c.xsave) &&
        c.xsave.xstateBv !== 0n &&
        (c.xsave.xstateBv & ~MASK.FPSSE) === 0n &&
        c.expect.reason === 'outside-user-xfeatures',
    );
    expect(ids(hits)).not.toBe('(none)');
  });

  test('ioctl cases force the fixup off on a PVE kernel and on on an upstream kernel', () => {
    expect(ids(IOCTL.filter((c) => c.target.fixup === 'none' && kernelOf(c.target.kernel).pvePatch !== null))).not.toBe('(none)');
    expect(
      ids(IOCTL.filter((c) => c.target.fixup === 'pve' && kernelOf(c.target.kernel).pvePatch === null && c.expect.fixupFired === true)),
    ).not.toBe('(none)');
  });
});

describe('the incident: PVE 7.4 (pve-5.15) -> PVE 8.x, qemu64 from an Intel PKU host', () => {
  const incident = (target: string, opts: { vmmAborts?: boolean; targetPku?: boolean } = {}): MigrationCase[] =>
    MIGRATION.filter(
      (c) =>
        c.source.kernel === 'pve-5.15' &&
        hostOf(c.source.host).vendor === 'intel' &&
        hostHasPku(c.source.host) &&
        c.vcpu.cpuModel === 'qemu64' &&
        c.target.kernel === target &&
        c.target.fixup === 'kernel-default' &&
        // the incident needs the host's default (non-init) PKRU: with hostPkru 0 nothing leaks
        (c.guest.hostPkru === undefined || c.guest.hostPkru !== 0n) &&
        (opts.vmmAborts === undefined || vmmAborts(c.vmm) === opts.vmmAborts) &&
        (opts.targetPku === undefined || hostHasPku(c.target.host) === opts.targetPku),
    );
  const outcomes = (cs: MigrationCase[]): string[] => cs.map((c) => `${c.expect.outcome}/leaked=${c.expect.leaked}/fired=${c.expect.fixupFired}`);

  test('linux-6.2 (PVE 8.0 without the patch) with qemu-8.0: incomplete, leaked', () => {
    const cs = incident('linux-6.2', { vmmAborts: false }).filter((c) => c.vmm === 'qemu-8.0');
    expect(cs.length).toBeGreaterThan(0);
    expect(new Set(outcomes(cs))).toEqual(new Set(['incomplete/leaked=true/fired=false']));
  });

  test('pve-6.2-2023-07 (the patch): intact, fixup fired', () => {
    const cs = incident('pve-6.2-2023-07').filter((c) => c.vmm === 'qemu-8.0');
    expect(cs.length).toBeGreaterThan(0);
    expect(new Set(outcomes(cs))).toEqual(new Set(['intact/leaked=true/fired=true']));
  });

  test('linux-6.2 with qemu-8.2 (failed put is fatal): aborted', () => {
    const cs = incident('linux-6.2', { vmmAborts: true });
    expect(cs.length).toBeGreaterThan(0);
    expect(cs.map((c) => c.expect.outcome)).toEqual(cs.map(() => 'aborted'));
  });

  test('linux-6.6 on a PKU host: intact without the fixup', () => {
    const cs = incident('linux-6.6', { targetPku: true });
    expect(cs.length).toBeGreaterThan(0);
    expect(new Set(outcomes(cs))).toEqual(new Set(['intact/leaked=true/fired=false']));
  });

  test('linux-6.6 on hosts without PKU: incomplete (qemu < 8.2) or aborted (qemu >= 8.2)', () => {
    const cs = incident('linux-6.6', { targetPku: false });
    expect(cs.map((c) => hostName(c.target.host))).toEqual(expect.arrayContaining(['zen4-nopku', 'haswell']));
    expect(cs.map((c) => [c.id, c.expect.outcome])).toEqual(cs.map((c) => [c.id, vmmAborts(c.vmm) ? 'aborted' : 'incomplete']));
  });

  test('pve-6.8 on hosts without PKU: intact, fixup fired', () => {
    const cs = incident('pve-6.8', { targetPku: false });
    expect(cs.map((c) => hostName(c.target.host))).toEqual(expect.arrayContaining(['zen4-nopku', 'haswell']));
    expect(new Set(outcomes(cs))).toEqual(new Set(['intact/leaked=true/fired=true']));
  });

  test('upstream linux-5.15 as the source does not leak', () => {
    const cs = MIGRATION.filter((c) => c.source.kernel === 'linux-5.15' && hostHasPku(c.source.host) && c.guest.hostPkru === undefined);
    expect(cs.length).toBeGreaterThan(0);
    expect(cs.map((c) => c.expect.leaked)).toEqual(cs.map(() => false));
  });

  test('the fixup does not fire for a guest with PKU (Skylake-Server -> Ice Lake on a PVE kernel)', () => {
    const cs = MIGRATION.filter(
      (c) =>
        c.vcpu.cpuModel === 'Skylake-Server' &&
        hostName(c.target.host) === 'icelake-sp' &&
        kernelOf(c.target.kernel).pvePatch !== null &&
        c.expect.outcome === 'intact' &&
        c.expect.fixupFired === false,
    );
    expect(ids(cs)).not.toBe('(none)');
  });
});
