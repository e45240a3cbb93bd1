// Names in a case (kernel ids, hosts, CPU models, VMM versions) resolved against the model's
// catalogues. `this` stands for the running kernel and machine: without a calibration of the
// real-KVM backend it resolves to the variant measured on the project machines
// (linux-6.18-pvm on a Zen 4 host without PKU, shared/research/real-kvm-here.md).
import {
  CPU_MODEL_NAMES,
  HOSTS,
  Host,
  KERNEL_IDS,
  KernelVariant,
  QemuVersion,
  THIS_DEFAULT,
  customHost,
  hostByName,
  kernelById,
  parseQemu,
} from '../model';
import { CaseError, HostRef } from './caseFormat';

export interface ThisMachine {
  kernel: KernelVariant;
  host: Host;
}

// MXCSR_MASK 0x2ffff as FXSAVE reports it on the project machines (docs/kvm-findings.md).
let thisMachine: ThisMachine = { kernel: kernelById(THIS_DEFAULT)!, host: { ...HOSTS['zen4-nopku']!, name: 'this', mxcsrMask: 0x2ffff } };

/** Installed by a calibration of the running kernel (real-KVM backend). */
export function setThisMachine(m: ThisMachine): void {
  thisMachine = m;
}
export function getThisMachine(): ThisMachine {
  return thisMachine;
}

export function resolveKernel(file: string, field: string, id: string): KernelVariant {
  if (id === 'this') return thisMachine.kernel;
  const k = kernelById(id);
  if (!k) throw new CaseError(file, field, `unknown kernel "${id}" (known: ${KERNEL_IDS.join(', ')}, this)`);
  return k;
}

export function resolveHost(file: string, field: string, ref: HostRef): Host {
  if ('supportedXcr0' in ref) return customHost(ref.supportedXcr0, ref.layout);
  if (ref.name === 'this') return thisMachine.host;
  const h = hostByName(ref.name);
  if (!h) throw new CaseError(file, field, `unknown host "${ref.name}" (known: ${Object.keys(HOSTS).join(', ')}, this)`);
  return h;
}

export function checkCpuModel(file: string, field: string, name: string): void {
  if (!CPU_MODEL_NAMES.includes(name)) throw new CaseError(file, field, `unknown CPU model "${name}" (known: ${CPU_MODEL_NAMES.join(', ')})`);
}

export function resolveVmm(file: string, field: string, id: string): QemuVersion {
  const q = parseQemu(id);
  if (!q) throw new CaseError(file, field, `expected "qemu-MAJOR.MINOR" (e.g. "qemu-8.0"), got "${id}"`);
  return q;
}
