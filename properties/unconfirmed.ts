// The UNCONFIRMED statements a verdict rests on, computed from the model's data (the
// `unconfirmed` lists of model/kernels.ts and of the QEMU versions of model/vmm.ts), so the
// review shows them next to the verdicts without a hand-copied list (issue 14 item 6).
import { kernelById, parseQemu } from '../model';

export interface UnconfirmedStatement {
  /** the kernel or QEMU id the statement is about */
  subject: string;
  statement: string;
}

/** The statements behind a verdict over these kernels and QEMU versions, in the order given. */
export function unconfirmedOf(kernels: readonly string[], qemu: readonly string[]): UnconfirmedStatement[] {
  const out: UnconfirmedStatement[] = [];
  for (const id of [...new Set(kernels)]) for (const statement of kernelById(id)?.unconfirmed ?? []) out.push({ subject: id, statement });
  for (const id of [...new Set(qemu)]) for (const statement of parseQemu(id)?.unconfirmed ?? []) out.push({ subject: id, statement });
  return out;
}

export const unconfirmedText = (u: UnconfirmedStatement): string => `${u.subject}: ${u.statement}`;
