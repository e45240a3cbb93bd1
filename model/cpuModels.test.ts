// QEMU's named CPU models resolved to the CPUID table QEMU hands to KVM_SET_CPUID2 (cpuModels.ts).
// Expectations are hand-written from shared/research/cpu-data.md §2-§3 (QEMU target/i386/cpu.c
// builtin_x86_defs, x86_cpu_enable_xsave_components, hw/i386/pc.c compat tables) and the SDM's
// CPUID bit positions, not model output.
import { CpuModel, CPU_MODELS, CpuidEntry, HOSTS, Host, customHost, cpuidXcr0, kernelById, modelXcr0, resolveCpuModel } from './index';

const LINUX_66 = kernelById('linux-6.6')!;

function resolve(name: string, host: string | Host): CpuidEntry[] {
  return resolveCpuModel(name, typeof host === 'string' ? HOSTS[host]! : host, LINUX_66);
}

/** The entry for (leaf, sub-leaf), looked up by hand so these tests do not rest on findCpuid. */
function entry(entries: readonly CpuidEntry[], leaf: number, subleaf = 0): CpuidEntry {
  const e = entries.find((x) => x.leaf === leaf && x.subleaf === subleaf);
  if (!e) throw new Error(`no CPUID entry ${leaf.toString(16)}.${subleaf}`);
  return e;
}

const regs = (e: CpuidEntry) => [e.eax >>> 0, e.ebx >>> 0, e.ecx >>> 0, e.edx >>> 0];

/** CPUID.0: the vendor string in EBX, EDX, ECX, four little-endian bytes each. */
function vendorString(e: CpuidEntry): string {
  return [e.ebx, e.edx, e.ecx].map((r) => String.fromCharCode(r & 0xff, (r >>> 8) & 0xff, (r >>> 16) & 0xff, (r >>> 24) & 0xff)).join('');
}

// SDM Vol. 2A CPUID: 1:ECX[26] XSAVE, [28] AVX; 7.0:EBX[14] MPX, [16] AVX512F; 7.0:ECX[3] PKU;
// 7.0:EDX[24] AMX-TILE.
const XSAVE = 1 << 26;
const AVX = 1 << 28;
const MPX = 1 << 14;
const AVX512F = 1 << 16;
const PKU = 1 << 3;
const AMX_TILE = 1 << 24;

describe('cpu-data.md §3a/§3c: the feature rows of the named models', () => {
  // [name, level, xsave, avx, mpx, avx512f, pku, amx] for machine types ≥ pc-4.0.
  const rows: Array<[string, number, boolean, boolean, boolean, boolean, boolean, boolean]> = [
    ['qemu64', 0xd, false, false, false, false, false, false],
    ['kvm64', 0xd, false, false, false, false, false, false],
    ['x86-64-v2-AES', 0xd, false, false, false, false, false, false], // §3c: qemu64 + SSE4.x/AES
    ['x86-64-v3', 0xd, true, true, false, false, false, false], // §3c: + AVX2, XSAVE
    ['x86-64-v4', 0xd, true, true, false, true, false, false], // §3c: + AVX-512, no PKU
    ['Haswell', 0xd, true, true, false, false, false, false],
    ['Skylake-Client', 0xd, true, true, false, false, false, false], // MPX off from pc-4.0 (pc_compat_3_1)
    ['Skylake-Server', 0xd, true, true, false, true, true, false], // PKU from pc-3.1 (pc_compat_3_0)
    ['Icelake-Server', 0xd, true, true, false, true, true, false],
    ['SapphireRapids', 0x20, true, true, false, true, true, true],
    ['EPYC', 0xd, true, true, false, false, false, false],
    ['EPYC-Rome', 0xd, true, true, false, false, false, false],
    ['EPYC-Milan', 0xd, true, true, false, false, true, false],
    ['EPYC-Genoa', 0xd, true, true, false, true, true, false],
  ];

  test('each catalogue row is the §3a row, and no named model offers more than host passthrough', () => {
    expect(CPU_MODELS.map((m) => [m.name, m.level, m.xsave, m.avx, m.mpx, m.avx512f, m.pku, m.amx])).toEqual(rows);
    // QEMU without `enforce` drops what the host/KVM lacks; `host` offers all KVM supports.
    for (const hid of ['skylake-sp', 'sapphire-rapids', 'zen3']) {
      const all = cpuidXcr0(resolve('host', hid));
      for (const m of CPU_MODELS) expect(cpuidXcr0(resolve(m.name, hid)) & ~all).toBe(0n);
    }
  });
});

describe('x86_cpu_enable_xsave_components: XCR0 bits a model advertises (cpu-data.md §3)', () => {
  const model = (f: Partial<CpuModel>): CpuModel => ({ name: 'm', level: 0xd, xsave: true, avx: false, mpx: false, avx512f: false, pku: false, amx: false, note: '', ...f });
  test('bit 2 only with AVX, bits 3-4 only with MPX: an XSAVE model without AVX (Atom Denverton)', () => {
    // Denverton has XSAVE but no AVX; its v1 has MPX, v2 drops it (cpu-data.md §3b).
    expect(modelXcr0(model({ mpx: true }))).toBe(0x1bn);
    expect(modelXcr0(model({}))).toBe(0x3n);
    expect(modelXcr0(model({ avx: true, mpx: true, avx512f: true, pku: true, amx: true }))).toBe(0x602ffn);
  });
});

describe('cpu-data.md §3b: leaf 0xD.0 of the named models (EAX = XCR0, ECX = max size, host offsets)', () => {
  test.each<[string, string, number, number]>([
    ['Skylake-Server', 'skylake-sp', 0x2e7, 2696], // MPX off (≥ pc-4.0): 0x2e7, Intel PKRU end 2688+8
    ['Icelake-Server', 'icelake-sp', 0x2e7, 2696],
    ['EPYC-Milan', 'zen3', 0x207, 2440], // AMD PKRU at 2432
    ['EPYC-Milan', 'alderlake', 0x207, 2696], // same model on an Intel host: PKRU at 2688 (§0.5)
    ['EPYC-Genoa', 'zen4', 0x2e7, 2440],
    ['SapphireRapids', 'sapphire-rapids', 0x602e7, 11008], // XTILEDATA 2816 + 8192
    ['Skylake-Client', 'skylake-client', 0x7, 832],
  ])('%s on %s', (name, hid, eax, size) => {
    expect(regs(entry(resolve(name, hid), 0xd, 0))).toEqual([eax, size, size, 0]);
  });
  test('without XSAVE the leaf is still answered, all zero (qemu64, kvm64, x86-64-v2-AES)', () => {
    for (const name of ['qemu64', 'kvm64', 'x86-64-v2-AES']) {
      expect(regs(entry(resolve(name, 'skylake-sp'), 0xd, 0))).toEqual([0, 0, 0, 0]);
    }
  });
  test('host passthrough keeps MPX where the host has it; the named Skylake models do not (pc-4.0)', () => {
    // Xeon Gold 6148 (0x2ff, max 0xa88) and Core i5-6600 (0x1f, 0x440), cpu-data.md §2a.
    expect(regs(entry(resolve('host', 'skylake-sp'), 0xd, 0))).toEqual([0x2ff, 2696, 2696, 0]);
    expect(regs(entry(resolve('Skylake-Server', 'skylake-sp'), 0xd, 0))[0]).toBe(0x2e7);
    expect(regs(entry(resolve('host', 'skylake-client'), 0xd, 0))).toEqual([0x1f, 1088, 1088, 0]);
    expect(regs(entry(resolve('Skylake-Client', 'skylake-client'), 0xd, 0))[0]).toBe(0x7);
  });
  test('host passthrough on Sapphire Rapids offers AMX; pre-AMX models on the same host do not', () => {
    expect(regs(entry(resolve('host', 'sapphire-rapids'), 0xd, 0))).toEqual([0x602e7, 11008, 11008, 0]);
    expect(regs(entry(resolve('Icelake-Server', 'sapphire-rapids'), 0xd, 0))).toEqual([0x2e7, 2696, 2696, 0]);
    expect(regs(entry(resolve('Haswell', 'sapphire-rapids'), 0xd, 0))).toEqual([0x7, 832, 832, 0]);
  });
  test('features the host lacks are dropped: Haswell on an XSAVE host without AVX offers x87/SSE only', () => {
    expect(regs(entry(resolve('Haswell', customHost(0x3n, 'intel')), 0xd, 0))).toEqual([0x3, 576, 576, 0]);
  });
});

describe('leaf 0: CPUID level of the model, vendor of the host (KVM overrides the model vendor, cpu-data.md §3b)', () => {
  test('SapphireRapids has level 0x20, Skylake-Server 0xd; both GenuineIntel on an Intel host', () => {
    const spr = entry(resolve('SapphireRapids', 'sapphire-rapids'), 0);
    expect(spr.eax).toBe(0x20);
    expect(vendorString(spr)).toBe('GenuineIntel');
    expect(entry(resolve('Skylake-Server', 'skylake-sp'), 0).eax).toBe(0xd);
  });
  test('EPYC-Milan on an Intel host reports GenuineIntel; qemu64 on an AMD host AuthenticAMD', () => {
    expect(vendorString(entry(resolve('EPYC-Milan', 'alderlake'), 0))).toBe('GenuineIntel');
    expect(vendorString(entry(resolve('qemu64', 'zen3'), 0))).toBe('AuthenticAMD');
  });
});

describe('leaf 1 ECX: XSAVE and AVX', () => {
  test.each<[string, string, number]>([
    ['qemu64', 'skylake-sp', 0],
    ['kvm64', 'skylake-sp', 0],
    ['x86-64-v2-AES', 'zen4', 0],
    ['x86-64-v3', 'zen4', XSAVE | AVX],
    ['Haswell', 'haswell', XSAVE | AVX],
    ['host', 'zen1', XSAVE | AVX],
  ])('%s on %s', (name, hid, ecx) => {
    expect(entry(resolve(name, hid), 1).ecx).toBe(ecx);
  });
  test('Haswell on an XSAVE host without AVX keeps XSAVE and loses AVX', () => {
    expect(entry(resolve('Haswell', customHost(0x3n, 'intel')), 1).ecx).toBe(XSAVE);
  });
});

describe('leaf 7.0: MPX, AVX512F, PKU, AMX-TILE as the model and host allow', () => {
  test.each<[string, string, number, number, number]>([
    ['qemu64', 'skylake-sp', 0, 0, 0], // the incident's guest: no PKU even on a PKU host
    ['x86-64-v4', 'icelake-sp', AVX512F, 0, 0], // AVX-512, no PKU
    ['Skylake-Server', 'skylake-sp', AVX512F, PKU, 0], // no MPX from pc-4.0
    ['host', 'skylake-sp', MPX | AVX512F, PKU, 0],
    ['host', 'skylake-client', MPX, 0, 0],
    ['EPYC-Milan', 'zen3', 0, PKU, 0],
    ['EPYC-Genoa', 'zen4-nopku', AVX512F, 0, 0], // PKU dropped: the host kernel has it off
    ['Haswell', 'skylake-sp', 0, 0, 0],
    ['SapphireRapids', 'sapphire-rapids', AVX512F, PKU, AMX_TILE],
    ['host', 'sapphire-rapids', AVX512F, PKU, AMX_TILE],
    ['Icelake-Server', 'sapphire-rapids', AVX512F, PKU, 0],
  ])('%s on %s', (name, hid, ebx, ecx, edx) => {
    const e = entry(resolve(name, hid), 7, 0);
    expect([e.ebx, e.ecx, e.edx]).toEqual([ebx, ecx, edx]);
  });
});

describe('leaf 0xD sub-leaves i ≥ 2: size and offset from the host (cpu-data.md §0.5, §1b)', () => {
  const subleaves = (entries: readonly CpuidEntry[]) =>
    entries.filter((e) => e.leaf === 0xd && e.subleaf >= 2 && e.eax !== 0).map((e) => [e.subleaf, ...regs(e)]);
  test('EPYC-Milan: YMM and PKRU, PKRU at 2432 on Zen 3 and 2688 on an Intel host', () => {
    expect(subleaves(resolve('EPYC-Milan', 'zen3'))).toEqual([
      [2, 256, 576, 0, 0],
      [9, 8, 2432, 0, 0],
    ]);
    expect(subleaves(resolve('EPYC-Milan', 'alderlake'))).toEqual([
      [2, 256, 576, 0, 0],
      [9, 8, 2688, 0, 0],
    ]);
  });
  test('SapphireRapids: XTILECFG 64 @ 2752 ECX 2 (64-byte aligned), XTILEDATA 8192 @ 2816 ECX 6 (+XFD)', () => {
    expect(subleaves(resolve('SapphireRapids', 'sapphire-rapids'))).toEqual([
      [2, 256, 576, 0, 0],
      [5, 64, 1088, 0, 0],
      [6, 512, 1152, 0, 0],
      [7, 1024, 1664, 0, 0],
      [9, 8, 2688, 0, 0],
      [17, 64, 2752, 2, 0],
      [18, 8192, 2816, 6, 0],
    ]);
  });
  test('no XSAVE, no components: qemu64 has no sub-leaf ≥ 2 with a size', () => {
    expect(subleaves(resolve('qemu64', 'sapphire-rapids'))).toEqual([]);
  });
});

describe('model names', () => {
  test('a name outside the catalogue is refused, naming the known ones', () => {
    // Nehalem is a QEMU model (no XSAVE, cpu-data.md §3a) this catalogue does not carry.
    expect(() => resolve('Nehalem', 'haswell')).toThrow(
      "unknown CPU model 'Nehalem' (known: qemu64, kvm64, x86-64-v2-AES, x86-64-v3, x86-64-v4, Haswell, Skylake-Client, Skylake-Server, Icelake-Server, SapphireRapids, EPYC, EPYC-Rome, EPYC-Milan, EPYC-Genoa, host)",
    );
  });
});
