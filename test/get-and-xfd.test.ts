// Model gaps closed for issue 14 item 7: KVM_GET_XSAVE fails with -EINVAL once the vCPU's region
// is larger than 4096 bytes (an AMX guest; kernel-semantics.md §3.1), apart from KVM_GET_XSAVE2;
// cases can expect the failed GET (expect.getResult, expect.get2XstateBv, added fields). IA32_XFD
// is a case field (`xfd`), which makes 6.19's XFD pre-mask reachable.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runMain as run } from './helpers/cli';
import { parseCase } from '../cases/caseFormat';
import { evaluateCase } from '../cases/evaluate';
import { HOSTS, MASK, XSAVE_REGION_SIZE, createVcpu, getXsave, getXsaveLegacy, kernelById, resolveCpuModel, setCpuid, setXfd } from '../model';


function vcpuFor(kernelId: string, hostName: string, model: string) {
  const kernel = kernelById(kernelId)!;
  const host = HOSTS[hostName]!;
  const v = createVcpu(kernel, host);
  setCpuid(v, resolveCpuModel(model, host, kernel));
  return v;
}

const AMX_CASE = path.join(__dirname, '..', 'corpus', 'amx', 'amx.linux-6.19.xfd-premask.json');
const amxCase = (over: Record<string, unknown> = {}, expect?: Record<string, unknown>) => {
  const c = JSON.parse(fs.readFileSync(AMX_CASE, 'utf8'));
  return { ...c, ...over, expect: expect ?? c.expect };
};

describe('KVM_GET_XSAVE vs KVM_GET_XSAVE2', () => {
  test.each([['linux-6.2'], ['linux-6.6'], ['linux-6.19'], ['pve-7.0']])('%s, AMX guest: the region grew past 4096, GET fails with -EINVAL, GET2 succeeds', (k) => {
    const v = vcpuFor(k, 'sapphire-rapids', 'SapphireRapids');
    expect(v.uabiSize).toBeGreaterThan(XSAVE_REGION_SIZE);
    expect(getXsaveLegacy(v).rc).toBe('EINVAL');
    expect(getXsave(v).rc).toBe(0);
    expect(getXsave(v).region.length).toBe(v.uabiSize);
  });
  test.each([['linux-5.15', 'sapphire-rapids', 'SapphireRapids'], ['linux-6.6', 'skylake-sp', 'Skylake-Server'], ['linux-6.19', 'zen4', 'EPYC-Genoa']])(
    '%s on %s with %s: 4096 bytes, GET is GET2',
    (k, h, m) => {
      const v = vcpuFor(k, h, m);
      expect(v.uabiSize).toBe(XSAVE_REGION_SIZE);
      const a = getXsaveLegacy(v);
      expect(a.rc).toBe(0);
      expect(Buffer.from(a.region).equals(Buffer.from(getXsave(v).region))).toBe(true);
    },
  );
  test('a case expecting the failed GET passes; negative control: expecting GET to succeed on an AMX vCPU fails the replay', () => {
    const ok = evaluateCase(parseCase(amxCase(), 'amx.json'));
    expect(ok.mismatches).toEqual([]);
    const wrong = evaluateCase(parseCase(amxCase({}, { result: 'ok', getResult: 'ok' }), 'wrong.json'));
    expect(wrong.mismatches).toEqual([{ field: 'expect.getResult', expected: 'ok', actual: 'einval' }]);
    // GET2's value expected as KVM_GET_XSAVE's (what the AMX corpus cases did before) fails too
    const old = evaluateCase(parseCase(amxCase({}, { result: 'ok', getXstateBv: '0x20003' }), 'old.json'));
    expect(old.mismatches).toEqual([{ field: 'expect.getXstateBv', expected: '0x20003', actual: 'null' }]);
  });
  test('getXstateBv with getResult "einval" is refused (nothing to report), naming the field', () => {
    expect(() => parseCase(amxCase({}, { getResult: 'einval', getXstateBv: '0x3' }), 'x.json')).toThrow("x.json: field 'expect.getXstateBv'");
    expect(() => parseCase(amxCase({}, { getResult: 'failed' }), 'x.json')).toThrow("x.json: field 'expect.getResult'");
  });
});

describe('IA32_XFD as a case field (xfd)', () => {
  test('6.19 pre-masks XSTATE_BV with XFD; negative control: 6.12 (no pre-mask) and xfd 0 keep the tile bit', () => {
    const on619 = evaluateCase(parseCase(amxCase(), 'a.json')).computed;
    expect(on619).toMatchObject({ result: 'ok', xstateBv: '0x20003' });
    const on612 = evaluateCase(parseCase(amxCase({ target: { kernel: 'linux-6.12', host: 'sapphire-rapids' } }), 'b.json'));
    expect(on612.computed).toMatchObject({ result: 'ok', xstateBv: '0x60003' });
    expect(on612.mismatches.map((m) => m.field)).toEqual(['expect.xstateBv', 'expect.get2XstateBv']);
    const noXfd = amxCase();
    delete noXfd.xfd;
    expect(evaluateCase(parseCase(noXfd, 'c.json')).computed).toMatchObject({ xstateBv: '0x60003' });
  });
  test('pve-7.0 carries the pre-mask too (kernel-semantics.md §6, variant C: the patch sits after it)', () => {
    const c = evaluateCase(parseCase(amxCase({ target: { kernel: 'pve-7.0', host: 'sapphire-rapids' } }), 'd.json'));
    expect(c.computed).toMatchObject({ result: 'ok', xstateBv: '0x20003', fixupFired: false });
  });
  test('KVM_SET_MSRS rules: only guest-supported dynamic features (XTILE_DATA), not on 5.15', () => {
    expect(setXfd(vcpuFor('linux-6.19', 'sapphire-rapids', 'SapphireRapids'), MASK.XTILE_DATA).rc).toBe(0);
    expect(setXfd(vcpuFor('linux-6.19', 'sapphire-rapids', 'SapphireRapids'), MASK.XTILE_DATA | MASK.YMM).rc).toBe('EINVAL');
    expect(setXfd(vcpuFor('linux-6.19', 'sapphire-rapids', 'Icelake-Server'), MASK.XTILE_DATA).rc).toBe('EINVAL');
    expect(setXfd(vcpuFor('linux-5.15', 'sapphire-rapids', 'SapphireRapids'), MASK.XTILE_DATA).rc).toBe('EINVAL');
  });
  test('an xfd the vCPU cannot hold is unusable (exit 2), naming the file and the field', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsave-xfd-'));
    try {
      const file = path.join(dir, 'bad.json');
      fs.writeFileSync(file, JSON.stringify(amxCase({ id: 'bad-xfd', vcpu: { cpuModel: 'Icelake-Server' }, xcr0: '0x2e7' })));
      const r = await run(['replay', file]);
      expect(r.code).toBe(2);
      expect(r.out).toContain(`${file}: field 'xfd': KVM_SET_MSRS refuses IA32_XFD 0x40000 on this vCPU`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
