/**
 * Progress of long lab steps (downloads, builds, boots, case batches): one line rewritten in
 * place on a TTY, plain lines at most every `everyMs` otherwise (CI logs), each naming what it
 * is about (the kernel and host). Writes to stderr so that --json output stays clean.
 */
export interface Progress {
  update(msg: string): void;
  done(msg: string): void;
}

export interface ProgressOptions {
  /** plain-mode interval; default 10 s */
  everyMs?: number;
  /** where to write; default process.stderr */
  out?: { write(s: string): unknown; isTTY?: boolean };
  /** print nothing (JSON mode) */
  quiet?: boolean;
}

export function progress(label: string, opts: ProgressOptions = {}): Progress {
  const out = opts.out ?? process.stderr;
  const tty = !!out.isTTY;
  const every = opts.everyMs ?? 10_000;
  let last = 0;
  let shown = false;
  const quiet = !!opts.quiet;
  return {
    update(msg: string): void {
      if (quiet) return;
      const now = Date.now();
      if (tty) {
        out.write(`\r\x1b[K[${label}] ${msg}`);
        shown = true;
      } else if (now - last >= every) {
        out.write(`[${label}] ${msg}\n`);
        last = now;
      }
    },
    done(msg: string): void {
      if (quiet) return;
      if (tty && shown) out.write(`\r\x1b[K`);
      out.write(`[${label}] ${msg}\n`);
    },
  };
}
