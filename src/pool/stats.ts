import { Durations, type TimeSummary } from '../observe/durations.js';
import { type ByteCounts, type ErrorCounts, FailureCounts } from '../observe/stats.js';

export type { TimeSummary };

export interface PoolStats {
  /** Workers running now (retiring ones included, starting ones not). */
  workers: number;
  /** Workers running at least one call or send. */
  busy: number;
  /** Calls and sends waiting in the queue. */
  queued: number;
  /** Calls answered, and sends the workers took. */
  completed: number;
  /** Calls and sends that failed, however they failed (timeouts, aborts, handler failures, deaths, refusals at once). */
  failed: number;
  /** Workers that ended without the pool asking (crashes, faults, killOnAbort) and were replaced. */
  restarts: number;
  /** From dispatch to the answer, for calls answered. */
  runTime: TimeSummary;
  /** From pool.call() to dispatch, for calls and sends dispatched. */
  waitTime: TimeSummary;
  /** Time workers spent running calls, as a share of the time since start() times size.max: 0 to 1. */
  utilization: number;
  /** The failed calls and sends by code, as the pool's callers saw them (a retried call counts once): their sum is `failed`. */
  errors: ErrorCounts;
  /** Bytes to and from the workers: the sum of their node.stats().bytes, those gone included. */
  bytes: ByteCounts;
}

/** What a pool counts; the histograms are node:perf_hooks', in nanoseconds. */
export class PoolCounters extends FailureCounts {
  completed = 0;
  restarts = 0;
  /** Worker milliseconds spent with calls running, of workers no longer running. */
  busyMs = 0;
  readonly runTime = new Durations();
  readonly waitTime = new Durations();
  readonly startedAt = performance.now();
  /** Bytes of workers no longer running. */
  readonly bytes: ByteCounts = { sent: 0, received: 0 };
}
