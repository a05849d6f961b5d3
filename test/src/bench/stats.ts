// Latency percentiles over a run's samples (nearest-rank on the sorted samples).

export interface LatencySummary {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: Float64Array): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { samples: 0, p50: 0, p99: 0, max: 0, mean: 0 };
  let total = 0;
  for (const value of sorted) total += value;
  return { samples: n, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[n - 1]!, mean: total / n };
}

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}
