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

export interface PoolStats {
  /** Workers running now (retiring ones included, starting ones not). */
  workers: number;
  /** Workers running at least one call or send. */
  busy: number;
  /** Calls and sends waiting in the queue. */
  queued: number;
  /** Calls answered, and sends the workers took. */
  completed: number;
  /** Calls and sends that failed, however they failed (timeouts, aborts, handler failures, deaths). */
  failed: number;
  /** Workers that ended without the pool asking (crashes, faults, killOnAbort) and were replaced. */
  restarts: number;
  /** From dispatch to the answer, for calls answered. */
  runTime: TimeSummary;
  /** From pool.call() to dispatch, for calls and sends dispatched. */
  waitTime: TimeSummary;
  /** Time workers spent running calls, as a share of the time since start() times size.max: 0 to 1. */
  utilization: number;
}

/**
 * Durations on their way into a histogram, a few hundred at a time: record() is a call into C++
 * (32 ns), twice per call of the pool, where a store in an array is a few.
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

/** What a pool counts; the histograms are node:perf_hooks', in nanoseconds. */
export class PoolCounters {
  completed = 0;
  failed = 0;
  restarts = 0;
  /** Worker milliseconds spent with calls running, of workers no longer running. */
  busyMs = 0;
  readonly runTime = new Durations();
  readonly waitTime = new Durations();
  readonly startedAt = performance.now();
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
