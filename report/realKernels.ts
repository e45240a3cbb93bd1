import { Block, Section, section } from './document';

/** Sections still written as flat blocks ({h}/{p}/{ul}/{table}) join the document with fromFlatBlocks (report/document.ts). */
export type { FlatBlock as Block } from './document';

/**
 * The review's "Real kernels" section: what the kernel lab checked (lab/, docs/lab.md), as data
 * and as a section of the report document (report/document.ts). Built by cli/review/realKernels.ts from the committed lab records.
 */
export interface RealKernelCheck {
  kernel: string;
  host: string;
  cases: number;
  agree: number;
  /** the calibration's verdict on the kernel's catalogue entry */
  kernelEntry: string;
  /** … and on the host's */
  hostEntry: string;
  verdict: string;
  seed: string;
}

export interface RealIncidentCell {
  kernel: string;
  host: string;
  vmm: string;
  real: string;
  model: string;
  agree: boolean;
}

export interface RealKernels {
  /** the commands whose records this section shows */
  commands: string[];
  checks: RealKernelCheck[];
  incident: { source: string; cells: RealIncidentCell[]; failed: string[] } | null;
  mutants: { columns: string[]; rows: Array<{ mutant: string; expected: string; disagree: number[]; verdict: string; note: string }> } | null;
  /** lab qemu: real QEMU 7.2 as the VMM (live migration and snapshot rollback) */
  qemu: { source: string; cells: Array<{ kernel: string; host: string; restore: string; real: string; model: string; agree: boolean; observed: string }> } | null;
  /** catalogue statements measured on a real kernel, per lab kernel */
  measured: Array<{ kernel: string; statements: string[] }>;
  /** catalogue statements still UNCONFIRMED that a verdict above may rest on */
  unconfirmed: Array<{ kernel: string; statements: string[] }>;
}

export function realKernelsSection(rk: RealKernels): Section {
  const top: Block[] = [];
  let out = top;
  const sub = (title: string): void => {
    out = [];
    top.push(section(title, out));
  };
  out.push({
    kind: 'paragraph',
    text:
      'Real Linux kernels under QEMU (TCG emulates AMD SVM, KVM runs inside): Debian 6.1 and 6.12 as shipped, and rebuilt with the lab\'s patches (lab/patches): ' +
      'the Proxmox patch in C, the 6.2-era rule of July 2023, and a leaky GET. Each boot\'s calibration checks the kernel\'s and the host\'s catalogue entries; ' +
      'the generated cases are predicted by the model and run for real. Lab hosts: QEMU TCG CPU models (lab-pku, lab-nopku, lab-noavx); their FXSAVE does not store FOP and their XSAVES marks every enabled component in use (docs/lab.md §3).',
  });
  if (rk.checks.length) {
    out.push({
      kind: 'table',
      head: ['kernel', 'host', 'cases', 'agree', 'kernel entry', 'host entry', 'verdict'],
      rows: rk.checks.map((c) => [c.kernel, c.host, String(c.cases), String(c.agree), c.kernelEntry, c.hostEntry, c.verdict]),
    });
  }
  if (rk.incident) {
    sub('The July 2023 incident, reproduced on real kernels');
    out.push({ kind: 'paragraph', text: rk.incident.source });
    out.push({
      kind: 'table',
      head: ['target', 'host', 'QEMU policy', 'real outcome', 'model', 'agree'],
      rows: rk.incident.cells.map((c) => [c.kernel, c.host, c.vmm, c.real, c.model, c.agree ? 'yes' : '**NO**']),
    });
    if (rk.incident.failed.length) out.push({ kind: 'list', items: rk.incident.failed.map((f) => `not run (infrastructure): ${f}`) });
    out.push({
      kind: 'paragraph',
      text:
        '"incomplete" here is what the executor sees: KVM_SET_XSAVE failed, QEMU 7.2\'s policy skipped the later steps and the guest ran with the reset x87/SSE state. ' +
        'What a whole guest does then was observed with real QEMU 7.2 (docs/lab-qemu.md): it keeps running with reset x87/SSE state and a broken kvmclock; it was not seen to spin at 100% CPU (the incident report\'s symptom).',
    });
  }
  if (rk.qemu) {
    sub('Reproduced with QEMU 7.2 (live migration and snapshot rollback)');
    out.push({ kind: 'paragraph', text: rk.qemu.source });
    out.push({
      kind: 'table',
      head: ['target', 'host', 'restore', 'observed', 'model', 'agree', 'what the guest showed'],
      rows: rk.qemu.cells.map((c) => [c.kernel, c.host, c.restore, c.real, c.model, c.agree ? 'yes' : '**NO**', c.observed]),
    });
  }
  if (rk.mutants) {
    sub('The real patch as the reference for the mutant catalogue');
    out.push({
      kind: 'table',
      head: ['plug-in', 'must', ...rk.mutants.columns, 'verdict', 'note'],
      rows: rk.mutants.rows.map((r) => [r.mutant, r.expected, ...r.disagree.map(String), r.verdict, r.note]),
    });
  }
  if (rk.measured.length) {
    sub('Catalogue statements confirmed on real kernels');
    out.push({ kind: 'list', items: rk.measured.flatMap((m) => m.statements.map((s) => `${m.kernel}: ${s}`)) });
  }
  if (rk.unconfirmed.length) {
    sub('Still unconfirmed (verdicts above may rest on them)');
    out.push({ kind: 'list', items: rk.unconfirmed.flatMap((m) => m.statements.map((s) => `${m.kernel}: ${s}`)) });
  }
  out.push({ kind: 'paragraph', text: `Records: ${rk.commands.map((c) => `\`${c}\``).join('; ')}.` });
  return section('Real kernels (the kernel lab)', top);
}
