// Claims L1 and L2 by the bounded exhaustive search and by random lives (issue 15), with their
// negative controls: a broken fixup that L1 catches, and stories that must fail do.
import { Fixup, LifecycleOp, RELEASES, initialCluster, kernelById, runStory } from '../model';
import { brokenFixup } from '../properties/brokenFixups';
import { checkRandomLives } from '../properties/lifecycle';
import { defaultDepth, searchLifecycle, upgradeDistances } from './search';
import { dropTable } from './table';

const noPatch: Fixup = { name: 'no-op', fn: () => undefined };

describe('L1: the patch as shipped', () => {
  test('no failing sequence up to depth 6 (exhaustive, 2 nodes)', () => {
    const r = searchLifecycle({ dropAt: null, depth: 6 });
    expect(r.failure).toBeNull();
    expect(r.completeTo).toBe(6);
    expect(r.states).toBeGreaterThan(1000);
  });

  test('the failure that does not count is found and reported apart: a within-PVE-7.4 migration from a PKU to a no-PKU host on pve-5.15', () => {
    const r = searchLifecycle({ dropAt: null, depth: 3 });
    expect(r.regardless).not.toBeNull();
    expect(r.regardless!.failure).toMatchObject({ op: 'migrate', counted: false, restoredOn: { release: RELEASES[0]!.id } });
    expect(kernelById(r.regardless!.failure.restoredOn.kernel)!.pvePatch).toBeNull();
  });

  test('no failing sequence in 200 random lives of up to 24 operations (seed 20261205)', () => {
    expect(checkRandomLives({ dropAt: null, seed: 20261205, numRuns: 200 }).failure).toBeNull();
  });

  test('negative control: with a broken fixup in place of the patch, L1 fails (exhaustive and random)', () => {
    // decide-host-supported keeps the leaked bit on PKU hosts: only a 6.2-rule kernel (PVE 7.4's
    // opt-in) refuses it there, which random lives rarely reach; the exhaustive search does.
    for (const [f, random] of [[noPatch, true], [brokenFixup('mask-0x100'), true], [brokenFixup('decide-host-supported'), false]] as const) {
      const r = searchLifecycle({ dropAt: null, depth: 4, fixup: f });
      expect({ fixup: f.name, failed: r.failure !== null }).toEqual({ fixup: f.name, failed: true });
      expect(r.failure!.failure.counted).toBe(true);
      if (random) expect(checkRandomLives({ dropAt: null, seed: 7, numRuns: 300, fixup: f }).failure).not.toBeNull();
    }
  });
});

describe('L2: the patch dropped at each release', () => {
  const depth = defaultDepth();
  const dist = upgradeDistances();
  // Releases whose kernels carry the patch as shipped: dropping it there is the question.
  const patched = RELEASES.filter((r) => r.kernels.some((k) => kernelById(k.kernel)!.pvePatch !== null));

  test.each(patched.map((r) => r.id))('--drop-at %s: a shortest failing story is found, replays, and nothing shorter fails', (release) => {
    const r = searchLifecycle({ dropAt: release, depth });
    expect(r.failure).not.toBeNull();
    const { story, failure } = r.failure!;
    // The story must reach the release: create, save, upgrades, restore.
    expect(story.steps.length).toBeGreaterThanOrEqual(dist.get(release)! + 2);
    expect(failure).toMatchObject({ counted: true, failure: true, patched: false });
    const replay = runStory(story);
    expect(replay.failure).toEqual(failure);
    expect(replay.lines[replay.lines.length - 1]).toMatch(/→ (guest resumed with incomplete state|guest state lost|snapshot lost|suspended VM lost)/);
    // Shortest: one step less finds nothing.
    expect(searchLifecycle({ dropAt: release, depth: story.steps.length - 1 }).failure).toBeNull();
    // The same story with the patch as shipped holds.
    expect(runStory({ ...story, dropAt: null }).failure).toBeNull();
  });

  test('random lives find the first release\'s failure too, and fast-check shrinks it to within one step of the shortest', () => {
    const release = patched[0]!.id;
    const shortest = searchLifecycle({ dropAt: release, depth }).failure!.story.steps.length;
    const r = checkRandomLives({ dropAt: release, seed: 1, numRuns: 500 });
    expect(r.failure).not.toBeNull();
    // fast-check's shrinking is not guaranteed minimal (a command's parameters shrink apart from
    // the sequence); the exhaustive search is what proves the shortest length.
    expect(r.failure!.story.steps.length).toBeGreaterThanOrEqual(shortest);
    expect(r.failure!.story.steps.length).toBeLessThanOrEqual(shortest + 1);
    expect(runStory(r.failure!.story).failure).toEqual(r.failure!.failure);
  });

  test('the table has one row per release, unsafe rows with their story', () => {
    const t = dropTable({ depth: 4 });
    expect([...t.unpatched, ...t.rows.map((r) => r.release)].sort()).toEqual(RELEASES.map((r) => r.id).sort());
    expect(t.rows.map((r) => r.release)).toEqual(patched.map((r) => r.id));
    expect(t.l1.failure).toBeNull();
    for (const row of t.rows) {
      expect(row.verdict === 'unsafe').toBe(row.story !== null);
      if (row.story) expect(row.story.length).toBe(row.steps);
    }
    expect(t.rows.some((r) => r.verdict === 'unsafe')).toBe(true);
  });
});

test('a story that must fail does: create on a PKU host of the first release, upgrade the other node, migrate', () => {
  const second = [...upgradeDistances().entries()].find(([, d]) => d === 1)![0];
  const steps: LifecycleOp[] = [{ op: 'create', node: 0 }, { op: 'upgrade', node: 1, release: second }, { op: 'migrate', node: 1 }];
  const story = { cpuModel: 'qemu64', cluster: initialCluster(['icelake-sp', 'haswell']), dropAt: second, steps };
  expect(runStory(story).failure).toMatchObject({ step: 3, counted: true });
});
