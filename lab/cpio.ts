/**
 * A cpio "newc" archive writer, the format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst describes it). Written here so
 * that building an initramfs needs no cpio program: a 110-byte ASCII header of hex fields, the
 * NUL-terminated name padded to 4 bytes, the data padded to 4 bytes, and a TRAILER!!! entry.
 */
export interface CpioEntry {
  /** path inside the archive, without a leading slash */
  name: string;
  /** 'file' (with data), 'dir' or 'symlink' (data = the link target) */
  type: 'file' | 'dir' | 'symlink';
  /** permission bits, e.g. 0o755 */
  mode: number;
  data?: Uint8Array;
}

const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000 } as const;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** The archive bytes for `entries`, in the order given (parents before children). */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Uint8Array): void => {
    const nameBytes = Buffer.from(name + '\0', 'utf8');
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
    const header = '070701' + fields.map(hex8).join('');
    parts.push(Buffer.from(header, 'ascii'), nameBytes, Buffer.alloc(pad4(110 + nameBytes.length)));
    parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength), Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) {
    if (e.name.startsWith('/') || e.name === '') throw new RangeError(`cpio entry name "${e.name}" must be relative and non-empty`);
    const data = e.type === 'dir' ? new Uint8Array(0) : (e.data ?? new Uint8Array(0));
    push(e.name, TYPE_BITS[e.type] | (e.mode & 0o7777), data);
  }
  push('TRAILER!!!', 0, new Uint8Array(0));
  return Buffer.concat(parts);
}

/** Parses a newc archive back into entries (tests, and the cache's sanity check). */
export function readCpioNewc(buf: Uint8Array): CpioEntry[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: CpioEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + 110 > b.length) throw new RangeError(`cpio: truncated header at byte ${off}`);
    const magic = b.toString('ascii', off, off + 6);
    if (magic !== '070701') throw new RangeError(`cpio: bad magic "${magic}" at byte ${off}`);
    const field = (i: number): number => parseInt(b.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = off + 110;
    const name = b.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = nameStart + nameSize + pad4(110 + nameSize);
    if (dataStart + size > b.length) throw new RangeError(`cpio: entry "${name}" runs past the end`);
    if (name === 'TRAILER!!!') return out;
    const kind = mode & 0o170000;
    const type = kind === TYPE_BITS.dir ? 'dir' : kind === TYPE_BITS.symlink ? 'symlink' : 'file';
    out.push({ name, type, mode: mode & 0o7777, data: new Uint8Array(b.subarray(dataStart, dataStart + size)) });
    off = dataStart + size + pad4(size);
  }
}
