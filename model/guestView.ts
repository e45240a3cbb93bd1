// What the guest itself can observe of its extended state: the register file after the
// kernel's XRSTOR of the guest fpstate, restricted to what the guest's XCR0 makes visible, plus
// PKRU. KVM restores every fpstate component except PKRU with XRSTOR(S) and switches PKRU
// separately (kvm_load_guest_xsave_state: only if guest XCR0.PKRU or CR4.PKE; CR4.PKE is not
// modelled, so PKRU counts as visible iff XCR0.PKRU).
import type { Host } from './hosts';
import { OFF } from './layout';
import { toHex, writeU64 } from './region';
import type { Vcpu } from './vcpu';
import { RegisterFile, initComponent, xrstorStandard } from './xrstor';
import { COMPONENTS, MASK, bitsOf, hex } from './xfeatures';

/** The XRSTOR form whose MXCSR rule applies when the kernel restores a guest on `host`. */
export function kernelXrstorForm(host: Host): 'standard' | 'compacted' {
  return host.kernelXrstor ?? 'standard';
}

export interface GuestView {
  xcr0: string;
  mxcsr: string;
  /** component short name → hex contents, for each component visible under XCR0 (x87/SSE always) */
  components: Record<string, string>;
  pkru: string | null;
}

// The image XRSTOR reads, rebuilt in one buffer reused from call to call (guestView returns
// strings only, so nothing keeps it); a copy per call was a large part of a property case.
let memScratch: Uint8Array = new Uint8Array(0);

export function guestView(vcpu: Vcpu): GuestView {
  const layout = vcpu.host.layout;
  if (memScratch.length !== vcpu.fpu.image.length) memScratch = new Uint8Array(vcpu.fpu.image.length);
  const mem = memScratch;
  mem.set(vcpu.fpu.image);
  writeU64(mem, OFF.XSTATE_BV, vcpu.fpu.xstateBv);
  mem.fill(0, OFF.XCOMP_BV, OFF.EXTENDED); // the kernel's own header is always well-formed
  const prior: RegisterFile = { comps: new Map(), mxcsr: 0x1f80 };
  const restoreMask = vcpu.supportedXcr0 & ~MASK.PKRU;
  const form = kernelXrstorForm(vcpu.host);
  const r = xrstorStandard(mem, layout, { xcr0: vcpu.supportedXcr0, request: restoreMask, mxcsrMask: 0xffffffff, form }, prior);
  if (r.fault !== null) throw new Error(`model invariant: the kernel's own XRSTOR faulted (${r.fault})`);
  const visible = (vcpu.xcr0 | MASK.FPSSE) & ~MASK.PKRU;
  const components: Record<string, string> = {};
  for (const i of bitsOf(visible)) {
    const bytes = r.regs.comps.get(i) ?? initComponent(layout, i);
    components[COMPONENTS[i]!.short] = toHex(bytes);
  }
  return {
    xcr0: hex(vcpu.xcr0),
    mxcsr: hex(r.regs.mxcsr),
    components,
    pkru: (vcpu.xcr0 & MASK.PKRU) !== 0n ? hex(vcpu.pkru) : null,
  };
}

/** Names of the parts of the guest view that differ (empty when equal). */
export function diffViews(a: GuestView, b: GuestView): string[] {
  const out: string[] = [];
  if (a.xcr0 !== b.xcr0) out.push('xcr0');
  if (a.mxcsr !== b.mxcsr) out.push('mxcsr');
  if (a.pkru !== b.pkru) out.push('pkru');
  const names = new Set([...Object.keys(a.components), ...Object.keys(b.components)]);
  for (const n of names) if (a.components[n] !== b.components[n]) out.push(n);
  return out;
}

