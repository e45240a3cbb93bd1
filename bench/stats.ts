// Timing helpers for benchmarks only (never used by pass/fail tests).

/** One row of the bench table and of bench.json: a measured figure against its goal. */
export interface Goal {
  name: string;
  value: number | null;
  unit: string;
  goal: string;
  met: boolean | null;
  note?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `fn` (which does `n` operations) `repeats` times and returns the median rate per second. */
export function ratePerSecond(n: number, fn: () => void, repeats = 5): { median: number; samples: number[] } {
  fn(); // warm-up (JIT)
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint();
    fn();
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    samples.push(n / s);
  }
  return { median: median(samples), samples };
}
