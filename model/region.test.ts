// The byte helpers under the ioctl path: the slab allocator the fpstate images live in, the
// comparisons the properties use to tell what a fixup changed, and the hex codec.
// Stryker's run over model/region.ts (docs/mutation.md §4) found these contracts untested.
import { allocBytes, copyBytes, firstDifference, toHex } from './region';

const SLAB_BYTES = 256 * 1024; // region.ts's slab size

describe('allocBytes / copyBytes: every allocation is its own zeroed memory of the asked length', () => {
  test('sizes above the slab threshold, and above a whole slab, get exactly n bytes', () => {
    // An AMX image is about 11 KiB, but the contract is "n bytes" for any n: a request larger
    // than a slab must not be cut to a slab's length.
    for (const n of [SLAB_BYTES / 8, SLAB_BYTES / 8 + 1, SLAB_BYTES, SLAB_BYTES + 4096]) {
      const b = allocBytes(n);
      expect(b.length).toBe(n);
      expect(b.every((x) => x === 0)).toBe(true);
    }
  });

  test('two allocations never alias, across odd sizes and a slab change', () => {
    // The model's vCPUs are values: an image shared with another vCPU would change under it.
    const sizes = [1, 3, 8, 13, 576, 2696, 4096, 11008, 7, 32768];
    const bufs: Uint8Array[] = [];
    let total = 0;
    for (let k = 0; total < 2 * SLAB_BYTES; k++) {
      const n = sizes[k % sizes.length]!;
      total += n;
      bufs.push(allocBytes(n));
    }
    bufs.forEach((b, k) => {
      expect(b.every((x) => x === 0)).toBe(true); // nobody wrote into it yet
      b.fill((k % 255) + 1);
    });
    bufs.forEach((b, k) => expect(b.every((x) => x === (k % 255) + 1)).toBe(true));
  });

  test('copyBytes is a copy: editing it leaves the source alone, and vice versa', () => {
    const src = Uint8Array.from([1, 2, 3, 4, 5]);
    const a = copyBytes(src);
    const b = copyBytes(src);
    a[0] = 9;
    src[1] = 9;
    expect(Array.from(a)).toEqual([9, 2, 3, 4, 5]);
    expect(Array.from(b)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('firstDifference: the index of the first differing byte, from any start', () => {
  const pair = (n: number, diffs: number[]): [Uint8Array, Uint8Array] => {
    const a = new Uint8Array(n).map((_, i) => i & 0xff);
    const b = a.slice();
    for (const d of diffs) b[d] ^= 0x5a;
    return [a, b];
  };

  test('short buffers and differences in the last 64 bytes are found (no binary search needed)', () => {
    // properties.ts walks every changed byte with firstDifference(once, region, i + 1): a fixup
    // that edits the end of the region (PKRU, tile data) leaves a short range to search.
    const [a, b] = pair(16, [5, 11]);
    expect(firstDifference(a, b)).toBe(5);
    expect(firstDifference(a, b, 6)).toBe(11);
    expect(firstDifference(a, b, 12)).toBe(-1);
    const [c, d] = pair(4096, [600, 4090]);
    expect(firstDifference(c, d)).toBe(600);
    expect(firstDifference(c, d, 601)).toBe(4090);
    expect(firstDifference(c, d, 4091)).toBe(-1);
  });

  test('every changed byte of a large region, in order', () => {
    const diffs = [0, 63, 64, 519, 2432, 2439, 11007];
    const [a, b] = pair(11008, diffs);
    const found: number[] = [];
    for (let i = firstDifference(a, b); i !== -1; i = firstDifference(a, b, i + 1)) found.push(i);
    expect(found).toEqual(diffs);
    expect(firstDifference(a, a.slice())).toBe(-1);
  });
});

// toHex writes the regions of counterexamples and found cases (read back with Buffer.from(hex)).
test('toHex writes two lowercase digits per byte', () => {
  const bytes = Uint8Array.from([0x00, 0xff, 0x10, 0x7f, 0x80]);
  expect(toHex(bytes)).toBe('00ff107f80');
  expect(Uint8Array.from(Buffer.from(toHex(bytes), 'hex'))).toEqual(bytes);
  expect(toHex(new Uint8Array(0))).toBe('');
});
