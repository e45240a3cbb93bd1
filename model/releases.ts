// Proxmox VE releases as data: which kernels a node of each release can run, which QEMU it
// ships, and which upgrades between releases are supported. The lifecycle claims (L1, L2)
// walk a VM through these; a kernel id names a row of model/kernels.ts, a QEMU id parses
// with parseQemu (model/vmm.ts), which gives its restore policy.
//
// A release id has no hyphen (`pve8.0`), so it never reads as a kernel id (`pve-6.8`).
// Every entry cites where its facts come from; a fact not checked against a source is listed
// in `unconfirmed`, and anything that rests on it says so.
import { kernelById } from './kernels';
import { parseQemu } from './vmm';

export interface ReleaseKernel {
  /** a kernel id of model/kernels.ts */
  kernel: string;
  /** the kernel a fresh install or an upgrade boots; the others are opt-in */
  default: boolean;
}

export interface Release {
  /** `pve7.4`, `pve8.0`, … */
  id: string;
  major: number;
  minor: number;
  /** Debian base */
  debian: string;
  /** first release date, YYYY-MM */
  date: string;
  kernels: readonly ReleaseKernel[];
  /** QEMU as shipped (pve-qemu-kvm), a parseQemu id such as `qemu-7.2` */
  qemu: string;
  sources: readonly string[];
  unconfirmed: readonly string[];
}

const NOTES = 'https://pve.proxmox.com/wiki/Roadmap';

export const RELEASES: readonly Release[] = [
  {
    id: 'pve7.4', major: 7, minor: 4, debian: 'bullseye', date: '2023-03',
    kernels: [{ kernel: 'pve-5.15', default: true }],
    qemu: 'qemu-7.2',
    sources: [NOTES],
    unconfirmed: ['opt-in 6.1/6.2 kernels of PVE 7.4 not modelled yet'],
  },
  {
    id: 'pve8.0', major: 8, minor: 0, debian: 'bookworm', date: '2023-06',
    kernels: [{ kernel: 'pve-6.2-2023-07', default: true }, { kernel: 'pve-6.2-2023-10', default: false }],
    qemu: 'qemu-8.0',
    sources: [NOTES],
    unconfirmed: [],
  },
  {
    id: 'pve8.1', major: 8, minor: 1, debian: 'bookworm', date: '2023-11',
    kernels: [{ kernel: 'pve-6.5', default: true }],
    qemu: 'qemu-8.1',
    sources: [NOTES],
    unconfirmed: [],
  },
  {
    id: 'pve8.2', major: 8, minor: 2, debian: 'bookworm', date: '2024-04',
    kernels: [{ kernel: 'pve-6.8', default: true }],
    qemu: 'qemu-8.1',
    sources: [NOTES],
    unconfirmed: [],
  },
  {
    id: 'pve8.3', major: 8, minor: 3, debian: 'bookworm', date: '2024-11',
    kernels: [{ kernel: 'pve-6.8', default: true }, { kernel: 'pve-6.11', default: false }],
    qemu: 'qemu-9.0',
    sources: [NOTES],
    unconfirmed: [],
  },
  {
    id: 'pve8.4', major: 8, minor: 4, debian: 'bookworm', date: '2025-04',
    kernels: [{ kernel: 'pve-6.8', default: true }, { kernel: 'pve-6.14', default: false }],
    qemu: 'qemu-9.2',
    sources: [NOTES],
    unconfirmed: [],
  },
  {
    id: 'pve9.0', major: 9, minor: 0, debian: 'trixie', date: '2025-08',
    kernels: [{ kernel: 'pve-6.14', default: true }],
    qemu: 'qemu-10.0',
    sources: [NOTES],
    unconfirmed: [],
  },
];

/** Supported upgrades: within a major to any later minor, and from the last minor of a major
 *  to the next major (7.4 → 8.x, 8.4 → 9.x); never 7 → 9 directly. */
export const UPGRADES: readonly (readonly [string, string])[] = [
  ['pve7.4', 'pve8.0'],
  ['pve8.0', 'pve8.1'], ['pve8.1', 'pve8.2'], ['pve8.2', 'pve8.3'], ['pve8.3', 'pve8.4'],
  ['pve8.4', 'pve9.0'],
];

export const RELEASE_IDS: readonly string[] = RELEASES.map((r) => r.id);

export function releaseById(id: string): Release | undefined {
  return RELEASES.find((r) => r.id === id);
}

/** Releases a node of `from` can be upgraded to in one supported step. */
export function upgradesFrom(from: string): string[] {
  return UPGRADES.filter(([a]) => a === from).map(([, b]) => b);
}

/** Releases at or after `id` in release order (the ones a `--drop-at id` removes the patch from). */
export function releasesFrom(id: string): Release[] {
  const i = RELEASES.findIndex((r) => r.id === id);
  return i < 0 ? [] : RELEASES.slice(i);
}

/** Every kernel and QEMU id the catalogue names must exist; a typo here would silently model nothing. */
export function checkReleases(): string[] {
  const errors: string[] = [];
  for (const r of RELEASES) {
    if (!/^pve\d+\.\d+$/.test(r.id)) errors.push(`${r.id}: id must read pveMAJOR.MINOR`);
    for (const k of r.kernels) if (!kernelById(k.kernel)) errors.push(`${r.id}: unknown kernel ${k.kernel}`);
    if (r.kernels.filter((k) => k.default).length !== 1) errors.push(`${r.id}: exactly one default kernel`);
    if (!parseQemu(r.qemu)) errors.push(`${r.id}: bad qemu id ${r.qemu}`);
  }
  for (const [a, b] of UPGRADES) if (!releaseById(a) || !releaseById(b)) errors.push(`upgrade ${a} → ${b}: unknown release`);
  return errors;
}
