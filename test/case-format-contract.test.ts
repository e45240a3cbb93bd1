// The case format is a public contract (../shared/CASE-FORMAT.md), implemented exactly (issue 14
// item 1): what the text allows is accepted; where the code is narrower than the text, the
// narrowing is listed in docs/case-format-notes.md and pinned here (each refusal names the file
// and the field), so that the list stays true.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runMain as run } from './helpers/cli';
import { CPU_MODEL_NAMES, HOSTS, KERNEL_IDS } from '../model';


let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-contract-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, c: object): string {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ format: 'xsave-case/1', id: name, ...c }, null, 2));
  return file;
}

const migration = (guest: object, extra: object = {}) => ({
  kind: 'migration',
  vcpu: { cpuModel: 'host' },
  source: { kernel: 'pve-5.15', host: 'zen3' },
  target: { kernel: 'pve-6.8', host: 'zen3' },
  vmm: 'qemu-8.2',
  guest,
  expect: { outcome: 'intact', leaked: false, fixupFired: false },
  ...extra,
});

describe('guest.inUse: "which components hold non-initial values"; PKRU (bit 9) is one when guest.pkru ≠ 0', () => {
  test('bit 9 in inUse with a non-zero pkru is accepted, with the same verdict as without it', async () => {
    const a = write('inuse-with-pkru', migration({ xcr0: '0x207', inUse: '0x207', pkru: '0x55555550' }));
    const b = write('inuse-without-pkru', migration({ xcr0: '0x207', inUse: '0x7', pkru: '0x55555550' }));
    const r = await run(['replay', a, b]);
    expect(r.out).toContain('2 passed, 0 failed, 0 unusable');
    expect(r.code).toBe(0);
    const ea = await run(['eval', '--json', a]);
    const eb = await run(['eval', '--json', b]);
    expect(JSON.parse(ea.out).computed).toEqual(JSON.parse(eb.out).computed);
  });
  test('negative control: bit 9 in inUse with pkru 0 contradicts itself: exit 2, naming the file and guest.inUse', async () => {
    const bad = write('inuse-pkru-zero', migration({ xcr0: '0x207', inUse: '0x207', pkru: '0x0' }));
    const r = await run(['replay', bad]);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`${bad}: field 'guest.inUse': inUse 0x207 says PKRU holds a non-initial value, but guest.pkru is 0x0`);
  });
});

test('every name CASE-FORMAT.md lists is in the catalogues (kernel ids, hosts, CPU models)', () => {
  // copied from ../shared/CASE-FORMAT.md, the target.kernel row, `host` and `vcpu.cpuModel`
  const kernels = ['linux-5.15', 'linux-5.16', 'pve-5.15', 'linux-5.17', 'linux-6.2', 'linux-6.6', 'linux-6.12', 'linux-6.19', 'pve-6.2-2023-07', 'pve-6.2-2023-10', 'pve-6.8', 'pve-6.14', 'pve-7.0'];
  const hosts = ['skylake-sp', 'icelake-sp', 'sapphire-rapids', 'zen2', 'zen3', 'zen4', 'haswell'];
  const models = ['qemu64', 'kvm64', 'x86-64-v2-AES', 'x86-64-v3', 'x86-64-v4', 'Haswell', 'Skylake-Client', 'Skylake-Server', 'Icelake-Server', 'SapphireRapids', 'EPYC', 'EPYC-Rome', 'EPYC-Milan', 'EPYC-Genoa', 'host'];
  expect(kernels.filter((k) => !KERNEL_IDS.includes(k))).toEqual([]);
  expect(hosts.filter((h) => !(h in HOSTS))).toEqual([]);
  expect(models.filter((m) => !CPU_MODEL_NAMES.includes(m))).toEqual([]);
});

// docs/case-format-notes.md "Narrower than the text": each row refused as the notes say.
describe('where the code is narrower than CASE-FORMAT.md (docs/case-format-notes.md), pinned', () => {
  const ioctl = (over: object) => ({
    kind: 'ioctl',
    vcpu: { cpuModel: 'Skylake-Server' },
    target: { kernel: 'linux-6.6', fixup: 'kernel-default', host: 'skylake-sp' },
    xsave: { xstateBv: '0x3' },
    expect: { result: 'ok' },
    ...over,
  });
  const rows: Array<[string, object, string]> = [
    ['host-object-no-area', ioctl({ target: { kernel: 'linux-6.6', host: { supportedXcr0: '0x21f', layout: 'amd' } } }), 'target.host.supportedXcr0'],
    ['xcr0-refused-by-set-xcrs', ioctl({ xcr0: '0x2' }), 'xcr0'],
    ['hex-shorter-than-uabi', ioctl({ xsave: { hex: '00'.repeat(512) } }), 'xsave.hex'],
    ['hex-over-64k', ioctl({ xsave: { hex: '00'.repeat(65537) } }), 'xsave.hex'],
    ['xstatebv-with-einval', ioctl({ expect: { result: 'einval', xstateBv: '0x3' } }), 'expect.xstateBv'],
    ['vmm-three-part', migration({ xcr0: '0x207', inUse: '0x7', pkru: '0x0' }, { vmm: 'qemu-9.2.1' }), 'vmm'],
    ['guest-xcr0-refused', migration({ xcr0: '0x2', inUse: '0x3', pkru: '0x0' }), 'guest.xcr0'],
    ['guest-inuse-outside-xcr0', migration({ xcr0: '0x3', inUse: '0x7', pkru: '0x0' }), 'guest.inUse'],
    ['guest-pkru-without-xcr0-pkru', migration({ xcr0: '0x7', inUse: '0x3', pkru: '0x4' }), 'guest.pkru'],
    ['guest-pkru-over-32-bits', migration({ xcr0: '0x207', inUse: '0x3', pkru: '0x100000000' }), 'guest.pkru'],
    ['confidential-migration', migration({ xcr0: '0x207', inUse: '0x7', pkru: '0x0' }, { vcpu: { cpuModel: 'host', confidential: true } }), 'vcpu.confidential'],
  ];
  test.each(rows)('%s is refused naming the field', async (name, c, field) => {
    const file = write(name, c);
    const r = await run(['replay', file]);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`${file}: field '${field}'`);
  });
  test('and the notes list each of those fields', () => {
    const notes = fs.readFileSync(path.join(__dirname, '..', 'docs', 'case-format-notes.md'), 'utf8');
    for (const [, , field] of rows) expect(notes).toContain(`\`${field.replace(/^target\.host\./, 'host.')}\``);
  });
});
