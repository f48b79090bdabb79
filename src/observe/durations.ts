import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles of a histogram, in milliseconds. */
export interface TimeSummary {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * Durations on their way into a node:perf_hooks histogram (in nanoseconds), a few hundred at a
 * time: record() is a call into C++ (32 ns) where a store in an array is a few. A pool records
 * two per call, a node one.
 */
export class Durations {
  readonly histogram: RecordableHistogram = createHistogram();
  #pending = new Float64Array(256);
  #count = 0;

  /** Records a duration in milliseconds (a performance.now() difference). */
  add(ms: number): void {
    this.#pending[this.#count++] = ms;
    if (this.#count === this.#pending.length) this.#flush();
  }

  summary(): TimeSummary {
    this.#flush();
    return summarize(this.histogram);
  }

  #flush(): void {
    for (let i = 0; i < this.#count; i++) this.histogram.record(Math.max(1, Math.round(this.#pending[i] * 1e6)));
    this.#count = 0;
  }
}

function summarize(histogram: RecordableHistogram): TimeSummary {
  const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
  const count = histogram.count;
  return {
    count,
    mean: count > 0 ? ms(histogram.mean) : 0,
    p50: count > 0 ? ms(histogram.percentile(50)) : 0,
    p99: count > 0 ? ms(histogram.percentile(99)) : 0,
    p999: count > 0 ? ms(histogram.percentile(99.9)) : 0,
    max: count > 0 ? ms(histogram.max) : 0,
  };
}
