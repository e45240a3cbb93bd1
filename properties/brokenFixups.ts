// Deliberately broken fixups: the negative controls. Each models a plausible mistake and names
// the property that must catch it (properties.test.ts shows each one caught).
import { Fixup, MASK, OFF, XFEATURE, pveFixup, readU64, slotOf, writeU32, writeU64, layoutFor } from '../model';

const bvOf = (r: Uint8Array) => readU64(r, OFF.XSTATE_BV);
const setBv = (r: Uint8Array, v: bigint) => writeU64(r, OFF.XSTATE_BV, v);

export interface BrokenFixup extends Fixup {
  /** the property that catches it */
  caughtBy: 'P1' | 'P2' | 'P3' | 'P4' | 'P5';
  description: string;
}

export const BROKEN_FIXUPS: readonly BrokenFixup[] = [
  {
    name: 'always-clear-pkru',
    caughtBy: 'P1',
    description: 'clears bit 9 without asking whether the guest supports PKRU',
    fn: (_ctx, r) => setBv(r, bvOf(r) & ~MASK.PKRU),
  },
  {
    name: 'clamp-to-guest-supported',
    caughtBy: 'P1',
    description: 'clamps XSTATE_BV to guest-supported XCR0, forgetting that x87/SSE are always allowed',
    fn: (ctx, r) => setBv(r, bvOf(r) & ctx.guestSupportedXcr0),
  },
  {
    name: 'zero-pkru-area',
    caughtBy: 'P1',
    description: 'also zeroes the PKRU area (at the Intel offset) whenever it runs',
    fn: (_ctx, r) => writeU32(r, slotOf(layoutFor('intel'), XFEATURE.PKRU)!.offset, 0),
  },
  {
    name: 'wrong-bit',
    caughtBy: 'P2',
    description: 'clears bit 8 (PT) instead of bit 9 (PKRU)',
    fn: (ctx, r) => {
      if ((ctx.guestSupportedXcr0 & MASK.PKRU) === 0n) setBv(r, bvOf(r) & ~(1n << 8n));
    },
  },
  {
    name: 'decides-on-host',
    caughtBy: 'P2',
    description: 'clears PKRU only when the host lacks PKU (wrong source for the decision)',
    fn: (ctx, r) => {
      if ((ctx.hostSupportedXcr0 & MASK.PKRU) === 0n) setBv(r, bvOf(r) & ~MASK.PKRU);
    },
  },
  {
    name: 'toggle-pkru',
    caughtBy: 'P3',
    description: 'flips bit 9 instead of clearing it: a second run sets it again',
    fn: (ctx, r) => {
      if ((ctx.guestSupportedXcr0 & MASK.PKRU) === 0n) setBv(r, bvOf(r) ^ MASK.PKRU);
    },
  },
  {
    name: 'also-clears-xcomp',
    caughtBy: 'P4',
    description: 'also zeroes XCOMP_BV, turning a malformed header into an accepted one',
    fn: (ctx, r) => {
      pveFixup(ctx, r);
      writeU64(r, OFF.XCOMP_BV, 0n);
    },
  },
  {
    name: 'clamp-to-supported',
    caughtBy: 'P4',
    description: 'clamps XSTATE_BV to guest-supported | x87 | SSE (Tyler Stachecki\'s general clamp): bits the host lacks are silently dropped',
    fn: (ctx, r) => setBv(r, bvOf(r) & (ctx.guestSupportedXcr0 | MASK.FPSSE)),
  },
  {
    name: 'clears-fp',
    caughtBy: 'P5',
    description: 'clears the x87 bit along with PKRU: x87 state is reset after restore',
    fn: (ctx, r) => {
      if ((ctx.guestSupportedXcr0 & MASK.PKRU) === 0n) setBv(r, bvOf(r) & ~(MASK.PKRU | MASK.FP));
    },
  },
];

export function brokenFixup(name: string): BrokenFixup {
  const f = BROKEN_FIXUPS.find((x) => x.name === name);
  if (!f) throw new Error(`no broken fixup named ${name}`);
  return f;
}
