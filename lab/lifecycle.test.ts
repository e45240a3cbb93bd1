// The lifecycle chain's stand-ins: which lab kernel replays which shipped kernel, by rules.
import { KERNELS } from '../model';
import { STAND_IN_RULES, hopFails, planChain, standIn, standInHost } from './lifecycle';

describe('standIn: a lab kernel with the same KVM rules', () => {
  test.each([
    ['pve-5.15', false, 'debian-6.1-leaky'],
    ['pve-6.2-2023-07', true, 'debian-6.1-2023+pve'],
    ['pve-6.2-2023-07', false, 'debian-6.1-2023'],
    ['pve-6.8', true, 'debian-6.1+pve'],
    ['pve-6.8', false, 'debian-6.1'],
    ['pve-6.5', false, 'debian-6.1'],
    ['pve-6.14', true, 'debian-6.12+pve'],
    ['pve-6.17', false, 'debian-6.12'],
  ])('%s patched=%s -> %s', (kernel, patched, lab) => {
    expect(standIn(kernel, patched).lab).toBe(lab);
  });

  test('every stand-in shares every compared rule with the kernel it stands for', () => {
    for (const k of KERNELS) {
      for (const patched of [false, true]) {
        const s = standIn(k.id, patched);
        if (!s.lab) continue;
        const l = KERNELS.find((x) => x.id === s.lab)!;
        for (const f of STAND_IN_RULES) expect([k.id, f, l[f]]).toEqual([k.id, f, k[f]]);
        expect(!!l.pvePatch).toBe(patched);
      }
    }
  });

  test('negative controls: no stand-in where the rules differ or the patch is not there', () => {
    expect(standIn('pve-7.0', true).lab).toBeNull(); // the XFD pre-mask: no lab kernel has it
    expect(standIn('linux-5.17', false).lab).toBeNull(); // user_xfeatures = guest-supported only
    expect(standIn('pve-5.15', true)).toEqual({ lab: null, why: 'pve-5.15 does not carry the patch' });
    expect(standIn('nonsense', false).lab).toBeNull();
  });
});

test('a leaky source on a PKU host runs on noavx (the real leak, not TCG 0x217); others keep their PKU answer', () => {
  expect(standInHost('pve-5.15', true)).toBe('noavx');
  expect(standInHost('pve-6.8', true)).toBe('pku');
  expect(standInHost('pve-6.8', false)).toBe('nopku');
});

test('a failed restore of a rollback or resume loses the state; of a migration only when the guest resumed with it', () => {
  expect(hopFails('migrate', 'aborted')).toBe(false);
  expect(hopFails('rollback', 'aborted')).toBe(true);
  expect(hopFails('resume', 'aborted')).toBe(true);
  expect(hopFails('migrate', 'incomplete')).toBe(true);
  expect(hopFails('resume', 'intact')).toBe(false);
});

test('planChain refuses a story the lab cannot run, naming the restore', () => {
  const plan = planChain({ title: 't', source: { kernel: 'pve-5.15', pku: true }, hops: [{ op: 'resume', kernel: 'pve-7.0', patched: false, pku: false, qemu: 'qemu-9.0', model: 'aborted' }] });
  expect(plan).toEqual({ ok: false, why: expect.stringMatching(/^restore 1: no lab kernel/) });
  const ok = planChain({ title: 't', source: { kernel: 'pve-5.15', pku: true }, hops: [{ op: 'resume', kernel: 'pve-6.14', patched: false, pku: false, qemu: 'qemu-9.0', model: 'aborted' }] });
  expect(ok).toEqual({ ok: true, source: { lab: 'debian-6.1-leaky', host: 'noavx' }, hops: [{ lab: 'debian-6.12', host: 'nopku', why: expect.any(String) }] });
});

test('planChain refuses a restore of a state saved where the chain never ran the guest', () => {
  const hop = { op: 'rollback' as const, kernel: 'pve-6.8', patched: true, pku: false, qemu: 'qemu-9.0', model: 'intact' as const };
  expect(planChain({ title: 't', source: { kernel: 'pve-5.15', pku: true }, hops: [{ ...hop, savedOn: { kernel: 'pve-5.15', pku: true } }] }).ok).toBe(true);
  expect(planChain({ title: 't', source: { kernel: 'pve-5.15', pku: true }, hops: [{ ...hop, savedOn: { kernel: 'pve-6.5', pku: true } }] })).toEqual({ ok: false, why: 'restore 1: saved on pve-6.5, where the chain has not run the guest' });
});
