// What REVIEW.md and review.html both say, computed once from a report: the decision summary,
// the source groups and the with/without-patch comparison of the matrix.
import { Outcome } from '../model';
import { GUEST_CLASSES, GuestClass, MatrixCondition, MigrationMatrix, PatchPair, PathResult, SourceGroup, Verdict, findCell, patchPairs, sourceGroups } from '../properties/matrix';
import { Report } from './report';
import { verificationHeadline } from './verificationText';

export const GUEST_SHORT: Record<GuestClass, string> = { 'no-xsave': 'q64', 'xsave-no-pku': 'v3', pku: 'SKX' };
// "incomplete", not "hang": the model knows a restore step failed and the guest resumed; the hang is
// the incident report's symptom, which the model does not compute (issue 14 item 6).
export const OUTCOME_MD: Record<Outcome, string> = { intact: '✓', aborted: 'abort', incomplete: '**INCOMPLETE**', lost: '**LOST**' };
export const OUTCOME_TEXT: Record<Outcome, string> = { intact: 'intact', aborted: 'aborted', incomplete: 'incomplete (a restore step failed, the guest resumed)', lost: 'lost state' };
export const VERDICT_TEXT: Record<Verdict, string> = { safe: 'safe', refused: 'refused (safe)', unsafe: 'UNSAFE' };

export function conditionHeader(c: MatrixCondition): string {
  return `${c.hostPku === 'pku' ? 'PKU' : 'noPKU'} ${c.qemu.replace('qemu-', '')} ${GUEST_SHORT[c.guest]}`;
}

/** Which hosts the verdicts cover beyond the per-cell tables (issue 14 item 6); older reports have none. */
export function matrixHostsLine(m: MigrationMatrix): string {
  if (!m.hosts) return 'hosts: the source and target hosts above only';
  return `verdicts and M1-M3 cover every pair of source host (${m.hosts.sources.join('; ')}) and target host (${m.hosts.targets.join('; ')}); the per-cell tables show the source host and the two target hosts above, every cell is in report.json`;
}

export function guestLegend(): string {
  return (Object.keys(GUEST_CLASSES) as GuestClass[]).map((g) => `${GUEST_SHORT[g]} = ${GUEST_CLASSES[g]} (${g})`).join(', ');
}

export interface Summary {
  groups: SourceGroup[];
  pairs: PatchPair[];
  leakyGroup: number;
  claimsHold: number;
  claimsFail: number;
  claimsNotRun: number;
  randomCases: number;
  /** kernels a leaky source reaches safely without / with the patch */
  safeWithout: string[];
  safeWith: string[];
  /** kernels on which the patch turns an unsafe leaky-source path into a safe one */
  fixedByPatch: string[];
  /** kernels that stay unsafe with the patch */
  unsafeWith: string[];
  headline: string[];
}

/** Where the hang of the July 2023 incident is reported (../shared/research/cpu-data.md §4). */
export const INCIDENT_REPORT = 'Proxmox pve-kernel commit 1559d22f3510, "kvm: xsave set: mask-out PKRU bit in xfeatures if vCPU has no support"';

export function groupName(g: SourceGroup): string {
  return g.sources.join(', ');
}

export function summarise(r: Report): Summary {
  const groups = sourceGroups(r.matrix);
  const pairs = patchPairs(r.matrix, groups);
  const leakyGroup = groups.findIndex((g) => g.leaky);
  const claimsHold = r.claims.filter((c) => c.result === 'holds').length;
  const claimsFail = r.claims.filter((c) => c.result === 'fails').length;
  const claimsNotRun = r.claims.filter((c) => c.result === 'not-run').length;
  const randomCases = r.claims.filter((c) => c.method.kind === 'random').reduce((n, c) => n + (c.method.cases ?? 0), 0);
  const verdictOf = (pp: PathResult[]): Verdict | null => (leakyGroup >= 0 ? pp[leakyGroup]!.verdict : null);
  const safeWithout = pairs.filter((p) => verdictOf(p.without.byGroup) === 'safe').map((p) => p.kernel);
  const safeWith = pairs.filter((p) => verdictOf(p.with.byGroup) === 'safe').map((p) => p.kernel);
  const fixedByPatch = pairs.filter((p) => verdictOf(p.without.byGroup) !== 'safe' && verdictOf(p.with.byGroup) === 'safe').map((p) => p.kernel);
  const unsafeWith = pairs.filter((p) => verdictOf(p.with.byGroup) !== 'safe').map((p) => p.kernel);

  const headline: string[] = [];
  const failing = r.claims.filter((c) => c.result === 'fails');
  headline.push(
    failing.length === 0
      ? `Every claim that was checked holds (${claimsHold} of ${r.claims.length}; ${claimsNotRun} not run). Fixup under test: \`${r.run.fixup.name}\`.`
      : `**${failing.length} claim(s) FAIL: ${failing.map((c) => c.id).join(', ')}.** Fixup under test: \`${r.run.fixup.name}\`.`,
  );
  if (r.findings.length) headline.push(`**${r.findings.length} finding(s)** with replayable case files (see Findings).`);
  if (leakyGroup >= 0) {
    const g = groupName(groups[leakyGroup]!);
    // the verdicts hold on the matrix's hosts, QEMU versions and guest models only (issue 14 item 6)
    headline.push(
      `From a source kernel that leaks PKRU (${g}), within the matrix domain (the hosts, QEMU versions and guest models of the Migration matrix), without the patch a migration is safe only to: ${safeWithout.length ? safeWithout.join(', ') : 'none'}.`,
    );
    headline.push(`With the patch it is safe (within the matrix domain) to: ${safeWith.length ? safeWith.join(', ') : 'none'}${unsafeWith.length ? `; still not safe to: ${unsafeWith.join(', ')}` : ''}.`);
    // beside the verdicts: the statements they rest on, from the model's data (properties/unconfirmed.ts)
    const unconfirmed = r.matrix.unconfirmed ?? [];
    if (unconfirmed.length) headline.push(`These verdicts rest on UNCONFIRMED statements: ${unconfirmed.map((u) => `${u.subject}: ${u.statement}`).join('; ')}.`);
    const hangs82 = pairs.some((p) => {
      const path = p.without.byGroup[leakyGroup]!;
      return r.matrix.conditions.some((c, i) => c.qemu === 'qemu-8.2' && path.feasible[i] && (path.outcomes[i] === 'incomplete' || path.outcomes[i] === 'lost'));
    });
    const q82 = (r.matrix.unconfirmed ?? []).filter((u) => u.subject === 'qemu-8.2').map((u) => u.statement);
    if (!hangs82) {
      headline.push(
        `Without the patch, QEMU 8.2 turns every such incomplete restore into a refused migration (the restore aborts and the guest keeps running on the source${q82.length ? `; UNCONFIRMED: ${q82.join('; ')}` : ''}); QEMU 8.0 resumes the guest with partial state.`,
      );
    }
    const incident = findCell(r.matrix, { source: 'pve-5.15', target: 'linux-6.2', hostPku: 'pku', qemu: 'qemu-8.0', guest: 'no-xsave' });
    const fixed = findCell(r.matrix, { source: 'pve-5.15', target: 'pve-6.2-2023-07', hostPku: 'pku', qemu: 'qemu-8.0', guest: 'no-xsave' });
    if (incident && fixed) {
      const said = incident.outcome === 'incomplete' ? `; the model says no more: the 100%-CPU hang is the incident report's symptom (${INCIDENT_REPORT})` : '';
      headline.push(`The incident path (pve-5.15 → linux-6.2, qemu64 guest, QEMU 8.0) is ${OUTCOME_TEXT[incident.outcome]}${said}; to pve-6.2-2023-07, the first kernel with the patch, it is ${OUTCOME_TEXT[fixed.outcome]}.`);
    }
    const clean = groups.filter((x) => !x.leaky);
    if (clean.length) {
      const cleanChanged = pairs.some((p) => groups.some((x, gi) => !x.leaky && p.without.byGroup[gi]!.outcomes.join() !== p.with.byGroup[gi]!.outcomes.join()));
      const outside = (r.knownFindings ?? []).filter((f) => f.about === 'patch');
      headline.push(
        `From a source that does not leak (${clean.map(groupName).join('; ')}), the patch ${cleanChanged ? '**changes some outcomes** (see M2)' : 'changes no outcome'} within the matrix domain${outside.length ? `; outside it the harness knows ${outside.length} finding(s) where the patch changes an outcome: ${outside.map((f) => `\`${f.id}\``).join(', ')} (see Findings)` : ''}.`,
      );
    }
  }
  if (r.knownFindings?.length) headline.push(`**${r.knownFindings.length} known finding(s)** outside the claims' domains, each with its evidence and replay command (see Findings).`);
  if (r.verification) {
    const v = verificationHeadline(r.verification);
    headline.push(...v.lines);
    // a stale kill matrix or a failing proof goes first: it must not be missed
    headline.unshift(...v.loud);
  }
  if (r.partial) headline.unshift(`**PARTIAL REPORT**: ${r.partialReasons.join('; ')}.`);
  if (r.errors.length) headline.push(`**${r.errors.length} infrastructure error(s)**, see Errors.`);
  return { groups, pairs, leakyGroup, claimsHold, claimsFail, claimsNotRun, randomCases, safeWithout, safeWith, fixedByPatch, unsafeWith, headline };
}

/** Distinct problem descriptions of a path, e.g. "noPKU 8.0 q64/v3: incomplete (xsave: outside-supported)". */
export function pathProblems(m: MigrationMatrix, p: PathResult): string[] {
  const byText = new Map<string, string[]>();
  m.conditions.forEach((c, i) => {
    if (!p.feasible[i] || p.outcomes[i] === 'intact') return;
    const key = `${p.outcomes[i]}${p.details[i] ? ` (${p.details[i]})` : ''}`;
    const list = byText.get(key) ?? [];
    list.push(conditionHeader(c));
    byText.set(key, list);
  });
  return [...byText.entries()].map(([k, v]) => `${v.join(', ')}: ${k}`);
}

/** A case's JSON with the 4096-byte region elided, for display. */
export function caseForDisplay(c: Record<string, unknown> | null): string | null {
  if (!c) return null;
  const text = JSON.stringify(c, null, 2);
  return text.replace(/"hex": "([0-9a-f]{64})[0-9a-f]+"/g, (_m, head: string) => `"hex": "${head}…"`);
}

export function fmtInt(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A verdict with where it fails: "UNSAFE (noPKU: 8.0 hang, 8.2 refused)". */
export function verdictDetail(m: MigrationMatrix, p: PathResult): string {
  if (p.verdict === 'safe') return VERDICT_TEXT.safe;
  const parts: string[] = [];
  for (const host of ['pku', 'no-pku'] as const) {
    const what: string[] = [];
    for (const q of m.qemu) {
      const outs = new Set<Outcome>();
      m.conditions.forEach((c, i) => {
        if (c.hostPku === host && c.qemu === q && p.feasible[i] && p.outcomes[i] !== 'intact') outs.add(p.outcomes[i]!);
      });
      if (outs.size) what.push(`${q.replace('qemu-', '')} ${[...outs].map((o) => (o === 'aborted' ? 'refused' : o)).join('/')}`);
    }
    if (what.length) parts.push(`${host === 'pku' ? 'PKU' : 'noPKU'}: ${what.join(', ')}`);
  }
  return `${VERDICT_TEXT[p.verdict]} (${parts.join('; ')})`;
}
