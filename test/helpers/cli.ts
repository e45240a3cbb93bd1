// Running the CLI from the TypeScript sources in a child process (see scripts/ts-register.js).
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { main } from '../../cli/main';

export const ROOT = path.resolve(__dirname, '..', '..');
const REGISTER = path.join(ROOT, 'scripts', 'ts-register.js');
const MAIN = path.join(ROOT, 'cli', 'main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; done: Promise<CliResult>; stdout: () => string } {
  const child = spawn(process.execPath, ['-r', REGISTER, MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Resolves once stdout contains `text` (or rejects after `ms`). */
export function waitForOutput(get: () => string, text: string, ms: number): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (get().includes(text)) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for "${text}"; output so far:\n${get()}`));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

/** Runs the CLI in this process (no child): its exit code and what it printed on stdout and stderr. */
export async function runMain(argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    return { code: await main(argv), out: out.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}
