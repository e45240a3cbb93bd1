// The release catalogue (model/releases.ts) as Markdown: the table, the upgrade paths, the
// sources and the UNCONFIRMED list of docs/releases.md, rendered from the data so the
// document never restates a fact by hand (test/releases-doc.test.ts keeps them equal).
import { Release, ReleaseKernel, Upgrade, patchOf, qemuPolicyOf, upgradesFrom } from '../model/releases';

function kernelCell(k: ReleaseKernel): string {
  const when = k.from && k.until ? ` ${k.from}…${k.until}` : k.from ? ` from ${k.from}` : k.until ? ` until ${k.until}` : '';
  return `\`${k.kernel}\`${k.default ? '' : ' (opt-in)'}${when}${k.note ? ' †' : ''}`;
}

function patchCell(r: Release): string {
  return r.kernels
    .filter((k) => k.from === undefined)
    .map((k) => `${k.kernel}: ${patchOf(k) ?? 'no'}`)
    .join('; ');
}

/** The generated part of docs/releases.md. */
export function releasesMarkdown(releases: readonly Release[], upgrades: readonly Upgrade[]): string {
  const out: string[] = [];
  out.push('| release | Debian | date | kernels (rows of model/kernels.ts) | QEMU as shipped → later | restore policy | PKRU patch as shipped | upgrades to |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const r of releases) {
    const qemu = r.laterQemu ? `${r.qemu} → ${r.laterQemu} (${r.laterQemuFrom})` : r.qemu;
    const policy = r.laterQemu ? `${qemuPolicyOf(r, 'shipped')} → ${qemuPolicyOf(r, 'current')}` : `${qemuPolicyOf(r, 'shipped')}`;
    const to = upgradesFrom(r.id, upgrades).join(', ') || '—';
    out.push(`| ${r.id} | ${r.debian} | ${r.date} | ${r.kernels.map(kernelCell).join('<br>')} | ${qemu} | ${policy} | ${patchCell(r)} | ${to} |`);
  }
  out.push('');
  out.push('† remarks on kernel rows (a shipped kernel without a row of its own is mapped to the row whose GET/SET rules it shares):');
  out.push('');
  const notes = new Map<string, string[]>();
  for (const r of releases) for (const k of r.kernels) if (k.note) notes.set(k.note, [...(notes.get(k.note) ?? []), `${r.id} ${k.versions ?? k.kernel}`]);
  for (const [note, where] of notes) out.push(`- ${where.join('; ')}: ${note}`);
  out.push('');
  out.push('## Sources per release');
  out.push('');
  for (const r of releases) {
    out.push(`### ${r.id}`);
    out.push('');
    for (const s of r.sources) out.push(`- ${s}`);
    out.push('');
  }
  out.push('## UNCONFIRMED');
  out.push('');
  for (const r of releases) for (const u of r.unconfirmed) out.push(`- ${r.id}: ${u}`);
  return out.join('\n') + '\n';
}
