/**
 * `lab qemu`, the plan and the model's side: which source and targets run (data), what the
 * model predicts for each (model/migration.ts through the case evaluator, vmm "qemu-7.2"), and
 * each observed outcome written as a corpus case (CASE-FORMAT v1, kind "migration").
 */
import { INCIDENT_SOURCE, INCIDENT_TARGETS } from './incident';
import { evaluateCase, MigrationComputed } from '../cases/evaluate';
import { MigrationCase, parseCase } from '../cases/caseFormat';
import { LAB_HOSTS, LAB_KERNELS } from './catalogue';
import { ObservedOutcome, RestoreObservation } from './qemuConsole';

export interface Endpoint {
  kernel: string;
  host: string;
}

/**
 * The incident's source: a leaky 6.1 (its KVM_GET_XSAVE lets the host's PKRU bit through) on a
 * PKU host. The host is `noavx` (-cpu max,-mpx,-avx,…: XCR0 x87|SSE|PKRU), not `pku`: QEMU's
 * TCG XSAVE marks every enabled component in use, so on `pku` (-cpu max, host XCR0 with AVX and
 * MPX) the leak is 0x217, which no real PKU host produces (docs/lab.md §3 item 6; the same
 * source as `lab incident`). `--source debian-6.1-leaky:pku` runs that one.
 */
export const DEFAULT_SOURCE: Endpoint = INCIDENT_SOURCE;

/** The incident table's targets (issue 16): the same as `lab incident`'s, written once there. */
export const DEFAULT_TARGETS: readonly Endpoint[] = INCIDENT_TARGETS;

export const RESTORES = ['migrate', 'savevm'] as const;
export type Restore = (typeof RESTORES)[number];

/** The lab guest as the model sees it: qemu64 (no XSAVE), x87 and SSE in use, XCR0 at reset. */
export const GUEST = { cpuModel: 'qemu64', xcr0: '0x1', inUse: '0x3', pkru: '0x0' } as const;
export const VMM = 'qemu-7.2';

export const label = (e: Endpoint): string => `${e.kernel}:${e.host}`;

/** Parses "K:H" or "K" (every host the plan has for K); unknown entries are usage errors (thrown as RangeError). */
export function parseEndpoints(spec: string, plan: readonly Endpoint[], what: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [kernel, host] = raw.split(':');
    if (host !== undefined && !LAB_HOSTS.some((h) => h.id === host)) throw new RangeError(`${what}: unknown lab host "${host}" in "${raw}" (known: ${LAB_HOSTS.map((h) => h.id).join(', ')})`);
    const hits = host !== undefined ? [{ kernel: kernel!, host }] : plan.filter((e) => e.kernel === kernel);
    if (!hits.length) throw new RangeError(`${what}: "${raw}" names no target of the plan (give KERNEL:HOST; plan: ${plan.map(label).join(', ')})`);
    for (const h of hits) if (!out.some((o) => label(o) === label(h))) out.push(h);
  }
  if (!out.length) throw new RangeError(`${what}: empty list`);
  return out;
}

/** Why an endpoint cannot run here (its lab kernel is not in the catalogue yet), or null. */
export function unavailable(e: Endpoint): string | null {
  if (!LAB_KERNELS.some((k) => k.id === e.kernel)) return `lab kernel ${e.kernel} is not in lab/catalogue.ts`;
  if (!LAB_HOSTS.some((h) => h.id === e.host)) return `lab host ${e.host} is not in lab/catalogue.ts`;
  return null;
}

const catalogueHost = (hostId: string): string => LAB_HOSTS.find((h) => h.id === hostId)?.catalogueHost ?? `lab-${hostId}`;

const slug = (s: string): string => s.replace(/[^a-z0-9.-]+/g, '_');

/** The case id of one cell. */
export function caseId(source: Endpoint, target: Endpoint, restore: Restore): string {
  return `lab-qemu.${restore}.${slug(source.kernel)}.${source.host}.to.${slug(target.kernel)}.${target.host}`;
}

/** The model outcomes an observation can be written as (no-progress has no word in CASE-FORMAT). */
const MODEL_WORDS: readonly ObservedOutcome[] = ['intact', 'aborted', 'incomplete', 'lost'];

export interface CaseJson {
  format: 'xsave-case/1';
  kind: 'migration';
  id: string;
  note: string;
  vcpu: { cpuModel: string };
  source: { kernel: string; host: string };
  target: { kernel: string; fixup: 'kernel-default'; host: string };
  vmm: string;
  guest: { xcr0: string; inUse: string; pkru: string };
  expect: { outcome?: 'intact' | 'aborted' | 'incomplete' | 'lost'; leaked?: boolean };
}

/**
 * The cell as a corpus case: `expect` holds what was OBSERVED (the outcome when it is one of the
 * model's words, and whether the real stream's XSTATE_BV carried a bit outside x87|SSE), so that
 * replaying the case against the model is the comparison.
 */
export function cellCase(source: Endpoint, target: Endpoint, restore: Restore, obs: { outcome: ObservedOutcome; leaked: boolean | null; note: string }): CaseJson {
  const expect: CaseJson['expect'] = {};
  if (MODEL_WORDS.includes(obs.outcome)) expect.outcome = obs.outcome as CaseJson['expect']['outcome'];
  if (obs.leaked !== null) expect.leaked = obs.leaked;
  if (!Object.keys(expect).length) expect.leaked = false; // unreachable in practice: the stream is always read
  return {
    format: 'xsave-case/1',
    kind: 'migration',
    id: caseId(source, target, restore),
    note: obs.note,
    vcpu: { cpuModel: GUEST.cpuModel },
    source: { kernel: source.kernel, host: catalogueHost(source.host) },
    target: { kernel: target.kernel, fixup: 'kernel-default', host: catalogueHost(target.host) },
    vmm: VMM,
    guest: { xcr0: GUEST.xcr0, inUse: GUEST.inUse, pkru: GUEST.pkru },
    expect,
  };
}

export interface Prediction {
  outcome: MigrationComputed['outcome'];
  leaked: boolean;
  fixupFired: boolean;
  steps: string[];
}

/** What the model says for the cell (the same for both restores: QEMU puts the same state back). */
export function predict(source: Endpoint, target: Endpoint): Prediction {
  const json = cellCase(source, target, 'migrate', { outcome: 'intact', leaked: false, note: 'prediction' });
  const c = parseCase(json, `lab qemu ${label(source)} → ${label(target)}`) as MigrationCase;
  const r = evaluateCase(c).computed as MigrationComputed;
  return { outcome: r.outcome, leaked: r.leaked, fixupFired: r.fixupFired, steps: r.steps };
}

/** Whether an observation agrees with the model; the reasons when it does not. */
export function compareCell(obs: RestoreObservation, leaked: boolean | null, p: Prediction): { agree: boolean; differences: string[] } {
  const differences: string[] = [];
  if (obs.outcome !== p.outcome) differences.push(`outcome: observed ${obs.outcome}, model ${p.outcome}`);
  if (leaked === null) differences.push('leaked: the stream could not be read');
  else if (leaked !== p.leaked) differences.push(`leaked: observed ${leaked}, model ${p.leaked}`);
  return { agree: differences.length === 0, differences };
}
