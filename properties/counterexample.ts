// A property's counterexample written as a corpus case (CASE-FORMAT v1), so that it replays
// with `xsave-harness replay` and stays in the corpus as a regression case. The expectation is
// what the property demands (for P3 and P1: what the reference Proxmox patch gives).
import { Host, HOSTS, OFF, PVE_FIXUP, createVcpu, hex, readU64, setCpuid, setXsave, getXsave, getXsaveLegacy, toHex } from '../model';
import { CpuidChoice, cpuidFor } from './arbitraries/cpuid';
import { IoctlScenario, LeakScenario, buildIoctl, guestSpecFor } from './arbitraries/scenarios';
import { PropertyId, PropertyRun, RoundTripScenario, leakSpec } from './properties';
import { contentId } from '../cases/files';
import { FORMAT } from '../cases/caseFormat';

export function hostJson(h: Host): string | { supportedXcr0: string; layout: string } {
  if (HOSTS[h.name] === h) return h.name;
  return { supportedXcr0: hex(h.xcr0), layout: h.vendor };
}

function cpuidEntriesJson(entries: ReturnType<typeof cpuidFor>): object[] {
  return (entries ?? []).map((e) => ({ leaf: hex(e.leaf), subleaf: e.subleaf, eax: hex(e.eax), ebx: hex(e.ebx), ecx: hex(e.ecx), edx: hex(e.edx) }));
}

function vcpuJson(choice: CpuidChoice, host: Host, kernel: Parameters<typeof cpuidFor>[2], confidential = false): object {
  const base = choice.kind === 'model' ? { cpuModel: choice.name } : { cpuid: cpuidEntriesJson(cpuidFor(choice, host, kernel)) };
  return confidential ? { ...base, confidential: true } : base;
}

function finish(prop: PropertyId, title: string, body: Record<string, unknown>): { id: string; json: string } {
  const draft = JSON.stringify(body);
  const id = `${prop.toLowerCase()}-${contentId(draft)}`;
  const json = JSON.stringify({ format: FORMAT, kind: body['kind'], id, note: `${prop} counterexample: ${title}`, ...body }, null, 2) + '\n';
  return { id, json };
}

export function ioctlCounterexample(prop: 'P1' | 'P3' | 'P4', s: IoctlScenario, title: string): { id: string; json: string } {
  const b = buildIoctl(s);
  // What the property requires: P1 the unpatched kernel's result; P3 the reference patch's; P4 a refusal.
  const reference = setXsave(b.vcpu, b.region, prop === 'P1' ? null : PVE_FIXUP);
  const expect: Record<string, unknown> = {};
  if (prop === 'P4') expect['result'] = 'einval';
  else {
    expect['result'] = reference.rc === 0 ? 'ok' : 'einval';
    expect['fixupFired'] = reference.fixupFired;
    if (reference.rc === 0) expect['xstateBv'] = hex(reference.vcpu.fpu.xstateBv);
    expect['pkru'] = hex(reference.vcpu.pkru);
    // KVM_GET_XSAVE fails once the region has grown past 4096 (AMX): then GET2's view instead.
    const got = getXsaveLegacy(reference.vcpu);
    if (got.rc === 0) expect['getXstateBv'] = hex(readU64(got.region, OFF.XSTATE_BV));
    else {
      expect['getResult'] = 'einval';
      const got2 = getXsave(reference.vcpu);
      if (got2.rc === 0) expect['get2XstateBv'] = hex(readU64(got2.region, OFF.XSTATE_BV));
    }
  }
  return finish(prop, title, {
    kind: 'ioctl',
    vcpu: vcpuJson(s.cpuid, s.host, s.kernel, s.confidential),
    target: { kernel: s.kernel.id, fixup: 'pve', host: hostJson(s.host) },
    xcr0: hex(b.vcpu.xcr0),
    ...(b.vcpu.xfd !== 0n ? { xfd: hex(b.vcpu.xfd) } : {}),
    xsave: { hex: toHex(b.region) },
    expect,
  });
}

export function leakCounterexample(s: LeakScenario, title: string): { id: string; json: string } {
  const spec = leakSpec(s);
  return finish('P2', title, {
    kind: 'migration',
    vcpu: vcpuJson(s.cpuid, s.sourceHost, s.sourceKernel),
    source: { kernel: s.sourceKernel.id, host: hostJson(s.sourceHost) },
    target: { kernel: s.targetKernel.id, fixup: 'pve', host: hostJson(spec.target.host) },
    vmm: s.vmm.id,
    guest: guestJson(spec.guest),
    expect: { outcome: 'intact', leaked: true },
  });
}

function guestJson(g: ReturnType<typeof guestSpecFor>): object {
  return { xcr0: hex(g.xcr0), inUse: hex(g.inUse), pkru: hex(g.pkru), hostPkru: hex(g.hostPkru), ...(g.mxcsr !== undefined ? { mxcsr: hex(g.mxcsr) } : {}) };
}

/** P5 as a migration between two machines with the same kernel and host (QEMU 8.2: a failure aborts). */
export function roundTripCounterexample(s: RoundTripScenario, title: string, gsx: bigint): { id: string; json: string } {
  return finish('P5', title, {
    kind: 'migration',
    vcpu: vcpuJson(s.cpuid, s.host, s.kernel),
    source: { kernel: s.kernel.id, host: hostJson(s.host) },
    target: { kernel: s.kernel.id, fixup: 'pve', host: hostJson(s.host) },
    vmm: 'qemu-8.2',
    guest: guestJson(guestSpecFor(s.guest, gsx)),
    expect: { outcome: 'intact' },
  });
}

/** The counterexample of a failed property run as a case file (null when fast-check gave none). */
export function counterexampleCase(run: PropertyRun<unknown>): { id: string; json: string } | null {
  const ce = run.counterexample;
  if (!ce) return null;
  const title = run.reason ?? 'property failed';
  switch (run.id) {
    case 'P1':
    case 'P3':
    case 'P4':
      return ioctlCounterexample(run.id, ce as IoctlScenario, title);
    case 'P2':
      return leakCounterexample(ce as LeakScenario, title);
    case 'P5': {
      const s = ce as RoundTripScenario;
      const probe = createVcpu(s.kernel, s.host);
      const cpuid = cpuidFor(s.cpuid, s.host, s.kernel);
      if (cpuid) setCpuid(probe, cpuid);
      return roundTripCounterexample(s, title, probe.guestSupportedXcr0);
    }
  }
}
