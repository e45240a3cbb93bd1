// The kernel lab's pieces that need no QEMU: the cpio writer, module dependency order, the
// content-hashed cache (a corrupt entry is detected and rebuilt), progress lines, and QEMU's
// command line. Each with a negative control.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureArtefact, keyOf, verifyEntry } from './cache';
import { cpioNewc, readCpioNewc } from './cpio';
import { canonicalModule, moduleClosure, moduleDepends } from './modules';
import { progress } from './progress';
import { qemuArgs } from './vm';
import { LAB_HOSTS, LAB_KERNELS } from './catalogue';
import { hostByName, kernelById } from '../model';

describe('cpio newc', () => {
  test('round trip: names, types, modes and bytes survive; the archive ends with TRAILER!!!', () => {
    const data = Buffer.from('hello\x00world');
    const a = cpioNewc([
      { name: 'bin', type: 'dir', mode: 0o755 },
      { name: 'bin/x', type: 'file', mode: 0o700, data },
      { name: 'bin/sh', type: 'symlink', mode: 0o777, data: Buffer.from('busybox') },
    ]);
    expect(a.length % 4).toBe(0);
    expect(a.includes(Buffer.from('TRAILER!!!'))).toBe(true);
    const back = readCpioNewc(a);
    expect(back.map((e) => [e.name, e.type, e.mode])).toEqual([
      ['bin', 'dir', 0o755],
      ['bin/x', 'file', 0o700],
      ['bin/sh', 'symlink', 0o777],
    ]);
    expect(Buffer.from(back[1]!.data!).equals(data)).toBe(true);
  });
  test('negative control: a corrupted magic or a truncated archive is refused', () => {
    const a = cpioNewc([{ name: 'f', type: 'file', mode: 0o644, data: Buffer.alloc(9, 1) }]);
    const bad = Buffer.from(a);
    bad.write('070702', 0, 'ascii');
    expect(() => readCpioNewc(bad)).toThrow(/bad magic/);
    expect(() => readCpioNewc(a.subarray(0, 120))).toThrow(/runs past the end|truncated/);
    expect(() => cpioNewc([{ name: '/abs', type: 'dir', mode: 0o755 }])).toThrow(/relative/);
  });
});

describe('kernel modules', () => {
  const ko = (deps: string): Buffer => Buffer.concat([Buffer.from('\x7fELF....'), Buffer.from(`\0license=GPL\0depends=${deps}\0vermagic=6.1\0`)]);
  test('depends= is read from .modinfo; - and _ name the same module', () => {
    expect(moduleDepends(ko('kvm,ccp'))).toEqual(['kvm', 'ccp']);
    expect(moduleDepends(ko(''))).toEqual([]);
    expect(moduleDepends(Buffer.from('no modinfo here'))).toEqual([]);
    expect(canonicalModule('kvm-amd')).toBe('kvm_amd');
  });
  test('closure: dependencies load first, each once; a missing module is named with who needs it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-mod-'));
    const files: Record<string, string> = { kvm_amd: 'kvm,ccp', kvm: 'irqbypass', ccp: '', irqbypass: '', virtio_pci: 'virtio_ring,virtio', virtio: 'virtio_ring', virtio_ring: '' };
    const index = new Map<string, string>();
    for (const [n, d] of Object.entries(files)) {
      const f = path.join(dir, `${n.replace('_amd', '-amd')}.ko`);
      fs.writeFileSync(f, ko(d));
      index.set(n, f);
    }
    const order = (await moduleClosure(index, ['kvm_amd', 'virtio_pci'])).map((m) => m.name);
    expect(order).toEqual(['irqbypass', 'kvm', 'ccp', 'kvm_amd', 'virtio_ring', 'virtio', 'virtio_pci']);
    for (const m of order) for (const d of files[m]!.split(',').filter(Boolean)) expect(order.indexOf(d)).toBeLessThan(order.indexOf(m));
    const withBuiltin = (await moduleClosure(index, ['virtio_pci'], new Map(), new Set(['virtio', 'virtio_ring']))).map((m) => m.name);
    expect(withBuiltin).toEqual(['virtio_pci']);
    index.delete('ccp');
    await expect(moduleClosure(index, ['kvm_amd'])).rejects.toThrow(/module ccp \(needed by kvm_amd\) is not in the kernel package/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('the lab cache', () => {
  let root: string;
  const saved = process.env.XSAVE_LAB_CACHE;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-cache-'));
    process.env.XSAVE_LAB_CACHE = root;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.XSAVE_LAB_CACHE;
    else process.env.XSAVE_LAB_CACHE = saved;
    fs.rmSync(root, { recursive: true, force: true });
  });
  test('a second ensure builds nothing; a corrupted file is detected by hash and rebuilt', async () => {
    let builds = 0;
    const o = {
      kind: 't',
      key: keyOf(['a', 'b']),
      inputs: { what: 'test' },
      build: (tmp: string) => {
        builds++;
        fs.writeFileSync(path.join(tmp, 'out.bin'), 'payload');
      },
    };
    const a = await ensureArtefact(o);
    expect(a.built).toBe(true);
    const b = await ensureArtefact(o);
    expect(b.built).toBe(false);
    expect(builds).toBe(1);
    expect(verifyEntry(a.dir)).toBeNull();
    fs.writeFileSync(a.file('out.bin'), 'payloaD');
    expect(verifyEntry(a.dir)).toMatch(/out\.bin: sha256/);
    const corrupt: string[] = [];
    const c = await ensureArtefact({ ...o, onCorrupt: (why) => corrupt.push(why) });
    expect(c.built).toBe(true);
    expect(builds).toBe(2);
    expect(corrupt).toHaveLength(1);
    expect(fs.readFileSync(c.file('out.bin'), 'utf8')).toBe('payload');
  });
  test('a failing build leaves no entry and no temporary folder', async () => {
    await expect(ensureArtefact({ kind: 'f', key: 'k', inputs: {}, build: () => { throw new Error('boom'); } })).rejects.toThrow('boom');
    expect(fs.readdirSync(path.join(root, 'artefacts'))).toEqual([]);
  });
  test('keys differ when any input differs', () => {
    expect(keyOf(['a', 'b'])).not.toBe(keyOf(['a', 'c']));
    expect(keyOf(['ab', 'c'])).not.toBe(keyOf(['a', 'bc']));
  });
});

describe('progress lines', () => {
  test('plain output: rate-limited lines naming the label, and the final line always', () => {
    const out: string[] = [];
    const p = progress('debian-6.1/pku', { out: { write: (s: string) => out.push(s), isTTY: false }, everyMs: 60_000 });
    p.update('1/10');
    p.update('2/10');
    p.done('10/10 agree');
    expect(out).toEqual(['[debian-6.1/pku] 1/10\n', '[debian-6.1/pku] 10/10 agree\n']);
  });
  test('TTY output rewrites one line', () => {
    const out: string[] = [];
    const p = progress('k/h', { out: { write: (s: string) => out.push(s), isTTY: true } });
    p.update('a');
    p.update('b');
    p.done('c');
    expect(out.filter((s) => s.startsWith('\r'))).toHaveLength(3);
    expect(out.join('')).toContain('[k/h] c\n');
  });
});

describe('lab catalogue and QEMU command line', () => {
  test('every lab kernel and host is a model catalogue entry', () => {
    for (const k of LAB_KERNELS) expect(kernelById(k.id)).toBeDefined();
    for (const h of LAB_HOSTS) expect(hostByName(h.catalogueHost)?.fxsave).toBe('qemu-tcg');
  });
  test('the executor port is QEMU stdio, the console a file, and the VM never reboots', () => {
    const boot = { kernel: LAB_KERNELS[0]!, vmlinuz: '/k', initrd: '/i', key: 'x', built: false, modules: [] };
    const a = qemuArgs({ boot, host: LAB_HOSTS[1]!, accel: 'tcg' }, '/tmp/c.log');
    const s = a.join(' ');
    expect(s).toContain('-chardev stdio,id=xsave,signal=off');
    expect(s).toContain('virtserialport,chardev=xsave,name=xsave');
    expect(s).toContain('-serial file:/tmp/c.log');
    expect(s).toContain('-cpu max,-pku');
    expect(a).toContain('-no-reboot');
    expect(a[a.indexOf('-accel') + 1]).toBe('tcg');
  });
});
