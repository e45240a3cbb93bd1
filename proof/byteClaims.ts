// The byte-level statements of P1 and P3 (issue 14 item 5): the fixup as a function of the whole
// buffer, a z3 array from every 32-bit index to a byte, and the fixup's inputs as free values. The
// fixup is the ByteFixup the model runs (for the patch, fixup.ts pveFixupBytes). A byte index is a
// free variable, so "for every byte" needs no quantifier: a counterexample names the byte.
// Each counterexample is replayed concretely (BYTE_OPS on a Uint8Array built from z3's model) before
// it is reported.
import { BitOps, ByteFixup, FixupValues, subset } from '../model/bitLogic';
import { BYTE_OPS } from '../model/byteOps';
import { OFF } from '../model/layout';
import { hex } from '../model';
import { MASK } from '../model/xfeatures';
import { readU64 } from '../model/region';
import type { ClaimId } from './claims';
import type { BitVec } from 'z3-solver';
import { BV, Bytes, Z3Bool, Z3Ctx, z3ByteOps, z3Bytes } from './z3';

type B8 = BitVec<8, 'main'>;

/** The byte that holds XSTATE_BV bit 9 (PKRU), and that bit in it. */
export const PKRU_BYTE = OFF.XSTATE_BV + 1;
const PKRU_BIT_IN_BYTE = Number(MASK.PKRU >> 8n);

export interface ByteClaimDef {
  id: ClaimId | 'fields=bytes';
  title: string;
  statement: string;
}

export const BYTE_CLAIMS: readonly ByteClaimDef[] = [
  {
    id: 'P1',
    title: 'no byte of a valid buffer changes',
    statement:
      "For every buffer (every byte at every index) and every fixup input (64-bit guest-supported, supported XCR0 and XCR0, CPUID.7 PKU), for a vCPU that is not confidential (the fixup never runs for one): XSTATE_BV ⊆ guest-supported ∪ {x87,SSE} ⇒ the fixup leaves every byte as it was. SET's outcome and the vCPU state after it follow without z3: setXsave.ts computes them from the vCPU and the kernel's copy only, so an unchanged copy gives the same result as without the fixup.",
  },
  {
    id: 'P3',
    title: 'no byte changes except bit 9 of XSTATE_BV, and the fixup is idempotent',
    statement:
      'For every buffer and every fixup input (confidential or not): fixup(r) differs from r at most in bit 1 of byte 513 (XSTATE_BV bit 9), and fixup(fixup(r)) = fixup(r) byte for byte.',
  },
  {
    id: 'fields=bytes',
    title: 'the header-field fixup is the byte function the model runs',
    statement:
      'For every buffer and every fixup input: the fixup over header fields (the one the header-field claims are proved for), lifted to bytes (xsaveFields.ts liftFields), writes exactly the bytes the byte function the model runs writes.',
  },
];

interface Vars {
  r: Bytes;
  i: BitVec<32, 'main'>;
  ctx: FixupValues<BV, Z3Bool>;
  named: Record<string, BV | Z3Bool>;
}

function vars(Z: Z3Ctx): Vars {
  const bv = (n: string) => Z.BitVec.const(n, 64) as BV;
  const named = {
    guestSupportedXcr0: bv('guestSupportedXcr0'),
    hostSupportedXcr0: bv('hostSupportedXcr0'),
    xcr0: bv('xcr0'),
    confidential: Z.Bool.const('confidential'),
    cpuidPku: Z.Bool.const('cpuidPku'),
  };
  return { r: z3Bytes(Z, 'region'), i: Z.BitVec.const('index', 32) as BitVec<32, 'main'>, ctx: named, named };
}

/** The formula that holds when the claim holds, over the free buffer, index and inputs. */
function holds(Z: Z3Ctx, id: ByteClaimDef['id'], v: Vars, fixup: ByteFixup, other: ByteFixup | null): Z3Bool {
  const o = z3ByteOps(Z);
  const once = fixup(o, v.ctx, v.r);
  const at = (r: Bytes) => r.select(v.i) as B8;
  if (id === 'P1') {
    const valid = subset(o, o.readU64(v.r, OFF.XSTATE_BV), o.or(v.ctx.guestSupportedXcr0, o.const(MASK.FPSSE)));
    return Z.Implies(Z.And(Z.Not(v.ctx.confidential), valid), at(once).eq(at(v.r)));
  }
  if (id === 'P3') {
    const pkruByte = Z.BitVec.val(PKRU_BYTE, 32);
    const others = Z.Implies(Z.Not(v.i.eq(pkruByte)), at(once).eq(at(v.r)));
    const changed = (once.select(pkruByte) as B8).xor(v.r.select(pkruByte) as B8);
    const onlyBit = changed.and(Z.BitVec.val(0xff ^ PKRU_BIT_IN_BYTE, 8)).eq(Z.BitVec.val(0, 8));
    const twice = fixup(o, v.ctx, once);
    return Z.And(others, onlyBit, at(twice).eq(at(once)));
  }
  return at(once).eq(at(other!(o, v.ctx, v.r)));
}

/** The model's structural invariant guest-supported ⊆ supported XCR0 (claims.ts domain). */
function domain(o: BitOps<BV, Z3Bool>, v: Vars, invariants: boolean): Z3Bool {
  return invariants ? subset(o, v.ctx.guestSupportedXcr0, v.ctx.hostSupportedXcr0) : o.bool(true);
}

export interface ByteCounterexample {
  /** the fixup inputs and the byte z3 chose */
  values: Record<string, string | boolean>;
  /** what the fixup did to that byte, replayed concretely on a 4096-byte buffer built from z3's model */
  replay: string;
}

export interface ByteClaimResult {
  id: ByteClaimDef['id'];
  status: 'proved' | 'counterexample';
  ms: number;
  counterexample: ByteCounterexample | null;
}

/** Prove one byte-level claim for a fixup over bytes; `other` is the byte function the model runs (for 'fields=bytes'). */
export async function proveByteClaim(Z: Z3Ctx, id: ByteClaimDef['id'], fixup: ByteFixup, other: ByteFixup | null, invariants = true): Promise<ByteClaimResult> {
  const t0 = Date.now();
  const v = vars(Z);
  const solver = new Z.Solver();
  solver.add(domain(z3ByteOps(Z), v, invariants), Z.Not(holds(Z, id, v, fixup, other)));
  const r = await solver.check();
  if (r === 'unknown') throw new Error(`z3 returned unknown for the byte-level ${id}`);
  if (r === 'unsat') return { id, status: 'proved', ms: Date.now() - t0, counterexample: null };
  const m = solver.model();
  const num = (e: unknown): bigint => (m.eval(e as never, true) as unknown as { value(): bigint }).value();
  const bool = (e: unknown): boolean => Z.isTrue(m.eval(e as never, true));
  const index = Number(num(v.i));
  const ctx: FixupValues<bigint, boolean> = {
    guestSupportedXcr0: num(v.named['guestSupportedXcr0']),
    hostSupportedXcr0: num(v.named['hostSupportedXcr0']),
    xcr0: num(v.named['xcr0']),
    confidential: bool(v.named['confidential']),
    cpuidPku: bool(v.named['cpuidPku']),
  };
  // The buffer z3 chose, concretely: the first 4096 bytes (every byte a fixup in the catalogue touches).
  const before = new Uint8Array(4096);
  for (let k = 0; k < before.length; k++) before[k] = Number(num(v.r.select(Z.BitVec.val(k, 32))));
  const after = before.slice();
  fixup(BYTE_OPS, ctx, after);
  const diffs: string[] = [];
  for (let k = 0; k < before.length && diffs.length < 4; k++) if (before[k] !== after[k]) diffs.push(`byte ${k}: ${hex(before[k]!)} → ${hex(after[k]!)}`);
  let replay = diffs.length ? `the fixup changed ${diffs.join(', ')}` : 'the fixup changed no byte of the first 4096';
  if (id === 'P3' && !diffs.length) {
    const twice = after.slice();
    fixup(BYTE_OPS, ctx, twice);
    const again = [...twice.keys()].filter((k) => twice[k] !== after[k]).slice(0, 4).map((k) => `byte ${k}: ${hex(after[k]!)} → ${hex(twice[k]!)}`);
    replay = again.length ? `a second application changed ${again.join(', ')}` : replay;
  }
  if (id === 'fields=bytes') {
    const theirs = before.slice();
    other!(BYTE_OPS, ctx, theirs);
    const d = [...theirs.keys()].filter((k) => theirs[k] !== after[k]).slice(0, 4).map((k) => `byte ${k}: ${hex(after[k]!)} vs ${hex(theirs[k]!)}`);
    replay = d.length ? `lifted fields vs model bytes differ at ${d.join(', ')}` : 'no difference in the first 4096 bytes';
  }
  const values: Record<string, string | boolean> = {
    index: String(index),
    xstateBv: hex(readU64(before, OFF.XSTATE_BV)),
    ...Object.fromEntries(Object.entries(ctx).map(([k, x]) => [k, typeof x === 'bigint' ? hex(x) : x])),
  };
  return { id, status: 'counterexample', ms: Date.now() - t0, counterexample: { values, replay } };
}
