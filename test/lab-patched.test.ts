// The lab's rebuilt kernels: the Proxmox patch in C (debian-6.1+pve, debian-6.12+pve,
// debian-6.1-2023+pve) agrees with the model on generated cases, and is the reference the mutant
// catalogue is judged against; and the July 2023 incident end to end on real kernels (a real
// guest on the leaky source, restored on every target under QEMU 7.2's and 8.2's policies).
import { compareCase, predictCase, runConformance } from '../kvm/conformance';
import { generateCases } from '../kvm/generate';
import { DEFAULT_HOST_PKRU, PVE_FIXUP, hostByName, kernelById, migrate, parseQemu } from '../model';
import { IncidentRun, runIncident } from '../lab/incident';
import { checkPlugins } from '../lab/patchCheck';
import { loadMutants } from '../mutants/killMatrix';
import { progress } from '../lab/progress';
import { labDescribe, withLab } from './helpers/labSuite';

const d = labDescribe('test/lab-patched');
const SEED = 20261204;

for (const [kernel, host] of [
  ['debian-6.1+pve', 'nopku'],
  ['debian-6.12+pve', 'nopku'],
  ['debian-6.1-2023+pve', 'pku'],
] as const) {
  d(`${kernel} on ${host}: the patch in C against the model (seed ${SEED}, 400 cases)`, () => {
    const lab = withLab(kernel, host);
    test('the calibration confirms the catalogue entry; every case agrees with the built-in plug-in as the model of the patch', async () => {
      const s = lab();
      expect(s.check.kernelExamples).toEqual([]);
      expect(s.check.kernelDiffering).toBe(0);
      expect(s.check.hostAgrees).toBe(true);
      const cases = generateCases({ machine: s.machine, table: s.cal.table, size: s.cal.size }, 400, SEED).map((c) => ({ ...c, fixup: false }));
      const run = await runConformance(s.vm.exec, s.machine, cases, { chunkSize: 200 });
      expect(run.outcomes.filter((o) => o.status !== 'agree').map((o) => `case ${o.index} [${o.cls}] ${o.disagreements.map((x) => `${x.op} ${x.field}: model ${x.expected}, kernel ${x.actual}`).join('; ')}`)).toEqual([]);
      // Negative control: the same real results judged as if the kernel had no patch.
      const unpatched = { ...s.machine, kernel: { ...s.machine.kernel, pvePatch: null } };
      const leakedBit = cases.filter((c, i) => compareCase(c, predictCase(unpatched, c), run.outcomes[i]!.real!).length > 0);
      if (host === 'nopku' || kernel.includes('2023')) expect(leakedBit.length).toBeGreaterThan(0);
    }, 600_000);
  });
}

d('the mutant catalogue against the real patch (debian-6.1+pve, nopku and pku, 1500 cases)', () => {
  test('the built-in plug-in agrees everywhere; each killable mutant disagrees somewhere; equivalent and ioctl-invisible ones agree', async () => {
    const catalogue = await loadMutants();
    const plugins = [PVE_FIXUP, ...catalogue.map((m) => m.fixup)];
    const totals = new Array<number>(plugins.length).fill(0);
    for (const host of ['nopku', 'pku']) {
      const { openLab } = await import('../lab/session');
      const s = await openLab('debian-6.1+pve', host);
      try {
        const c = await checkPlugins(s, 1500, SEED, plugins);
        expect(c.lost).toBe(0);
        c.verdicts.forEach((v, i) => (totals[i]! += v.disagree));
      } finally {
        await s.close();
      }
    }
    expect(totals[0]).toBe(0);
    const wrong: string[] = [];
    catalogue.forEach((m, i) => {
      const invisible = typeof (require(m.file) as Record<string, unknown>)['invisibleToIoctls'] === 'string';
      const mustAgree = m.equivalent !== null || invisible;
      const t = totals[i + 1]!;
      if (mustAgree ? t !== 0 : t === 0) wrong.push(`${m.name}: ${t} disagreements, expected ${mustAgree ? 'none' : 'some'}`);
    });
    expect(wrong).toEqual([]);
  }, 900_000);
});

d('the July 2023 incident on real kernels (lab incident)', () => {
  let r: IncidentRun;
  beforeAll(async () => {
    r = await runIncident({ progress: (label) => progress(label, { quiet: true }) });
  }, 900_000);

  test('the leak comes from a real guest run on the leaky kernel: XSTATE_BV bit 9 saved for a qemu64 guest', () => {
    expect(r.source.ran).toBe(true);
    expect(r.source.leaked).toBe(true);
    expect(r.source.model.leaked).toBe(true);
    expect(r.source.savedXstateBv & 0x200n).toBe(0x200n);
  });

  test('every cell: the real outcome is the model\'s; the decisive ones as in the incident', () => {
    expect(r.failed).toEqual([]);
    expect(r.cells).toHaveLength(20);
    expect(r.cells.filter((c) => !c.agree).map((c) => `${c.kernel}/${c.host} ${c.vmm}: real ${c.real}, model ${c.model} (${c.steps.join(' ')})`)).toEqual([]);
    const cell = (k: string, h: string, v: string) => r.cells.find((c) => c.kernel === k && c.host === h && c.vmm === v)!.real;
    expect(cell('debian-6.1-2023', 'pku', 'qemu-7.2')).toBe('incomplete');
    expect(cell('debian-6.1-2023', 'pku', 'qemu-8.2')).toBe('aborted');
    expect(cell('debian-6.1-2023+pve', 'pku', 'qemu-7.2')).toBe('intact');
    expect(cell('debian-6.12', 'nopku', 'qemu-7.2')).toBe('incomplete');
    expect(cell('debian-6.12+pve', 'nopku', 'qemu-7.2')).toBe('intact');
  });

  test('negative control: predicting the 2023 target with 6.6 rules (linux-6.6) disagrees with what it really did', () => {
    const c = r.cells.find((x) => x.kernel === 'debian-6.1-2023' && x.vmm === 'qemu-7.2')!;
    const wrong = migrate({
      vcpu: { cpuModel: 'qemu64' },
      source: { kernel: kernelById('debian-6.1-leaky')!, host: hostByName('lab-pku')! },
      target: { kernel: kernelById('linux-6.6')!, host: hostByName('lab-pku')!, fixup: 'kernel-default' },
      vmm: parseQemu('qemu-7.2')!,
      guest: { xcr0: 1n, inUse: 3n, pkru: 0, hostPkru: DEFAULT_HOST_PKRU },
    });
    expect(wrong.outcome).not.toBe(c.real);
  });
});
