// Builders the model and property unit tests share: an XSAVE region with its header fields set,
// and CPUID entries.
import { CpuidEntry, OFF, writeU32, writeU64 } from '../../model';

/** A zeroed standard-format region of `size` bytes with MXCSR and XSTATE_BV written. */
export function xsaveRegion(size: number, xstateBv: bigint, mxcsr = 0x1f80): Uint8Array {
  const r = new Uint8Array(size);
  writeU32(r, OFF.MXCSR, mxcsr);
  writeU64(r, OFF.XSTATE_BV, xstateBv);
  return r;
}

export function cpuidEntry(leaf: number, subleaf: number, eax: number, edx = 0): CpuidEntry {
  return { leaf, subleaf, eax, ebx: 0, ecx: 0, edx };
}

/** CPUID(0xD,0) offering `xcr0` to the guest: the XCR0 bits in EDX:EAX. */
export function leaf0d(xcr0: bigint): CpuidEntry {
  return cpuidEntry(0xd, 0, Number(xcr0 & 0xffffffffn), Number(xcr0 >> 32n));
}
