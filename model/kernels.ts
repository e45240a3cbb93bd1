// Kernel variants as data: which rule each kernel applies in KVM_GET_XSAVE, KVM_SET_XSAVE and
// KVM_SET_XCRS. Each field names the commit that introduced the behaviour; the functions that
// apply the rules live in getXsave.ts, setXsave.ts and setXcrs.ts. Facts:
// shared/research/kernel-semantics.md (§1 table, §2-§6).
import { MASK, XFEATURE, bit } from './xfeatures';

/** KVM_SUPPORTED_XCR0 in 5.15: FP SSE YMM BNDREGS BNDCSR OPMASK ZMM_Hi256 Hi16_ZMM PKRU. */
const KVM_SUPPORTED_515 = 0x2ffn;
/** 5.17+ add XTILE_CFG/XTILE_DATA (AMX); APX (bit 19) is not in it as of 6.19. */
const KVM_SUPPORTED_AMX = KVM_SUPPORTED_515 | MASK.XTILE;

/**
 * What fpstate->user_xfeatures of a guest holds (the set SET validates against, check 2):
 * - 'none': 5.15 has no user_xfeatures on KVM's path.
 * - 'host': the host's default user features (5.16-5.17-rc5, d69c1382e1b7; again from
 *   8647c52e9504 in 6.6), plus XTILE_DATA once the guest fpstate is reallocated for AMX.
 * - 'gsx': guest-supported only (ad856280ddea, 5.17-rc6 … 6.0-rc6).
 * - 'gsx+fpsse': guest-supported | x87 | SSE (a1020a25e697, 6.0-rc7 … 6.5).
 */
export type UserXfeaturesRule = 'none' | 'host' | 'gsx' | 'gsx+fpsse';

/**
 * How KVM_GET_XSAVE builds the buffer:
 * - 'fill-5.15': 5.15 fill_xsave: legacy bytes verbatim, XSTATE_BV ∩ (gsx|FPSSE), PKRU area
 *   only when emitted.
 * - 'uabi-uxf': 5.16-6.5 __copy_xstate_to_uabi_buf: XSTATE_BV ∩ uxf, PKRU area written with
 *   vcpu->arch.pkru whenever PKRU ∈ uxf (even when the bit is clear).
 * - 'uabi-masked': 6.6+ (18164f66e6c5 + 8647c52e9504): XSTATE_BV ∩ uxf ∩ (gsx|FPSSE), loop over
 *   the emitted bits only.
 */
export type GetRule = 'fill-5.15' | 'uabi-uxf' | 'uabi-masked';

/** 'load-5.15': 5.15 load_xsave; 'fpu-uabi': fpu_copy_uabi_to_guest_fpstate (5.16+). */
export type SetRule = 'load-5.15' | 'fpu-uabi';

/**
 * How the kernel derives the vCPU's guest-supported XCR0:
 * - 'cpuid': CPUID(0xD,0) EDX:EAX ∩ supported XCR0, 0 when absent or CPUID never set (upstream).
 * - 'host-after-cpuid': measured on this project's 6.18 PVM kernel (real-kvm-here.md, refined in
 *   docs/kvm-findings.md): the whole host set once the CPUID table holds leaf 1 or leaf 0xD.0
 *   (whatever their contents), 0 otherwise.
 */
export type GsxRule = 'cpuid' | 'host-after-cpuid';

export type PveVariant = 'A' | 'B' | 'C';

export interface KernelVariant {
  id: string;
  title: string;
  /** KVM_SUPPORTED_XCR0 of this kernel (intersected with the host's XCR0 gives KVM's supported XCR0). */
  kvmSupportedXcr0: bigint;
  userXfeatures: UserXfeaturesRule;
  get: GetRule;
  set: SetRule;
  gsx: GsxRule;
  /** KVM_GET_XSAVE2 / KVM_CAP_XSAVE2 exist (5.17+); without them the region is always 4096 bytes. */
  xsave2: boolean;
  /** GET/SET on a protected-state vCPU: 'ignore' = rc 0 and nothing done; 'einval' (6.12+). */
  confidential: 'ignore' | 'einval';
  /** 6.19: KVM_SET_XSAVE clears XSTATE_BV bits set in fpstate->xfd before the fpu layer. */
  xfdPremask: boolean;
  /** the Proxmox PKRU patch this kernel carries (kernel-semantics.md §6), or null */
  pvePatch: PveVariant | null;
  /** statements of this variant that rest on UNCONFIRMED research */
  unconfirmed?: string[];
  /** statements checked on the real kernel in the kernel lab (lab/, docs/lab.md), with how */
  measured?: string[];
}

const upstream515: Omit<KernelVariant, 'id' | 'title'> = {
  kvmSupportedXcr0: KVM_SUPPORTED_515,
  userXfeatures: 'none',
  get: 'fill-5.15',
  set: 'load-5.15',
  gsx: 'cpuid',
  xsave2: false,
  confidential: 'ignore',
  xfdPremask: false,
  pvePatch: null,
};

// 5.16 (d69c1382e1b7 FPU rework): user_xfeatures = host defaults, GET masks only with it → leaks.
const leaky516: Omit<KernelVariant, 'id' | 'title'> = {
  ...upstream515,
  userXfeatures: 'host',
  get: 'uabi-uxf',
  set: 'fpu-uabi',
  unconfirmed: [
    '5.16 SET header and MXCSR checks taken to be the 6.2 ones (validate_user_xstate_header predates 5.16)',
  ],
};

const linux62: Omit<KernelVariant, 'id' | 'title'> = {
  ...leaky516,
  kvmSupportedXcr0: KVM_SUPPORTED_AMX,
  userXfeatures: 'gsx+fpsse', // a1020a25e697
  xsave2: true,
  unconfirmed: [],
};

const linux66: Omit<KernelVariant, 'id' | 'title'> = {
  ...linux62,
  userXfeatures: 'host', // 8647c52e9504 removes the uxf assignment from cpuid.c
  get: 'uabi-masked', // 18164f66e6c5 + 8647c52e9504
};

const linux612: Omit<KernelVariant, 'id' | 'title'> = { ...linux66, confidential: 'einval' };
const linux619: Omit<KernelVariant, 'id' | 'title'> = { ...linux612, xfdPremask: true };

function k(id: string, title: string, base: Omit<KernelVariant, 'id' | 'title'>, extra: Partial<KernelVariant> = {}): KernelVariant {
  return { ...base, id, title, ...extra };
}

export const KERNELS: readonly KernelVariant[] = [
  k('linux-5.15', 'upstream 5.15: fill_xsave masks GET with guest-supported, SET checks only supported XCR0 and MXCSR', upstream515),
  k('linux-5.16', 'upstream 5.16 (d69c1382e1b7): user_xfeatures = host features, GET leaks host-only bits such as PKRU', leaky516),
  k('pve-5.15', 'Proxmox VE 7 kernel (Ubuntu Jammy 5.15 with the 5.16 FPU rework backported): leaks like 5.16', leaky516, {
    unconfirmed: ['the Jammy 5.15 backport of the FPU rework (kernel-semantics.md §3.2) is inferred from the Proxmox commit message'],
  }),
  k('linux-5.17', 'upstream 5.17 (ad856280ddea): user_xfeatures = guest-supported only, FP/SSE refused for non-XSAVE guests', linux62, {
    userXfeatures: 'gsx',
  }),
  k('linux-6.2', 'upstream 6.2 (a1020a25e697): user_xfeatures = guest-supported|FP|SSE; SET refuses guest-unsupported bits', linux62),
  k('linux-6.6', 'upstream 6.6 (8647c52e9504): GET masks with guest-supported, SET accepts any host-supported bit', linux66),
  k('linux-6.12', 'upstream 6.12: as 6.6, protected-state vCPUs get -EINVAL', linux612),
  k('linux-6.19', 'upstream 6.19: as 6.12, SET first clears XSTATE_BV bits armed in XFD', linux619),
  k('pve-6.2-2023-07', 'PVE 8.0 kernel 6.2 with the PKRU patch (1559d22f3510, variant A)', linux62, { pvePatch: 'A' }),
  k('pve-6.2-2023-10', 'PVE 8 kernel 6.2 with the PKRU patch and the 6.6 GET/SET backport (6d825fcff3fc)', linux66, { pvePatch: 'A' }),
  k('pve-6.5', 'PVE 8 kernel 6.5 with the PKRU patch (variant A)', linux66, { pvePatch: 'A' }),
  k('pve-6.8', 'PVE 8 kernel 6.8 with the PKRU patch (variant A)', linux66, { pvePatch: 'A' }),
  k('pve-6.11', 'PVE 8 kernel 6.11 with the PKRU patch (variant A)', linux66, { pvePatch: 'A' }),
  k('pve-6.14', 'PVE 8/9 kernel 6.14 with the PKRU patch (9ecdffc222e0, variant B)', linux612, { pvePatch: 'B' }),
  k('pve-6.17', 'PVE 9 kernel 6.17 with the PKRU patch (variant B)', linux612, { pvePatch: 'B' }),
  k('pve-7.0', 'PVE kernel 7.0 with the PKRU patch after the XFD pre-mask (c122cdc78e79, variant C)', linux619, { pvePatch: 'C' }),
  // The kernel lab's stock kernels (lab/catalogue.ts), checked against the real kernel under QEMU.
  k('debian-6.1', "Debian 12's 6.1.192-3: 6.1-stable with 18164f66e6c5 + 8647c52e9504 backported, so 6.6 rules; no protected-state checks", linux66, {
    measured: [
      '6.6 GET/SET/XCRS rules: every calibration probe step and 10,000 generated cases per lab host (pku, nopku, noavx) agree (kvm-check --lab debian-6.1 --host all)',
      'the MXCSR reserved-bit check applies only when XSTATE_BV has x87, SSE or YMM (probe mxcsr/*, class accepted/mxcsr-reserved-unchecked)',
    ],
  }),
  k('debian-6.12', "Debian 12's 6.12.118 backport kernel: upstream 6.12 rules", linux612, {
    measured: [
      '6.12 GET/SET/XCRS rules: every calibration probe step and 10,000 generated cases per lab host (pku, nopku, noavx) agree (kvm-check --lab debian-6.12 --host all)',
      'the MXCSR reserved-bit check applies only when XSTATE_BV has x87, SSE or YMM (probe mxcsr/*, class accepted/mxcsr-reserved-unchecked)',
    ],
  }),
  // The kernel lab's rebuilt kernels (lab/patches/, built by lab/build/build-kvm.sh): Debian 6.1
  // and 6.12 with KVM modules patched; checked against the real kernels like the stock ones.
  k('debian-6.1+pve', 'Debian 6.1 (6.6 rules) with the Proxmox PKRU patch in C, variant A placement (lab/patches/pve-pkru-6.1.patch)', linux66, {
    pvePatch: 'A',
    measured: ['the patch in C: every calibration probe step and 10,000 generated cases per lab host (pku, nopku, noavx) agree (kvm-check --lab debian-6.1+pve --host all), with the built-in plug-in as the model of the patch', 'every killable mutant of the catalogue mispredicts a real outcome (lab mutants)'],
  }),
  k('debian-6.12+pve', 'Debian 6.12 with the Proxmox PKRU patch in C, variant B placement (lab/patches/pve-pkru-6.12.patch)', linux612, {
    pvePatch: 'B',
    measured: ['the patch in C: every calibration probe step and 10,000 generated cases per lab host (pku, nopku, noavx) agree (kvm-check --lab debian-6.12+pve --host all), with the built-in plug-in as the model of the patch'],
  }),
  k('debian-6.1-2023', 'Debian 6.1 with the 6.2-era user_xfeatures rule of a1020a25e697 restored (the PVE 8.0 target of the July 2023 incident)', linux62, {
    measured: ['6.2 rules: every calibration probe step and 10,000 generated cases per lab host (pku, nopku, noavx) agree (kvm-check --lab debian-6.1-2023 --host all)', 'before the first KVM_SET_CPUID2 user_xfeatures is the host default (a never-set vCPU accepts XSTATE_BV 0x203; docs/lab-kernels.md)', 'the incident: a leaked state refused, QEMU 7.2 resumes with partial state, 8.2 aborts (lab incident)'],
  }),
  k('debian-6.1-2023+pve', 'debian-6.1-2023 with the Proxmox PKRU patch, variant A: PVE 8.0 as shipped in July 2023', linux62, {
    pvePatch: 'A',
    measured: ['every calibration probe step and 10,000 generated cases per lab host (pku, nopku, noavx) agree (kvm-check --lab debian-6.1-2023+pve --host all)', 'the incident\'s leaked state restored intact under QEMU 7.2 and 8.2 (lab incident)'],
  }),
  k('debian-6.1-leaky', 'Debian 6.1 whose KVM_GET_XSAVE masks with user_xfeatures = host features only (pre-ad856280ddea): stands in for the PVE 7.4 source', linux62, {
    userXfeatures: 'host',
    get: 'uabi-uxf',
    measured: [
      'every calibration probe step and 10,000 generated cases per lab host (pku, nopku, noavx) agree (kvm-check --lab debian-6.1-leaky --host all)',
      'the leak from a real guest run: a qemu64 vCPU run on a PKU host saves XSTATE_BV 0x203, its PKRU area holding the vCPU\'s own PKRU (0), not the host\'s (lab incident; kernel-semantics.md §3.5)',
    ],
  }),
  k('linux-6.18-pvm', 'the project machines\' 6.18 kernel with the PVM backend: 6.12 rules, guest-supported XCR0 = host set after KVM_SET_CPUID2', linux612, {
    gsx: 'host-after-cpuid',
  }),
];

export const KERNEL_IDS: readonly string[] = KERNELS.map((x) => x.id);

/** The kernel id `this` resolves to when no calibration of the running kernel is available. */
export const THIS_DEFAULT = 'linux-6.18-pvm';

export function kernelById(id: string): KernelVariant | undefined {
  return KERNELS.find((x) => x.id === id);
}

/** GET leaks host-only user bits: user_xfeatures holds the host set and GET masks only with it. */
export function isLeaky(kv: KernelVariant): boolean {
  return kv.get === 'uabi-uxf' && kv.userXfeatures === 'host';
}

/** AMX pair rule in __kvm_set_xcr appears with AMX support (5.17). */
export function hasAmxXcr0Rule(kv: KernelVariant): boolean {
  return (kv.kvmSupportedXcr0 & MASK.XTILE) !== 0n;
}

export const PKRU_BIT = bit(XFEATURE.PKRU);
