// Seed derivation and the batch runner, in-process.
import { PVE_FIXUP } from '../model';
import { brokenFixup } from '../properties/brokenFixups';
import { PROPERTIES } from '../properties/claims';
import { counterexampleCase } from '../properties/counterexample';
import { runProperty } from '../properties/properties';
import { runBatch } from '../fuzz/batch';
import { BatchSeeds, batchSeedInShard, dateSeed, parseShard, shardOfSeed } from '../fuzz/seeds';

const SEED = 20261124;

test('the default seed is the UTC date as YYYYMMDD', () => {
  expect(dateSeed(new Date(Date.UTC(2026, 10, 24, 23, 59)))).toBe(20261124);
  expect(dateSeed(new Date(Date.UTC(2027, 0, 1, 0, 0)))).toBe(20270101);
});

test('--shard parses I/N with 1 ≤ I ≤ N', () => {
  expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
  for (const bad of ['0/4', '5/4', '1/0', 'x', '1/2/3', '-1/2']) expect(() => parseShard(bad)).toThrow(/--shard/);
});

test(`shards draw disjoint batch seeds, whatever their worker counts (seed ${SEED})`, () => {
  const N = 4;
  const bySeed = new Map<number, number>();
  for (let i = 1; i <= N; i++) {
    for (let w = 0; w < 3; w++) {
      const s = new BatchSeeds(SEED, { index: i, count: N }, w);
      for (let b = 0; b < 500; b++) {
        const plan = s.next();
        expect(plan.seed).toBeGreaterThanOrEqual(0);
        expect(plan.seed).toBeLessThan(2 ** 31);
        expect(shardOfSeed(plan.seed, N)).toBe(i);
        const other = bySeed.get(plan.seed);
        if (other !== undefined) expect(other).toBe(i);
        bySeed.set(plan.seed, i);
      }
    }
  }
  expect(batchSeedInShard(10, { index: 3, count: 4 })).toBe(42);
});

test(`a worker's batch sequence is a function of (seed, shard, worker) (seed ${SEED})`, () => {
  const take = (seed: number, shard: { index: number; count: number }, w: number) => {
    const s = new BatchSeeds(seed, shard, w);
    return Array.from({ length: 20 }, () => s.next());
  };
  expect(take(SEED, { index: 1, count: 1 }, 0)).toEqual(take(SEED, { index: 1, count: 1 }, 0));
  expect(take(SEED, { index: 1, count: 1 }, 0)).not.toEqual(take(SEED, { index: 1, count: 1 }, 1));
  expect(take(SEED, { index: 1, count: 1 }, 0)).not.toEqual(take(SEED + 1, { index: 1, count: 1 }, 0));
  const props = new Set(take(SEED, { index: 1, count: 1 }, 0).map((p) => p.property));
  expect(props.size).toBeGreaterThanOrEqual(4);
});

test(`a batch counts every scenario once per class dimension (seed ${SEED})`, () => {
  const r = runBatch('P3', PVE_FIXUP, SEED, 200);
  expect(r.finding).toBeNull();
  expect(r.cases).toBe(200);
  expect(Object.values(r.classes).reduce((a, b) => a + b, 0)).toBe(200);
  expect(r.ioctl!.valid + r.ioctl!.leaked + r.ioctl!.other).toBe(200);
  const pku = (r.extra['host-pku:yes'] ?? 0) + (r.extra['host-pku:no'] ?? 0);
  expect(pku).toBe(200);
  const p2 = runBatch('P2', PVE_FIXUP, SEED, 100);
  expect(p2.ioctl).toBeNull();
  expect((p2.extra['vmm:ignore'] ?? 0) + (p2.extra['vmm:abort'] ?? 0)).toBe(100);
});

test(`a failing batch yields the shrunk counterexample as a case, as check would (seed ${SEED})`, () => {
  const r = runBatch('P1', brokenFixup('always-clear'), SEED, 500);
  expect(r.finding).not.toBeNull();
  const f = r.finding!;
  expect(f.property).toBe('P1');
  expect(f.reason).toBe('the fixup changed a valid buffer');
  expect(f.caseId).toMatch(/^p1-[0-9a-f]{12}$/);
  expect(JSON.parse(f.caseJson!).id).toBe(f.caseId);
  expect(f.path).toMatch(/^\d+(:\d+)*$/);
  // Shrinking steps are not counted as cases.
  expect(r.cases).toBeLessThanOrEqual(500);
});

test(`a batch keeps fast-check's shrunk counterexample: its case is the one check writes for that seed and run count (seed ${SEED})`, () => {
  for (const [id, broken] of [['P1', 'always-clear'], ['P2', 'mask-0x100'], ['P3', 'toggle-pkru'], ['P4', 'also-clears-xcomp']] as const) {
    const f = runBatch(id, brokenFixup(broken), SEED, 500).finding;
    const run = runProperty(PROPERTIES[id], brokenFixup(broken), { seed: SEED, numRuns: 500, coverage: false });
    expect(f).not.toBeNull();
    expect(run.failed).toBe(true);
    expect(f!.path).toBe(run.path);
    expect(f!.reason).toBe(run.reason);
    expect(f!.caseJson).toBe(counterexampleCase(run)!.json);
  }
});

// Issue 12: coverage counting, classify and check share one built case. Before, P4 built each
// case three times (counters, classify, check) and ran the unpatched SET three times.
test(`a batch builds each case once and hands that build to classify and check (seed ${SEED})`, () => {
  for (const id of ['P1', 'P2', 'P3', 'P4', 'P5'] as const) {
    const p = PROPERTIES[id];
    const original = p.build.bind(p);
    const builds: unknown[] = [];
    const build = jest.spyOn(p, 'build').mockImplementation((s) => {
      // P5 builds nothing (null): a fresh object stands for it, to tell builds apart
      const b = original(s) ?? { p5: true };
      builds.push(b);
      return b;
    });
    const passed: unknown[] = [];
    const check = jest.spyOn(p, 'check').mockImplementation((_s, _f, b) => (passed.push(b), null));
    const classified: unknown[] = [];
    const classify = jest.spyOn(p, 'classify').mockImplementation((_s, b) => (classified.push(b), 'x'));
    try {
      const r = runBatch(id, PVE_FIXUP, SEED, 50);
      expect(r.cases).toBe(50);
      expect(builds).toHaveLength(50);
      expect(passed).toEqual(builds);
      expect(classified).toEqual(builds);
      passed.forEach((b, i) => expect(b).toBe(builds[i]));
    } finally {
      build.mockRestore();
      check.mockRestore();
      classify.mockRestore();
    }
  }
});
