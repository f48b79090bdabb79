// Order statistics for the bench: nearest-rank percentiles over raw samples.

/** The p-th percentile (0 < p <= 100) of `samples`, nearest rank; NaN for no samples. */
export function percentile(samples, p) {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export const median = (samples) => percentile(samples, 50);
export const p99 = (samples) => percentile(samples, 99);

/** Median and p99 together, the pair every row of the table shows. */
export function summarize(samples) {
  return { median: median(samples), p99: p99(samples), count: samples.length };
}
