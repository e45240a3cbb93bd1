// The release catalogue (model/releases.ts): its data as tables, and each check of
// checkReleases with a mutated catalogue it must catch (negative controls).
import {
  RELEASES, RELEASE_IDS, Release, UPGRADES, Upgrade, checkReleases, currentKernels, defaultKernel, lastMinorOf,
  patchOf, qemuPolicyOf, reachableFrom, releaseById, releasesFrom, shippedKernels, supportedUpgrades, upgradesFrom,
} from './releases';
import { kernelById } from './kernels';

describe('the catalogue as shipped', () => {
  test('checkReleases finds no problem', () => {
    expect(checkReleases()).toEqual([]);
    expect(checkReleases(RELEASES, UPGRADES)).toEqual([]);
  });

  test('releases from 7.4 to the newest the sources show, in order', () => {
    expect(RELEASE_IDS).toEqual(['pve7.4', 'pve8.0', 'pve8.1', 'pve8.2', 'pve8.3', 'pve8.4', 'pve9.0', 'pve9.1', 'pve9.2']);
  });

  // release, default kernel as shipped, default kernel with updates, QEMU, policy as shipped
  test.each([
    ['pve7.4', 'pve-5.15', 'pve-5.15', 'qemu-7.2', 'ignore'],
    ['pve8.0', 'linux-6.2', 'pve-6.2-2023-10', 'qemu-8.0', 'ignore'],
    ['pve8.1', 'pve-6.5', 'pve-6.5', 'qemu-8.1', 'ignore'],
    ['pve8.2', 'pve-6.8', 'pve-6.8', 'qemu-8.1', 'ignore'],
    ['pve8.3', 'pve-6.8', 'pve-6.8', 'qemu-9.0', 'abort'],
    ['pve8.4', 'pve-6.8', 'pve-6.8', 'qemu-9.2', 'abort'],
    ['pve9.0', 'pve-6.14', 'pve-6.14', 'qemu-10.0', 'abort'],
    ['pve9.1', 'pve-6.17', 'pve-6.17', 'qemu-10.1', 'abort'],
    ['pve9.2', 'pve-7.0', 'pve-7.0', 'qemu-11.0', 'abort'],
  ])('%s: default kernel %s as shipped, %s updated; %s (%s)', (id, shipped, current, qemu, policy) => {
    const r = releaseById(id)!;
    expect(defaultKernel(r, 'shipped')).toBe(shipped);
    expect(defaultKernel(r, 'current')).toBe(current);
    expect(r.qemu).toBe(qemu);
    expect(qemuPolicyOf(r)).toBe(policy);
  });

  // the patch as shipped, per kernel row present on the release date (pvePatch of model/kernels.ts)
  test.each([
    ['pve7.4', { 'pve-5.15': null, 'linux-6.2': null }],
    ['pve8.0', { 'linux-6.2': null }],
    ['pve8.1', { 'pve-6.5': 'A' }],
    ['pve8.2', { 'pve-6.8': 'A' }],
    ['pve8.3', { 'pve-6.8': 'A', 'pve-6.11': 'A' }],
    ['pve8.4', { 'pve-6.8': 'A', 'pve-6.14': 'B' }],
    ['pve9.0', { 'pve-6.14': 'B' }],
    ['pve9.1', { 'pve-6.17': 'B' }],
    ['pve9.2', { 'pve-7.0': 'C' }],
  ])('%s: patch as shipped %o', (id, expected) => {
    const got = Object.fromEntries(shippedKernels(releaseById(id)!).map((k) => [k.kernel, patchOf(k)]));
    expect(got).toEqual(expected);
  });

  test('PVE 8.0 shipped without the patch; 6.2.16-5 (2023-07) brought it, 6.2.16-19 (2023-10) the GET-mask backport', () => {
    const r = releaseById('pve8.0')!;
    expect(r.kernels.map((k) => [k.kernel, k.from ?? r.date, k.until ?? null])).toEqual([
      ['linux-6.2', '2023-06', '2023-07'],
      ['pve-6.2-2023-07', '2023-07', '2023-10'],
      ['pve-6.2-2023-10', '2023-10', null],
      ['pve-6.5', '2023-10', null],
    ]);
    expect(currentKernels(r).every((k) => patchOf(k) !== null)).toBe(true);
  });

  test('with every update applied, every PVE 8 and 9 kernel carries the patch; the PVE 7.4 default does not', () => {
    for (const r of RELEASES.filter((x) => x.major >= 8)) {
      expect([r.id, currentKernels(r).filter((k) => patchOf(k) === null).map((k) => k.kernel)]).toEqual([r.id, []]);
    }
    expect(currentKernels(releaseById('pve7.4')!).map((k) => [k.kernel, patchOf(k)])).toEqual([['pve-5.15', null], ['pve-6.2-2023-10', 'A']]);
  });

  test('PVE 9.1 nodes could run 7.0 (variant C) from 2026-04, before 9.2 shipped it', () => {
    const r = releaseById('pve9.1')!;
    expect(currentKernels(r).map((k) => [k.kernel, k.default, k.from ?? r.date, patchOf(k)])).toEqual([
      ['pve-6.17', true, '2025-11', 'B'],
      ['pve-7.0', false, '2026-04', 'C'],
    ]);
  });

  test('a mapped kernel (no row of its own) says why in a note, and the row exists', () => {
    const mapped = RELEASES.flatMap((r) => r.kernels.filter((k) => k.note).map((k) => k.kernel));
    expect(mapped.length).toBeGreaterThan(0);
    for (const k of mapped) expect(kernelById(k)).toBeDefined();
  });

  test('every release cites a source and lists its unconfirmed facts as an array', () => {
    for (const r of RELEASES) {
      expect(r.sources.length).toBeGreaterThan(0);
      expect(Array.isArray(r.unconfirmed)).toBe(true);
    }
  });

  test.each([
    ['pve8.0', 'qemu-8.1', '2023-10', 'ignore'],
    ['pve8.2', 'qemu-9.0', '2024-06', 'abort'],
    ['pve8.3', 'qemu-9.2', '2025-02', 'abort'],
  ])('%s gets %s in %s within the release (policy %s)', (id, later, month, policy) => {
    const r = releaseById(id)!;
    expect([r.laterQemu, r.laterQemuFrom, qemuPolicyOf(r, 'current')]).toEqual([later, month, policy]);
  });

  test('QEMU 8.2 (the first that aborts on a failed put) never shipped: the abort policy arrives with 9.0, in 8.2 by update and 8.3 as shipped', () => {
    expect(RELEASES.some((r) => r.qemu === 'qemu-8.2' || r.laterQemu === 'qemu-8.2')).toBe(false);
    expect(RELEASES.find((r) => qemuPolicyOf(r, 'shipped') === 'abort')?.id).toBe('pve8.3');
    expect(RELEASES.find((r) => qemuPolicyOf(r, 'current') === 'abort')?.id).toBe('pve8.2');
  });
});

describe('upgrade paths', () => {
  test.each([
    ['pve7.4', ['pve8.0']],
    ['pve8.0', ['pve8.1', 'pve8.2', 'pve8.3', 'pve8.4']],
    ['pve8.3', ['pve8.4']],
    ['pve8.4', ['pve9.0']],
    ['pve9.0', ['pve9.1', 'pve9.2']],
    ['pve9.2', []],
  ])('%s upgrades in one step to %o', (from, to) => {
    expect(upgradesFrom(from)).toEqual(to);
  });

  test('7.4 reaches every later release, never 9 in one step', () => {
    expect(reachableFrom('pve7.4')).toEqual(RELEASE_IDS.slice(1));
    expect(upgradesFrom('pve7.4').some((b) => b.startsWith('pve9'))).toBe(false);
  });

  test('reachableFrom: 8.2 reaches 8.3 … 9.2; the newest reaches nothing; an unknown id nothing', () => {
    expect(reachableFrom('pve8.2')).toEqual(['pve8.3', 'pve8.4', 'pve9.0', 'pve9.1', 'pve9.2']);
    expect(reachableFrom('pve9.2')).toEqual([]);
    expect(reachableFrom('pve6.4')).toEqual([]);
  });

  test('majors are left from their last minor only', () => {
    expect(lastMinorOf(7)?.id).toBe('pve7.4');
    expect(lastMinorOf(8)?.id).toBe('pve8.4');
    const cross = UPGRADES.filter(([a, b]) => releaseById(a)!.major !== releaseById(b)!.major);
    expect(cross).toEqual([['pve7.4', 'pve8.0'], ['pve8.4', 'pve9.0']]);
  });

  test('releasesFrom: the releases a --drop-at removes the patch from', () => {
    expect(releasesFrom('pve9.0').map((r) => r.id)).toEqual(['pve9.0', 'pve9.1', 'pve9.2']);
    expect(releasesFrom('pve6.4')).toEqual([]);
  });
});

// Negative controls: each check of checkReleases catches a catalogue broken in its way.
describe('checkReleases catches a mutated catalogue', () => {
  const edit = (id: string, f: (r: Release) => Release): Release[] => RELEASES.map((r) => (r.id === id ? f(r) : r));
  const problems = (releases: readonly Release[], upgrades: readonly Upgrade[] = supportedUpgrades(releases)): string[] =>
    checkReleases(releases, upgrades);

  test.each<[string, () => string[], RegExp]>([
    ['unknown kernel id', () => problems(edit('pve8.2', (r) => ({ ...r, kernels: [{ kernel: 'pve-6.9', default: true }] }))), /pve8\.2: unknown kernel pve-6\.9/],
    ['unparseable QEMU', () => problems(edit('pve9.0', (r) => ({ ...r, qemu: 'qemu 10.0' }))), /pve9\.0: bad qemu id qemu 10\.0/],
    ['unparseable later QEMU', () => problems(edit('pve8.2', (r) => ({ ...r, laterQemu: '9.0' }))), /pve8\.2: bad laterQemu id 9\.0/],
    ['later QEMU not newer', () => problems(edit('pve8.2', (r) => ({ ...r, laterQemu: 'qemu-8.0' }))), /pve8\.2: laterQemu qemu-8\.0 not newer/],
    ['later QEMU without a month', () => problems(edit('pve8.2', (r) => ({ ...r, laterQemuFrom: undefined }))), /pve8\.2: laterQemu needs laterQemuFrom/],
    ['release without source', () => problems(edit('pve8.3', (r) => ({ ...r, sources: [] }))), /pve8\.3: release without source/],
    ['blank source', () => problems(edit('pve8.3', (r) => ({ ...r, sources: [' '] }))), /pve8\.3: release without source/],
    ['hyphenated id', () => problems(edit('pve8.1', (r) => ({ ...r, id: 'pve-8.1' }))), /pve-8\.1: id must read pveMAJOR\.MINOR/],
    ['id not matching major/minor', () => problems(edit('pve8.1', (r) => ({ ...r, minor: 5 }))), /pve8\.1: id does not match/],
    ['duplicate id', () => problems([...RELEASES, RELEASES[0]!]), /pve7\.4: duplicate release id/],
    ['out of order', () => problems([RELEASES[1]!, RELEASES[0]!, ...RELEASES.slice(2)]), /pve7\.4: out of release order after pve8\.0/],
    ['bad date', () => problems(edit('pve8.1', (r) => ({ ...r, date: '2023-13' }))), /pve8\.1: date 2023-13 must read YYYY-MM/],
    ['date going back', () => problems(edit('pve8.1', (r) => ({ ...r, date: '2022-01' }))), /pve8\.1: date 2022-01 before pve8\.0/],
    ['no default kernel', () => problems(edit('pve8.1', (r) => ({ ...r, kernels: [{ kernel: 'pve-6.5', default: false }] }))), /pve8\.1: exactly one default kernel shipped/],
    ['two defaults', () => problems(edit('pve8.3', (r) => ({ ...r, kernels: r.kernels.map((k) => ({ ...k, default: true })) }))), /pve8\.3: exactly one default kernel current/],
    ['opt-in before the release', () => problems(edit('pve8.0', (r) => ({ ...r, kernels: r.kernels.map((k) => (k.kernel === 'pve-6.5' ? { ...k, from: '2023-01' } : k)) }))), /pve8\.0: kernel pve-6\.5 from 2023-01 before the release date/],
    ['until not after from', () => problems(edit('pve8.0', (r) => ({ ...r, kernels: r.kernels.map((k) => (k.kernel === 'pve-6.2-2023-07' ? { ...k, until: '2023-07' } : k)) }))), /until 2023-07 not after from 2023-07/],
    ['bad month in from', () => problems(edit('pve8.0', (r) => ({ ...r, kernels: r.kernels.map((k) => (k.kernel === 'pve-6.5' ? { ...k, from: 'Oct 2023' } : k)) }))), /kernel pve-6\.5 from Oct 2023 must read YYYY-MM/],
    ['upgrade to an unknown release', () => problems(RELEASES, [...UPGRADES, ['pve9.2', 'pve9.3']]), /upgrade pve9\.2 → pve9\.3: unknown release/],
    ['downgrade', () => problems(RELEASES, [...UPGRADES, ['pve8.2', 'pve8.1']]), /upgrade pve8\.2 → pve8\.1: not to a later release/],
    ['upgrade cycle', () => problems(RELEASES, [...UPGRADES, ['pve8.2', 'pve8.1']]), /closes an upgrade cycle/],
    ['upgrade skipping a major (7 → 9)', () => problems(RELEASES, [...UPGRADES, ['pve7.4', 'pve9.0']]), /upgrade pve7\.4 → pve9\.0: skips a major/],
    ['major left before its last minor (8.2 → 9.0)', () => problems(RELEASES, [...UPGRADES, ['pve8.2', 'pve9.0']]), /upgrade pve8\.2 → pve9\.0: a major is left only from its last minor/],
    ['release unreachable by upgrades', () => problems(RELEASES, UPGRADES.filter(([a, b]) => !(a === 'pve8.4' && b === 'pve9.0'))), /pve9\.0: not reachable by upgrades from pve7\.4/],
  ])('%s', (_name, run, expected) => {
    const found = run();
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  test('a self-upgrade is a cycle of one', () => {
    const found = checkReleases(RELEASES, [...UPGRADES, ['pve8.0', 'pve8.0']]);
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/upgrade pve8\.0 → pve8\.0: closes an upgrade cycle/)]));
  });
});
