// The review says only what was checked (issue 14 item 6). Each statement is checked on the
// review built from the model, and each check has a negative control: the same check run on a
// report whose data contradicts the statement, or on text that drops it, must fail.
import { generateReview } from '../cli/review/generate';
import { QEMU_82_ABORT_UNCONFIRMED, kernelById } from '../model';
import { KNOWN_FINDINGS } from '../properties/knownFindings';
import { MigrationMatrix, computeMatrix, matrixClaims } from '../properties/matrix';
import { unconfirmedOf } from '../properties/unconfirmed';
import { renderMarkdown } from '../report/markdown';
import { Report } from '../report/report';
import { INCIDENT_REPORT } from '../report/summary';

const review = generateReview({ batches: 1, batchRuns: 20, controls: false });
const md = renderMarkdown(review);

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const summaryOf = (text: string): string => text.split('## Decision summary\n\n')[1]!.split('\n## ')[0]!;
const sectionOf = (text: string, title: string): string => text.split(`\n## ${title}\n\n`)[1]!.split('\n## ')[0]!;

/** (a) Lines that call an outcome a hang without citing the incident report for it. */
function uncitedHangs(text: string): string[] {
  return text.split('\n').filter((l) => /\bhang\b/i.test(l) && !l.includes('1559d22f3510') && !/incident report|not seen to spin/.test(l));
}

/** (b, c) The UNCONFIRMED statements the decision summary shows next to its verdicts. */
function unconfirmedShown(text: string): string[] {
  const line = summaryOf(text)
    .split('\n')
    .find((l) => l.startsWith('- These verdicts rest on UNCONFIRMED statements: '));
  return line ? [line] : [];
}

/** (d) Verdict lines of the summary that do not say they hold on the matrix domain only. */
function verdictsWithoutDomain(text: string): string[] {
  return summaryOf(text)
    .split('\n')
    .filter((l) => /safe only to|is safe .*to:|changes no outcome/.test(l) && !l.includes('within the matrix domain'));
}

/** (e) Known findings the Findings section does not list with their evidence and replay command. */
function findingsMissing(text: string): string[] {
  const f = sectionOf(text, 'Findings');
  return KNOWN_FINDINGS.filter((k) => !f.includes(`\`${k.id}\``) || !f.includes(`replay: \`${k.replay}\``) || !f.includes(`evidence: ${k.evidence}`)).map((k) => k.id);
}

describe('(a) "incomplete" is what the model knows; the hang is cited to the incident report', () => {
  test('the outcome is named and explained by its mechanism, the hang only with its source', () => {
    expect(md).toContain('**INCOMPLETE** = a restore step failed, QEMU ignored it and resumed the guest with partial state');
    expect(md).toContain(INCIDENT_REPORT);
    expect(uncitedHangs(md)).toEqual([]);
  });
  test('negative control: an outcome called a hang without a source is caught', () => {
    expect(uncitedHangs(md.replace('UNSAFE (noPKU: 8.0 incomplete', 'UNSAFE (noPKU: 8.0 hang'))).toHaveLength(1);
  });
});

describe('(b) the QEMU 8.2 boundary is marked unconfirmed in the model and in the review', () => {
  test('model/vmm.ts carries it and the review shows it beside the 8.2 verdict', () => {
    const line = summaryOf(md)
      .split('\n')
      .find((l) => l.includes('QEMU 8.2 turns every such incomplete restore into a refused migration'))!;
    expect(line).toContain(`UNCONFIRMED: ${QEMU_82_ABORT_UNCONFIRMED}`);
    expect(review.matrix.description).toContain(QEMU_82_ABORT_UNCONFIRMED);
  });
  test('negative control: without the statement in the data the line does not claim it (the text comes from the data)', () => {
    const r = clone(review);
    r.matrix.unconfirmed = r.matrix.unconfirmed!.filter((u) => u.subject !== 'qemu-8.2');
    expect(summaryOf(renderMarkdown(r))).not.toContain(QEMU_82_ABORT_UNCONFIRMED);
  });
});

describe('(c) every UNCONFIRMED statement a verdict rests on appears next to the verdict', () => {
  const expected = unconfirmedOf([...review.matrix.sources, ...review.matrix.targets.map((t) => t.kernel)], review.matrix.qemu);
  test("pve-5.15's leak, linux-5.16's SET checks and QEMU 8.2's boundary, from the model's data", () => {
    expect(expected.map((u) => u.subject)).toEqual(['linux-5.16', 'pve-5.15', 'qemu-8.2']);
    expect(expected.find((u) => u.subject === 'pve-5.15')!.statement).toBe(kernelById('pve-5.15')!.unconfirmed![0]);
    const [line] = unconfirmedShown(md);
    for (const u of expected) expect(line).toContain(`${u.subject}: ${u.statement}`);
    for (const id of ['M1', 'M2', 'M3']) expect(review.claims.find((c) => c.id === id)!.unconfirmed).toContain(`pve-5.15: ${kernelById('pve-5.15')!.unconfirmed![0]}`);
    expect(sectionOf(md, 'Claim details')).toContain('**Rests on UNCONFIRMED statements.**');
  });
  test('negative control: a statement added to the data shows, one dropped disappears (computed, not hand-copied)', () => {
    const r = clone(review);
    r.matrix.unconfirmed = [...r.matrix.unconfirmed!.filter((u) => u.subject !== 'pve-5.15'), { subject: 'linux-6.6', statement: 'a made-up statement' }];
    const [line] = unconfirmedShown(renderMarkdown(r));
    expect(line).toContain('linux-6.6: a made-up statement');
    expect(line).not.toContain('pve-5.15:');
    r.matrix.unconfirmed = [];
    expect(unconfirmedShown(renderMarkdown(r))).toEqual([]);
  });
});

describe('(d) "safe to …" and "the patch changes no outcome" hold on the matrix domain only', () => {
  test('each such line says so', () => {
    expect(summaryOf(md)).toContain('the patch changes no outcome within the matrix domain; outside it the harness knows 2 finding(s)');
    expect(verdictsWithoutDomain(md)).toEqual([]);
  });
  test('negative control: the old wording is caught', () => {
    expect(verdictsWithoutDomain(md.replace(/within the matrix domain/g, ''))).toHaveLength(3);
  });
});

describe('(e) the Findings section lists every finding the harness knows of', () => {
  test('each with its evidence and replay command; not "None."', () => {
    expect(review.findings).toEqual([]);
    expect(sectionOf(md, 'Findings').startsWith('None in this run.')).toBe(true);
    expect(findingsMissing(md)).toEqual([]);
    expect(review.knownFindings!.every((f) => f.reproduces)).toBe(true);
  });
  test('negative control: a report without the list is caught', () => {
    const r: Report = { ...clone(review), knownFindings: [] };
    expect(findingsMissing(renderMarkdown(r))).toEqual(KNOWN_FINDINGS.map((k) => k.id));
  });
});

describe('(f) M3: on 6.6 and later the incident needs a target host without PKU', () => {
  const m = computeMatrix();
  const m3 = (x: MigrationMatrix) => matrixClaims(x).find((c) => c.id === 'M3')!;
  const cellIndex = (x: MigrationMatrix, host: 'pku' | 'no-pku', guest: string) => x.conditions.findIndex((c) => c.hostPku === host && c.qemu === 'qemu-8.0' && c.guest === guest);
  test('worded so, and it holds', () => {
    expect(m3(m).title).toBe('without the fixup the incident reproduces on every 6.x/7.x kernel; on 6.6 and later only with a target host without PKU (matrix domain)');
    expect(m3(m).holds).toBe(true);
    expect(m3(m).statement).toMatch(/8647c52e9504 .*linux-6\.6.*only with a target host without PKU/);
    expect(sectionOf(md, 'Claims')).toContain('on 6.6 and later only with a target host without PKU');
  });
  test('negative control: a linux-6.6 migration to a PKU host that is incomplete contradicts it', () => {
    const x = clone(m);
    const p = x.paths.find((q) => q.source === 'pve-5.15' && q.target === 'linux-6.6' && q.fixup === 'kernel-default')!;
    p.outcomes[cellIndex(x, 'pku', 'no-xsave')] = 'incomplete';
    expect(m3(x).holds).toBe(false);
    expect(m3(x).counterexamples).toEqual(['pve-5.15 on skylake-sp → linux-6.6: incomplete on a PKU host too, although the kernel accepts every host-supported bit (8647c52e9504)']);
  });
  test('negative control: a linux-6.2 migration to a PKU host that is intact contradicts the 6.2 half', () => {
    const x = clone(m);
    const p = x.paths.find((q) => q.source === 'pve-5.15' && q.target === 'linux-6.2' && q.fixup === 'kernel-default')!;
    x.conditions.forEach((c, i) => {
      if (c.hostPku === 'pku') p.outcomes[i] = 'intact';
    });
    expect(m3(x).counterexamples).toEqual([
      'pve-5.15 on skylake-sp → linux-6.2: not incomplete on a PKU host, although the kernel refuses guest-unsupported bits (6.2 rule)',
      'pve-5.15 on zen4 → linux-6.2: not incomplete on a PKU host, although the kernel refuses guest-unsupported bits (6.2 rule)',
    ]);
  });
});
