// Building the executor (`make -C executor`): used by the CLI's real-KVM session (kvm/session.ts)
// and by the tests' availability check (kvm/testkit.ts).
import { execFileSync } from 'child_process';
import { executorDir } from './available';

/** Runs `make -C executor [target]`; returns an error message or undefined. */
export function buildExecutor(target?: 'asan'): string | undefined {
  try {
    execFileSync('make', ['-s', '-C', executorDir(), ...(target ? [target] : [])], { stdio: 'pipe', timeout: 120_000 });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return `make -C executor ${target ?? ''} failed: ${err.stderr?.toString().trim() || err.message}`;
  }
}
