// Lab bench (issue 11): boot to ready; the executor's rate inside a lab VM next to the raw C loop
// of the same ioctls (executor/raw-bench.c) run inside the same kind of VM (same kernel, host and
// initramfs; its own boot with xslab.raw=N), measured in the same run, as a ratio; the
// end-to-end kvm-check rate; and the whole 10,000-case check of every lab kernel × host.
// Timings are never asserted by tests. `npm run bench -- --only lab`.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ensureBootFiles } from '../lab/artefacts';
import { LAB_HOSTS, LAB_KERNELS, labHost } from '../lab/catalogue';
import { openLab } from '../lab/session';
import { QEMU, labVm, qemuArgs, qemuAvailability } from '../lab/vm';
import { runConformance } from '../kvm/conformance';
import { generateCases } from '../kvm/generate';
import { Goal, median } from './stats';
import { typicalCase } from './typicalCase';
import { INCIDENT_TARGETS, runIncident } from '../lab/incident';
import { progress } from '../lab/progress';

/** Boot to the executor's first reply, ms. */
async function bootToReady(kernelId: string, hostId: string): Promise<number> {
  const boot = await ensureBootFiles(LAB_KERNELS.find((k) => k.id === kernelId)!);
  const vm = labVm({ boot, host: labHost(hostId)! });
  const t0 = Date.now();
  try {
    await vm.exec.ping();
    return Date.now() - t0;
  } finally {
    await vm.close();
  }
}

/** The raw C loop inside a lab VM: one JSON line on the executor's port. */
async function rawInVm(kernelId: string, hostId: string, n: number): Promise<number> {
  const boot = await ensureBootFiles(LAB_KERNELS.find((k) => k.id === kernelId)!);
  const args = qemuArgs({ boot, host: labHost(hostId)!, append: `xslab.raw=${n}` }, '/dev/null');
  return new Promise((resolve, reject) => {
    const p = spawn('setpriv', ['--pdeathsig', 'KILL', '--', QEMU, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const t = setTimeout(() => p.kill('SIGKILL'), 600_000);
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /\{[^\n]*"casesPerSec":([0-9.]+)[^\n]*\}/.exec(out);
      if (m) {
        clearTimeout(t);
        p.stdin.end();
        p.kill('SIGKILL');
        resolve(Number(m[1]));
      }
    });
    p.on('close', () => reject(new Error(`raw bench in ${kernelId}/${hostId} ended without a result: ${out.slice(-300)}`)));
  });
}

async function fullCheck(): Promise<number> {
  const main = path.join(__dirname, '..', 'cli', 'main.js');
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn(process.execPath, [main, 'kvm-check', '--lab', LAB_KERNELS.filter((k) => !k.build).map((k) => k.id).join(','), '--host', 'all', '--cases', '10000', '--seed', '1', '--found', path.join(require('node:os').tmpdir(), 'xsave-bench-found')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kvm-check --lab exited ${code}`))));
  });
  return (Date.now() - t0) / 1000;
}

export async function benchSection(): Promise<Goal[]> {
  const q = qemuAvailability();
  if (!q.ok) return [{ name: `kernel lab: skipped (${q.reason})`, value: null, unit: '', goal: '', met: null }];
  const goals: Goal[] = [];
  const boots: number[] = [];
  for (const k of LAB_KERNELS) for (let i = 0; i < 2; i++) boots.push(await bootToReady(k.id, 'pku'));
  goals.push({ name: 'lab: boot to ready (every lab kernel on pku, twice each, cached boot files; median)', value: Math.round(median(boots)), unit: 'ms', goal: '≤ 3,000', met: median(boots) <= 3000, note: `samples ${boots.join('/')} ms` });

  // Executor vs raw C loop, same kernel and host, interleaved.
  const N = 2000;
  const s = await openLab('debian-6.1', 'pku');
  const exe: number[] = [];
  const raw: number[] = [];
  let mix = 0;
  try {
    const spec = typicalCase(s.cal.table, s.cal.size);
    const specs = Array.from({ length: N }, () => spec);
    for (let r = 0; r < 2; r++) {
      raw.push(await rawInVm('debian-6.1', 'pku', N));
      const t0 = Date.now();
      await s.vm.exec.runCases(specs, { chunkSize: 250 });
      exe.push((N * 1000) / (Date.now() - t0));
    }
    const cases = generateCases({ machine: s.machine, table: s.cal.table, size: s.cal.size }, N, 3);
    const t1 = Date.now();
    await runConformance(s.vm.exec, s.machine, cases, { chunkSize: 250 });
    mix = (N * 1000) / (Date.now() - t1);
  } finally {
    await s.close();
  }
  const e = median(exe);
  const rr = median(raw);
  goals.push({ name: 'lab: executor cases/s per VM (typical case: fresh vCPU, CPUID, XCRS, SET, GET, GET_XCRS)', value: Math.round(e), unit: '/s', goal: '≥ 5,000', met: e >= 5000, note: `raw C loop of the same ioctls in the same VM ${Math.round(rr)}/s; executor = ${Math.round((100 * e) / rr)}% of raw (same run)` });
  goals.push({ name: 'lab: kvm-check mix end to end per VM (generate, predict, run, compare)', value: Math.round(mix), unit: '/s', goal: '(information)', met: null });
  const ti = Date.now();
  const inc = await runIncident({ progress: (label) => progress(label, { quiet: true }) });
  const incidentS = (Date.now() - ti) / 1000;
  goals.push({
    name: `lab: the whole incident table (lab incident: source + ${INCIDENT_TARGETS.length} targets × 2 QEMU policies, cached builds)`,
    value: Math.round(incidentS),
    unit: 's',
    goal: '≤ 180',
    met: incidentS <= 180,
    note: `${inc.cells.filter((c) => c.agree).length}/${inc.cells.length} cells agree with the model`,
  });
  const full = await fullCheck();
  goals.push({
    name: `lab: kvm-check of every stock lab kernel × host (${LAB_KERNELS.filter((k) => !k.build).length}×${LAB_HOSTS.length}), 10,000 cases each`,
    value: Math.round(full),
    unit: 's',
    goal: '≤ 600',
    met: full <= 600,
  });
  return goals;
}
