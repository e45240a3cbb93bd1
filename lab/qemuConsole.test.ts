// lab qemu's pure half: console parsing, the restore classifier (with a negative control for
// each class), the stream reader, the plan and the cases it writes. Real transcripts come from
// docs/lab-qemu-logs (the by-hand runs of docs/lab-qemu.md); the rest are edited copies.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCase } from '../cases/caseFormat';
import { evaluateCase } from '../cases/evaluate';
import { classifyRestore, parseGuestLine, parseOuterConsole, PhaseLog, roundOf, savePoint, streamXstateBv } from './qemuConsole';
import { caseId, cellCase, compareCell, DEFAULT_SOURCE, DEFAULT_TARGETS, parseEndpoints, predict, unavailable } from './qemuPlan';

const LOGS = path.join(__dirname, '..', 'docs', 'lab-qemu-logs');
const log = (name: string): string => fs.readFileSync(path.join(LOGS, name), 'utf8');
const SOURCE = parseOuterConsole(log('6-source-6.1-max.console'));

/** A phase log made of guest lines (for edited transcripts). */
function phase(lines: string[], extra: Partial<PhaseLog> = {}): PhaseLog {
  const text = ['XSO phase=p guest-log begin', ...lines, 'XSO phase=p guest-log end', 'XSO phase=p vcpu_pct=20 total_pct=21', 'XSO phase=p hmp-out: VM status: running'].join('\n');
  return { ...parseOuterConsole(text).phases.get('p')!, ...extra };
}
const ok = (r: number, tsc: number, clock = 1000 + r * 300): string => `XSG round=${r} ticks=${r * 30} kvmclock_ms=${clock} tsc_m=${tsc} pv_tsc_m=100 pv_ver=6 check=ok`;
const reset = (r: number, tsc: number, clock = 8800986300000 + r): string =>
  `XSG round=${r} ticks=${r * 30} kvmclock_ms=${clock} tsc_m=${tsc} pv_tsc_m=100 pv_ver=6 check=BAD fcw=037f fsw=0000 ftw=00 mxcsr=00001f80 st=ff xmm=ff`;
const AT = { round: 40, line: parseGuestLine(ok(40, 30000, 13000)) };

describe('console parsing', () => {
  test('guest lines: ok, BAD with its fields; anything else is not a round line', () => {
    const g = parseGuestLine(reset(39, 2197))!;
    expect(g).toMatchObject({ round: 39, tscM: 2197, ok: false, bad: { fcw: '037f', mxcsr: '00001f80', st: 'ff', xmm: 'ff' } });
    expect(parseGuestLine(ok(3, 10))!.ok).toBe(true);
    expect(parseGuestLine('XSG start mode=hlt kvmclock=on')).toBeNull();
    expect(parseGuestLine('XSG round=12 ticks=3')).toBeNull(); // a line cut short by stop
  });

  test('the source transcript: boot, save points, migration, snapshot', () => {
    expect(SOURCE.boot).toMatchObject({ kernel: '6.1.0-57-amd64', pku: true, kvm: true });
    expect(SOURCE.done).toBe(true);
    expect(SOURCE.migrationCompleted).toBe(true);
    expect(SOURCE.snapshotListed).toBe(true);
    expect(SOURCE.migrateBytes).toBe(667031);
    expect(savePoint(SOURCE, 'migrate')).toMatchObject({ round: 38, line: { tscM: 33346, kvmclockMs: 15422 } });
    // the savevm line of this run was cut short: the round is still read, the line is the source's own
    expect(roundOf(SOURCE.savevmAt)).toBe(30);
    expect(savePoint(SOURCE, 'savevm')!.line!.round).toBe(30);
  });

  test('negative control: a console without XSO lines has no boot and is not done', () => {
    const c = parseOuterConsole('Linux version 6.1\nKernel panic - not syncing\n');
    expect(c.boot).toBeNull();
    expect(c.done).toBe(false);
    expect(c.phases.size).toBe(0);
  });
});

describe('classifying a restore (real transcripts)', () => {
  test('stock 6.1 -> 6.12 without PKU: both restores intact', () => {
    const t = parseOuterConsole(log('6-target-6.12-nopku.console'));
    const m = classifyRestore('migrate', t.phases.get('migrate-in'), savePoint(SOURCE, 'migrate'));
    expect(m.outcome).toBe('intact');
    expect(m).toMatchObject({ firstRound: 39, roundAtSave: 38, tscContinued: true, badLines: 0, vmStatus: 'running', counterRising: true });
    expect(classifyRestore('savevm', t.phases.get('loadvm'), savePoint(SOURCE, 'savevm')).outcome).toBe('intact');
  });

  test('the refused KVM_SET_XSAVE (simulated leak, 6.12 without PKU): incomplete, with the reset FPU and a restarted TSC', () => {
    const t = parseOuterConsole(log('6-target-6.12-nopku-leak.console'));
    const m = classifyRestore('migrate', t.phases.get('migrate-in'), savePoint(SOURCE, 'migrate'));
    expect(m.outcome).toBe('incomplete');
    expect(m).toMatchObject({ fpuReset: true, tscContinued: false, kvmclockSane: false, counterRising: true, qemuStderr: [] });
  });
});

describe('classifying a restore (edited transcripts: one negative control per class)', () => {
  const rising = [ok(41, 30500), ok(42, 31000), ok(43, 31500), ok(44, 32000)];
  test('intact: goes on from the save, checks ok, TSC continues', () => {
    expect(classifyRestore('migrate', phase(rising), AT).outcome).toBe('intact');
  });
  test('no-progress: the counter stops after two lines', () => {
    const r = classifyRestore('migrate', phase(rising.slice(0, 2)), AT);
    expect(r.outcome).toBe('no-progress');
    expect(r.why.join()).toMatch(/2 guest line/);
  });
  test('no-progress: no line at all, QEMU alive', () => {
    expect(classifyRestore('migrate', phase([], { noFirstLine: true }), AT).outcome).toBe('no-progress');
  });
  test('no-progress: the counter does not rise by one (a stuck round repeated)', () => {
    expect(classifyRestore('migrate', phase([ok(41, 30500), ok(41, 30600), ok(41, 30700)]), AT).outcome).toBe('no-progress');
  });
  test('no-progress: lines that do not follow the saved round (a jump far ahead)', () => {
    expect(classifyRestore('migrate', phase([ok(90, 30500), ok(91, 31000), ok(92, 31500)]), AT).outcome).toBe('no-progress');
  });
  test('aborted: QEMU exited with a message before the guest printed', () => {
    const r = classifyRestore('migrate', phase([], { noFirstLine: true, qemuGone: true, qemuStderr: ['Failed to put registers after init: Invalid argument'] }), AT);
    expect(r.outcome).toBe('aborted');
  });
  test('lost: the guest starts again from round 1', () => {
    expect(classifyRestore('migrate', phase([ok(1, 10), ok(2, 20), ok(3, 30)]), AT).outcome).toBe('lost');
  });
  test('lost: check=BAD although the TSC went on (every step evidently ran)', () => {
    const bad = rising.map((l) => l.replace('check=ok', 'check=BAD fcw=0f7f fsw=0000 ftw=ff mxcsr=0000ff80 st=00 xmm=04'));
    expect(classifyRestore('migrate', phase(bad), AT).outcome).toBe('lost');
  });
  test('incomplete: check=BAD with the reset x87/SSE state and a restarted TSC', () => {
    const r = classifyRestore('migrate', phase([reset(41, 2000), reset(42, 2500), reset(43, 3000)]), AT);
    expect(r.outcome).toBe('incomplete');
    expect(r.why.join()).toMatch(/TSC started again/);
  });
  test('a last line cut short by quit does not hide the reset state; a cut line alone is not evidence', () => {
    const lines = [reset(41, 2000), reset(42, 2500), reset(43, 3000).replace(/xmm=ff$/, 'xmm=f')];
    expect(classifyRestore('migrate', phase(lines), AT).fpuReset).toBe(true);
    const other = [reset(41, 2000), reset(42, 2500).replace(/xmm=ff$/, 'xmm=04'), reset(43, 3000).replace(/xmm=ff$/, 'xmm=f')];
    expect(classifyRestore('migrate', phase(other), AT).fpuReset).toBe(false);
  });
  test('incomplete: checks ok but the TSC started again (a step after xsave skipped)', () => {
    expect(classifyRestore('migrate', phase([ok(41, 2000), ok(42, 2500), ok(43, 3000)]), AT).outcome).toBe('incomplete');
  });
});

describe('the migration stream reader', () => {
  /** A stream with a cpu section whose fields are described by a vmdesc. */
  function stream(xcr0: bigint, xbv: bigint, opts: { twoCpus?: boolean; noField?: boolean } = {}): Buffer {
    const header = Buffer.from([0x04, 0, 0, 0, 2, 0x03, 0x63, 0x70, 0x75, 0, 0, 0, 0, 0, 0, 0, 12]);
    const fields = Buffer.alloc(40);
    fields.writeBigUInt64BE(xcr0, 16);
    fields.writeBigUInt64BE(xbv, 24);
    const desc = {
      page_size: 4096,
      devices: [
        {
          name: 'cpu',
          instance_id: 0,
          fields: [
            { name: 'env.regs', size: 8, array_len: 2 },
            { name: 'env.xcr0', size: 8 },
            ...(opts.noField ? [] : [{ name: 'env.xstate_bv', size: 8 }]),
          ],
        },
      ],
    };
    return Buffer.concat([Buffer.from('QEVM'), header, fields, ...(opts.twoCpus ? [header] : []), Buffer.from([0x06]), Buffer.from(JSON.stringify(desc)), Buffer.from([0, 0, 0])]);
  }
  test('reads XSTATE_BV through the vmdesc', () => {
    expect(streamXstateBv(stream(1n, 0x203n))).toMatchObject({ xstateBv: 0x203n, xcr0: 1n });
    expect(streamXstateBv(stream(1n, 0x3n))).toMatchObject({ xstateBv: 0x3n });
  });
  test('negative controls: no field, two cpu headers, values of the wrong shape, not a stream', () => {
    expect(streamXstateBv(stream(1n, 0x3n, { noField: true }))).toHaveProperty('error');
    expect(streamXstateBv(stream(1n, 0x3n, { twoCpus: true }))).toHaveProperty('error');
    expect(streamXstateBv(stream(0n, 0x3n))).toHaveProperty('error'); // xcr0 without x87
    expect(streamXstateBv(stream(1n, 0x10000n))).toHaveProperty('error');
    expect(streamXstateBv(Buffer.alloc(4096))).toHaveProperty('error');
  });
});

describe('plan, prediction and the cases written', () => {
  const src = { kernel: 'debian-6.1', host: 'pku' };
  test('--only parsing: K:H, K (all its hosts), unknown names refused', () => {
    expect(parseEndpoints('debian-6.12:nopku', DEFAULT_TARGETS, '--only')).toEqual([{ kernel: 'debian-6.12', host: 'nopku' }]);
    expect(parseEndpoints('debian-6.12', DEFAULT_TARGETS, '--only')).toHaveLength(2);
    expect(() => parseEndpoints('debian-6.12:nohost', DEFAULT_TARGETS, '--only')).toThrow(/unknown lab host/);
    expect(() => parseEndpoints('linux-9.9', DEFAULT_TARGETS, '--only')).toThrow(/names no target/);
  });
  test('a kernel not in the lab catalogue is named as such', () => {
    expect(unavailable({ kernel: 'debian-9.9', host: 'pku' })).toMatch(/not in lab\/catalogue/);
    expect(unavailable(src)).toBeNull();
  });
  test("the incident table's predictions from the leaky source (the model's side of the table)", () => {
    const got = Object.fromEntries(DEFAULT_TARGETS.map((t) => [`${t.kernel}:${t.host}`, predict(DEFAULT_SOURCE, t).outcome]));
    expect(got).toEqual({
      'debian-6.1-2023:pku': 'incomplete',
      'debian-6.1-2023+pve:pku': 'intact',
      'debian-6.1:pku': 'intact',
      'debian-6.1:nopku': 'incomplete',
      'debian-6.12:pku': 'intact',
      'debian-6.12:nopku': 'incomplete',
      'debian-6.1+pve:pku': 'intact',
      'debian-6.1+pve:nopku': 'intact',
      'debian-6.12+pve:pku': 'intact',
      'debian-6.12+pve:nopku': 'intact',
    });
    expect(predict(DEFAULT_SOURCE, DEFAULT_TARGETS[0]!).leaked).toBe(true);
    // negative control: the stock source leaks nothing
    expect(predict({ kernel: 'debian-6.1', host: 'noavx' }, DEFAULT_TARGETS[0]!)).toMatchObject({ leaked: false, outcome: 'intact' });
  });
  test('stock 6.1 -> 6.12 without PKU: the model predicts intact, no leak', () => {
    expect(predict(src, { kernel: 'debian-6.12', host: 'nopku' })).toMatchObject({ outcome: 'intact', leaked: false });
  });
  test('the case written is CASE-FORMAT v1 and replays against the model', () => {
    const t = { kernel: 'debian-6.12', host: 'nopku' };
    const json = cellCase(src, t, 'savevm', { outcome: 'intact', leaked: false, note: 'n' });
    expect(json.id).toBe(caseId(src, t, 'savevm'));
    const c = parseCase(JSON.parse(JSON.stringify(json)), 'x');
    expect(evaluateCase(c).mismatches).toEqual([]);
    // negative control: the same case claiming an incomplete restore disagrees with the model
    const wrong = parseCase({ ...json, expect: { outcome: 'incomplete' } }, 'x');
    expect(evaluateCase(wrong).mismatches.map((m) => m.field)).toEqual(['expect.outcome']);
  });
  test('no-progress has no CASE-FORMAT word: the case keeps only what was observed', () => {
    const json = cellCase(src, { kernel: 'debian-6.12', host: 'nopku' }, 'migrate', { outcome: 'no-progress', leaked: true, note: 'n' });
    expect(json.expect).toEqual({ leaked: true });
    expect(() => parseCase(json, 'x')).not.toThrow();
  });
  test('compareCell: agreement needs the outcome and the leak', () => {
    const p = predict(src, { kernel: 'debian-6.12', host: 'nopku' });
    const obs = classifyRestore('migrate', phase([ok(41, 30500), ok(42, 31000), ok(43, 31500)]), AT);
    expect(compareCell(obs, false, p).agree).toBe(true);
    expect(compareCell(obs, true, p).differences).toEqual(['leaked: observed true, model false']);
    expect(compareCell({ ...obs, outcome: 'no-progress' }, false, p).agree).toBe(false);
    expect(compareCell(obs, null, p).agree).toBe(false);
  });
});
