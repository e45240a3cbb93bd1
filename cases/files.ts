// File handling shared by the CLI, replay and the fuzzer: atomic writes and case discovery.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Write `data` to `file` atomically: a temporary file in the same folder, then rename. */
export function writeFileAtomic(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Every *.json file under the given files and folders, sorted, folders walked recursively. */
export function collectCaseFiles(paths: string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = (p: string): void => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name));
    } else if (p.endsWith('.json')) {
      files.push(p);
    }
  };
  for (const p of paths) {
    if (!fs.existsSync(p)) missing.push(p);
    else if (fs.statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
  return { files, missing };
}

/** A short content hash, for file names that deduplicate identical findings. */
export function contentId(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
