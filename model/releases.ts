// Proxmox VE releases as data: which kernels a node of each release can run, which QEMU it
// ships, and which upgrades between releases are supported. The lifecycle claims (L1, L2)
// walk a VM through these; a kernel id names a row of model/kernels.ts, a QEMU id parses
// with parseQemu (model/vmm.ts), which gives its restore policy.
//
// A release id has no hyphen (`pve8.0`), so it never reads as a kernel id (`pve-6.8`).
// Every entry cites where its facts come from; a fact not checked against a source is listed
// in `unconfirmed` (UNCONFIRMED), and anything that rests on it says so. docs/releases.md
// renders this file as a table.
import { PveVariant, kernelById } from './kernels';
import { QemuPolicy, parseQemu } from './vmm';

export interface ReleaseKernel {
  /** a kernel id of model/kernels.ts */
  kernel: string;
  /** the kernel a fresh install or an upgrade boots; the others are opt-in */
  default: boolean;
  /** pve-kernel / proxmox-kernel package versions this row stands for, e.g. `6.2.16-5 … 6.2.16-18` */
  versions?: string;
  /** YYYY-MM this row became installable on the release; absent: shipped with the release */
  from?: string;
  /** YYYY-MM an update of the same kernel series replaced this row; absent: current */
  until?: string;
  /** a remark on this row: why a shipped kernel without a row of its own maps to it (same GET/SET rules), or how it is modelled */
  note?: string;
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
  /** every kernel row a node of this release can run over the release's life (see `from`/`until`) */
  kernels: readonly ReleaseKernel[];
  /** QEMU as shipped (pve-qemu-kvm), a parseQemu id such as `qemu-7.2` */
  qemu: string;
  /** a newer QEMU that reached this release's repository before the next minor, if any */
  laterQemu?: string;
  /** YYYY-MM of `laterQemu` */
  laterQemuFrom?: string;
  sources: readonly string[];
  unconfirmed: readonly string[];
}

/** An upgrade of a node from one release to another, in one supported step. */
export type Upgrade = readonly [from: string, to: string];

// Sources, each read for this catalogue (commit 'model/releases.ts: catalogue from the sources').
const KERNEL_CHANGELOG = 'proxmox/pve-kernel debian/changelog (read via the code index)';
const QEMU_CHANGELOG = 'proxmox/pve-qemu debian/changelog (read via the code index; ends at 7.2.0-8, 2023-03-17)';
const QEMU_CHANGELOG_PORT =
  "jiangcuo/pve-qemu debian/changelog (a port that keeps Proxmox's pve-qemu-kvm entries, up to 9.2.0-5 of 2025-04-04; read via the code index)";
const PVE7TO8 = 'proxmox/pve-manager PVE/CLI/pve7to8.pm: upgrade to 8 needs proxmox-ve >= 7.4-1';
const PVE8TO9 =
  'proxmox/pve-manager PVE/CLI/pve8to9.pm: upgrade to 9 needs proxmox-ve >= 8.4-0; a PVE 8 node is expected to run kernel 6.2, 6.5, 6.8, 6.11 or 6.14';
const RESEARCH = 'shared/research/kernel-semantics.md §6 (pve-kernel git history: which branches carry the PKRU patch)';
const UNPATCHED_62 =
  'no row for the PVE 6.2 kernel before the PKRU patch: mapped to linux-6.2, whose GET/SET rules it shares (upstream 6.2 with ad856280ddea and a1020a25e697; kernel-semantics.md §1)';
const UNPATCHED_61_62 =
  'no row for the PVE 7 opt-in 6.1 and 6.2 kernels before the PKRU patch: mapped to linux-6.2, whose GET/SET rules both share (6.1 already has ad856280ddea (5.17) and a1020a25e697 (6.0-rc7); kernel-semantics.md §1; the lab kernel debian-6.1-2023 applies the same rules)';

export const RELEASES: readonly Release[] = [
  {
    id: 'pve7.4', major: 7, minor: 4, debian: 'bullseye', date: '2023-03',
    kernels: [
      { kernel: 'pve-5.15', default: true, versions: '5.15.x (Ubuntu Jammy based)' },
      { kernel: 'linux-6.2', default: false, versions: '6.1.x (6.1.0-1 … 6.1.15-1) and 6.2.x (6.2.2-1 … 6.2.11-2), bullseye', until: '2023-07', note: UNPATCHED_61_62 },
      { kernel: 'pve-6.2-2023-07', default: false, versions: '6.2.16 (bullseye-6.2) with the PKRU patch', from: '2023-07', until: '2023-10' },
      { kernel: 'pve-6.2-2023-10', default: false, versions: '6.2.16 (bullseye-6.2) with da42753efe17', from: '2023-10' },
    ],
    qemu: 'qemu-7.2',
    sources: [
      KERNEL_CHANGELOG + ': 6.2.16-5 (2023-07-14) names "our 5.15 based kernel (default in Proxmox VE 7.4)"; bullseye 6.2.2-1/6.2.6-1 (2023-03-13/14) … 6.2.11-2 (2023-05-10)',
      QEMU_CHANGELOG + ': 7.2.0-1 (2022-12-16) … 7.2.0-8 (2023-03-17), the QEMU current when 7.4 came out',
      RESEARCH + ': bullseye-6.2 carries variant A; da42753efe17 (2023-10-21) backports 18164f66e6c5 + 8647c52e9504 to it',
      PVE7TO8,
      'https://github.com/morph027/pve-iso-2-pxe/pull/37 (2023-03-23: "Proxmox VE 7.4 Released", links the press release)',
      'https://github.com/jiangcuo/Proxmox-Arm64/issues/15 (2023-04-09: links the forum thread "Opt-in Linux 6.2 Kernel for Proxmox VE 7.x available")',
      'https://github.com/fabianishere/pve-edge-kernel/issues/367 (2023-04-04, maintainer: "Proxmox offers both Linux 6.1 and 6.2 at the moment")',
    ],
    unconfirmed: [
      'the month the PKRU patch reached the bullseye-6.2 build (taken to be 2023-07 like bookworm)',
      'pve-5.15 leaks like 5.16 (the Jammy FPU-rework backport; see the pve-5.15 row of model/kernels.ts)',
    ],
  },
  {
    id: 'pve8.0', major: 8, minor: 0, debian: 'bookworm', date: '2023-06',
    kernels: [
      { kernel: 'linux-6.2', default: true, versions: '6.2.16-3 … 6.2.16-4', until: '2023-07', note: UNPATCHED_62 },
      { kernel: 'pve-6.2-2023-07', default: true, versions: '6.2.16-5 … 6.2.16-18', from: '2023-07', until: '2023-10' },
      { kernel: 'pve-6.2-2023-10', default: true, versions: '6.2.16-19 …', from: '2023-10' },
      { kernel: 'pve-6.5', default: false, versions: '6.5.3-1 …', from: '2023-10' },
    ],
    qemu: 'qemu-8.0',
    laterQemu: 'qemu-8.1', laterQemuFrom: '2023-10',
    sources: [
      KERNEL_CHANGELOG + ': 6.2.16-1 (2023-05-20) first bookworm build; 6.2.16-3 (2023-06-17); 6.2.16-5 (2023-07-14) "kvm: xsave set: mask-out PKRU bit …"; 6.2.16-19 (2023-10-24) "constraining guest-supported xfeatures only at KVM_GET_XSAVE{2}"; proxmox-kernel-6.5 6.5.3-1~1 (2023-10-13)',
      RESEARCH + ': patch 1559d22f3510 (2023-07-14), backport 6d825fcff3fc (2023-10-21) on bookworm-6.2',
      QEMU_CHANGELOG_PORT + ': 8.0.0-1 (2023-05-22, "re-build for Proxmox VE 8 / Debian 12 Bookworm"), 8.0.2-1 (2023-06-06) … 8.0.2-7 (2023-10-04); 8.1.2-1 (2023-10-24)',
      PVE7TO8,
      'https://github.com/morph027/pve-iso-2-pxe/pull/39 (2023-06-22: PXE-installed Proxmox VE 8.0, links the press release)',
      'https://github.com/luchina-gabriel/OSX-PROXMOX/pull/30 (2023-06-30: "pve-manager/8.0.3 … running kernel: 6.2.16-3-pve")',
    ],
    unconfirmed: [
      '6.2.16-3 as the kernel of the 8.0 ISO itself (a node on 8.0.3 a week later ran it; the release notes were not read here)',
      'changelog dates are build dates: the month a build reached the public repositories may be later',
    ],
  },
  {
    id: 'pve8.1', major: 8, minor: 1, debian: 'bookworm', date: '2023-11',
    kernels: [
      { kernel: 'pve-6.5', default: true, versions: '6.5.11-x … 6.5.13-x' },
      { kernel: 'pve-6.8', default: false, versions: '6.8.1-1 (2024-04-02) …', from: '2024-04' },
    ],
    qemu: 'qemu-8.1',
    sources: [
      KERNEL_CHANGELOG + ': proxmox-kernel-6.5 6.5.11-1 (2023-11-08) … 6.5.11-4 (2023-11-20, signed kernel for secure boot) … 6.5.13-4 (2024-03-29); proxmox-kernel-6.8 6.8.1-1 (2024-04-02)',
      QEMU_CHANGELOG_PORT + ': 8.1.2-1 (2023-10-24) … 8.1.2-6 (2023-12-15), 8.1.5-1 (2024-02-02)',
      RESEARCH + ': bookworm-6.5 carries variant A',
      PVE8TO9,
      'https://github.com/morph027/pve-iso-2-pxe/pull/41 (2023-11-24: PXE-installed Proxmox VE 8.1)',
      'https://github.com/fabianishere/pve-edge-kernel/issues/371 (2023-12-03: "Proxmox VE 8.1 uses the 6.5 kernel")',
    ],
    unconfirmed: [
      'the 6.8 opt-in may have reached 8.1 nodes on the test repository in 2024-03 already (the model takes the 6.8.1-1 build month)',
    ],
  },
  {
    id: 'pve8.2', major: 8, minor: 2, debian: 'bookworm', date: '2024-04',
    kernels: [{ kernel: 'pve-6.8', default: true, versions: '6.8.4-x …' }],
    qemu: 'qemu-8.1',
    laterQemu: 'qemu-9.0', laterQemuFrom: '2024-06',
    sources: [
      KERNEL_CHANGELOG + ': proxmox-kernel-6.8 6.8.1-1 (2024-04-02, Ubuntu 24.04 Noble based), 6.8.4-2 (2024-04-10)',
      QEMU_CHANGELOG_PORT + ': 8.1.5-5 (2024-04-11); 8.2.2-1 (2024-04-27) and 9.0.0-1 (2024-04-29), where 9.0.0-2 (2024-05-17) says "Proxmox VE only ever had 8.2 on the test repository and 9.0 not yet in any public repository"; 9.0.2-1 (2024-07-29)',
      RESEARCH + ': bookworm-6.8 carries variant A (6.8.12, still rebased in 2026)',
      PVE8TO9,
      'https://github.com/brunokc/pve-kernel-builder/issues/15 (2024-05-31: "proxmox 8.2.2 with 6.8.4-x-pve")',
    ],
    unconfirmed: [
      'release month 2024-04 (release notes not read here; the 6.8.4 kernel and QEMU 8.1.5 builds of early April fit it)',
      'the month QEMU 9.0 reached the public repositories (after 2024-05-17 by the changelog; taken as 2024-06)',
    ],
  },
  {
    id: 'pve8.3', major: 8, minor: 3, debian: 'bookworm', date: '2024-11',
    kernels: [
      { kernel: 'pve-6.8', default: true, versions: '6.8.12-x' },
      { kernel: 'pve-6.11', default: false, versions: '6.11.0-1 …' },
    ],
    qemu: 'qemu-9.0',
    laterQemu: 'qemu-9.2', laterQemuFrom: '2025-02',
    sources: [
      KERNEL_CHANGELOG + ': proxmox-kernel-6.11 6.11.0-1 (2024-10-23, Ubuntu 24.10 Oracular based); proxmox-kernel-6.8 6.8.12-3 (2024-10-23)',
      'https://pastebin.com/1Q5zkKsD (pveversion: proxmox-ve 8.3.0, running kernel 6.8.12-5-pve)',
      'https://github.com/strongtz/i915-sriov-dkms/issues/224 (2024-11-22: "Proxmox 8.3 dropped this week", "kernel 6.8.12-4 or 6.11"; a fresh install of pve-manager 8.3.0 runs 6.8.12-4-pve)',
      QEMU_CHANGELOG_PORT + ': 9.0.2-4 (2024-11-10); 9.1.2-1 (2024-12-11); 9.2.0-1 (2025-02-04)',
      RESEARCH + ': bookworm-6.11 carries variant A',
      PVE8TO9,
    ],
    unconfirmed: [
      'QEMU 9.1 (2024-12) came between 9.0 and 9.2; the model keeps only the last update of a release',
    ],
  },
  {
    id: 'pve8.4', major: 8, minor: 4, debian: 'bookworm', date: '2025-04',
    kernels: [
      { kernel: 'pve-6.8', default: true, versions: '6.8.12-x' },
      { kernel: 'pve-6.14', default: false, versions: '6.14.0-2 … 6.14.8 (bookworm)' },
    ],
    qemu: 'qemu-9.2',
    sources: [
      KERNEL_CHANGELOG + ': proxmox-kernel-6.14 6.14.0-1 (2025-03-26, Ubuntu 25.04 Plucky based) … 6.14.8-3~bpo12+1 (2025-09-12) on bookworm',
      QEMU_CHANGELOG_PORT + ': 9.2.0-1 (2025-02-04) … 9.2.0-5 (2025-04-04)',
      'https://github.com/jiangcuo/pxvirt/issues/177 (quotes the 8.4 release notes: released 2025-04-09, Debian 12.10, kernel 6.8.12-9 default, 6.14 opt-in, QEMU 9.2.0)',
      RESEARCH + ': bookworm-6.14 carries variant B (9ecdffc222e0, 2025-03-28)',
      PVE8TO9,
    ],
    unconfirmed: [
      'a QEMU 10.0 build for PVE 8.4 (bookworm) before 9.0 is not looked for: the port changelog ends at 9.2.0-5',
    ],
  },
  {
    id: 'pve9.0', major: 9, minor: 0, debian: 'trixie', date: '2025-08',
    kernels: [{ kernel: 'pve-6.14', default: true, versions: '6.14.8-x' }],
    qemu: 'qemu-10.0',
    sources: [
      'https://www.thenextgentechinsider.com/proxmox-ve-9-0-unveiled-debian-13-kernel-6-14-82-update (quotes the 9.0 announcement: Debian 13 Trixie, kernel 6.14.8-2, QEMU 10.0.2; 2025-08-05)',
      RESEARCH + ': trixie-6.14 carries variant B',
      PVE8TO9,
      'https://github.com/AdityaGarg8/pve-edge-kernel-t2/issues/11 (2025-08-07: "From release notes … Proxmox VE 9 is using a newer Linux kernel 6.14.8-2 as stable default")',
      'https://github.com/CCOSTAN/Home-AssistantConfig/issues/1745 (links https://pve.proxmox.com/wiki/Upgrade_from_8_to_9; hosts must be current on 8.4 before the major upgrade)',
    ],
    unconfirmed: ['the opt-in 6.17 kernel offered to 9.0 nodes before 9.1 is not listed; it is the pve-6.17 row of 9.1'],
  },
  {
    id: 'pve9.1', major: 9, minor: 1, debian: 'trixie', date: '2025-11',
    kernels: [
      { kernel: 'pve-6.17', default: true, versions: '6.17.x (6.17.13-1 … 6.17.13-4 in 2026)' },
      {
        kernel: 'pve-7.0', default: false, versions: '7.0.0-3 (2026-04-21 build)', from: '2026-04',
        note: 'apt upgrade on the no-subscription repository installed and booted 7.0.0-3 on 9.1.9 while the enterprise repository stayed on 6.17.13: modelled as opt-in',
      },
    ],
    qemu: 'qemu-10.1',
    sources: [
      'https://github.com/theori-io/copy-fail-CVE-2026-31431/issues/38 (2026-04-30: pve-manager 9.1.6 … 9.1.9 running 6.17.13-2-pve on the subscription repository, 7.0.0-3-pve on no-subscription; proxmox-kernel-6.14, -6.17 and -7.0 installed side by side)',
      'https://github.com/theori-io/copy-fail-CVE-2026-31431/pull/106 (2026-05-02: Proxmox VE 9.1.9, apt upgrade moves the kernel from 6.17.13-1-pve to 7.0.0-3-pve)',
      'https://deepwiki.com/anomixer/proxmox-vgpu-installer/5.6-kernel-compatibility-management ("Proxmox VE 9.1.1 introduced kernel 6.17+")',
      RESEARCH + ': trixie-6.17 carries variant B',
    ],
    unconfirmed: [
      'release month 2025-11 and QEMU 10.1 as shipped (release notes and the pve-qemu changelog past 9.2 not read here)',
      'whether 7.0 became the default of 9.1 on the no-subscription repository before 9.2 (modelled as opt-in)',
    ],
  },
  {
    id: 'pve9.2', major: 9, minor: 2, debian: 'trixie', date: '2026-05',
    kernels: [{ kernel: 'pve-7.0', default: true, versions: '7.0.x' }],
    qemu: 'qemu-11.0',
    sources: [
      'https://blog.margrop.net/en/post/proxmox-ve-9-2-dynamic-load-balancer-release/ (summarises the 9.2 release of 2026-05-21: Debian 13.5 Trixie, kernel 7.0, QEMU 11.0)',
      RESEARCH + ': the 7.0 kernel (master, 7.0.14 as read 2026-08-22) carries variant C (c122cdc78e79)',
    ],
    unconfirmed: [
      'the 9.2 facts come from a third-party summary, not the Proxmox release notes',
      'the pve-7.0 row models pve-kernel master as read; the 7.0 build 9.2 shipped in 2026-05 is taken to carry variant C (c122cdc78e79 is of 2026-03)',
    ],
  },
];

export const RELEASE_IDS: readonly string[] = RELEASES.map((r) => r.id);

export function releaseById(id: string, releases: readonly Release[] = RELEASES): Release | undefined {
  return releases.find((r) => r.id === id);
}

/** The highest minor of `major` in the catalogue: the only release a node leaves that major from. */
export function lastMinorOf(major: number, releases: readonly Release[] = RELEASES): Release | undefined {
  return releases.filter((r) => r.major === major).sort((a, b) => b.minor - a.minor)[0];
}

/**
 * The supported upgrades: within a major to any later minor (apt full-upgrade on the same
 * repository), and from the last minor of a major to the next major's first release (pve7to8
 * needs >= 7.4-1, pve8to9 needs >= 8.4-0); never 7 → 9 directly. An in-place major upgrade
 * lands on the newest minor of the next major at that time, which the model spells as X.0
 * followed by a within-major step.
 */
export function supportedUpgrades(releases: readonly Release[]): Upgrade[] {
  const out: Upgrade[] = [];
  for (const a of releases) {
    for (const b of releases) {
      if (a.major === b.major && b.minor > a.minor) out.push([a.id, b.id]);
      const first = releases.filter((r) => r.major === a.major + 1).sort((x, y) => x.minor - y.minor)[0];
      if (b === first && lastMinorOf(a.major, releases) === a) out.push([a.id, b.id]);
    }
  }
  return out;
}

export const UPGRADES: readonly Upgrade[] = supportedUpgrades(RELEASES);

/** Releases a node of `from` can be upgraded to in one supported step. */
export function upgradesFrom(from: string, upgrades: readonly Upgrade[] = UPGRADES): string[] {
  return upgrades.filter(([a]) => a === from).map(([, b]) => b);
}

/** Every release reachable from `id` by one or more supported upgrades, in catalogue order. */
export function reachableFrom(id: string, upgrades: readonly Upgrade[] = UPGRADES, releases: readonly Release[] = RELEASES): string[] {
  const seen = new Set<string>();
  const todo = [id];
  while (todo.length > 0) {
    for (const b of upgradesFrom(todo.pop()!, upgrades)) if (!seen.has(b)) { seen.add(b); todo.push(b); }
  }
  return releases.map((r) => r.id).filter((r) => seen.has(r));
}

/** Releases at or after `id` in release order (the ones a `--drop-at id` removes the patch from). */
export function releasesFrom(id: string): Release[] {
  const i = RELEASES.findIndex((r) => r.id === id);
  return i < 0 ? [] : RELEASES.slice(i);
}

/** Kernel rows a node of `r` ran on the release date (the release "as shipped"). */
export function shippedKernels(r: Release): ReleaseKernel[] {
  return r.kernels.filter((k) => k.from === undefined);
}

/** Kernel rows a node of `r` runs with every update of the release applied. */
export function currentKernels(r: Release): ReleaseKernel[] {
  return r.kernels.filter((k) => k.until === undefined);
}

/** The default kernel row on the release date, or with every update applied. */
export function defaultKernel(r: Release, when: 'shipped' | 'current' = 'current'): string | undefined {
  return (when === 'shipped' ? shippedKernels(r) : currentKernels(r)).find((k) => k.default)?.kernel;
}

/** The Proxmox PKRU patch a release kernel row carries: the pvePatch field of its kernels.ts row. */
export function patchOf(k: ReleaseKernel): PveVariant | null {
  return kernelById(k.kernel)?.pvePatch ?? null;
}

/** The QEMU restore policy of a release as shipped, or with `laterQemu` applied. */
export function qemuPolicyOf(r: Release, when: 'shipped' | 'current' = 'shipped'): QemuPolicy | undefined {
  const id = when === 'current' && r.laterQemu ? r.laterQemu : r.qemu;
  return parseQemu(id)?.policy;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Upgrades that close a cycle (each reported once, by the edge that returns to a release on the path). */
function cycles(upgrades: readonly Upgrade[]): string[] {
  const out: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const nodes = [...new Set(upgrades.flat())];
  const visit = (n: string): void => {
    state.set(n, 'open');
    for (const m of upgradesFrom(n, upgrades)) {
      if (state.get(m) === 'open') out.push(`upgrade ${n} → ${m}: closes an upgrade cycle`);
      else if (!state.has(m)) visit(m);
    }
    state.set(n, 'done');
  };
  for (const n of nodes) if (!state.has(n)) visit(n);
  return out;
}

/**
 * Problems of a catalogue: every kernel and QEMU id must exist (a typo would silently model
 * nothing), every release must cite a source, and the upgrade graph must be the supported one
 * (no cycle, no downgrade, no skipped major, majors left only from their last minor).
 */
export function checkReleases(releases: readonly Release[] = RELEASES, upgrades: readonly Upgrade[] = UPGRADES): string[] {
  const errors: string[] = [];
  const ids = new Set<string>();
  releases.forEach((r, i) => {
    if (!/^pve\d+\.\d+$/.test(r.id)) errors.push(`${r.id}: id must read pveMAJOR.MINOR`);
    else if (r.id !== `pve${r.major}.${r.minor}`) errors.push(`${r.id}: id does not match major ${r.major} / minor ${r.minor}`);
    if (ids.has(r.id)) errors.push(`${r.id}: duplicate release id`);
    ids.add(r.id);
    const prev = releases[i - 1];
    if (prev && (prev.major > r.major || (prev.major === r.major && prev.minor >= r.minor))) errors.push(`${r.id}: out of release order after ${prev.id}`);
    if (!MONTH.test(r.date)) errors.push(`${r.id}: date ${r.date} must read YYYY-MM`);
    if (prev && r.date < prev.date) errors.push(`${r.id}: date ${r.date} before ${prev.id}'s ${prev.date}`);
    if (r.sources.length === 0 || r.sources.some((s) => s.trim() === '')) errors.push(`${r.id}: release without source`);
    for (const k of r.kernels) {
      if (!kernelById(k.kernel)) errors.push(`${r.id}: unknown kernel ${k.kernel}`);
      for (const [field, m] of [['from', k.from], ['until', k.until]] as const) {
        if (m !== undefined && !MONTH.test(m)) errors.push(`${r.id}: kernel ${k.kernel} ${field} ${m} must read YYYY-MM`);
      }
      if (k.from !== undefined && k.from < r.date) errors.push(`${r.id}: kernel ${k.kernel} from ${k.from} before the release date ${r.date}`);
      if (k.from !== undefined && k.until !== undefined && k.until <= k.from) errors.push(`${r.id}: kernel ${k.kernel} until ${k.until} not after from ${k.from}`);
    }
    for (const [when, list] of [['shipped', shippedKernels(r)], ['current', currentKernels(r)]] as const) {
      if (list.filter((k) => k.default).length !== 1) errors.push(`${r.id}: exactly one default kernel ${when}`);
    }
    const q = parseQemu(r.qemu);
    if (!q) errors.push(`${r.id}: bad qemu id ${r.qemu}`);
    if (r.laterQemu !== undefined) {
      const l = parseQemu(r.laterQemu);
      if (!l) errors.push(`${r.id}: bad laterQemu id ${r.laterQemu}`);
      else if (q && (l.major < q.major || (l.major === q.major && l.minor <= q.minor))) errors.push(`${r.id}: laterQemu ${r.laterQemu} not newer than ${r.qemu}`);
      if (r.laterQemuFrom === undefined || !MONTH.test(r.laterQemuFrom)) errors.push(`${r.id}: laterQemu needs laterQemuFrom YYYY-MM`);
    }
  });
  for (const [a, b] of upgrades) {
    const ra = releases.find((r) => r.id === a);
    const rb = releases.find((r) => r.id === b);
    if (!ra || !rb) { errors.push(`upgrade ${a} → ${b}: unknown release`); continue; }
    if (rb.major < ra.major || (rb.major === ra.major && rb.minor <= ra.minor)) errors.push(`upgrade ${a} → ${b}: not to a later release`);
    if (rb.major > ra.major + 1) errors.push(`upgrade ${a} → ${b}: skips a major`);
    if (rb.major === ra.major + 1 && lastMinorOf(ra.major, releases) !== ra) errors.push(`upgrade ${a} → ${b}: a major is left only from its last minor`);
  }
  errors.push(...cycles(upgrades));
  // every release but the first must be reachable by upgrades, or the lifecycle search never visits it
  const first = releases[0];
  if (first) {
    const reach = new Set(reachableFrom(first.id, upgrades, releases));
    for (const r of releases.slice(1)) if (!reach.has(r.id)) errors.push(`${r.id}: not reachable by upgrades from ${first.id}`);
  }
  return errors;
}
