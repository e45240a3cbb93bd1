// The migration matrix answers the questions the review is for.
import { MigrationMatrix, baseConditionIndices, computeMatrix, findCell, findPath, matrixClaims, pathResult, sourceGroups } from '../properties/matrix';
import { Fixup, HOSTS, MASK, pveFixup } from '../model';
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
  // A PKU guest cannot go to a no-PKU host at all: infeasible, left out of verdicts. On the base
  // hosts that is 2 cells (QEMU 8.0 and 8.2 to zen4-nopku); since issue 14 item 6, 8: both source
  // hosts to both no-PKU targets (zen4-nopku, skylake-client), and nothing else.
  const p = findPath(m, 'pve-5.15', 'pve-6.8')!;
  expect(p.infeasible).toBe(8);
  const infeasible = m.conditions.filter((_c, i) => !p.feasible[i]);
  expect(infeasible.every((c) => c.guest === 'pku' && c.hostPku === 'no-pku')).toBe(true);
  expect(baseConditionIndices(m).filter((i) => !p.feasible[i]).length).toBe(2);
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
  expect(text.stdout).toMatch(/\| pve-6\.8 \| yes \| safe \| safe \| UNSAFE \(noPKU: 8\.0 incomplete, 8\.2 refused\) \| safe \|/);
  const json = await runCli(['matrix', '--json']);
  expect(json.code).toBe(0);
  const data = JSON.parse(json.stdout);
  const p = data.paths.find((x: { source: string; target: string; fixup: string }) => x.source === 'pve-5.15' && x.target === 'linux-6.2' && x.fixup === 'kernel-default');
  const i = data.conditions.findIndex((c: { hostPku: string; qemu: string; guest: string }) => c.hostPku === 'pku' && c.qemu === 'qemu-8.0' && c.guest === 'no-xsave');
  expect(p.outcomes[i]).toBe('incomplete');
});

// Issue 14 item 6: PKU is no longer confounded with the vendor, and the source host is not fixed.
describe('the hosts of the matrix', () => {
  const targets = [...new Set(m.conditions.map((c) => c.targetHost!))].map((n) => HOSTS[n]!);
  const sources = [...new Set(m.conditions.map((c) => c.sourceHost!))].map((n) => HOSTS[n]!);
  const pku = (h: (typeof targets)[number]) => (h.xcr0 & MASK.PKRU) !== 0n;

  test('targets of both vendors with and without PKU, an AMD source, and every source host has PKU (where a leaky kernel leaks)', () => {
    for (const vendor of ['intel', 'amd'] as const)
      for (const withPku of [true, false]) expect(targets.some((h) => h.vendor === vendor && pku(h) === withPku)).toBe(true);
    expect(sources.map((h) => h.vendor).sort()).toEqual(['amd', 'intel']);
    expect(sources.every(pku)).toBe(true);
    // each condition's hostPku is the target host's own
    for (const c of m.conditions) expect(c.hostPku).toBe(pku(HOSTS[c.targetHost!]!) ? 'pku' : 'no-pku');
  });

  test('from the AMD source the incident reproduces (linux-6.2, QEMU 8.0) and the patch keeps it intact', () => {
    const q = { source: 'pve-5.15', hostPku: 'pku', qemu: 'qemu-8.0', guest: 'no-xsave', sourceHost: 'zen4', targetHost: 'skylake-sp' } as const;
    expect(findCell(m, { ...q, target: 'linux-6.2' })!.outcome).toBe('incomplete');
    expect(findCell(m, { ...q, target: 'pve-6.2-2023-07' })!.outcome).toBe('intact');
  });

  test('Intel without PKU fails like AMD without PKU on linux-6.6 (the failure is PKU, not the vendor); AMD with PKU accepts like Intel with PKU', () => {
    const q = { source: 'pve-5.15', qemu: 'qemu-8.0', guest: 'no-xsave' } as const;
    expect(findCell(m, { ...q, target: 'linux-6.6', hostPku: 'no-pku', targetHost: 'skylake-client' })!.outcome).toBe('incomplete');
    expect(findCell(m, { ...q, target: 'pve-6.8', hostPku: 'no-pku', targetHost: 'skylake-client' })!.outcome).toBe('intact');
    expect(findCell(m, { ...q, target: 'linux-6.6', hostPku: 'pku', targetHost: 'zen4' })!.outcome).toBe('intact');
  });

  // Negative control: a fixup that takes MPX (Intel only) as the sign of a PKU host, right on
  // every base host (skylake-sp has both, zen4-nopku neither), wrong on Zen 4 with PKU.
  test('negative control: a vendor-confounded fixup passes M1 on the base hosts and fails it on the wider matrix', () => {
    const mpxAsPku: Fixup = {
      name: 'mpx-as-pku-proxy',
      fn: (ctx, r) => {
        const hostPkuGuess = (ctx.hostSupportedXcr0 & MASK.MPX) !== 0n;
        if (hostPkuGuess || (ctx.hostSupportedXcr0 & MASK.PKRU) === 0n) pveFixup(ctx, r);
      },
    };
    const wide = computeMatrix(mpxAsPku);
    const m1 = (x: MigrationMatrix) => matrixClaims(x).find((c) => c.id === 'M1')!;
    expect(m1(baseOnly(wide)).holds).toBe(true);
    const wideM1 = m1(wide);
    expect(wideM1.holds).toBe(false);
    expect(wideM1.counterexamples.every((c) => c.includes('→zen4/'))).toBe(true);
  });
});

/** The matrix restricted to the base hosts (the matrix before issue 14 item 6). */
function baseOnly(x: MigrationMatrix): MigrationMatrix {
  const keep = baseConditionIndices(x);
  const conditions = keep.map((i) => x.conditions[i]!);
  const paths = x.paths.map((p) => {
    const cells = keep.map((i) => ({ ...conditions[0]!, ...x.conditions[i]!, source: p.source, target: p.target, fixup: p.fixup, patched: p.patched, cpuModel: '', outcome: p.outcomes[i]!, feasible: p.feasible[i]!, leaked: p.leaked[i]!, fixupFired: p.fixupFired[i]!, detail: p.details[i]! }));
    return pathResult(p.source, { kernel: p.target, fixup: p.fixup, patched: p.patched, label: p.target }, cells);
  });
  return { ...x, conditions, paths, hosts: undefined };
}
