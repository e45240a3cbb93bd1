/**
 * The lab's kernels and hosts. Each lab kernel is also a variant of the model's catalogue
 * (model/kernels.ts) under the same id: the lab checks that entry against the real kernel, it
 * never replaces it. Each lab host is a QEMU CPU model for the TCG guest, and a host of the
 * model's catalogue (model/hosts.ts) that states what KVM inside that guest offers; the lab
 * checks that statement by probing at every boot.
 */
import { DebPackage } from './debian';

/** KVM rebuilt as modules from Debian's source with the lab's patches (lab/build/build-kvm.sh). */
export interface KvmBuild {
  source: DebPackage;
  /** linux-headers-REL, linux-headers-…-common, linux-kbuild-… */
  headers: DebPackage[];
  /** lab/patches/… in the order applied */
  patches: string[];
}

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
  /** patched KVM modules replacing the image's own; absent: stock */
  build?: KvmBuild;
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

const DEBIAN_61 = {
  image: { name: 'linux-image-6.1.0-57-amd64-unsigned', version: '6.1.192-3' },
  release: '6.1.0-57-amd64',
  from: 'Debian bookworm: linux-image-6.1.0-57-amd64-unsigned 6.1.192-3 (6.1-stable, which carries the 8647c52e9504 backport)',
};
const DEBIAN_612 = {
  image: { name: 'linux-image-6.12.118+deb12-amd64-unsigned', version: '6.12.118-1~deb12u1' },
  release: '6.12.118+deb12-amd64',
  from: 'Debian bookworm-security: linux-image-6.12.118+deb12-amd64-unsigned 6.12.118-1~deb12u1',
};
const V61 = '6.1.192-3';
const V612 = '6.12.118-1~deb12u1';
const BUILD_61 = (patches: string[]): KvmBuild => ({
  source: { name: 'linux-source-6.1', version: V61 },
  headers: [
    { name: 'linux-headers-6.1.0-57-amd64', version: V61 },
    { name: 'linux-headers-6.1.0-57-common', version: V61 },
    { name: 'linux-kbuild-6.1', version: V61 },
  ],
  patches,
});
const BUILD_612 = (patches: string[]): KvmBuild => ({
  source: { name: 'linux-source-6.12', version: V612 },
  headers: [
    { name: 'linux-headers-6.12.118+deb12-amd64', version: V612 },
    { name: 'linux-headers-6.12.118+deb12-common', version: V612 },
    { name: 'linux-kbuild-6.12.118+deb12', version: V612 },
  ],
  patches,
});
const PVE_61 = 'lab/patches/pve-pkru-6.1.patch';
const PVE_612 = 'lab/patches/pve-pkru-6.12.patch';
const RULE_2023 = 'lab/patches/restore-6.2-user-xfeatures-6.1.patch';
const LEAKY = 'lab/patches/leaky-6.1.patch';

export const LAB_KERNELS: readonly LabKernel[] = [
  { id: 'debian-6.1', title: "Debian 12's own 6.1 kernel, stock", changes: [], ...DEBIAN_61 },
  { id: 'debian-6.12', title: "Debian 12's 6.12 backport kernel, stock", changes: [], ...DEBIAN_612 },
  {
    id: 'debian-6.1+pve',
    title: 'Debian 6.1 with the Proxmox PKRU patch in C (variant A placement)',
    changes: ['KVM modules rebuilt from linux-source-6.1 with lab/patches/pve-pkru-6.1.patch'],
    ...DEBIAN_61,
    build: BUILD_61([PVE_61]),
  },
  {
    id: 'debian-6.12+pve',
    title: 'Debian 6.12 with the Proxmox PKRU patch in C (variant B placement)',
    changes: ['KVM modules rebuilt from linux-source-6.12 with lab/patches/pve-pkru-6.12.patch'],
    ...DEBIAN_612,
    build: BUILD_612([PVE_612]),
  },
  {
    id: 'debian-6.1-2023',
    title: 'Debian 6.1 with the 6.2-era rule restored: the PVE 8.0 target of the July 2023 incident',
    changes: ['KVM modules rebuilt with lab/patches/restore-6.2-user-xfeatures-6.1.patch (the cpuid.c half of 8647c52e9504 undone; GET masks as 6.2 did)'],
    ...DEBIAN_61,
    build: BUILD_61([RULE_2023]),
  },
  {
    id: 'debian-6.1-2023+pve',
    title: 'Debian 6.1 with the 6.2-era rule and the Proxmox PKRU patch: PVE 8.0 as shipped in July 2023',
    changes: ['KVM modules rebuilt with lab/patches/restore-6.2-user-xfeatures-6.1.patch, then lab/patches/pve-pkru-6.1.patch'],
    ...DEBIAN_61,
    build: BUILD_61([RULE_2023, PVE_61]),
  },
  {
    id: 'debian-6.1-leaky',
    title: 'Debian 6.1 whose KVM_GET_XSAVE masks with user_xfeatures only (pre-ad856280ddea): stands in for the PVE 7.4 source kernel',
    changes: ['KVM modules rebuilt with lab/patches/leaky-6.1.patch'],
    ...DEBIAN_61,
    build: BUILD_61([LEAKY]),
  },
];

export const LAB_HOSTS: readonly LabHost[] = [
  { id: 'pku', cpu: 'max', catalogueHost: 'lab-pku', what: 'QEMU TCG -cpu max: x87, SSE, AVX, PKRU' },
  { id: 'nopku', cpu: 'max,-pku', catalogueHost: 'lab-nopku', what: 'QEMU TCG -cpu max,-pku: x87, SSE, AVX (the target host upstream leaves unfixed)' },
  // Without MPX too: QEMU's emulated XSAVES marks every enabled component in use (no init
  // tracking), so a guest fpstate saved on a host with AVX or MPX enabled carries those bits as
  // well; on this host the leaky kernel leaks exactly x87|SSE|PKRU, as real hardware does for a
  // guest that used only x87/SSE (docs/lab-kernels.md). It is the incident's source host.
  { id: 'noavx', cpu: 'max,-mpx,-avx,-avx2,-fma,-f16c,-vaes,-vpclmulqdq', catalogueHost: 'lab-noavx', what: 'QEMU TCG -cpu max without MPX and AVX: x87, SSE, PKRU' },
];

export function labKernel(id: string): LabKernel | undefined {
  return LAB_KERNELS.find((k) => k.id === id);
}

export function labHost(id: string): LabHost | undefined {
  return LAB_HOSTS.find((h) => h.id === id);
}
