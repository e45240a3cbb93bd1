/** Running a system command with a bounded wait, its output kept for the error message. */
import { execFile } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    message: string,
    readonly output: string,
  ) {
    super(`${command}: ${message}${output ? `\n${output.trim().split('\n').slice(-15).join('\n')}` : ''}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  maxBuffer?: number;
}

/** Runs `file args`; resolves with stdout, rejects with CommandError (exit code, timeout, missing). */
export async function runCommand(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await runCommandBytes(file, args, opts)).toString('utf8');
}

/** As runCommand, stdout as bytes. */
export function runCommandBytes(file: string, args: readonly string[], opts: RunOptions = {}): Promise<Buffer> {
  const shown = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      {
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 120_000,
        killSignal: 'SIGKILL',
        maxBuffer: opts.maxBuffer ?? 64 << 20,
        env: { ...process.env, ...(opts.env ?? {}) },
        encoding: 'buffer',
      },
      (err, stdout, stderr) => {
        const out = `${stdout.toString('utf8')}${stderr.toString('utf8')}`;
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        if (e.code === 'ENOENT') return reject(new CommandError(shown, `${file} is not installed`, ''));
        if (e.killed) return reject(new CommandError(shown, `no result within ${(opts.timeoutMs ?? 120_000) / 1000} s (killed)`, out));
        reject(new CommandError(shown, `exit ${String(e.code)}`, out));
      },
    );
  });
}
