// The migration matrix answers the questions the review is for.
import { computeMatrix, findCell, findPath, matrixClaims, sourceGroups } from '../properties/matrix';
import { brokenFixup } from '../properties/brokenFixups';
import { runCli } from './helpers/cli';

const m = computeMatrix();

test('the incident path pve-5.15 → linux-6.2, qemu64, QEMU 8.0 is incomplete (the hang)', () => {
  const c = findCell(m, { source: 'pve-5.15', target: 'linux-6.2', hostPku: 'pku', qemu: 'qemu-8.0', guest: 'no-xsave' })!;
  expect(c.outcome).toBe('incomplete');
  expect(c.leaked).toBe(true);
  expect(c.detail).toBe('xsave: outside-user-xfeatures');
  // QEMU 8.2 aborts instead: the guest stays on the source.
  expect(findCell(m, { source: 'pve-5.15', target: 'linux-6.2', hostPku: 'pku', qemu: 'qemu-8.2', guest: 'no-xsave' })!.outcome).toBe('aborted');
});

test('the same path to pve-6.2-2023-07 (the patch) is intact, and the fixup fired', () => {
  const c = findCell(m, { source: 'pve-5.15', target: 'pve-6.2-2023-07', hostPku: 'pku', qemu: 'qemu-8.0', guest: 'no-xsave' })!;
  expect(c.outcome).toBe('intact');
  expect(c.fixupFired).toBe(true);
});

test('linux-6.6 on a target host without PKU is incomplete; pve-6.8 there is intact', () => {
  for (const guest of ['no-xsave', 'xsave-no-pku'] as const) {
    expect(findCell(m, { source: 'pve-5.15', target: 'linux-6.6', hostPku: 'no-pku', qemu: 'qemu-8.0', guest })!.outcome).toBe('incomplete');
    expect(findCell(m, { source: 'pve-5.15', target: 'pve-6.8', hostPku: 'no-pku', qemu: 'qemu-8.0', guest })!.outcome).toBe('intact');
  }
  // linux-6.6 with a PKU host accepts the leaked bit (8647c52e9504).
  expect(findCell(m, { source: 'pve-5.15', target: 'linux-6.6', hostPku: 'pku', qemu: 'qemu-8.0', guest: 'no-xsave' })!.outcome).toBe('intact');
});

test('verdicts: from a leaky source the Proxmox kernels are safe, upstream 6.x is not; a non-leaky source is safe', () => {
  expect(findPath(m, 'pve-5.15', 'pve-6.8')!.verdict).toBe('safe');
  expect(findPath(m, 'pve-5.15', 'linux-6.6')!.verdict).toBe('unsafe');
  expect(findPath(m, 'pve-5.15', 'linux-6.6', 'pve')!.verdict).toBe('safe');
  expect(findPath(m, 'pve-5.15', 'pve-6.8', 'none')!.verdict).toBe('unsafe');
  expect(findPath(m, 'linux-5.15', 'linux-6.6')!.verdict).toBe('safe');
  // A PKU guest cannot go to a no-PKU host at all: infeasible, left out of verdicts.
  const p = findPath(m, 'pve-5.15', 'pve-6.8')!;
  expect(p.infeasible).toBe(2);
  expect(findCell(m, { source: 'pve-5.15', target: 'pve-6.8', hostPku: 'no-pku', qemu: 'qemu-8.0', guest: 'pku' })!.feasible).toBe(false);
});

test('the leaky sources form one group, and the matrix claims hold for the Proxmox patch', () => {
  expect(sourceGroups(m).find((g) => g.leaky)!.sources).toEqual(['linux-5.16', 'pve-5.15']);
  for (const c of matrixClaims(m)) expect({ id: c.id, holds: c.holds, first: c.counterexamples[0] }).toEqual({ id: c.id, holds: true, first: undefined });
});

test('a fixup that clears PKRU for every guest breaks M1 and M2', () => {
  const claims = matrixClaims(computeMatrix(brokenFixup('always-clear')));
  expect(claims.find((c) => c.id === 'M1')!.holds).toBe(false);
  expect(claims.find((c) => c.id === 'M2')!.holds).toBe(false);
  expect(claims.find((c) => c.id === 'M3')!.holds).toBe(true); // M3 is about kernels without the fixup
});

test('xsave-harness matrix prints the table, --json the data', async () => {
  const text = await runCli(['matrix']);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('### Which upgrade paths are safe, with and without the patch');
  expect(text.stdout).toMatch(/\| pve-6\.8 \| yes \| safe \| safe \| UNSAFE \(noPKU: 8\.0 hang, 8\.2 refused\) \| safe \|/);
  const json = await runCli(['matrix', '--json']);
  expect(json.code).toBe(0);
  const data = JSON.parse(json.stdout);
  const p = data.paths.find((x: { source: string; target: string; fixup: string }) => x.source === 'pve-5.15' && x.target === 'linux-6.2' && x.fixup === 'kernel-default');
  const i = data.conditions.findIndex((c: { hostPku: string; qemu: string; guest: string }) => c.hostPku === 'pku' && c.qemu === 'qemu-8.0' && c.guest === 'no-xsave');
  expect(p.outcomes[i]).toBe('incomplete');
});
