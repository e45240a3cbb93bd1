/**
 * A lifecycle story on real kernels (`xsave-harness lab lifecycle`). The lifecycle search
 * (lifecycle/) finds, per release, the shortest sequence of cluster operations that ends in a
 * failed restore; its restores are a chain: the state a guest saved on one kernel is restored
 * on the next, saved there again, and so on. Here each kernel of the chain is replaced by the
 * lab kernel that applies the same KVM rules (`standIn`), each host by the lab host with the
 * same PKU answer, and the chain is run for real: the source guest runs and is saved as QEMU
 * saves it, each hop restores the previous hop's real bytes in QEMU's order under the policy of
 * the story's QEMU, the guest runs to its checkpoint, and the hop saves again for the next one.
 * Each hop's real outcome stands beside the model's.
 */
import { KernelVariant, Outcome, kernelById, parseQemu } from '../model';
import { CaseSpec, GUEST, Step } from '../kvm/protocol';
import { LAB_KERNELS } from './catalogue';
import { RealIncidentOutcome, SourceState, classifyRestore, restoreSteps, saveOnSource } from './incident';
import { Progress } from './progress';
import { openLab } from './session';

export type RestoreOp = 'migrate' | 'rollback' | 'resume';

/** One restore of a story, as the model saw it. */
export interface ChainHop {
  op: RestoreOp;
  /** where the restored state was saved: the source or an earlier hop's place (default: the previous hop's) */
  savedOn?: { kernel: string; pku: boolean };
  /** the kernel as shipped in the story (model/kernels.ts id) */
  kernel: string;
  /** whether that kernel carries the Proxmox patch in this story (false once dropped) */
  patched: boolean;
  pku: boolean;
  /** the QEMU of the release (a parseQemu id): its restore policy is the one replayed */
  qemu: string;
  /** the model's outcome of this restore */
  model: Outcome;
}

export interface ChainSpec {
  title: string;
  /** where the guest was created and first saved */
  source: { kernel: string; pku: boolean };
  hops: ChainHop[];
}

/**
 * The rules a stand-in must share with the story's kernel for a qemu64 guest that is not
 * protected: GET's and SET's implementation, what user_xfeatures holds, how guest-supported
 * XCR0 is derived, the 6.19 XFD pre-mask, and whether the Proxmox patch is there (its variant:
 * where it sits). Not compared, because the lab's runs cannot tell them apart: KVM_SUPPORTED_XCR0
 * beyond the lab hosts' features and KVM_GET_XSAVE2 (no lab host has AMX, so every region is
 * 4096 bytes), and the protected-state rule (the guest is not protected).
 */
export const STAND_IN_RULES = ['get', 'set', 'userXfeatures', 'gsx', 'xfdPremask'] as const;

export type StandIn = { lab: string; why: string } | { lab: null; why: string };

/** The lab kernel that applies `kernel`'s rules, with or without the patch. */
export function standIn(kernel: string, patched: boolean): StandIn {
  const k = kernelById(kernel);
  if (!k) return { lab: null, why: `unknown kernel ${kernel}` };
  if (patched && !k.pvePatch) return { lab: null, why: `${kernel} does not carry the patch` };
  const same = (l: KernelVariant): boolean =>
    STAND_IN_RULES.every((f) => l[f] === k[f]) && !!l.pvePatch === patched && (!patched || l.pvePatch === k.pvePatch);
  // Among equals, the closest: the one that also shares what the lab cannot tell apart.
  const closeness = (l: KernelVariant): number => (['confidential', 'kvmSupportedXcr0', 'xsave2'] as const).filter((f) => l[f] === k[f]).length;
  const hit = LAB_KERNELS.map((l) => kernelById(l.id)!).filter(same).sort((a, b) => closeness(b) - closeness(a))[0];
  if (!hit) return { lab: null, why: `no lab kernel applies ${kernel}'s rules${patched ? ' with the patch' : ' without the patch'}` };
  return { lab: hit.id, why: `same ${STAND_IN_RULES.join(', ')}${patched ? `, patch variant ${k.pvePatch}` : ', no patch'}` };
}

/**
 * The lab host for a PKU answer. A PKU host on which a leaky GET runs is `noavx`: TCG marks every
 * enabled component in use, so on `-cpu max` the leak would be 0x217 where hardware leaks 0x203.
 */
export function standInHost(kernel: string, pku: boolean): string {
  if (!pku) return 'nopku';
  return kernelById(kernel)?.userXfeatures === 'host' && kernelById(kernel)?.get === 'uabi-uxf' ? 'noavx' : 'pku';
}

/** A restore that ends the story badly: for a rollback or a resume, aborted loses the saved state too. */
export function hopFails(op: RestoreOp, outcome: RealIncidentOutcome): boolean {
  if (outcome === 'intact') return false;
  if (outcome === 'aborted') return op !== 'migrate';
  return true;
}

export interface HopResult extends ChainHop {
  lab: string | null;
  host: string;
  real: RealIncidentOutcome | 'not-run';
  agree: boolean;
  fails: { real: boolean; model: boolean };
  steps: string[];
  diff: string[];
  /** XSTATE_BV this hop saved for the next one */
  savedXstateBv?: string;
  why: string;
}

export interface ChainRun {
  title: string;
  source: { kernel: string; lab: string | null; host: string; savedXstateBv: string; leaked: boolean; modelLeaked: boolean; ran: boolean };
  hops: HopResult[];
  /** every hop that ran agrees with the model, and the story's verdict is the model's */
  agree: boolean;
  infrastructure: string[];
}

const hx = (v: bigint): string => '0x' + v.toString(16);
const placeKey = (kernel: string, pku: boolean): string => `${kernel}|${pku ? 'pku' : 'nopku'}`;

/** Every lab kernel and host the chain needs, or why it cannot run in the lab. */
export function planChain(spec: ChainSpec): { ok: true; source: { lab: string; host: string }; hops: Array<{ lab: string; host: string; why: string }> } | { ok: false; why: string } {
  const src = standIn(spec.source.kernel, !!kernelById(spec.source.kernel)?.pvePatch);
  if (!src.lab) return { ok: false, why: `source: ${src.why}` };
  const hops: Array<{ lab: string; host: string; why: string }> = [];
  const places = [placeKey(spec.source.kernel, spec.source.pku)];
  for (const [i, h] of spec.hops.entries()) {
    if (h.savedOn && !places.includes(placeKey(h.savedOn.kernel, h.savedOn.pku))) return { ok: false, why: `restore ${i + 1}: saved on ${h.savedOn.kernel}, where the chain has not run the guest` };
    places.push(placeKey(h.kernel, h.pku));
    const s = standIn(h.kernel, h.patched);
    if (!s.lab) return { ok: false, why: `restore ${i + 1}: ${s.why}` };
    if (!parseQemu(h.qemu)) return { ok: false, why: `restore ${i + 1}: unknown QEMU ${h.qemu}` };
    hops.push({ lab: s.lab, host: standInHost(h.kernel, h.pku), why: s.why });
  }
  return { ok: true, source: { lab: src.lab, host: standInHost(spec.source.kernel, spec.source.pku) }, hops };
}

/** Runs the chain on real kernels: one VM at a time, each hop restoring the previous hop's bytes. */
export async function replayChain(spec: ChainSpec, opts: { progress: (label: string) => Progress }): Promise<ChainRun> {
  const plan = planChain(spec);
  if (!plan.ok) throw new Error(`${spec.title}: not in the lab: ${plan.why}`);
  const infrastructure: string[] = [];
  const p = opts.progress(`${plan.source.lab}/${plan.source.host} (source, ${spec.source.kernel})`);
  const srcSession = await openLab(plan.source.lab, plan.source.host, { progress: p, calibrate: false });
  let prev: SourceState;
  try {
    prev = await saveOnSource(srcSession);
    p.done(`saved XSTATE_BV ${hx(prev.savedXstateBv)} (model ${hx(prev.model.savedXstateBv)})`);
  } finally {
    await srcSession.close();
  }
  const original = prev;
  // The last real state saved at each place of the story (a snapshot taken on the source and
  // rolled back after a migration is restored from the source's bytes).
  const saved = new Map<string, SourceState>([[placeKey(spec.source.kernel, spec.source.pku), prev]]);
  const hops: HopResult[] = [];
  let stopped = false;
  for (const [i, h] of spec.hops.entries()) {
    const where = plan.hops[i]!;
    const base = { ...h, lab: where.lab, host: where.host, why: where.why };
    const modelFails = hopFails(h.op, h.model);
    if (stopped) {
      hops.push({ ...base, real: 'not-run', agree: false, fails: { real: false, model: modelFails }, steps: [], diff: [] });
      continue;
    }
    const tp = opts.progress(`${where.lab}/${where.host} (${h.op}, ${h.kernel}${h.patched ? '' : ' without the patch'}, ${h.qemu})`);
    try {
      const s = await openLab(where.lab, where.host, { progress: tp, calibrate: false });
      try {
        if (h.savedOn) prev = saved.get(placeKey(h.savedOn.kernel, h.savedOn.pku))!;
        const plan1 = restoreSteps(s, prev, [{ op: 'getXsave' } as Step]);
        const spec1: CaseSpec = { cpuid: plan1.cpuid, steps: plan1.steps, policy: parseQemu(h.qemu)!.policy, timeoutMs: 2000, guestRip: GUEST.codeGpa };
        const [r] = await s.vm.exec.runCases([spec1]);
        const c = classifyRestore(r!, plan1.names, original);
        const got = r!.steps[plan1.names.lastIndexOf('getXsave')];
        const realFails = hopFails(h.op, c.real);
        const hop: HopResult = { ...base, real: c.real, agree: c.real === h.model, fails: { real: realFails, model: modelFails }, steps: c.steps, diff: c.diff };
        // The guest goes on from this hop only when it resumed here (intact or incomplete); after an
        // aborted migration it goes on from where it was, after an aborted resume not at all.
        if ((c.real === 'intact' || c.real === 'incomplete') && got?.xsave && got.errno === 0 && !got.skipped) {
          const region = got.xsave.slice();
          hop.savedXstateBv = hx(new DataView(region.buffer, region.byteOffset).getBigUint64(512, true));
          const xcr0 = r!.steps[plan1.names.indexOf('getXcrs')]?.xcr0 ?? prev.xcr0;
          prev = { ...prev, kernel: where.lab, host: where.host, region, xcr0 };
          saved.set(placeKey(h.kernel, h.pku), prev);
        }
        hops.push(hop);
        tp.done(`${c.real} (model ${h.model})${realFails ? ' -> the story fails here' : ''}`);
        if (realFails) stopped = true;
      } finally {
        await s.close();
      }
    } catch (e) {
      infrastructure.push(`${where.lab}/${where.host}: ${(e as Error).message.split('\n')[0]}`);
      hops.push({ ...base, real: 'not-run', agree: false, fails: { real: false, model: modelFails }, steps: [], diff: [] });
      tp.done(`INFRASTRUCTURE ERROR: ${(e as Error).message.split('\n')[0]}`);
      stopped = true;
    }
  }
  const ran = hops.filter((x) => x.real !== 'not-run');
  const realVerdict = ran.some((x) => x.fails.real);
  const modelVerdict = hops.some((x) => x.fails.model);
  return {
    title: spec.title,
    source: { kernel: spec.source.kernel, lab: plan.source.lab, host: plan.source.host, savedXstateBv: hx(original.savedXstateBv), leaked: original.leaked, modelLeaked: original.model.leaked, ran: original.ran },
    hops,
    agree: infrastructure.length === 0 && original.ran && original.leaked === original.model.leaked && ran.every((x) => x.agree) && realVerdict === modelVerdict,
    infrastructure,
  };
}
