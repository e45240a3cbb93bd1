// The case format is a public contract: unknown fields are errors, and every error names the
// file and the field.
import { CaseError, parseCase, parseCaseText } from './caseFormat';

const ioctl = (over: Record<string, unknown> = {}) => ({
  format: 'xsave-case/1',
  kind: 'ioctl',
  id: 'x',
  vcpu: { cpuModel: 'qemu64' },
  target: { kernel: 'linux-6.2', fixup: 'kernel-default', host: 'skylake-sp' },
  xsave: { xstateBv: '0x203' },
  expect: { result: 'einval' },
  ...over,
});

function errorOf(json: unknown): CaseError {
  try {
    parseCase(json, 'f.json');
  } catch (e) {
    if (e instanceof CaseError) return e;
    throw e;
  }
  throw new Error('no error');
}

test('a well-formed ioctl case parses, with defaults filled', () => {
  const c = parseCase(ioctl(), 'f.json');
  expect(c.kind).toBe('ioctl');
  if (c.kind !== 'ioctl') return;
  expect(c.target.fixup).toBe('kernel-default');
  expect('xstateBv' in c.xsave && c.xsave.mxcsr).toBe(0x1f80);
});

test.each([
  [{ format: 'xsave-case/2' }, 'format'],
  [{ kind: 'other' }, 'kind'],
  [{ id: 'Bad Id' }, 'id'],
  [{ extra: 1 }, 'extra'],
  [{ vcpu: { cpuModel: 'qemu64', cpuid: [] } }, 'vcpu'],
  [{ vcpu: { cpuid: [{ leaf: '0xd', eax: 7, ebx: '0x0', ecx: '0x0', edx: '0x0' }] } }, 'vcpu.cpuid[0].eax'],
  [{ vcpu: { cpuid: [{ leaf: '0xd', eax: '0x7', ebx: '0x0', ecx: '0x0' }] } }, 'vcpu.cpuid[0].edx'],
  [{ target: { kernel: 'linux-6.2', host: 'skylake-sp', fixup: 'maybe' } }, 'target.fixup'],
  [{ target: { kernel: 'linux-6.2', host: { supportedXcr0: '0x7', layout: 'arm' } } }, 'target.host.layout'],
  // MPX (bits 3-4) has no save area on AMD: no such host exists
  [{ target: { kernel: 'linux-6.2', host: { supportedXcr0: '0x1f', layout: 'amd' } } }, 'target.host.supportedXcr0'],
  [{ xsave: { xstateBv: '0x1', bytes: { '12x': '00' } } }, 'xsave.bytes.12x'],
  [{ xsave: { hex: 'abc' } }, 'xsave.hex'],
  [{ xsave: { xstateBv: '0x10000000000000000' } }, 'xsave.xstateBv'],
  [{ expect: {} }, 'expect'],
  [{ expect: { result: 'maybe' } }, 'expect.result'],
  [{ expect: { reslt: 'ok' } }, 'expect.reslt'],
  [{ xcr0: 3 }, 'xcr0'],
])('%j is refused naming field %s', (over, field) => {
  const e = errorOf(ioctl(over));
  expect(e.field).toBe(field);
  expect(e.message).toContain('f.json');
  expect(e.message).toContain(`'${field}'`);
});

test('a missing field is named', () => {
  const j = ioctl();
  delete (j as Record<string, unknown>)['target'];
  expect(errorOf(j).field).toBe('target');
});

test('migration cases check their own fields', () => {
  const m = {
    format: 'xsave-case/1',
    kind: 'migration',
    id: 'm',
    vcpu: { cpuModel: 'qemu64' },
    source: { kernel: 'pve-5.15', host: 'skylake-sp' },
    target: { kernel: 'linux-6.2', host: 'skylake-sp' },
    vmm: 'qemu-8.0',
    guest: { xcr0: '0x1', inUse: '0x3', pkru: '0x0' },
    expect: { outcome: 'incomplete' },
  };
  expect(parseCase(m, 'm.json').kind).toBe('migration');
  expect(errorOf({ ...m, xsave: {} }).field).toBe('xsave'); // an ioctl field in a migration case
  expect(errorOf({ ...m, guest: { xcr0: '0x1', inUse: '0x3' } }).field).toBe('guest.pkru');
  expect(errorOf({ ...m, expect: { outcome: 'fine' } }).field).toBe('expect.outcome');
});

test('invalid JSON names the file', () => {
  expect(() => parseCaseText('{"format":', 'broken.json')).toThrow(/broken\.json: field '\(json\)': not valid JSON/);
});
