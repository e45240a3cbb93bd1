// One lab kernel on the pku and nopku hosts: its catalogue entry confirmed by the calibration,
// 1500 generated cases (every class, guest runs included) in full agreement with the model, and
// negative controls: the same real results judged with another kernel's rules, and with a host
// that lacks the TCG FXSAVE rule, must disagree.
import { ThisMachine } from '../../cases/resolve';
import { compareCase, predictCase, runConformance, ConformanceRun, CCase } from '../../kvm/conformance';
import { generateCases } from '../../kvm/generate';
import { kernelById } from '../../model';
import { labDescribe, withLab } from './labSuite';

export const LAB_TEST_SEED = 20261204;
const N = 1500;

export function labKernelSuite(kernel: string, wrongKernel: string): void {
  const d = labDescribe(`test/lab ${kernel}`);
  for (const host of ['pku', 'nopku']) {
    d(`lab ${kernel} on host ${host} (seed ${LAB_TEST_SEED}, ${N} cases)`, () => {
      const lab = withLab(kernel, host);
      let cases: CCase[];
      let run: ConformanceRun;
      beforeAll(async () => {
        const s = lab();
        cases = generateCases({ machine: s.machine, table: s.cal.table, size: s.cal.size }, N, LAB_TEST_SEED);
        run = await runConformance(s.vm.exec, s.machine, cases, { chunkSize: 250 });
      }, 600_000);

      test('the calibration confirms the catalogue entries of the kernel and the host', () => {
        const c = lab().check;
        expect(c.hostDetail).toContain(`lab-${host}`);
        expect(c.hostAgrees).toBe(true);
        expect(c.kernelExamples).toEqual([]);
        expect(c.kernelDiffering).toBe(0);
      });

      test('every generated case agrees with the model (replay: kvm-check --lab … --seed)', () => {
        const bad = run.outcomes.filter((o) => o.status !== 'agree');
        expect(run.infra).toEqual([]);
        expect(bad.map((o) => `case ${o.index} [${o.cls}] ${o.disagreements.map((x) => `${x.op} ${x.field}: model ${x.expected}, kernel ${x.actual}`).join('; ')}`)).toEqual([]);
        const classes = new Set(run.outcomes.map((o) => o.cls));
        for (const cls of ['valid', 'leaked/fixup', 'leaked/no-fixup', 'refused/outside-host-set', 'refused/xcomp-bv', 'guest-run', 'xcr0']) expect(classes).toContain(cls);
      });

      test(`negative control: the same real results judged with ${wrongKernel}'s rules disagree`, () => {
        const s = lab();
        const wrong: ThisMachine = { ...s.machine, kernel: kernelById(wrongKernel)! };
        let disagree = 0;
        cases.forEach((c, i) => {
          const real = run.outcomes[i]!.real!;
          if (compareCase(c, predictCase(wrong, c), real).length) disagree++;
        });
        expect(disagree).toBeGreaterThan(0);
      });

      test('negative control: without the TCG FXSAVE rule some guest runs disagree (FOP is never stored)', () => {
        const s = lab();
        const hw: ThisMachine = { ...s.machine, host: { ...s.machine.host, fxsave: 'hardware' } };
        const fop = cases.filter((c, i) => c.cls === 'guest-run' && compareCase(c, predictCase(hw, c), run.outcomes[i]!.real!).some((x) => x.field.includes('fop')));
        expect(fop.length).toBeGreaterThan(0);
      });
    });
  }
}
