/** Exit codes of every xsave-harness command (README "CLI"). */
export const EXIT = {
  OK: 0,
  /** an expectation or a property failed / a finding */
  FAILED: 1,
  /** an input file was unusable, or an infrastructure error */
  UNUSABLE: 2,
  /** the command line itself was wrong */
  USAGE: 3,
  /** the real-KVM backend is not available here (/dev/kvm missing or not permitted) */
  NO_KVM: 4,
} as const;

export class UsageError extends Error {}
