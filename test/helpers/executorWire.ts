// Reads executor/xsave-exec.c as far as its wire format goes, and lists where it departs from
// the field table of kvm/wire.ts (issue 12: the format written once). What is read: the
// #defines and enums the protocol names, and, in each function that reads or writes a record,
// the order and byte width of its rd_*/wb_* calls. An empty list: the C speaks the table.
import { Fields, GUEST, LIMITS, OP, POLICIES, PROTO_VERSION, REP_MAGIC, REQ_MAGIC, RUN_DATA_SIZE, RUN_OUTCOMES, STATUS_NAMES, STEP_OPS, STEP_STATUS, WIDTH_BYTES, WIRE, sizeOf } from '../../kvm/wire';

const CALL_BYTES: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

/** The body of C function `name` (braces matched), or null. */
export function functionBody(src: string, name: string): string | null {
  const m = new RegExp(`\\n[A-Za-z_][\\w \\t\\*]*\\b${name}\\s*\\([^)]*\\)\\s*\\{`).exec(src);
  if (!m) return null;
  let depth = 0;
  for (let i = m.index + m[0].length - 1; i < src.length; i++) {
    if (src[i] === '{') depth++;
    else if (src[i] === '}' && --depth === 0) return src.slice(m.index + m[0].length, i);
  }
  return null;
}

/** Byte widths of the rd_uN (reads) or wb_uN (writes) calls of a body, in order. */
export function callWidths(body: string, kind: 'rd' | 'wb'): number[] {
  return [...body.matchAll(new RegExp(`\\b${kind}_(u8|u16|u32|u64)\\s*\\(`, 'g'))].map((m) => CALL_BYTES[m[1]!]!);
}

const widths = (...records: Fields[]): number[] => records.flatMap((f) => f.map(([, w]) => WIDTH_BYTES[w]));

/** #define NAME VALUE, evaluated (integer literals with u suffixes, <<, +, *, other defines). */
export function defines(src: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of src.matchAll(/^#define\s+([A-Z_][A-Z0-9_]*)\s+(.+?)\s*(?:\/\*.*)?$/gm)) {
    let expr = m[2]!.replace(/\b(0x[0-9a-fA-F]+|\d+)u\b/g, '$1');
    expr = expr.replace(/\b[A-Z_][A-Z0-9_]*\b/g, (id) => (out.has(id) ? String(out.get(id)) : id));
    if (!/^[\d\sx a-fA-F()+*<<-]+$/.test(expr)) continue; // not a plain number (e.g. a macro of KVM's)
    out.set(m[1]!, Number(Function(`"use strict"; return (${expr});`)()));
  }
  return out;
}

/** Every enumerator of every `enum { ... }`, with its value (implicit ones counted on). */
export function enumerators(src: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of src.matchAll(/enum\s*\{([^}]*)\}/g)) {
    let next = 0;
    for (const part of m[1]!.split(',').map((x) => x.trim()).filter(Boolean)) {
      const [name, value] = part.split('=').map((x) => x.trim());
      next = value !== undefined ? Number(value.replace(/u$/, '')) : next;
      out.set(name!, next++);
    }
  }
  return out;
}

const snake = (camel: string): string => camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** Where executor/xsave-exec.c (its text) departs from kvm/wire.ts; empty when it does not. */
export function executorWireMismatches(src: string): string[] {
  const out: string[] = [];
  const def = defines(src);
  const en = enumerators(src);
  const expectDefine = (name: string, want: number): void => {
    const got = def.get(name);
    if (got !== want) out.push(`#define ${name}: C ${got ?? 'missing'}, wire.ts ${want}`);
  };
  const expectEnum = (name: string, want: number): void => {
    const got = en.get(name);
    if (got !== want) out.push(`enum ${name}: C ${got ?? 'missing'}, wire.ts ${want}`);
  };
  expectDefine('REQ_MAGIC', REQ_MAGIC);
  expectDefine('REP_MAGIC', REP_MAGIC);
  expectDefine('PROTO_VERSION', PROTO_VERSION);
  for (const [k, v] of Object.entries(LIMITS)) expectDefine(snake(k), v);
  expectDefine('REQ_HDR', sizeOf(WIRE.requestHeader));
  expectDefine('CASE_HDR', sizeOf(WIRE.caseHeader));
  expectDefine('CPUID_WIRE', sizeOf(WIRE.cpuidEntry));
  expectDefine('RUN_RESULT_SIZE', RUN_DATA_SIZE);
  // the count's offset in a reply as the executor builds it: after the frame's length
  expectDefine('REPLY_COUNT_AT', sizeOf(WIRE.frame) + sizeOf(WIRE.replyHeader.slice(0, -1)));
  expectDefine('GUEST_CODE_GPA', GUEST.codeGpa);
  expectDefine('GUEST_SPIN_GPA', GUEST.spinGpa);
  expectDefine('FXSAVE_GPA', GUEST.fxsaveGpa);
  expectDefine('CHECKPOINT_PORT', GUEST.checkpointPort);
  expectDefine('FILL_BYTE', GUEST.fillByte);
  for (const [k, v] of Object.entries(OP)) expectEnum(`OP_${k.toUpperCase()}`, v);
  STATUS_NAMES.forEach((n, i) => expectEnum(`ST_${n}`, i));
  POLICIES.forEach((p, i) => expectEnum(`POL_${p.toUpperCase()}`, i));
  for (const [k, v] of Object.entries(STEP_OPS)) expectEnum(`S_${snake(k)}`, v);
  for (const [k, v] of Object.entries(STEP_STATUS)) expectEnum(`STEP_${k.toUpperCase()}`, v);
  RUN_OUTCOMES.forEach((o, i) => o && expectEnum(`RUN_${o.toUpperCase()}`, i));

  const expectCalls = (fn: string, kind: 'rd' | 'wb', want: number[], how: 'exact' | 'prefix', after?: RegExp, until?: RegExp): void => {
    let body = functionBody(src, fn);
    if (body === null) {
      out.push(`${fn}(): not found in the executor`);
      return;
    }
    if (after) {
      const m = after.exec(body);
      if (!m) {
        out.push(`${fn}(): ${after} not found`);
        return;
      }
      body = body.slice(m.index + m[0].length);
    }
    if (until) {
      const m = until.exec(body);
      if (!m) {
        out.push(`${fn}(): ${until} not found`);
        return;
      }
      body = body.slice(0, m.index);
    }
    const got = callWidths(body, kind);
    const g = got.join(','), w = want.join(',');
    const ok = how === 'exact' ? g === w : g === w || g.startsWith(w + ',');
    if (!ok) out.push(`${fn}()${after ? ` after ${after.source.slice(0, 24)}` : ''}: ${kind}_* byte widths are [${g}], wire.ts says [${w}]`);
  };
  expectCalls('handle', 'rd', widths(WIRE.requestHeader), 'exact');
  expectCalls('handle', 'wb', widths(WIRE.ping), 'exact', /reply_begin\(&w, OP_PING[^;]*;/);
  expectCalls('reply_begin', 'wb', widths(WIRE.frame, WIRE.replyHeader), 'exact');
  expectCalls('send_error', 'wb', widths(WIRE.errorMessage), 'exact');
  expectCalls('do_probe', 'wb', widths(WIRE.probe, WIRE.probeCpuidCount, WIRE.cpuidEntry), 'exact', /reply_begin\([^;]*;/);
  expectCalls('parse_case', 'rd', widths(WIRE.caseHeader, WIRE.step, WIRE.xcr0), 'exact');
  expectCalls('step_set_cpuid', 'rd', widths(WIRE.cpuidEntry), 'exact');
  expectCalls('step_run', 'wb', widths(WIRE.stepResultHeader.slice(-1), WIRE.runResult, WIRE.exit), 'exact');
  expectCalls('run_case', 'wb', widths(WIRE.caseResultHeader, WIRE.stepResultHeader), 'prefix');
  // GET_XCRS data, from the success path of its case (after the error branch's break)
  expectCalls('run_case', 'wb', widths(WIRE.stepResultHeader.slice(-1), WIRE.xcrsHeader, WIRE.xcr), 'exact', /case S_GET_XCRS:[\s\S]*?break;\s*\}/, /case S_SET_REGS:/);
  return out;
}
