/** One measured number, printed as one JSON line. */
export interface BenchResult {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
}

/** Calls `fn` repeatedly for at least `minMs` and returns calls per second. */
export function rate(fn: (i: number) => void, minMs = 1_000): number {
  for (let i = 0; i < 200; i += 1) fn(i); // warm-up, so the JIT has settled before timing
  let calls = 0;
  const started = process.hrtime.bigint();
  let elapsedNs = 0n;
  while (elapsedNs < BigInt(minMs) * 1_000_000n) {
    for (let i = 0; i < 100; i += 1) fn(calls + i);
    calls += 100;
    elapsedNs = process.hrtime.bigint() - started;
  }
  return Math.round((calls * 1e9) / Number(elapsedNs));
}

/** The p-th percentile (0-100) of samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
