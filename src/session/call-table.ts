import type { CNodeError } from '../errors.js';
import { type Deadline, Deadlines } from './deadlines.js';

/** How a call in the table ends, and what it does when it ends. */
export interface CallEntry {
  /** Milliseconds until it times out. */
  timeout: number;
  signal: AbortSignal | undefined;
  resolve(response: unknown): void;
  reject(error: CNodeError): void;
  /** The error for a call that timed out, and for one whose signal aborted. */
  timedOut(): CNodeError;
  aborted(reason: unknown): CNodeError;
  /** Called once it has left the table, before it settles; `gaveUp` when by timeout or abort. */
  settled(gaveUp: boolean): void;
}

interface Pending {
  entry: CallEntry;
  deadline: Deadline;
  onAbort: (() => void) | undefined;
}

/**
 * The calls in flight of one node: their correlation ids, their deadlines and abort signals, and
 * how many there are (for maxPending, and a pool's balancer). Pure: it knows no connection.
 */
export class CallTable {
  #pending = new Map<number, Pending>();
  #deadlines = new Deadlines();
  #lastId = 0;

  /** How many calls are in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /** A fresh correlation id, 1 to 2^32 - 1, none of a call in flight. */
  nextId(): number {
    do this.#lastId = this.#lastId >= 0xffff_ffff ? 1 : this.#lastId + 1;
    while (this.#pending.has(this.#lastId));
    return this.#lastId;
  }

  /** Adds a call under `id`, from nextId(). It rejects by itself when its timeout passes or its signal aborts. */
  add(id: number, entry: CallEntry): void {
    const giveUp = (error: CNodeError) => this.#end(id, true) && entry.reject(error);
    const deadline = this.#deadlines.add(entry.timeout, () => giveUp(entry.timedOut()));
    const onAbort = entry.signal && (() => giveUp(entry.aborted(entry.signal!.reason)));
    entry.signal?.addEventListener('abort', onAbort!, { once: true });
    this.#pending.set(id, { entry, deadline, onAbort });
  }

  /** Resolves call `id` with the worker's response; false when no such call is in flight (a late reply). */
  resolve(id: number, response: unknown): boolean {
    const entry = this.#end(id, false);
    entry?.resolve(response);
    return entry !== undefined;
  }

  /** Rejects call `id`; false when no such call is in flight. */
  reject(id: number, error: CNodeError): boolean {
    const entry = this.#end(id, false);
    entry?.reject(error);
    return entry !== undefined;
  }

  /** Rejects every call in flight with `error`. */
  rejectAll(error: CNodeError): void {
    for (const id of [...this.#pending.keys()]) this.reject(id, error);
  }

  /** Rejects every call in flight with `error`, and stops the timer: no call comes after. */
  close(error: CNodeError): void {
    this.rejectAll(error);
    this.#deadlines.clear();
  }

  #end(id: number, gaveUp: boolean): CallEntry | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    this.#deadlines.cancel(pending.deadline, pending.entry.timeout);
    if (pending.onAbort) pending.entry.signal!.removeEventListener('abort', pending.onAbort);
    pending.entry.settled(gaveUp);
    return pending.entry;
  }
}
