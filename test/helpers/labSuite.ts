// The lab suites' shared set-up: skip (with the reason, once) where QEMU is missing; otherwise
// boot KERNEL × HOST once per describe block, check it, and close it (no VM outlives the suite).
import { openLab, LabSession } from '../../lab/session';
import { qemuAvailability } from '../../lab/vm';

export function labDescribe(suite: string): jest.Describe {
  const q = qemuAvailability();
  if (!q.ok) {
    console.warn(`[${suite}] SKIPPED (the kernel lab needs QEMU): ${q.reason}`);
    return describe.skip;
  }
  return describe;
}

/** Boots the pair in beforeAll (cache warmed by `lab setup`; builds it otherwise) and closes it in afterAll. */
export function withLab(kernel: string, host: string): () => LabSession {
  let s: LabSession | undefined;
  beforeAll(async () => {
    s = await openLab(kernel, host);
  }, 600_000);
  afterAll(async () => {
    await s?.close();
  }, 30_000);
  return () => {
    if (!s) throw new Error(`lab ${kernel}/${host} did not boot`);
    return s;
  };
}

/** Whether a process is still alive. */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
