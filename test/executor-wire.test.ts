// The executor's wire format is written once, in kvm/wire.ts (issue 12): the C executor must
// speak that table (constants, enums, and the order and width of each record's reads and
// writes), and the TypeScript codecs are built from it. Negative controls: one changed field
// in a copy of the C source, each kind once, and the check must name it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { executorWireMismatches } from './helpers/executorWire';
import { ByteReader, ByteWriter, decodeRequest, encodeCases, readFields, writeFields } from '../kvm/protocol';
import { RUN_DATA_SIZE, WIRE, sizeOf } from '../kvm/wire';

const SRC = fs.readFileSync(path.join(__dirname, '..', 'executor', 'xsave-exec.c'), 'utf8');

function mutated(from: string | RegExp, to: string): string {
  const out = SRC.replace(from, to);
  if (out === SRC) throw new Error(`mutation did not apply: ${String(from)}`);
  return out;
}

test('executor/xsave-exec.c speaks the field table of kvm/wire.ts', () => {
  expect(executorWireMismatches(SRC)).toEqual([]);
});

// Reading the C as text cannot see that it still compiles (a "*/" in a comment broke it once,
// in the commit that added this file's pointer to wire.ts): compile it with the Makefile's flags.
const cc = spawnSync('cc', ['--version']).status === 0;
(cc ? test : test.skip)('executor/xsave-exec.c compiles with the Makefile\'s warnings-as-errors flags', () => {
  const r = spawnSync('cc', ['-fsyntax-only', '-std=gnu11', '-Wall', '-Wextra', '-Werror', path.join(__dirname, '..', 'executor', 'xsave-exec.c')], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

test.each([
  ['a case header field widened (n_cpuid u16 → u32)', ['tc->n_cpuid = rd_u16(&cr);', 'tc->n_cpuid = rd_u32(&cr);'], /parse_case\(\): rd_\* byte widths are \[4,1,1,1,1,4,2/],
  ['two request header fields swapped', ['uint16_t ver = rd_u16(&r);\n\tuint16_t op = rd_u16(&r);\n\tuint32_t seq = rd_u32(&r);', 'uint16_t ver = rd_u16(&r);\n\tuint32_t seq = rd_u32(&r);\n\tuint16_t op = rd_u16(&r);'], /handle\(\): rd_\* byte widths are \[4,2,4,2,4\]/],
  ['a size constant changed', ['#define CASE_HDR 20u', '#define CASE_HDR 24u'], /#define CASE_HDR: C 24, wire.ts 20/],
  ['a limit changed', ['#define MAX_EXITS 16u', '#define MAX_EXITS 32u'], /#define MAX_EXITS: C 32, wire.ts 16/],
  ['a step op renumbered', ['S_SET_CPUID2 = 1, S_SET_XCRS, S_SET_XSAVE', 'S_SET_CPUID2 = 1, S_SET_XSAVE, S_SET_XCRS'], /enum S_SET_XCRS: C 3, wire.ts 2/],
  ['a run result field dropped', ['\twb_u8(w, started);\n', ''], /step_run\(\): wb_\* byte widths are/],
  ['an xcr entry field widened', ['wb_u32(w, x.xcrs[k].reserved);', 'wb_u64(w, x.xcrs[k].reserved);'], /run_case\(\) after case S_GET_XCRS:.*: wb_\* byte widths are \[4,4,4,4,8,8\], wire.ts says \[4,4,4,4,4,8\]/],
] as const)('negative control: %s is reported', (_name, [from, to], want) => {
  const found = executorWireMismatches(mutated(from, to));
  expect(found.join('\n')).toMatch(want);
});

test('the TypeScript codecs are the table: record sizes, and a header written and read back field by field', () => {
  expect(sizeOf(WIRE.caseHeader)).toBe(20);
  expect(sizeOf(WIRE.cpuidEntry)).toBe(28);
  expect(RUN_DATA_SIZE).toBe(12 + 16 * 8 + 512);
  const w = new ByteWriter();
  const h = { case_len: 1, policy: 2, n_steps: 3, n_regions: 4, n_xcr0: 5, n_cpuid: 0x106, timeout_ms: 0x207, region_len: 0x30008, guest_rip: 0x40009 };
  writeFields(w, WIRE.caseHeader, h);
  const bytes = w.finish();
  expect(Buffer.from(bytes).toString('hex')).toBe('01000000' + '02030405' + '0601' + '0702' + '08000300' + '09000400');
  expect(readFields(new ByteReader(bytes), WIRE.caseHeader, 'case')).toEqual(h);
  expect(() => readFields(new ByteReader(bytes.subarray(0, 9)), WIRE.caseHeader, 'case')).toThrow(/case\.n_cpuid needs 2 bytes/);
  // a request encoded and decoded through the table keeps every field
  const body = encodeCases(7, [{ steps: [{ op: 'setXcrs', xcr0: 7n }, { op: 'getXcrs' }], cpuid: [{ leaf: 0xd, subleaf: 0, eax: 7, ebx: 0, ecx: 0, edx: 0 }], policy: 'abort', timeoutMs: 300, guestRip: 0x1100 }]);
  const d = decodeRequest(body);
  expect(d.cases![0]).toEqual({ steps: [{ op: 'setXcrs', xcr0: 7n }, { op: 'getXcrs' }], cpuid: [{ leaf: 0xd, subleaf: 0, flags: 1, eax: 7, ebx: 0, ecx: 0, edx: 0 }], policy: 'abort', timeoutMs: 300, guestRip: 0x1100 });
});
