import type { CNodeErrorCode } from '../errors.js';
import { Durations, type TimeSummary } from './durations.js';

/** Failures counted by their CNodeError code; a code that never happened is absent. */
export type ErrorCounts = Partial<Record<CNodeErrorCode, number>>;

/** Bytes of messages, as the session hands them to its connection and takes them from it: frames and side parts. */
export interface ByteCounts {
  /** To the worker: every message written, handshake, stop and heartbeat frames included. */
  sent: number;
  /** From the worker. */
  received: number;
}

/** What node.stats() returns: counted from start(), for the node's life. */
export interface NodeStats {
  calls: {
    /** call() invocations, those refused at once included: made = answered + failed + inFlight. */
    made: number;
    /** Resolved with the worker's reply. */
    answered: number;
    /** Rejected, for any reason (the handler failed, a timeout, an abort, the worker's exit, a bad message). */
    failed: number;
    /** Made and not settled yet. */
    inFlight: number;
  };
  /** The failed calls by code: their sum is calls.failed. */
  errors: ErrorCounts;
  bytes: ByteCounts;
  /** From call() to its reply, for the calls answered (calls.answered of them), in milliseconds. */
  latency: TimeSummary;
}

/** A node's counters: plain fields bumped on the call path, the histogram fed through Durations. */
export class NodeCounters {
  made = 0;
  answered = 0;
  failed = 0;
  readonly errors = new Map<CNodeErrorCode, number>();
  readonly latency = new Durations();

  fail(code: CNodeErrorCode): void {
    this.failed++;
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}

/** A Map of counts as the plain object stats() show. */
export function countsObject(counts: ReadonlyMap<CNodeErrorCode, number>): ErrorCounts {
  const shown: ErrorCounts = {};
  for (const [code, n] of counts) shown[code] = n;
  return shown;
}

/** Adds `more` into `into`. */
export function addCounts(into: Map<CNodeErrorCode, number>, more: ErrorCounts): void {
  for (const [code, n] of Object.entries(more) as [CNodeErrorCode, number][]) into.set(code, (into.get(code) ?? 0) + n);
}
