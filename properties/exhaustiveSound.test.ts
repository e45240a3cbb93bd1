// check --exhaustive (issue 14 item 4): sound for a plug-in, or it refuses to call itself
// exhaustive. Negative controls: mask-0x300 (which passes the old exhaustive domain), a plug-in
// reading ctx.xcr0 and one whose edit depends on component contents.
import * as path from 'node:path';
import { KERNELS, MASK, PVE_FIXUP, kernelById } from '../model';
import { loadFixup } from '../cases/fixupLoader';
import { main } from '../cli/main';
import { runExhaustive } from './exhaustive';
import { SOUND_HOST_SETS, representativeOf, representativesFor, runExhaustiveSound } from './exhaustiveSound';

const mutant = (name: string) => loadFixup(path.join(__dirname, '..', 'mutants', `${name}.js`));
const linux66 = [kernelById('linux-6.6')!];
// the unit tests use two host sets (PKU on AMD; MPX + AVX-512 + PKU on Intel) to stay quick; the
// CLI runs all of SOUND_HOST_SETS on one kernel per class of SET rules
const hostSets = SOUND_HOST_SETS.filter((h) => h.xcr0 === 0x207n || h.xcr0 === 0x2ffn);

test('each bit stands with its atom on the host: outside the host set → 63; MPX, AVX-512 by group; XTILE_CFG and XTILE_DATA apart', () => {
  const amx = representativesFor(0x602e7n);
  expect(amx).toEqual([0, 1, 2, 5, 9, 17, 18, 63]);
  expect(representativeOf(8, 0x602e7n, amx)).toBe(63);
  expect(representativeOf(6, 0x602e7n, amx)).toBe(5);
  expect(representativeOf(17, 0x602e7n, amx)).toBe(17);
  expect(representativeOf(17, 0x2e7n, amx)).toBe(63); // a kernel without AMX in its supported set
  const mpx = representativesFor(0x2ffn);
  expect(representativeOf(4, 0x2ffn, mpx)).toBe(3);
  expect(representativeOf(4, 0x2e7n, representativesFor(0x2e7n))).toBe(63);
  expect(SOUND_HOST_SETS.some((h) => (h.xcr0 & MASK.MPX) === MASK.MPX)).toBe(true);
  expect(KERNELS.length).toBeGreaterThan(0);
});

test('the Proxmox patch: premise holds, P1-P4 hold on the widened domain, the run calls itself exhaustive (linux-6.6)', () => {
  const r = runExhaustiveSound(PVE_FIXUP, { kernels: linux66, hostSets, builtIn: true });
  expect(r.violationCount).toBe(0);
  expect(r.failures).toEqual([]);
  expect(r.exhaustive).toBe(true);
  for (const p of ['P1', 'P2', 'P3', 'P4'] as const) expect(r.checks[p]).toBeGreaterThan(100);
});

describe('negative controls', () => {
  test('mask-0x300 passes the old domain (the gap) and fails here: bit 8 is not bit 63; the witnesses fail P3', async () => {
    const m = await mutant('mask-0x300');
    expect(runExhaustive(m, { kernels: linux66, hostSets: [{ xcr0: 0x207n, vendor: 'amd' }, { xcr0: 0x602e7n, vendor: 'intel' }] }).failures).toEqual([]);
    const r = runExhaustiveSound(m, { kernels: linux66, hostSets });
    expect(r.exhaustive).toBe(false);
    expect(r.violations[0]!.what).toMatch(/^bit 8 is not treated like bit 63/);
    expect(r.failures.map((f) => f.property)).toContain('P3');
  });
  test('a plug-in that reads ctx.xcr0 (fixed at the reset value in the domain) is not called exhaustive', async () => {
    const r = runExhaustiveSound(await mutant('decide-xcr0'), { kernels: linux66, hostSets });
    expect(r.exhaustive).toBe(false);
    expect(r.violations.some((v) => v.what.includes('ctx.xcr0'))).toBe(true);
  });
  test('a plug-in whose edit depends on component contents is not called exhaustive', async () => {
    const r = runExhaustiveSound(await mutant('zero-pkru-area'), { kernels: linux66, hostSets });
    expect(r.exhaustive).toBe(false);
    expect(r.violations.some((v) => v.what.includes('component contents'))).toBe(true);
  });
  test('an equivalent plug-in (always-writes) is not refused: the premise check does not refuse every plug-in', async () => {
    const r = runExhaustiveSound(await mutant('always-writes'), { kernels: linux66, hostSets: hostSets.slice(0, 1) });
    expect(r.violationCount).toBe(0);
    expect(r.exhaustive).toBe(true);
    expect(r.failures).toEqual([]);
  });
});

describe('the CLI', () => {
  async function run(argv: string[]): Promise<{ code: number; out: string }> {
    const out: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    try {
      return { code: await main(argv), out: out.join('\n') };
    } finally {
      log.mockRestore();
    }
  }
  test('check --exhaustive --fixup mutants/mask-0x300.js exits 1, says NOT EXHAUSTIVE and how to rerun', async () => {
    const r = await run(['check', '--exhaustive', '--fixup', 'mutants/mask-0x300.js']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('NOT EXHAUSTIVE for mask-0x300.js');
    expect(r.out).toMatch(/^P3 FAILS at /m);
    expect(r.out).toContain('rerun: npx xsave-harness check --exhaustive --fixup mutants/mask-0x300.js');
  });
  test('--seed, --runs and --only do not apply to --exhaustive (exit 3)', async () => {
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect((await run(['check', '--exhaustive', '--seed', '1'])).code).toBe(3);
      expect((await run(['check', '--exhaustive', '--only', 'P1'])).code).toBe(3);
    } finally {
      err.mockRestore();
    }
  });
});
