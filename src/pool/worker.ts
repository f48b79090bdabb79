import type { CNode } from '../cnode.js';

/** One of a pool's workers, as the pool keeps it: the node and what the balancer and recycling look at. */
export interface PoolWorker {
  readonly node: CNode;
  /** Its place in the pool; its alive name is `<prefix>_<slot>`, and a replacement takes the same. */
  readonly slot: number;
  /** Calls and sends dispatched to it and not yet settled. */
  running: number;
  /** Calls and sends dispatched to it so far: what maxCallsPerWorker counts. */
  dispatched: number;
  /** Running a call that was at a worker's death, alone, so that another death points at that call. */
  isolated: boolean;
  /** Given nothing more: being replaced, or dying. */
  retiring: boolean;
  /** Retired by the pool (recycled, or idle beyond size.min): its exit is no restart. */
  planned: boolean;
  /** killOnAbort: the call it was killed for; the other calls it ran did not kill it. */
  killedFor: object | undefined;
  /** performance.now() when `running` last went from 0 to 1, or to 0. */
  since: number;
}

export function newWorker(node: CNode, slot: number): PoolWorker {
  return {
    node,
    slot,
    running: 0,
    dispatched: 0,
    isolated: false,
    retiring: false,
    planned: false,
    killedFor: undefined,
    since: performance.now(),
  };
}

/**
 * The least busy worker that may take one more call, the earliest in the list among equals; with
 * `alone`, only an idle one. Isolated and retiring workers take nothing.
 */
export function leastBusy(workers: readonly PoolWorker[], concurrency: number, alone: boolean): PoolWorker | undefined {
  const limit = alone ? 1 : concurrency;
  let best: PoolWorker | undefined;
  for (const worker of workers) {
    if (worker.isolated || worker.retiring || worker.running >= limit) continue;
    if (!best || worker.running < best.running) {
      best = worker;
      if (worker.running === 0) break;
    }
  }
  return best;
}
