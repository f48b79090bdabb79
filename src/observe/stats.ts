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

/** Failures counted in all and by code, as a node's and a pool's stats() show them. */
export class FailureCounts {
  failed = 0;
  readonly #byCode = new Map<CNodeErrorCode, number>();

  fail(code: CNodeErrorCode): void {
    this.failed++;
    this.#byCode.set(code, (this.#byCode.get(code) ?? 0) + 1);
  }

  /** The counts by code as a plain object; their sum is `failed`. */
  errorCounts(): ErrorCounts {
    const shown: ErrorCounts = {};
    for (const [code, n] of this.#byCode) shown[code] = n;
    return shown;
  }
}

/** A node's counters: plain fields bumped on the call path, the histogram fed through Durations. */
export class NodeCounters extends FailureCounts {
  made = 0;
  answered = 0;
  readonly latency = new Durations();
}
