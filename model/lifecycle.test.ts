// The lifecycle simulator: saved states are the bytes GET produced on the saving node, restores
// run on the restoring node of the time, and the outcome rules per operation (issue 15).
import { HOSTS, Lifecycle, LifecycleOp, LifecycleStory, MASK, OFF, PVE_FIXUP, RELEASES, releaseKernel, initialCluster, initialState, kernelById, parseQemu, releaseOf, restoresOf, runStory, upgradePath } from '.';

// Derived from the release catalogue (model/releases.ts), so that these stay true when its data changes.
const upgrades = (node: number, to: string): LifecycleOp[] => upgradePath(to)!.map((release) => ({ op: 'upgrade', node, release }));
const aborts = (r: string): boolean => parseQemu(releaseOf(r).qemu)!.policy === 'abort';
const expectedFailure = (r: string): string => (aborts(r) ? 'aborted' : 'incomplete');
/** A release whose default kernel carries the patch and whose QEMU aborts a failed restore. */
const ABORTING = RELEASES.find((r) => aborts(r.id) && kernelById(releaseKernel(r))!.pvePatch !== null)!.id;
/** The second release (the first after the one VMs start on). */
const SECOND = RELEASES[1]!.id;
const LAST = RELEASES[RELEASES.length - 1]!.id;

const leakySource = (steps: LifecycleOp[], dropAt: string | null, hosts = ['icelake-sp', 'haswell'], cpuModel = 'qemu64'): LifecycleStory => ({
  cpuModel,
  cluster: initialCluster(hosts),
  dropAt,
  steps,
});

describe('lifecycle simulator', () => {
  test('a snapshot on PVE 7.4 with a PKU host holds the leaked XSTATE_BV bit 9 that pve-5.15 GET produced', () => {
    const sim = new Lifecycle({ dropAt: null });
    let s = initialState(initialCluster(['icelake-sp', 'haswell']), 'qemu64');
    s = sim.apply(s, { op: 'create', node: 0 }, 1).state;
    s = sim.apply(s, { op: 'snapshot' }, 2).state;
    const saved = s.vm!.snapshots[0]!;
    expect(saved.env.xstateBv & MASK.PKRU).toBe(MASK.PKRU);
    expect(saved.savedOn).toMatchObject({ release: 'pve7.4', kernel: 'pve-5.15', host: 'icelake-sp' });
    // … and on a host without PKU there is nothing to leak.
    let t = initialState(initialCluster(['haswell']), 'qemu64');
    t = sim.apply(t, { op: 'create', node: 0 }, 1).state;
    t = sim.apply(t, { op: 'snapshot' }, 2).state;
    expect(t.vm!.snapshots[0]!.env.xstateBv & MASK.PKRU).toBe(0n);
  });

  test('rolling back the leaked snapshot on a release whose QEMU aborts, host without PKU: intact with the patch, snapshot lost (aborted, a failure) without it', () => {
    const steps: LifecycleOp[] = [{ op: 'create', node: 0 }, { op: 'snapshot' }, ...upgrades(1, ABORTING), { op: 'rollback', snapshot: 0, node: 1 }];
    const shipped = runStory(leakySource(steps, null));
    expect(shipped.failure).toBeNull();
    expect(shipped.restores.map((r) => [r.op, r.outcome, r.patched])).toEqual([['rollback', 'intact', true]]);
    const dropped = runStory(leakySource(steps, ABORTING));
    expect(dropped.failure).toMatchObject({ op: 'rollback', outcome: 'aborted', failure: true, counted: true, patched: false, step: steps.length });
    expect(dropped.failure!.detail).toMatch(/xsave/);
    expect(dropped.lines[steps.length - 1]).toMatch(/snapshot lost/);
  });

  test('a live migration that aborts is not a failure: the guest keeps running on the source', () => {
    const steps: LifecycleOp[] = [{ op: 'create', node: 0 }, ...upgrades(1, ABORTING), { op: 'migrate', node: 1 }];
    const run = runStory(leakySource(steps, ABORTING));
    expect(run.failure).toBeNull();
    expect(run.restores.map((r) => [r.outcome, r.failure])).toEqual([['aborted', false]]);
    expect(run.final.vm!.node).toBe(0);
  });

  test('without the patch, a kernel with the 6.2 user_xfeatures rule refuses the leaked state even on a PKU target', () => {
    // PVE 8.0 shipped 6.2 kernels with that rule (and an opt-in one reached PVE 7.4).
    const pairs = RELEASES.flatMap((r) => r.kernels.map((k) => ({ r: r.id, k: k.kernel }))).filter(({ k }) => kernelById(k)!.userXfeatures === 'gsx+fpsse' && kernelById(k)!.pvePatch !== null);
    expect(pairs.length).toBeGreaterThan(0);
    const { r, k } = pairs.find((p) => p.r !== RELEASES[0]!.id) ?? pairs[0]!;
    const steps: LifecycleOp[] = [{ op: 'create', node: 0 }, ...upgrades(1, r)];
    if (releaseKernel(releaseOf(r)) !== k) steps.push({ op: 'boot-kernel', node: 1, kernel: k });
    steps.push({ op: 'migrate', node: 1 });
    const run = runStory(leakySource(steps, r, ['icelake-sp', 'icelake-sp']));
    expect(run.failure).toMatchObject({ outcome: expectedFailure(r), counted: true, detail: expect.stringMatching(/outside-user-xfeatures/) });
    expect(runStory(leakySource(steps, null, ['icelake-sp', 'icelake-sp'])).failure).toBeNull();
  });

  test('a failure on pve-5.15 (no patch as shipped) is reported but not counted', () => {
    const run = runStory(leakySource([{ op: 'create', node: 0 }, { op: 'migrate', node: 1 }], null));
    expect(run.failure).toMatchObject({ outcome: 'incomplete', counted: false, failure: true });
  });

  test('suspend on 7.4, upgrade the node, resume there after its hardware changed: lost without the patch, intact with it', () => {
    const steps: LifecycleOp[] = [{ op: 'create', node: 0 }, { op: 'suspend' }, ...upgrades(0, LAST)];
    steps.push({ op: 'replace-hardware', node: 0, host: HOSTS['zen2']! }, { op: 'resume', node: 0 });
    expect(runStory(leakySource(steps, null, ['icelake-sp'])).failure).toBeNull();
    expect(runStory(leakySource(steps, LAST, ['icelake-sp'])).failure).toMatchObject({ op: 'resume', failure: true, counted: true });
  });

  test('the guest state after a patched restore and a run is the same guest, whatever the host', () => {
    const run = runStory(leakySource([{ op: 'create', node: 0 }, ...upgrades(1, SECOND), { op: 'migrate', node: 1 }, { op: 'run' }, { op: 'snapshot' }], null, ['icelake-sp', 'zen2'], 'x86-64-v3'));
    expect(run.failure).toBeNull();
    const snap = run.final.vm!.snapshots[0]!;
    expect(snap.env.xstateBv & MASK.PKRU).toBe(0n); // zen2 enables no PKRU: nothing to leak
    expect(snap.env.legacy.length).toBe(OFF.LEGACY_RESERVED);
  });

  test('operations a cluster does not allow are refused with a reason', () => {
    const sim = new Lifecycle({ dropAt: null });
    let s = initialState(initialCluster(['icelake-sp', 'haswell']), 'qemu64');
    expect(sim.problem(s, { op: 'run' })).toMatch(/not running/);
    s = sim.apply(s, { op: 'create', node: 0 }, 1).state;
    expect(sim.problem(s, { op: 'upgrade', node: 0, release: SECOND })).toMatch(/migrate it away/);
    expect(sim.problem(s, { op: 'upgrade', node: 1, release: LAST })).toMatch(/not a supported upgrade/); // no 7 → 9
    expect(sim.problem(s, { op: 'upgrade', node: 1, release: RELEASES[0]!.id })).toMatch(/not a supported upgrade/);
    expect(sim.problem(s, { op: 'migrate', node: 0 })).toMatch(/already/);
    expect(sim.problem(s, { op: 'rollback', snapshot: 0, node: 0 })).toMatch(/no snapshot 1/);
    s = sim.apply(s, { op: 'upgrade', node: 1, release: SECOND }, 2).state;
    s = sim.apply(s, { op: 'migrate', node: 1 }, 3).state;
    expect(s.vm!.node).toBe(1);
    expect(sim.problem(s, { op: 'migrate', node: 0 })).toMatch(/newer release/);
    expect(() => sim.apply(s, { op: 'migrate', node: 0 }, 4)).toThrow(/step 4/);
  });

  test('restoresOf lists each restore with where it was saved and restored and the model outcome', () => {
    const steps: LifecycleOp[] = [{ op: 'create', node: 0 }, { op: 'snapshot' }, ...upgrades(1, SECOND), { op: 'rollback', snapshot: 0, node: 1 }];
    const first = RELEASES[0]!;
    const second = releaseOf(SECOND);
    const r = restoresOf(leakySource(steps, null));
    expect(r).toEqual([
      {
        step: steps.length,
        op: 'rollback',
        savedOn: { release: first.id, kernel: releaseKernel(first), host: 'icelake-sp', pku: true, qemu: first.qemu },
        restoredOn: { release: SECOND, kernel: releaseKernel(second), host: 'haswell', pku: false, qemu: second.qemu, patched: true },
        modelOutcome: 'intact',
        failure: false,
      },
    ]);
    expect(restoresOf(leakySource(steps, SECOND))[0]).toMatchObject({ modelOutcome: expectedFailure(SECOND), failure: true, restoredOn: { patched: false } });
  });

  test('the fixup option replaces the patch where it is active (a broken one shows)', () => {
    const steps: LifecycleOp[] = [{ op: 'create', node: 0 }, ...upgrades(1, SECOND), { op: 'rollback', snapshot: 0, node: 1 }];
    steps.splice(1, 0, { op: 'snapshot' });
    expect(runStory(leakySource(steps, null), { fixup: PVE_FIXUP }).failure).toBeNull();
    const noop = { name: 'noop', fn: () => undefined };
    expect(runStory(leakySource(steps, null), { fixup: noop }).failure).toMatchObject({ counted: true });
  });
});
