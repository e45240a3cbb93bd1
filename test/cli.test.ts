// The CLI as a user meets it: replay of the corpus, unusable files that do not stop the
// others, and `check --fixup` with a broken plug-in producing a replayable counterexample.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { main } from '../cli/main';

const FIX = path.join(__dirname, 'fixtures', 'cli');
const BROKEN = path.join(FIX, 'always-clear-pkru.js');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-cli-'));
}

const incident = {
  format: 'xsave-case/1',
  kind: 'migration',
  id: 'incident',
  vcpu: { cpuModel: 'qemu64' },
  source: { kernel: 'pve-5.15', host: 'skylake-sp' },
  target: { kernel: 'linux-6.2', fixup: 'kernel-default', host: 'skylake-sp' },
  vmm: 'qemu-8.0',
  guest: { xcr0: '0x1', inUse: '0x3', pkru: '0x0' },
  expect: { outcome: 'incomplete', leaked: true },
};

test('replay of the committed corpus: every case holds, exit 0', async () => {
  const r = await run(['replay', path.join(__dirname, '..', 'corpus')]);
  expect(r.out).toMatch(/^\d+ passed, 0 failed, 0 unusable$/m);
  expect(r.code).toBe(0);
});

test('a malformed file gives exit 2 naming file and field, and the other cases still replay', async () => {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'a-good.json'), JSON.stringify(incident));
  fs.writeFileSync(path.join(dir, 'b-bad.json'), JSON.stringify({ ...incident, id: 'bad', guest: { xcr0: 'one', inUse: '0x3', pkru: '0x0' } }));
  fs.writeFileSync(path.join(dir, 'c-truncated.json'), '{"format": "xsave-case/1", "kind"');
  fs.writeFileSync(path.join(dir, 'd-good.json'), JSON.stringify({ ...incident, id: 'incident-2' }));
  const r = await run(['replay', dir]);
  expect(r.code).toBe(2);
  expect(r.out).toContain(`${path.join(dir, 'b-bad.json')}: field 'guest.xcr0'`);
  expect(r.out).toContain(`${path.join(dir, 'c-truncated.json')}: field '(json)'`);
  expect(r.out).toMatch(/PASS\s+incident \(/);
  expect(r.out).toMatch(/PASS\s+incident-2 \(/);
  expect(r.out).toContain('2 passed, 0 failed, 2 unusable');
});

test('an expectation that does not hold gives exit 1 and says what the model computes', async () => {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'wrong.json'), JSON.stringify({ ...incident, expect: { outcome: 'intact' } }));
  const r = await run(['replay', dir]);
  expect(r.code).toBe(1);
  expect(r.out).toContain('expect.outcome: expected intact, model computes incomplete');
});

test('duplicate ids are unusable; a missing path is reported', async () => {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'one.json'), JSON.stringify(incident));
  fs.writeFileSync(path.join(dir, 'two.json'), JSON.stringify(incident));
  const r = await run(['replay', dir, path.join(dir, 'nope.json')]);
  expect(r.code).toBe(2);
  expect(r.out).toContain(`field 'id': "incident" is already used by ${path.join(dir, 'one.json')}`);
  expect(r.out).toContain('nope.json: no such file or folder');
});

test('replay --json prints one object per case with what was computed', async () => {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'i.json'), JSON.stringify(incident));
  const r = await run(['replay', '--json', dir]);
  const lines = r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  expect(lines).toHaveLength(1);
  expect(lines[0].computed.outcome).toBe('incomplete');
  expect(lines[0].computed.steps).toContain('xsave:EINVAL(outside-user-xfeatures)');
});

test('eval ignores expect and prints the computation', async () => {
  const dir = tmpdir();
  const f = path.join(dir, 'i.json');
  fs.writeFileSync(f, JSON.stringify({ ...incident, expect: { outcome: 'lost' } }));
  const r = await run(['eval', '--json', f]);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.out).computed.outcome).toBe('incomplete');
});

test('check with the Proxmox patch: all five properties hold', async () => {
  const r = await run(['check', '--seed', '7', '--runs', '300']);
  expect(r.code).toBe(0);
  expect(r.out).toContain('5 passed, 0 failed');
});

test('check --fixup with a broken plug-in exits 1 with seed, path and a replayable counterexample', async () => {
  const found = tmpdir();
  const r = await run(['check', '--seed', '7', '--runs', '300', '--only', 'P1', '--fixup', BROKEN, '--found', found]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/seed 7, path \d+(:\d+)*/);
  const files = fs.readdirSync(found);
  expect(files).toHaveLength(1);
  const file = path.join(found, files[0]!);
  expect(r.out).toContain(`replay: npx xsave-harness replay --fixup ${BROKEN} ${file}`);
  // The counterexample fails with the broken plug-in and holds with the real patch.
  expect((await run(['replay', '--fixup', BROKEN, file])).code).toBe(1);
  expect((await run(['replay', file])).code).toBe(0);
});

const BIN = path.join(__dirname, '..', 'dist', 'cli', 'main.js');

test('an ES-module plug-in loads (in plain node: jest VMs have no dynamic import); a module without fixup() is unusable (exit 2)', async () => {
  const esm = spawnSync(process.execPath, [BIN, 'check', '--seed', '3', '--runs', '100', '--only', 'P1,P3', '--fixup', path.join(FIX, 'esm-fixup.mjs')], { encoding: 'utf8' });
  expect(esm.stdout).toContain('fixup esm-fixup.mjs');
  expect(esm.stdout).toContain('2 passed, 0 failed');
  expect(esm.status).toBe(0);
  const bad = await run(['check', '--fixup', path.join(FIX, 'not-a-fixup.js')]);
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("not-a-fixup.js: field 'fixup'");
});

test('usage errors exit 3', async () => {
  expect((await run(['replay'])).code).toBe(3);
  expect((await run(['frobnicate'])).code).toBe(3);
  expect((await run(['check', '--runs', 'many'])).code).toBe(3);
});

test('the installed bin runs (built by npm ci through the prepare script)', () => {
  expect(fs.existsSync(BIN)).toBe(true);
  const r = spawnSync(process.execPath, [BIN, 'replay', path.join(__dirname, '..', 'corpus', 'incident')], { encoding: 'utf8' });
  expect(r.stdout).toMatch(/\d+ passed, 0 failed, 0 unusable/);
  expect(r.status).toBe(0);
});
