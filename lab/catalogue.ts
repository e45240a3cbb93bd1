/**
 * The lab's kernels and hosts. Each lab kernel is also a variant of the model's catalogue
 * (model/kernels.ts) under the same id: the lab checks that entry against the real kernel, it
 * never replaces it. Each lab host is a QEMU CPU model for the TCG guest, and a host of the
 * model's catalogue (model/hosts.ts) that states what KVM inside that guest offers; the lab
 * checks that statement by probing at every boot.
 */
import { DebPackage } from './debian';

export interface LabKernel {
  /** the model's kernel id (model/kernels.ts) */
  id: string;
  title: string;
  /** where it comes from */
  from: string;
  /** what the lab changed (empty: stock) */
  changes: string[];
  image: DebPackage;
  /** uname -r, the modules folder name */
  release: string;
}

export interface LabHost {
  id: string;
  /** QEMU -cpu for the TCG guest that is the host */
  cpu: string;
  /** the model's host (model/hosts.ts) that says what KVM inside offers */
  catalogueHost: string;
  what: string;
}

/** busybox for /init and its tools (static: the initramfs has no libc). */
export const BUSYBOX: DebPackage = { name: 'busybox-static', version: '1:1.35.0-4+deb12u1+b1' };

/** Modules loaded at boot, with everything they depend on: KVM and the virtio port the executor talks on. */
export const BOOT_MODULES = ['kvm_amd', 'virtio_pci', 'virtio_console'] as const;

export const LAB_KERNELS: readonly LabKernel[] = [
  {
    id: 'debian-6.1',
    title: "Debian 12's own 6.1 kernel, stock",
    from: 'Debian bookworm: linux-image-6.1.0-57-amd64-unsigned 6.1.192-3 (6.1-stable, which carries the 8647c52e9504 backport)',
    changes: [],
    image: { name: 'linux-image-6.1.0-57-amd64-unsigned', version: '6.1.192-3' },
    release: '6.1.0-57-amd64',
  },
  {
    id: 'debian-6.12',
    title: "Debian 12's 6.12 backport kernel, stock",
    from: 'Debian bookworm-security: linux-image-6.12.118+deb12-amd64-unsigned 6.12.118-1~deb12u1',
    changes: [],
    image: { name: 'linux-image-6.12.118+deb12-amd64-unsigned', version: '6.12.118-1~deb12u1' },
    release: '6.12.118+deb12-amd64',
  },
];

export const LAB_HOSTS: readonly LabHost[] = [
  { id: 'pku', cpu: 'max', catalogueHost: 'lab-pku', what: 'QEMU TCG -cpu max: x87, SSE, AVX, PKRU' },
  { id: 'nopku', cpu: 'max,-pku', catalogueHost: 'lab-nopku', what: 'QEMU TCG -cpu max,-pku: x87, SSE, AVX (the target host upstream leaves unfixed)' },
  { id: 'noavx', cpu: 'max,-avx,-avx2,-fma,-f16c,-vaes,-vpclmulqdq', catalogueHost: 'lab-noavx', what: 'QEMU TCG -cpu max without AVX: x87, SSE, PKRU' },
];

export function labKernel(id: string): LabKernel | undefined {
  return LAB_KERNELS.find((k) => k.id === id);
}

export function labHost(id: string): LabHost | undefined {
  return LAB_HOSTS.find((h) => h.id === id);
}
