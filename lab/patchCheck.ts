/**
 * The real patch as the reference: on a lab kernel that carries the Proxmox patch in C, the
 * generated cases run once (nothing applied on the VMM side), and each plug-in is judged by
 * predicting the same cases with it as the model of the kernel's patch. The built-in plug-in
 * must agree on every case; a broken one (a mutant) must disagree on at least one.
 */
import type { Fixup } from '../model';
import { CCase, ConformanceRun, compareCase, predictCase, runConformance } from '../kvm/conformance';
import { generateCases } from '../kvm/generate';
import type { LabSession } from './session';

export interface PluginVerdict {
  name: string;
  /** cases whose real outcome the plug-in predicts wrongly */
  disagree: number;
  /** the first few, "case i [class] step op field: model …, kernel …" */
  examples: string[];
}

export interface PatchCheck {
  kernel: string;
  host: string;
  cases: number;
  /** real results lost to infrastructure errors */
  lost: number;
  verdicts: PluginVerdict[];
}

/** Runs `n` generated cases (seed) once on the patched kernel and judges every plug-in against them. */
export async function checkPlugins(s: LabSession, n: number, seed: string | number, plugins: readonly Fixup[], onChunk?: (done: number, total: number) => void): Promise<PatchCheck> {
  if (s.machine.kernel.pvePatch === null) throw new Error(`${s.kernel.id} does not carry the patch: nothing to judge plug-ins against`);
  const cases: CCase[] = generateCases({ machine: s.machine, table: s.cal.table, size: s.cal.size }, n, seed).map((c) => ({ ...c, fixup: false }));
  const run: ConformanceRun = await runConformance(s.vm.exec, s.machine, cases, { chunkSize: 250, onChunk });
  const verdicts = plugins.map((p): PluginVerdict => {
    let disagree = 0;
    const examples: string[] = [];
    cases.forEach((c, i) => {
      const real = run.outcomes[i]!.real;
      if (!real) return;
      const d = compareCase(c, predictCase(s.machine, c, p, p), real);
      if (!d.length) return;
      disagree++;
      if (examples.length < 3) examples.push(`case ${i} [${c.cls}] step ${d[0]!.step} ${d[0]!.op} ${d[0]!.field}: model ${d[0]!.expected}, kernel ${d[0]!.actual}`);
    });
    return { name: p.name, disagree, examples };
  });
  return { kernel: s.kernel.id, host: s.host.id, cases: cases.length, lost: run.outcomes.filter((o) => !o.real).length, verdicts };
}
