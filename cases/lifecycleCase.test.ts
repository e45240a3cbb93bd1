// Lifecycle cases (kind "lifecycle", issue 15): a story written as a case reads back as the same
// story and replays to the same failure; bad input names the file and the field.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LifecycleOp, RELEASES, customHost, initialCluster, runStory, upgradePath } from '../model';
import { CaseError, LifecycleCase, parseCase } from './caseFormat';
import { evaluateCase } from './evaluate';
import { lifecycleCaseJson, storyOfCase } from './lifecycleCase';
import { replayPaths } from './replay';

const SECOND = RELEASES[1]!.id;
const steps: LifecycleOp[] = [{ op: 'create', node: 0 }, { op: 'snapshot' }, ...upgradePath(SECOND)!.map((release) => ({ op: 'upgrade' as const, node: 1, release })), { op: 'rollback', node: 1, snapshot: 0 }];
const story = { cpuModel: 'qemu64', cluster: initialCluster(['icelake-sp', 'haswell']), dropAt: SECOND, steps };

describe('lifecycle case files', () => {
  test('round trip: a story as a case parses back to the same story and replays to the same failure', () => {
    const run = runStory(story);
    expect(run.failure).not.toBeNull();
    const f = run.failure!;
    const json = JSON.parse(JSON.stringify(lifecycleCaseJson(story, 'lifecycle.round-trip', 'round trip (CASE-FORMAT)', { failure: true, failedAt: f.step, outcome: f.outcome, counted: true })));
    const c = parseCase(json, 'rt.json') as LifecycleCase;
    expect(c.kind).toBe('lifecycle');
    const back = storyOfCase(c);
    expect(back.steps).toEqual(story.steps);
    expect(back.cluster.map((n) => [n.release, n.kernel, n.host.name])).toEqual(story.cluster.map((n) => [n.release, n.kernel, n.host.name]));
    const ev = evaluateCase(c);
    expect(ev.mismatches).toEqual([]);
    expect(ev.computed).toMatchObject({ failure: true, failedAt: f.step, outcome: f.outcome, counted: true });
    // Replay from a file, and a wrong expectation fails with the field named.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'life-'));
    try {
      fs.writeFileSync(path.join(dir, 'good.json'), JSON.stringify({ ...json, id: 'good' }));
      fs.writeFileSync(path.join(dir, 'wrong.json'), JSON.stringify({ ...json, id: 'wrong', dropAt: undefined }));
      const s = replayPaths([dir]);
      expect(s.results.map((r) => [r.id, r.status])).toEqual([['good', 'pass'], ['wrong', 'fail']]);
      expect(s.results[1]!.mismatches.map((m) => m.field)).toEqual(['expect.failure', 'expect.failedAt', 'expect.outcome', 'expect.counted']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a custom host (by supported XCR0 and layout) round-trips too', () => {
    const custom = customHost(0x7n, 'amd');
    const s2 = { ...story, dropAt: null, steps: [{ op: 'replace-hardware' as const, node: 1, host: custom }, ...story.steps] };
    const json = JSON.parse(JSON.stringify(lifecycleCaseJson(s2, 'lifecycle.custom', 'n', { failure: false })));
    expect(json.steps[0].host).toEqual({ supportedXcr0: '0x7', layout: 'amd' });
    const c = parseCase(json, 'c.json') as LifecycleCase;
    expect(evaluateCase(c).mismatches).toEqual([]);
    expect(storyOfCase(c).steps[0]).toMatchObject({ op: 'replace-hardware', host: { xcr0: 0x7n, vendor: 'amd' } });
  });

  const base = () => JSON.parse(JSON.stringify(lifecycleCaseJson(story, 'x', 'n', { failure: true })));
  const fieldOf = (json: unknown): string => {
    try {
      const c = parseCase(json, 'bad.json');
      evaluateCase(c);
    } catch (e) {
      if (e instanceof CaseError) {
        expect(e.message).toMatch(/^bad\.json: field /);
        return e.field;
      }
      throw e;
    }
    return '(accepted)';
  };

  test.each([
    ['an unknown op', (j: any) => (j.steps[1] = { op: 'reboot' }), 'steps[1].op'],
    ['a field the op does not take', (j: any) => (j.steps[1] = { op: 'snapshot', node: 'node1' }), 'steps[1].node'],
    ['a node the cluster lacks', (j: any) => (j.steps[0].node = 'node9'), 'steps[0].node'],
    ['snapshot 0', (j: any) => (j.steps[j.steps.length - 1].snapshot = 0), `steps[${steps.length - 1}].snapshot`],
    ['an unknown release', (j: any) => (j.cluster[0].release = 'pve-8.0'), 'cluster[0].release'],
    ['a kernel of another release', (j: any) => (j.cluster[0].kernel = 'pve-6.14'), 'cluster[0].kernel'],
    ['an unknown dropAt', (j: any) => (j.dropAt = 'pve99.0'), 'dropAt'],
    ['duplicate node names', (j: any) => (j.cluster[1].name = 'node1'), 'cluster[1].name'],
    ['no cpuModel', (j: any) => (j.vcpu = { cpuid: [] }), 'vcpu'],
    ['failedAt with failure false', (j: any) => (j.expect = { failure: false, failedAt: 3 }), 'expect.failedAt'],
    ['a step the cluster does not allow', (j: any) => j.steps.splice(1, 0, { op: 'resume', node: 'node2' }), 'steps[1]'],
    ['an unknown top-level field', (j: any) => (j.source = {}), 'source'],
  ])('%s is refused naming the field', (_what, edit, field) => {
    const j = base();
    edit(j);
    expect(fieldOf(j)).toBe(field);
  });
});
