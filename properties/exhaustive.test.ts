// Exhaustive mode over the abstract domain (see the argument at the top of exhaustive.ts).
import { KERNELS, PVE_FIXUP, kernelById } from '../model';
import { NEGATIVE_CONTROLS, brokenFixup } from './brokenFixups';
import { BV_VALUES, HEADER_VARIANTS, HOST_SETS, LEAF0D_VALUES, domainSize, kernelClasses, runExhaustive } from './exhaustive';

test('every kernel id belongs to exactly one class of identical SET rules', () => {
  const classes = kernelClasses();
  const ids = classes.flatMap((c) => c.ids).sort();
  expect(ids).toEqual(KERNELS.map((k) => k.id).sort());
  // linux-6.2 and the PVE 8.0 kernel share rules (the patch is passed in, not part of the rules)
  expect(classes.find((c) => c.ids.includes('linux-6.2'))!.ids).toContain('pve-6.2-2023-07');
});

test('the domain has the shape the argument needs', () => {
  expect(BV_VALUES).toHaveLength(2 ** 7);
  expect(LEAF0D_VALUES).toHaveLength(2 ** 6 + 1);
  expect(HEADER_VARIANTS).toHaveLength(5);
  expect(domainSize(KERNELS)).toBe(KERNELS.length * HOST_SETS.length * 65 * 128 * 5);
});

test('P1-P4 hold for the Proxmox patch on the whole domain, one kernel per rule class', () => {
  const classes = kernelClasses();
  const r = runExhaustive(PVE_FIXUP, { kernels: classes.map((c) => c.representative) });
  expect(r.failures).toEqual([]);
  expect(r.points).toBe(domainSize(classes.map((c) => c.representative)));
  // every property was exercised, and every class of buffer was present
  for (const p of ['P1', 'P2', 'P3', 'P4'] as const) expect(r.checks[p]).toBeGreaterThan(1000);
  for (const c of ['valid', 'leaked', 'other']) expect(r.classes[c]).toBeGreaterThan(1000);
});

describe('negative controls: the exhaustive run catches broken fixups', () => {
  const linux66 = [kernelById('linux-6.6')!];
  test.each([
    ['always-clear', 'P1'],
    ['clamp-to-guest-supported', 'P1'],
    ['toggle-pkru', 'P3'],
    ['zero-pkru-area', 'P3'],
    ['zero-pkru-area-always', 'P3'],
    ['also-clears-xcomp', 'P4'],
    ['clear-outside-guest-supported', 'P4'],
    ['mask-0x100', 'P2'],
  ])('%s fails %s', (name, prop) => {
    const r = runExhaustive(brokenFixup(name), { kernels: linux66, maxFailures: 200 });
    expect(r.failures.map((f) => f.property)).toContain(prop);
  });
  test('every broken fixup fails somewhere on the domain', () => {
    for (const b of NEGATIVE_CONTROLS) {
      if (b.control === 'P5') continue; // P5 is a migration property, outside the ioctl domain
      expect(runExhaustive(b, { kernels: linux66, maxFailures: 1 }).failures.length).toBe(1);
    }
  });
});
