/**
 * Calibration and behaviour probes of the running kernel's KVM XSAVE/XCRS semantics.
 * Everything returned is plain JSON (64-bit masks as "0x…" strings, bit lists as numbers).
 *
 * calibrate(): static facts (host supported XCR0, leaf 0xD layout, XSAVE2 size, MXCSR mask, vendor),
 * and the CPUID scenarios and XCR0 candidates that calibration.ts probes with. The research
 * probe of the kernel's behaviour (probeBehaviour) is a test helper: test/helpers/kvmProbe.ts.
 */
import { XsaveExecutor } from './executor';
import { CpuidEntry, ProbeInfo } from './protocol';
import { bitsOf, hex } from './region';

export interface ComponentInfo {
  bit: number;
  offset: number;
  size: number;
  supervisor: boolean;
  align64: boolean;
}

export interface Calibration {
  kernelRelease: string;
  kvmApiVersion: number;
  vendor: string;
  /** CPUID(0xD,0) EDX:EAX of KVM_GET_SUPPORTED_CPUID. */
  hostSupportedXcr0: string;
  hostSupportedXcr0Bits: number[];
  /** KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) on the VM fd. */
  capXsave2: number;
  /** Region size used with KVM_SET/GET_XSAVE: max(4096, capXsave2). */
  xsave2Size: number;
  capMaxVcpus: number;
  /** MXCSR_MASK from FXSAVE on the host, raw and effective (0 → 0xffbf). */
  mxcsrMaskRaw: number;
  mxcsrFeatureMask: number;
  /** XCR0 of the executor process itself (XGETBV). */
  hostProcessXcr0: string;
  /** Standard-format layout of components ≥ 2 from CPUID(0xD, i). */
  components: ComponentInfo[];
  supportedCpuid: CpuidEntry[];
}

const u64 = (lo: number, hi: number): bigint => BigInt(lo >>> 0) | (BigInt(hi >>> 0) << 32n);

function findEntry(t: readonly CpuidEntry[], leaf: number, subleaf = 0): CpuidEntry | undefined {
  return t.find((e) => e.leaf === leaf && e.subleaf === subleaf) ?? t.find((e) => e.leaf === leaf && !((e.flags ?? 0) & 1));
}

function vendorOf(t: readonly CpuidEntry[]): string {
  const e = findEntry(t, 0);
  if (!e) return '';
  const b = Buffer.alloc(12);
  b.writeUInt32LE(e.ebx >>> 0, 0);
  b.writeUInt32LE(e.edx >>> 0, 4);
  b.writeUInt32LE(e.ecx >>> 0, 8);
  return b.toString('latin1');
}

export function calibrationFromProbe(p: ProbeInfo): Calibration {
  const d0 = findEntry(p.supportedCpuid, 0xd, 0);
  const host = d0 ? u64(d0.eax, d0.edx) : 0n;
  const components: ComponentInfo[] = [];
  for (const e of p.supportedCpuid) {
    if (e.leaf === 0xd && e.subleaf >= 2 && e.subleaf < 64 && e.eax !== 0) {
      components.push({ bit: e.subleaf, size: e.eax >>> 0, offset: e.ebx >>> 0, supervisor: (e.ecx & 1) === 1, align64: (e.ecx & 2) === 2 });
    }
  }
  components.sort((a, b) => a.bit - b.bit);
  return {
    kernelRelease: p.release,
    kvmApiVersion: p.apiVersion,
    vendor: vendorOf(p.supportedCpuid),
    hostSupportedXcr0: hex(host),
    hostSupportedXcr0Bits: bitsOf(host),
    capXsave2: p.capXsave2,
    xsave2Size: p.xsaveSize,
    capMaxVcpus: p.capMaxVcpus,
    mxcsrMaskRaw: p.hostMxcsrMaskRaw >>> 0,
    mxcsrFeatureMask: (p.hostMxcsrMaskRaw >>> 0) === 0 ? 0xffbf : p.hostMxcsrMaskRaw >>> 0,
    hostProcessXcr0: hex(p.hostProcessXcr0),
    components,
    supportedCpuid: p.supportedCpuid,
  };
}

export async function calibrate(exec: XsaveExecutor): Promise<Calibration> {
  return calibrationFromProbe(await exec.probe());
}

// ------------------------------------------------------------------ behaviour probes

export interface CpuidScenario {
  name: string;
  /** null: KVM_SET_CPUID2 never called. */
  cpuid: CpuidEntry[] | null;
  /** CPUID(0xD,0) EDX:EAX given to the vCPU, or null (never set / leaf absent). */
  leafD0: string | null;
}

/** The host table with leaf 0xD.0 EAX/EDX replaced, or with leaf 0xD removed (xcr0 = null). */
export function cpuidWithLeafD(base: readonly CpuidEntry[], xcr0: bigint | null): CpuidEntry[] {
  if (xcr0 === null) return base.filter((e) => e.leaf !== 0xd).map((e) => ({ ...e }));
  return base.map((e) =>
    e.leaf === 0xd && e.subleaf === 0
      ? { ...e, eax: Number(xcr0 & 0xffffffffn), edx: Number((xcr0 >> 32n) & 0xffffffffn) }
      : { ...e },
  );
}

export function cpuidScenarios(cal: Calibration): CpuidScenario[] {
  const host = BigInt(cal.hostSupportedXcr0);
  const t = cal.supportedCpuid;
  const s: CpuidScenario[] = [
    { name: 'never-set', cpuid: null, leafD0: null },
    { name: 'empty-table', cpuid: [], leafD0: null },
    { name: 'leaf-0xd-absent', cpuid: cpuidWithLeafD(t, null), leafD0: null },
  ];
  const zero = (leaf: number, subleaf: number): CpuidEntry => ({ leaf, subleaf, eax: 0, ebx: 0, ecx: 0, edx: 0 });
  // Discriminating tables for kernels that do not derive gsx from leaf 0xD's contents.
  s.push(
    { name: 'only-leaf-0', cpuid: t.filter((e) => e.leaf === 0).map((e) => ({ ...e })), leafD0: null },
    { name: 'only-leaf-1-zeroed', cpuid: [zero(1, 0)], leafD0: null },
    { name: 'only-leaf-0xd.0-zeroed', cpuid: [zero(0xd, 0)], leafD0: '0x0' },
    { name: 'only-leaf-0xd.1-zeroed', cpuid: [zero(0xd, 1)], leafD0: null },
    { name: 'only-leaf-7-zeroed', cpuid: [zero(7, 0)], leafD0: null },
  );
  const vals = [0x0n, 0x1n, 0x3n, 0x7n, host];
  const seen = new Set<bigint>();
  for (const v of vals) {
    if (seen.has(v)) continue;
    seen.add(v);
    s.push({ name: v === host ? 'leaf-0xd.0=host' : `leaf-0xd.0=${hex(v)}`, cpuid: cpuidWithLeafD(t, v), leafD0: hex(v) });
  }
  return s;
}

export function subsets(mask: bigint): bigint[] {
  const bits = bitsOf(mask);
  if (bits.length > 7) {
    // Too many for exhaustive enumeration within one case: singles + cumulative prefixes.
    const out = new Set<bigint>([0n]);
    let acc = 0n;
    for (const b of bits) {
      out.add(1n | (1n << BigInt(b)));
      acc |= 1n << BigInt(b);
      out.add(acc);
    }
    return [...out];
  }
  const out: bigint[] = [];
  for (let m = 0; m < 1 << bits.length; m++) {
    let v = 0n;
    bits.forEach((b, i) => {
      if (m & (1 << i)) v |= 1n << BigInt(b);
    });
    out.push(v);
  }
  return out;
}
