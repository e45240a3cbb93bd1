// QEMU named CPU models and the Proxmox x86-64-vN types, resolved to the CPUID entries QEMU
// hands to KVM_SET_CPUID2 on a given host (cpu-data.md §3). Only the leaves the XSAVE model
// reads are built: 0 (level, vendor), 1 (XSAVE/AVX), 7.0 (MPX/AVX512F/PKU/AMX), 0xD.
import { CPUID_BITS, CpuidEntry } from './cpuid';
import { Host } from './hosts';
import { KernelVariant } from './kernels';
import { standardSize } from './layout';
import { kvmSupportedXcr0 } from './vcpu';
import { MASK, bitsOf, XFEATURE } from './xfeatures';

export interface CpuModel {
  name: string;
  /** CPUID level (max basic leaf) */
  level: number;
  xsave: boolean;
  avx: boolean;
  mpx: boolean;
  avx512f: boolean;
  pku: boolean;
  amx: boolean;
  note: string;
}

function m(name: string, level: number, f: Partial<Omit<CpuModel, 'name' | 'level' | 'note'>>, note: string): CpuModel {
  return { name, level, xsave: false, avx: false, mpx: false, avx512f: false, pku: false, amx: false, ...f, note };
}

const AVX = { xsave: true, avx: true };
const AVX512 = { ...AVX, avx512f: true };

// Machine type ≥ pc-4.0 (no MPX on Skylake/Icelake models; PKU on Skylake-Server since pc-3.1).
export const CPU_MODELS: readonly CpuModel[] = [
  m('qemu64', 0xd, {}, 'no XSAVE: leaf 0xD present but zero'),
  m('kvm64', 0xd, {}, 'no XSAVE; qemu-server backend default'),
  m('x86-64-v2-AES', 0xd, {}, 'Proxmox: qemu64 + SSE4.x/AES, no XSAVE (XCR0 0)'),
  m('x86-64-v3', 0xd, AVX, 'Proxmox: qemu64 + AVX2 + XSAVE (XCR0 0x7)'),
  m('x86-64-v4', 0xd, AVX512, 'Proxmox: v3 + AVX-512 (XCR0 0xe7), no PKU'),
  m('Haswell', 0xd, AVX, 'XCR0 0x7'),
  m('Skylake-Client', 0xd, AVX, 'XCR0 0x7 (MPX off from pc-4.0)'),
  m('Skylake-Server', 0xd, { ...AVX512, pku: true }, 'XCR0 0x2e7'),
  m('Icelake-Server', 0xd, { ...AVX512, pku: true }, 'XCR0 0x2e7'),
  m('SapphireRapids', 0x20, { ...AVX512, pku: true, amx: true }, 'XCR0 0x602e7, AMX needs XSAVE2'),
  m('EPYC', 0xd, AVX, 'Zen 1, XCR0 0x7'),
  m('EPYC-Rome', 0xd, AVX, 'Zen 2, XCR0 0x7'),
  m('EPYC-Milan', 0xd, { ...AVX, pku: true }, 'Zen 3, XCR0 0x207'),
  m('EPYC-Genoa', 0xd, { ...AVX512, pku: true }, 'Zen 4, XCR0 0x2e7'),
];

export const CPU_MODEL_NAMES: readonly string[] = [...CPU_MODELS.map((x) => x.name), 'host'];

const VENDOR_REGS = {
  intel: { ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e }, // "GenuineIntel"
  amd: { ebx: 0x68747541, edx: 0x69746e65, ecx: 0x444d4163 }, // "AuthenticAMD"
} as const;

/** The XCR0 bits a model advertises before host filtering (x86_cpu_enable_xsave_components). */
export function modelXcr0(model: CpuModel): bigint {
  if (!model.xsave) return 0n;
  let x = MASK.FPSSE;
  if (model.avx) x |= MASK.YMM;
  if (model.mpx) x |= MASK.MPX;
  if (model.avx512f) x |= MASK.AVX512;
  if (model.pku) x |= MASK.PKRU;
  if (model.amx) x |= MASK.XTILE;
  return x;
}

/**
 * CPUID entries QEMU builds for `name` on `host` under `kernel`. Features the host/KVM lacks
 * are dropped (QEMU without `enforce`); `host` passes KVM's supported set through.
 */
export function resolveCpuModel(name: string, host: Host, kernel: KernelVariant): CpuidEntry[] {
  const sx = kvmSupportedXcr0(kernel, host);
  let model: CpuModel;
  if (name === 'host') {
    model = m('host', 0xd, {
      xsave: true,
      avx: (sx & MASK.YMM) !== 0n,
      mpx: (sx & MASK.MPX) === MASK.MPX,
      avx512f: (sx & MASK.AVX512) === MASK.AVX512,
      pku: (sx & MASK.PKRU) !== 0n,
      amx: (sx & MASK.XTILE) === MASK.XTILE,
    }, 'host passthrough');
  } else {
    const found = CPU_MODELS.find((x) => x.name === name);
    if (!found) throw new Error(`unknown CPU model '${name}' (known: ${CPU_MODEL_NAMES.join(', ')})`);
    model = found;
  }
  const xcr0 = modelXcr0(model) & (sx | MASK.FPSSE);
  const has = (mask: bigint) => (xcr0 & mask) === mask && mask !== 0n;
  const v = VENDOR_REGS[host.vendor];
  const entries: CpuidEntry[] = [
    { leaf: 0, subleaf: 0, eax: model.level, ebx: v.ebx, ecx: v.ecx, edx: v.edx },
    { leaf: 1, subleaf: 0, eax: 0, ebx: 0, ecx: (model.xsave ? CPUID_BITS.XSAVE : 0) | (has(MASK.YMM) ? CPUID_BITS.AVX : 0), edx: 0 },
    {
      leaf: 7,
      subleaf: 0,
      eax: 0,
      ebx: (has(MASK.MPX) ? CPUID_BITS.MPX : 0) | (has(MASK.AVX512) ? CPUID_BITS.AVX512F : 0),
      ecx: has(MASK.PKRU) ? CPUID_BITS.PKU : 0,
      edx: has(MASK.XTILE) ? CPUID_BITS.AMX_TILE : 0,
    },
  ];
  if (model.level >= 0xd) {
    // Without XSAVE QEMU still answers leaf 0xD, with zeros (guest-supported XCR0 = 0 either way).
    const size = model.xsave ? standardSize(host.layout, xcr0) : 0;
    entries.push({ leaf: 0xd, subleaf: 0, eax: Number(xcr0 & 0xffffffffn), ebx: size, ecx: size, edx: Number(xcr0 >> 32n) });
    entries.push({ leaf: 0xd, subleaf: 1, eax: 0, ebx: 0, ecx: 0, edx: 0 });
    for (const i of bitsOf(xcr0)) {
      if (i < 2) continue;
      const slot = host.layout.slots[i];
      if (slot) entries.push({ leaf: 0xd, subleaf: i, eax: slot.size, ebx: slot.offset, ecx: i === XFEATURE.XTILE_DATA ? 6 : i === XFEATURE.XTILE_CFG ? 2 : 0, edx: 0 });
    }
  }
  return entries;
}

