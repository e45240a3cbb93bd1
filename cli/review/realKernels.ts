// The review's real-kernels section, from the committed records of the kernel lab (each made by
// the command it names, read here, never rerun: the lab needs QEMU and minutes):
//   reports/lab.json, lab-pve.json, lab-rebuilt.json   kvm-check --lab … --record F
//   reports/lab-incident.json                          lab incident --record F
//   reports/lab-mutants.json                           lab mutants --record F
//   reports/lab-qemu.json                              lab qemu --record F
// plus the catalogue's measured and unconfirmed statements of every lab kernel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kernelById } from '../../model';
import { LAB_KERNELS } from '../../lab/catalogue';
import type { RealKernels } from '../../report/realKernels';

const CHECKS = ['lab.json', 'lab-pve.json', 'lab-rebuilt.json'];

interface CheckRecord {
  command?: string;
  seed: string;
  pairs: Array<{ kernel: string; host: string; cases: number; agree: number; verdict: string; check: { hostAgrees: boolean; kernelDiffering: number } | null }>;
}

function read<T>(dir: string, name: string): T | null {
  const f = path.join(dir, name);
  if (!fs.existsSync(f)) return null;
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${f}: ${(e as Error).message}`);
  }
}

export function collectRealKernels(dir = 'reports'): RealKernels | null {
  const commands: string[] = [];
  const checks: RealKernels['checks'] = [];
  for (const name of CHECKS) {
    const r = read<CheckRecord>(dir, name);
    if (!r) continue;
    commands.push(r.command ?? `kvm-check --lab (reports/${name})`);
    for (const p of r.pairs) {
      checks.push({
        kernel: p.kernel,
        host: p.host,
        cases: p.cases,
        agree: p.agree,
        kernelEntry: !p.check ? '-' : p.check.kernelDiffering === 0 ? 'confirmed' : `${p.check.kernelDiffering} probe steps differ`,
        hostEntry: !p.check ? '-' : p.check.hostAgrees ? 'confirmed' : 'differs',
        verdict: p.verdict,
        seed: r.seed,
      });
    }
  }
  const inc = read<{ command: string; source: { kernel: string; host: string; release: string; savedXstateBv: string; savedPkru: number; leaked: boolean; ran: boolean; model: { savedXstateBv: string; leaked: boolean } }; cells: RealKernels['incident'] extends infer X ? (X extends { cells: infer C } ? C : never) : never; failed: Array<{ kernel: string; host: string; error: string }> }>(dir, 'lab-incident.json');
  let incident: RealKernels['incident'] = null;
  if (inc) {
    commands.push(inc.command);
    const s = inc.source;
    incident = {
      source:
        `Source: a qemu64 guest (no XSAVE) run to its checkpoint on ${s.kernel} (${s.release}), host ${s.host}; saved as QEMU saves it: ` +
        `XSTATE_BV ${s.savedXstateBv} (the model: ${s.model.savedXstateBv}), PKRU area 0x${s.savedPkru.toString(16)}, leaked: ${s.leaked}. ` +
        'Restored on each target in QEMU\'s order (CPUID, sregs, regs, xsave, xcrs), then the guest runs and its own FXSAVE view is compared with the source\'s.',
      cells: inc.cells.map((c) => ({ kernel: c.kernel, host: c.host, vmm: c.vmm, real: c.real, model: c.model, agree: c.agree })),
      failed: inc.failed.map((f) => `${f.kernel}/${f.host}: ${f.error.split('\n')[0]}`),
    };
  }
  const mut = read<{ seed: string; casesPerPair: number; columns: string[]; rows: Array<{ mutant: string; expected: string; disagree: Record<string, number>; verdict: string; invisible?: string }> }>(dir, 'lab-mutants.json');
  let mutants: RealKernels['mutants'] = null;
  if (mut) {
    commands.push(`xsave-harness lab mutants --lab ${[...new Set(mut.columns.map((c) => c.split('/')[0]))].join(',')} --host ${[...new Set(mut.columns.map((c) => c.split('/')[1]))].join(',')} --cases ${mut.casesPerPair} --seed ${mut.seed}`);
    mutants = {
      columns: mut.columns,
      rows: mut.rows.map((r) => ({ mutant: r.mutant, expected: r.expected, disagree: mut.columns.map((c) => r.disagree[c] ?? 0), verdict: r.verdict, note: r.invisible ? `not visible to ioctls: ${r.invisible}` : '' })),
    };
  }
  const q = read<{ command: string; qemu: string; source: { kernel: string; host: string }; stream: Record<string, { xstateBv: string; leaked: boolean }>; cells: Array<{ target: { kernel: string; host: string }; restore: string; observed: { outcome: string; why: string[]; vcpuPct: number | null }; predicted: { outcome: string }; agree: boolean }> }>(dir, 'lab-qemu.json');
  let qemu: RealKernels['qemu'] = null;
  if (q) {
    commands.push(q.command.replace(/ --keep \S+/, ''));
    qemu = {
      source:
        `${q.qemu}, nested under KVM in the lab VMs. A small guest of the project's own (lab/guest) runs on ${q.source.kernel} (host ${q.source.host}) under -cpu qemu64, ` +
        `checking its x87/SSE registers and reporting its clock every round; saved by a live migration (stream XSTATE_BV ${q.stream['migrate']?.xstateBv ?? '?'}) and by savevm (${q.stream['savevm']?.xstateBv ?? '?'}), restored with -incoming and -loadvm on each target.`,
      cells: q.cells.map((c) => ({
        kernel: c.target.kernel,
        host: c.target.host,
        restore: c.restore,
        real: c.observed.outcome,
        model: c.predicted.outcome,
        agree: c.agree,
        observed: `${c.observed.why.join('; ')}${c.observed.vcpuPct !== null && c.observed.vcpuPct !== undefined ? `; vCPU thread ${c.observed.vcpuPct}%` : ''}`,
      })),
    };
  }
  const measured: RealKernels['measured'] = [];
  const unconfirmed: RealKernels['unconfirmed'] = [];
  for (const k of LAB_KERNELS) {
    const v = kernelById(k.id);
    if (v?.measured?.length) measured.push({ kernel: k.id, statements: v.measured });
    if (v?.unconfirmed?.length) unconfirmed.push({ kernel: k.id, statements: v.unconfirmed });
  }
  for (const id of ['pve-5.15', 'linux-5.16']) {
    const v = kernelById(id);
    if (v?.unconfirmed?.length) unconfirmed.push({ kernel: id, statements: v.unconfirmed });
  }
  if (!checks.length && !incident && !mutants && !qemu) return null;
  return { commands, checks, incident, mutants, qemu, measured, unconfirmed };
}
