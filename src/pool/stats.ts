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

/** What a pool counts; the histograms are node:perf_hooks', in nanoseconds. */
export class PoolCounters {
  completed = 0;
  failed = 0;
  restarts = 0;
  /** Worker milliseconds spent with calls running, of workers no longer running. */
  busyMs = 0;
  readonly runTime: RecordableHistogram = createHistogram();
  readonly waitTime: RecordableHistogram = createHistogram();
  readonly startedAt = performance.now();
}

/** Records a duration given in milliseconds (performance.now() differences). */
export function recordMs(histogram: RecordableHistogram, ms: number): void {
  histogram.record(Math.max(1, Math.round(ms * 1e6)));
}

export function summarize(histogram: RecordableHistogram): TimeSummary {
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
