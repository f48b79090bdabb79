import type { CNodeError } from '../errors.js';
import { Deadlines, type Timed } from './deadlines.js';

/**
 * A call in flight: one record, with no closures of its own but its promise's resolve and
 * reject. What happens when a call ends is the table's hooks, shared by every call; a node that
 * needs more per call (what to withdraw, what to release) adds fields of its own.
 *
 * Make records with one object literal that gives every field, in one place (see the node's
 * newCall()), not with a class: V8 keeps a literal's hidden class alive through the literal
 * itself, but forgets a class's instance layout at a full collection that finds no instance,
 * and deoptimizes every function that knew it; the calls after each idle full collection then
 * ran at twice the cost (measured: 1.6 against 2.8 µs per pipelined call).
 */
export interface Call extends Timed {
  /** The correlation id, from nextId(). */
  id: number;
  /** Milliseconds until it times out. */
  readonly timeout: number;
  readonly signal: AbortSignal | undefined;
  /** Deadlines' own: when it times out (Infinity until it is added), and whether it still may. */
  at: number;
  waiting: boolean;
  /** Set by promiseOf(). */
  resolve: (response: unknown) => void;
  reject: (error: CNodeError) => void;
  /** Its listener on `signal`, while it is in the table; undefined at first. */
  onAbort: (() => void) | undefined;
}

/** What `resolve` and `reject` are until promiseOf() gives the call its promise. */
export function unsettled(): void {}

/** What a node does as its calls end: shared by all of them. */
export interface CallHooks<C extends Call> {
  /** The error for a call that timed out, and for one whose signal aborted. */
  timedOut(call: C): CNodeError;
  aborted(call: C, reason: unknown): CNodeError;
  /**
   * Called once it has left the table, before it settles; `gaveUp` when by timeout or abort,
   * `answered` when by resolve() or reject() of its id (its answer came), not rejectAll() or close();
   * `error` what it rejects with, undefined when it resolves.
   */
  settled(call: C, gaveUp: boolean, answered: boolean, error: CNodeError | undefined): void;
}

/** The call whose promise is being made: only during promiseOf(), which must not keep it alive after. */
let adopting: Call | undefined;
function adopt(resolve: (response: unknown) => void, reject: (error: CNodeError) => void): void {
  adopting!.resolve = resolve;
  adopting!.reject = reject;
}

/** Makes `call`'s promise: `call.resolve` and `call.reject` settle it. */
export function promiseOf(call: Call): Promise<unknown> {
  adopting = call;
  const promise = new Promise(adopt); // the executor runs now, and is no closure
  adopting = undefined;
  return promise;
}

/** The slots a table starts with; it doubles whenever half of them are taken. */
const FIRST_SLOTS = 64;
/** An emptied table of more slots than this shrinks back to FIRST_SLOTS. */
const SHRINK_FROM = 1024;
const LAST_ID = 0xffff_ffff;

/**
 * The calls in flight of one node: their correlation ids, their deadlines and abort signals, and
 * how many there are (for maxPending, and a pool's balancer). Pure: it knows no connection.
 *
 * Ids are handed out in sequence and a call sits in slot `id & mask` of an array: no Map, whose
 * ever-new keys make it churn (and, once the heap has been through a full collection, keep its
 * outgrown tables and what they held alive through every scavenge). An id whose slot is taken,
 * by a call still waiting since that id's turn last came round, is skipped.
 */
export class CallTable<C extends Call = Call> {
  #slots: (C | undefined)[] = new Array(FIRST_SLOTS).fill(undefined);
  #mask = FIRST_SLOTS - 1;
  #size = 0;
  #lastId = 0;
  #deadlines: Deadlines<C>;

  constructor(private readonly hooks: CallHooks<C>) {
    this.#deadlines = new Deadlines<C>((call) => this.#giveUp(call, hooks.timedOut(call)));
  }

  /** How many calls are in flight. */
  get size(): number {
    return this.#size;
  }

  /** A fresh correlation id, 1 to 2^32 - 1, none of a call in flight. */
  nextId(): number {
    if (this.#size * 2 >= this.#slots.length) this.#grow();
    let id = this.#lastId;
    do id = id >= LAST_ID ? 1 : id + 1;
    while (this.#slots[id & this.#mask] !== undefined);
    this.#lastId = id;
    return id;
  }

  /** Adds `call` under `call.id`, from nextId(). It rejects by itself when its timeout passes or its signal aborts. */
  add(call: C): void {
    // Taken only if calls were made between nextId() and here (a getter of the message did).
    for (
      let taken = this.#slots[call.id & this.#mask];
      taken !== undefined;
      taken = this.#slots[call.id & this.#mask]
    ) {
      if (taken.id === call.id) throw new Error(`call id ${call.id} is in flight already`);
      this.#grow();
    }
    this.#slots[call.id & this.#mask] = call;
    this.#size++;
    this.#deadlines.add(call);
    const signal = call.signal;
    if (signal) {
      call.onAbort = () => this.#giveUp(call, this.hooks.aborted(call, signal.reason));
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
  }

  /** Resolves call `id` with the worker's response; false when no such call is in flight (a late reply). */
  resolve(id: number, response: unknown): boolean {
    const call = this.#slots[id & this.#mask];
    if (call === undefined || call.id !== id) return false;
    const { resolve } = call;
    this.#end(call, false, true, undefined);
    resolve(response);
    return true;
  }

  /** Rejects call `id`; false when no such call is in flight. */
  reject(id: number, error: CNodeError): boolean {
    return this.#reject(id, error, true);
  }

  /** Rejects every call in flight with `error`, oldest first. */
  rejectAll(error: CNodeError): void {
    const calls = this.#slots.filter((call) => call !== undefined);
    // Ids were handed out in sequence, wrapping: the oldest is the farthest behind the last one.
    const age = (call: C) => (this.#lastId - call.id) >>> 0;
    calls.sort((a, b) => age(b) - age(a));
    for (const call of calls) if (this.#slots[call.id & this.#mask] === call) this.#reject(call.id, error, false);
  }

  /** Rejects every call in flight with `error`, and stops the timer: no call comes after. */
  close(error: CNodeError): void {
    this.rejectAll(error);
    this.#deadlines.clear();
  }

  #reject(id: number, error: CNodeError, answered: boolean): boolean {
    const call = this.#slots[id & this.#mask];
    if (call === undefined || call.id !== id) return false;
    const { reject } = call;
    this.#end(call, false, answered, error);
    reject(error);
    return true;
  }

  #giveUp(call: C, error: CNodeError): void {
    if (this.#slots[call.id & this.#mask] !== call) return;
    const { reject } = call;
    this.#end(call, true, false, error);
    reject(error);
  }

  #end(call: C, gaveUp: boolean, answered: boolean, error: CNodeError | undefined): void {
    this.#slots[call.id & this.#mask] = undefined;
    if (--this.#size === 0 && this.#slots.length > SHRINK_FROM) this.#shrink();
    this.#deadlines.cancel(call);
    if (call.onAbort) {
      call.signal!.removeEventListener('abort', call.onAbort);
      call.onAbort = undefined;
    }
    // A call answered out of order may wait in its deadline queue a while: it must not keep its
    // promise, and so its response, alive there.
    call.resolve = call.reject = unsettled;
    this.hooks.settled(call, gaveUp, answered, error);
  }

  // Empty again after many were in flight at once: the slots go back to their first number.
  #shrink(): void {
    this.#slots = new Array(FIRST_SLOTS).fill(undefined);
    this.#mask = FIRST_SLOTS - 1;
  }

  // Twice the slots; calls keep their ids, and two ids apart in the smaller table are apart in this one.
  #grow(): void {
    const slots: (C | undefined)[] = new Array(this.#slots.length * 2).fill(undefined);
    const mask = slots.length - 1;
    for (const call of this.#slots) if (call !== undefined) slots[call.id & mask] = call;
    this.#slots = slots;
    this.#mask = mask;
  }
}
