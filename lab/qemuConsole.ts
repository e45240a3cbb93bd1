/**
 * `lab qemu`, the pure half: parsing the outer lab VM's console (lines "XSO …" written by
 * lab/guest/init-outer.sh, the /init that runs QEMU 7.2 inside the lab VM, and "XSG …" written
 * by the lab guest), reading env.xstate_bv out of a QEMU migration stream, and classifying one
 * restore (`-incoming` or `-loadvm`) in the model's vocabulary. No I/O here: unit-tested with
 * transcripts (lab/qemuConsole.test.ts), negative controls included.
 */

/** One "XSG round=…" line of the lab guest (lab/guest/main.c). */
export interface GuestLine {
  round: number;
  ticks: number;
  /** null when the guest prints "none" (no kvmclock) */
  kvmclockMs: number | null;
  /** TSC in units of 2^20 cycles; null on a line without it */
  tscM: number | null;
  pvTscM: number | null;
  pvVer: number | null;
  ok: boolean;
  /** the fields after check=BAD (fcw=…, mxcsr=…, st=…, xmm=…) */
  bad: Record<string, string>;
  text: string;
}

const num = (s: string | undefined): number | null => (s === undefined || !/^[0-9]+$/.test(s) ? null : Number(s));

/** Parses an "XSG round=…" line; null for anything else (a start line, a line cut short). */
export function parseGuestLine(line: string): GuestLine | null {
  const t = line.replace(/\r/g, '').trim();
  if (!t.startsWith('XSG round=')) return null;
  const kv: Record<string, string> = {};
  for (const w of t.split(/\s+/).slice(1)) {
    const i = w.indexOf('=');
    if (i > 0) kv[w.slice(0, i)] = w.slice(i + 1);
  }
  const round = num(kv['round']);
  const ticks = num(kv['ticks']);
  const check = kv['check'];
  if (round === null || ticks === null || (check !== 'ok' && check !== 'BAD')) return null;
  const bad: Record<string, string> = {};
  if (check === 'BAD') for (const k of ['fcw', 'fsw', 'ftw', 'mxcsr', 'st', 'xmm']) if (kv[k] !== undefined) bad[k] = kv[k]!;
  return { round, ticks, kvmclockMs: num(kv['kvmclock_ms']), tscM: num(kv['tsc_m']), pvTscM: num(kv['pv_tsc_m']), pvVer: num(kv['pv_ver']), ok: check === 'ok', bad, text: t };
}

/** What the console says about one phase of /init (source, migrate-in, loadvm). */
export interface PhaseLog {
  phase: string;
  guest: GuestLine[];
  /** "first-line none within=30s alive=0|1" seen: no guest line within the bound */
  noFirstLine: boolean;
  /** the inner QEMU was gone when /init looked (alive=0) */
  qemuGone: boolean;
  launchMs: number | null;
  vcpuPct: number | null;
  totalPct: number | null;
  vmStatus: string | null;
  qemuStderr: string[];
  strace: string[];
  hmpOut: string[];
  exitCode: number | null;
}

export interface OuterConsole {
  boot: { kernel: string; pku: boolean; kvm: boolean; ms: number } | null;
  insmodErrors: string[];
  phases: Map<string, PhaseLog>;
  /** the guest's last complete line before `savevm` and after `migrate` (source role) */
  savevmAt: string | null;
  migrateAt: string | null;
  migrateBytes: number | null;
  migrationCompleted: boolean;
  snapshotListed: boolean;
  done: boolean;
}

function emptyPhase(phase: string): PhaseLog {
  return { phase, guest: [], noFirstLine: false, qemuGone: false, launchMs: null, vcpuPct: null, totalPct: null, vmStatus: null, qemuStderr: [], strace: [], hmpOut: [], exitCode: null };
}

/** Parses the whole console of one outer boot (CR removed; non-XSO/XSG lines ignored). */
export function parseOuterConsole(text: string): OuterConsole {
  const out: OuterConsole = { boot: null, insmodErrors: [], phases: new Map(), savevmAt: null, migrateAt: null, migrateBytes: null, migrationCompleted: false, snapshotListed: false, done: false };
  const phase = (p: string): PhaseLog => {
    let x = out.phases.get(p);
    if (!x) out.phases.set(p, (x = emptyPhase(p)));
    return x;
  };
  let inLog: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r/g, '');
    if (inLog !== null) {
      if (line.startsWith(`XSO phase=${inLog} guest-log end`)) {
        inLog = null;
        continue;
      }
      const g = parseGuestLine(line);
      if (g) phase(inLog).guest.push(g);
      continue;
    }
    if (!line.startsWith('XSO ')) continue;
    const body = line.slice(4);
    let m: RegExpExecArray | null;
    if ((m = /^boot kernel=(\S+) cpu_flags_pku=([01]) kvm=(\S+)(?: .*ms=(\d+))?/.exec(body))) {
      out.boot = { kernel: m[1]!, pku: m[2] === '1', kvm: m[3] === 'ok', ms: Number(m[4] ?? 0) };
    } else if (body.startsWith('insmod-error: ')) {
      out.insmodErrors.push(body.slice('insmod-error: '.length));
    } else if (body === 'done') {
      out.done = true;
    } else if ((m = /^migrate-out bytes=(\d+)/.exec(body))) {
      out.migrateBytes = Number(m[1]);
    } else if ((m = /^phase=(\S+) (.*)$/.exec(body))) {
      const p = phase(m[1]!);
      const rest = m[2]!;
      let r: RegExpExecArray | null;
      if (rest === 'guest-log begin') inLog = p.phase;
      else if ((r = /^first-line ms=\d+ launch_ms=(\d+)/.exec(rest))) p.launchMs = Number(r[1]);
      else if ((r = /^first-line none .*alive=([01])/.exec(rest))) {
        p.noFirstLine = true;
        p.qemuGone = r[1] === '0';
      } else if ((r = /^vcpu_pct=(\d+) total_pct=(\d+)/.exec(rest))) {
        p.vcpuPct = Number(r[1]);
        p.totalPct = Number(r[2]);
      } else if (/^(cpu|hmp cmd=\S+) qemu=gone/.test(rest)) p.qemuGone = true;
      else if ((r = /^hmp-out: (.*)$/.exec(rest))) {
        const t = r[1]!.trim();
        p.hmpOut.push(t);
        const s = /^VM status: (\S+)/.exec(t);
        if (s && p.vmStatus === null) p.vmStatus = s[1]!;
        if (/^Migration status: completed/.test(t)) out.migrationCompleted = true;
        if (/^\S+\s+xsg1\s/.test(t)) out.snapshotListed = true;
      } else if ((r = /^qemu-stderr: (.*)$/.exec(rest))) p.qemuStderr.push(r[1]!);
      else if ((r = /^strace: (.*)$/.exec(rest))) p.strace.push(r[1]!);
      else if ((r = /^exit=(\d+)/.exec(rest))) p.exitCode = Number(r[1]);
      else if ((r = /^savevm-at (.*)$/.exec(rest))) out.savevmAt = r[1]!.trim();
      else if ((r = /^migrate-at (.*)$/.exec(rest))) out.migrateAt = r[1]!.trim();
    }
  }
  return out;
}

/** The round number in a "savevm-at"/"migrate-at" line (a partial line may lack the rest). */
export function roundOf(at: string | null): number | null {
  const m = at ? /(?:^|\s)round=(\d+)/.exec(at) : null;
  return m ? Number(m[1]) : null;
}

/** The guest's state when the source saved it: its last line before savevm / after migrate. */
export interface SavePoint {
  round: number;
  /** the source's complete line of that round, when the console has it */
  line: GuestLine | null;
}

export function savePoint(source: OuterConsole, which: 'savevm' | 'migrate'): SavePoint | null {
  const round = roundOf(which === 'savevm' ? source.savevmAt : source.migrateAt);
  if (round === null) return null;
  const line = source.phases.get('source')?.guest.find((g) => g.round === round) ?? null;
  return { round, line };
}

/** Observed outcome: the model's words, plus no-progress (no guest progress after the restore). */
export type ObservedOutcome = 'intact' | 'aborted' | 'incomplete' | 'lost' | 'no-progress';

export interface RestoreObservation {
  restore: 'migrate' | 'savevm';
  outcome: ObservedOutcome;
  /** why, in words (each fact that decided it) */
  why: string[];
  lines: number;
  firstRound: number | null;
  lastRound: number | null;
  roundAtSave: number | null;
  /** the counter went on from the saved round and rose by one each line */
  counterRising: boolean;
  badLines: number;
  /** the first BAD line's fields (fcw, mxcsr, st, xmm…) */
  firstBad: Record<string, string> | null;
  /** every BAD line shows the x87/SSE reset state (FCW 037f, MXCSR 1f80, all ST and XMM differ) */
  fpuReset: boolean;
  /** the guest's TSC went on from the save (false: it started again, MSR_IA32_TSC not restored) */
  tscContinued: boolean | null;
  /** kvmclock the guest read first after the restore is within a minute after the save */
  kvmclockSane: boolean | null;
  kvmclockAtSaveMs: number | null;
  kvmclockFirstMs: number | null;
  tscAtSaveM: number | null;
  tscFirstM: number | null;
  vcpuPct: number | null;
  vmStatus: string | null;
  qemuStderr: string[];
  /** failed ioctls of the inner QEMU (only with --strace) */
  strace: string[];
  launchMs: number | null;
}

/** Fewer guest lines than this after a restore is no progress (a live guest prints one per 0.2-0.7 s, observed ≥ 5 s). */
export const MIN_LINES = 3;
/** A kvmclock reading this far (ms) after the save's is no longer the guest's clock going on. */
export const CLOCK_SLACK_MS = 60_000;

/**
 * Classifies one restore from the target's phase log and the source's save point:
 * - no-progress: fewer than MIN_LINES guest lines, or a counter that does not rise from the save
 *   (an inner QEMU that exited with a message first is `aborted`, QEMU ≥ 8.2's policy);
 * - lost: the guest started again from round 1 (its state is gone), or every step evidently
 *   restored (TSC went on) but the x87/SSE check fails;
 * - incomplete: it runs on, but with state a skipped restore step left at reset: the TSC
 *   started again (the MSR step never ran) and/or the x87/SSE registers are the reset state;
 * - intact: it goes on from the saved round, every check ok, its TSC continuing.
 */
export function classifyRestore(restore: 'migrate' | 'savevm', p: PhaseLog | undefined, at: SavePoint | null): RestoreObservation {
  const g = p?.guest ?? [];
  const why: string[] = [];
  const first = g[0] ?? null;
  const last = g[g.length - 1] ?? null;
  const steps = g.every((x, i) => i === 0 || x.round === g[i - 1]!.round + 1);
  const fromSave = first !== null && at !== null && first.round > at.round && first.round <= at.round + 3;
  const counterRising = g.length >= MIN_LINES && steps && fromSave;
  const bads = g.filter((x) => !x.ok);
  // A line computed before the save may still say ok; a reset FPU shows in every line after it.
  const isReset = (b: Record<string, string>): boolean => b['fcw'] === '037f' && /^0*1f80$/.test(b['mxcsr'] ?? '') && b['st'] === 'ff' && b['xmm'] === 'ff';
  // The last line may be cut short by `quit` ("… st=ff xmm=f"): it does not count against the rest.
  const cut = (x: GuestLine): boolean => x === last && g.length > 1 && x.text.length < g[g.length - 2]!.text.length;
  const fpuReset = bads.length > 0 && bads.every((b) => isReset(b.bad) || (cut(b) && bads.length > 1));
  const tscAt = at?.line?.tscM ?? null;
  const tscFirst = first?.tscM ?? null;
  const tscContinued = tscAt !== null && tscFirst !== null ? tscFirst >= tscAt : null;
  const kAt = at?.line?.kvmclockMs ?? null;
  const kFirst = first?.kvmclockMs ?? null;
  const kvmclockSane = kAt !== null && kFirst !== null ? kFirst >= kAt - 1000 && kFirst <= kAt + CLOCK_SLACK_MS : null;
  let outcome: ObservedOutcome;
  if (g.length === 0 && p?.qemuGone && p.qemuStderr.length > 0) {
    outcome = 'aborted';
    why.push(`the inner QEMU exited before the guest printed anything: ${p.qemuStderr[0]}`);
  } else if (first !== null && first.round <= 1) {
    outcome = 'lost';
    why.push(`the guest started again (first round ${first.round}): its saved state is gone`);
  } else if (!counterRising) {
    outcome = 'no-progress';
    if (g.length < MIN_LINES) why.push(`${g.length} guest line(s) after the restore (fewer than ${MIN_LINES})`);
    if (!steps) why.push('the counter does not rise by one each line');
    if (first !== null && !fromSave) why.push(at === null ? 'no save point to compare with' : `first round ${first.round} does not follow the saved round ${at.round}`);
  } else if (tscContinued === false || (bads.length > 0 && fpuReset)) {
    outcome = 'incomplete';
    if (tscContinued === false) why.push(`TSC started again (${tscFirst} < ${tscAt} ×2^20 at the save): the MSR step was skipped`);
    if (bads.length) why.push(`${bads.length}/${g.length} lines check=BAD${fpuReset ? ' with the x87/SSE reset state (FCW 037f, MXCSR 1f80, every ST and XMM differ)' : ''}`);
    if (kvmclockSane === false) why.push(`kvmclock ${kFirst} ms after the restore, ${kAt} ms at the save`);
  } else if (bads.length > 0) {
    outcome = 'lost';
    why.push(`${bads.length}/${g.length} lines check=BAD with the restore evidently complete (TSC went on)`);
  } else {
    outcome = 'intact';
    why.push(`rounds ${first!.round}..${last!.round} after ${at!.round}, every check ok${tscContinued ? ', TSC went on' : ''}`);
  }
  return {
    restore,
    outcome,
    why,
    lines: g.length,
    firstRound: first?.round ?? null,
    lastRound: last?.round ?? null,
    roundAtSave: at?.round ?? null,
    counterRising,
    badLines: bads.length,
    firstBad: bads[0]?.bad ?? null,
    fpuReset,
    tscContinued,
    kvmclockSane,
    kvmclockAtSaveMs: kAt,
    kvmclockFirstMs: kFirst,
    tscAtSaveM: tscAt,
    tscFirstM: tscFirst,
    vcpuPct: p?.vcpuPct ?? null,
    vmStatus: p?.vmStatus ?? null,
    qemuStderr: p?.qemuStderr ?? [],
    strace: p?.strace ?? [],
    launchMs: p?.launchMs ?? null,
  };
}

/**
 * env.xstate_bv of cpu 0 in a QEMU migration stream or a fresh qcow2 holding one snapshot:
 * located through the stream's own JSON description ("vmdesc", which QEMU appends: the cpu
 * section's fields and their sizes), counted from the section header of cpu instance 0, and
 * checked for shape (env.xcr0 before it has x87 and both are small masks). Null with the reason
 * when the buffer is not as expected.
 */
export function streamXstateBv(buf: Buffer): { xstateBv: bigint; xcr0: bigint; offset: number } | { error: string } {
  const marker = Buffer.from([0x03, 0x63, 0x70, 0x75, 0, 0, 0, 0]); // idstr "cpu", instance 0
  const at0 = buf.indexOf(marker);
  if (at0 < 0) return { error: 'no cpu section header' };
  if (buf.indexOf(marker, at0 + 1) >= 0) return { error: 'more than one cpu section header' };
  const fieldsStart = at0 + marker.length + 4; // + version id
  const js = buf.indexOf('{"page_size"', fieldsStart, 'latin1');
  if (js < 0) return { error: 'no vmdesc JSON after the cpu section' };
  let desc: { devices?: Array<{ name: string; instance_id: number; fields: Array<{ name: string; size: number; array_len?: number }> }> };
  try {
    desc = JSON.parse(jsonPrefix(buf.toString('latin1', js, Math.min(buf.length, js + (4 << 20)))));
  } catch (e) {
    return { error: `vmdesc: ${(e as Error).message}` };
  }
  const cpu = (desc.devices ?? []).filter((d) => d.name === 'cpu' && d.instance_id === 0);
  if (cpu.length !== 1) return { error: 'vmdesc has no cpu instance 0' };
  let off = 0;
  let found = false;
  for (const f of cpu[0]!.fields) {
    if (f.name === 'env.xstate_bv') {
      found = true;
      break;
    }
    off += f.size * (f.array_len ?? 1);
  }
  if (!found) return { error: 'vmdesc: the cpu section has no env.xstate_bv' };
  const at = fieldsStart + off;
  if (at + 8 > buf.length || at < 8) return { error: `env.xstate_bv offset ${at} is outside the stream` };
  const xstateBv = buf.readBigUInt64BE(at);
  const xcr0 = buf.readBigUInt64BE(at - 8);
  if ((xcr0 & 1n) === 0n || xcr0 > 0xffffn || (xstateBv & ~0x2ffn) !== 0n) return { error: `unexpected values at ${at}: xcr0=0x${xcr0.toString(16)} xstate_bv=0x${xstateBv.toString(16)}` };
  return { xstateBv, xcr0, offset: at };
}

/** The first complete JSON object of `s` (vmdesc is followed by other bytes). */
function jsonPrefix(s: string): string {
  let depth = 0;
  let str = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (str) {
      if (c === '\\') i++;
      else if (c === '"') str = false;
    } else if (c === '"') str = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return s.slice(0, i + 1);
    }
  }
  throw new SyntaxError('unterminated vmdesc JSON');
}
