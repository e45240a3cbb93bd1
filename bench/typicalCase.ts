// The case executor/raw-bench.c runs, as the executor runs it: shared by the real-KVM bench
// (bench/kvm.ts) and the lab bench (bench/lab.ts), so both compare the same ioctls.
import { CaseSpec, CpuidEntry } from '../kvm/protocol';

/** The case raw-bench.c runs, as the executor runs it: the same ioctls with the same buffer. */
export function typicalCase(table: CpuidEntry[], size: number): CaseSpec {
  const d0 = table.find((e) => e.leaf === 0xd && e.subleaf === 0);
  const host = d0 ? BigInt(d0.eax >>> 0) | (BigInt(d0.edx >>> 0) << 32n) : 3n;
  const r = new Uint8Array(size);
  for (let i = 0; i < 4096; i++) r[i] = (i * 37 + 11) & 0xff;
  r.fill(0, 416);
  for (let i = 576; i < 2432; i++) r[i] = (i * 13 + 5) & 0xff;
  const v = new DataView(r.buffer);
  v.setUint32(24, 0x1f80, true);
  v.setBigUint64(512, host, true);
  return {
    cpuid: table,
    steps: [{ op: 'setCpuid2' }, { op: 'setXcrs', xcr0: 0x7n & host }, { op: 'setXsave', region: r }, { op: 'getXsave' }, { op: 'getXcrs' }],
  };
}
