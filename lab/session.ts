/**
 * A lab session: one lab kernel booted on one lab host, the executor inside it, calibrated.
 * The calibration (kvm/calibration.ts, the same probe suite as for the running kernel) is a
 * CHECK here, not a detection: the lab kernel's catalogue entry (model/kernels.ts) and the lab
 * host's catalogue entry (model/hosts.ts) are what the model uses, and every probe step either
 * agrees with them or is reported as a finding.
 */
import { Host, KernelVariant, hostByName, kernelById } from '../model';
import type { ThisMachine } from '../cases/resolve';
import { MachineCalibration, calibrateMachine, hostFromCalibration, sameHostShape } from '../kvm/calibration';
import { calibrationFromProbe } from '../kvm/probe';
import { CasesError, ExecutorInfraError } from '../kvm/executor';
import { BootFiles, ensureBootFiles } from './artefacts';
import { LabHost, LabKernel, labHost, labKernel, LAB_HOSTS, LAB_KERNELS } from './catalogue';
import { Progress } from './progress';
import { LabVm, LabVmOptions, labVm } from './vm';

export interface CatalogueCheck {
  /** the host the lab measured has the shape the catalogue host states (set, vendor, offsets, MXCSR mask) */
  hostAgrees: boolean;
  hostDetail: string;
  /** probe steps the kernel's catalogue entry predicts wrongly (0: the entry is confirmed) */
  kernelDiffering: number;
  kernelExamples: string[];
  /** other catalogue variants that predict every probe step too */
  alsoExact: string[];
  /** false when the session was opened without the probe suite (only the host was checked) */
  calibrated: boolean;
}

export interface LabSession {
  kernel: LabKernel;
  host: LabHost;
  boot: BootFiles;
  vm: LabVm;
  cal: MachineCalibration;
  /** the model's view: the catalogue entries under test */
  machine: ThisMachine;
  check: CatalogueCheck;
  close(keepLog?: boolean): Promise<void>;
}

const hx = (v: bigint | number): string => '0x' + v.toString(16);

function describeHost(h: Host): string {
  const slots = Object.entries(h.layout.slots)
    .filter(([i]) => (h.xcr0 >> BigInt(i)) & 1n)
    .map(([i, s]) => `${i}@${s.offset}/${s.size}`)
    .join(' ');
  return `${h.vendor} XCR0 ${hx(h.xcr0)} [${slots}] MXCSR mask ${hx(h.mxcsrMask)}`;
}

/** The static facts only (KVM_GET_SUPPORTED_CPUID, sizes, MXCSR mask): no probe suite. */
async function probeOnly(vm: LabVm): Promise<MachineCalibration> {
  const t0 = Date.now();
  const c = calibrationFromProbe(await vm.exec.probe());
  const host = hostFromCalibration(c);
  const { supportedCpuid, ...facts } = c;
  return {
    release: c.kernelRelease,
    facts: { ...facts, supportedCpuidEntries: supportedCpuid.length },
    table: supportedCpuid,
    size: c.xsave2Size,
    host,
    kernel: kernelById('debian-6.1')!,
    chosen: 'not calibrated',
    exact: false,
    closest: 'not calibrated',
    derivedFrom: null,
    candidates: [],
    probeCases: 0,
    probeSteps: 0,
    xrstor: { form: 'standard', guestMxcsr: null, detail: 'not measured (probe suite skipped)' },
    catalogueHost: null,
    elapsedMs: Date.now() - t0,
  };
}

export function resolveLab(kernelId: string, hostId: string): { kernel: LabKernel; host: LabHost; entry: KernelVariant; catalogueHost: Host } {
  const kernel = labKernel(kernelId);
  if (!kernel) throw new RangeError(`unknown lab kernel "${kernelId}" (known: ${LAB_KERNELS.map((k) => k.id).join(', ')})`);
  const host = labHost(hostId);
  if (!host) throw new RangeError(`unknown lab host "${hostId}" (known: ${LAB_HOSTS.map((h) => h.id).join(', ')})`);
  const entry = kernelById(kernel.id);
  if (!entry) throw new Error(`lab kernel ${kernel.id} has no entry in model/kernels.ts`);
  const catalogueHost = hostByName(host.catalogueHost);
  if (!catalogueHost) throw new Error(`lab host ${host.id} names ${host.catalogueHost}, which model/hosts.ts lacks`);
  return { kernel, host, entry, catalogueHost };
}

export interface OpenLabOptions extends LabVmOptions {
  progress?: Progress;
  log?: (s: string) => void;
  /**
   * false: skip the kernel's probe suite (the host is still probed and checked); for runs that
   * judge every outcome against the model anyway and must be quick (lab incident). Default true.
   */
  calibrate?: boolean;
}

/** Boots kernel × host, calibrates, and checks the catalogue entries. Throws on infrastructure failure. */
export async function openLab(kernelId: string, hostId: string, opts: OpenLabOptions = {}): Promise<LabSession> {
  const { kernel, host, entry, catalogueHost } = resolveLab(kernelId, hostId);
  const say = (s: string): void => (opts.progress ? opts.progress.update(s) : opts.log?.(s));
  const boot = await ensureBootFiles(kernel, { log: say });
  say('booting');
  const vm = labVm({ boot, host }, opts);
  try {
    // A VM that dies or hangs before its first answer is restarted once (the executor driver
    // starts a new one on the next request); a second failure is the caller's infrastructure error.
    const first = async (): Promise<MachineCalibration> => (opts.calibrate === false ? probeOnly(vm) : calibrateMachine(vm.exec, { install: false }));
    let cal: MachineCalibration;
    try {
      cal = await first();
    } catch (e) {
      if (!(e instanceof ExecutorInfraError) && !(e instanceof CasesError)) throw e;
      say(`restarting the VM after: ${e.message.split('\n')[0]}`);
      cal = await first();
    }
    const measured = cal.host;
    const shapeOk = sameHostShape(measured, catalogueHost) && measured.mxcsrMask === catalogueHost.mxcsrMask;
    const hostDetail = shapeOk
      ? `measured ${describeHost(measured)} = ${catalogueHost.name}`
      : `measured ${describeHost(measured)}, but ${catalogueHost.name} states ${describeHost(catalogueHost)}`;
    const mine = cal.candidates.find((c) => c.id === entry.id);
    const check: CatalogueCheck = {
      hostAgrees: shapeOk,
      hostDetail,
      kernelDiffering: mine ? mine.differing : -1,
      kernelExamples: mine ? mine.examples : [`${entry.id} was not among the calibration candidates`],
      alsoExact: cal.candidates.filter((c) => c.differing === 0 && c.id !== entry.id).map((c) => c.id),
      calibrated: opts.calibrate !== false,
    };
    if (!check.calibrated) {
      check.kernelDiffering = 0;
      check.kernelExamples = ['not calibrated (probe suite skipped)'];
    }
    // The model's host: the catalogue entry, with the XRSTOR rule the guest run measured.
    const machine: ThisMachine = { kernel: entry, host: { ...catalogueHost, kernelXrstor: measured.kernelXrstor } };
    return { kernel, host, boot, vm, cal, machine, check, close: (keep?: boolean) => vm.close(keep) };
  } catch (e) {
    await vm.close(true);
    throw e;
  }
}
