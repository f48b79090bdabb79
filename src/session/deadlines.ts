/**
 * Call timeouts without a timer per call: a timer set and cleared for every call costs more than
 * a pipelined call does. Calls given the same timeout expire in the order they were made, so each
 * timeout value keeps a queue in deadline order, and one timer waits for the earliest head.
 *
 * The queues hold the caller's own records (a call), not objects made for them, and one expire
 * callback serves them all: a call costs its deadline two field writes and a slot in a ring.
 */
export interface Timed {
  /** Milliseconds from add() until it expires; also which queue it waits in. */
  readonly timeout: number;
  /** When it expires, on performance.now()'s clock: set by add(). */
  at: number;
  /** Whether it still waits: set by add(), cleared by cancel() or as it expires. */
  waiting: boolean;
}

/** Cancelled items left inside a queue (not at its head) are swept out once there are this many and they are half of it. */
const SWEEP_AT = 1024;
/** The slots a new queue has; an empty queue that grew past SHRINK_FROM goes back to this. */
const FIRST_SLOTS = 16;
const SHRINK_FROM = 1024;

/**
 * One timeout value's items, oldest first, in a ring that grows by doubling. Its head always
 * waits: an item cancelled at the head leaves at once, with any cancelled ones behind it, so that
 * calls answered in order (the usual case) never pile up in it.
 */
class Queue<T extends Timed> {
  #slots: (T | undefined)[] = new Array(FIRST_SLOTS).fill(undefined);
  #mask = FIRST_SLOTS - 1;
  #head = 0;
  size = 0;
  /** Cancelled items still in the ring, behind its head. */
  #cancelled = 0;

  /** The oldest item; only when size > 0. */
  get first(): T {
    return this.#slots[this.#head]!;
  }

  push(item: T): void {
    if (this.size === this.#slots.length) this.#resize(this.#slots.length * 2);
    this.#slots[(this.#head + this.size) & this.#mask] = item;
    this.size++;
  }

  /** Removes the head, and then any cancelled items that would become the head. */
  shift(): void {
    this.#drop();
    while (this.size > 0 && !this.first.waiting) {
      this.#drop();
      this.#cancelled--;
    }
    if (this.size === 0 && this.#slots.length > SHRINK_FROM) this.#resize(FIRST_SLOTS);
  }

  /** `item`, of this queue, no longer waits. */
  cancelled(item: T): void {
    if (this.first === item) this.shift();
    else if (++this.#cancelled >= SWEEP_AT && this.#cancelled * 2 >= this.size) this.#sweep();
  }

  /** Marks every item as no longer waiting, and empties the queue. */
  clear(): void {
    for (let i = 0; i < this.size; i++) this.#slots[(this.#head + i) & this.#mask]!.waiting = false;
    this.#slots = new Array(FIRST_SLOTS).fill(undefined);
    this.#mask = FIRST_SLOTS - 1;
    this.#head = this.size = this.#cancelled = 0;
  }

  #drop(): void {
    this.#slots[this.#head] = undefined; // the ring must not keep what has left it alive
    this.#head = (this.#head + 1) & this.#mask;
    this.size--;
  }

  // In place: the waiting items close up behind the head, in order.
  #sweep(): void {
    let kept = 0;
    for (let i = 0; i < this.size; i++) {
      const item = this.#slots[(this.#head + i) & this.#mask]!;
      if (item.waiting) this.#slots[(this.#head + kept++) & this.#mask] = item;
    }
    for (let i = kept; i < this.size; i++) this.#slots[(this.#head + i) & this.#mask] = undefined;
    this.size = kept;
    this.#cancelled = 0;
  }

  #resize(slots: number): void {
    const next: (T | undefined)[] = new Array(slots).fill(undefined);
    for (let i = 0; i < this.size; i++) next[i] = this.#slots[(this.#head + i) & this.#mask];
    this.#slots = next;
    this.#mask = slots - 1;
    this.#head = 0;
  }
}

export class Deadlines<T extends Timed> {
  #queues = new Map<number, Queue<T>>();
  /** The queue used last, found without the Map: most nodes use one timeout for every call. */
  #last: Queue<T> | undefined;
  #lastTimeout = -1;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  /** `expire` is called with each item whose timeout passes before it is cancelled. */
  constructor(private readonly expire: (item: T) => void) {}

  /** Expires `item` once its timeout has passed, unless cancel() comes first. */
  add(item: T): void {
    item.at = performance.now() + item.timeout;
    item.waiting = true;
    this.#queue(item.timeout).push(item);
    if (item.at < this.#timerAt) this.#arm(item.at);
  }

  /** `item` will not expire; nothing happens if it has expired or was cancelled already. */
  cancel(item: T): void {
    if (!item.waiting) return;
    item.waiting = false;
    const queue = item.timeout === this.#lastTimeout ? this.#last! : this.#queues.get(item.timeout)!;
    queue.cancelled(item);
    // An emptied queue is dropped, unless it is the only one: a node whose calls all take its
    // one timeout keeps its queue. The timer, which does not keep the process alive, is left
    // to fire once for nothing: re-arming it for every call of a sequence of calls would cost more.
    if (queue.size === 0 && this.#queues.size > 1) this.#forget(item.timeout);
  }

  /** Forgets every deadline and stops the timer. */
  clear(): void {
    for (const queue of this.#queues.values()) queue.clear();
    this.#queues.clear();
    this.#last = undefined;
    this.#lastTimeout = -1;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #queue(timeout: number): Queue<T> {
    if (timeout === this.#lastTimeout) return this.#last!;
    let queue = this.#queues.get(timeout);
    if (!queue) {
      queue = new Queue<T>();
      this.#queues.set(timeout, queue);
    }
    this.#last = queue;
    this.#lastTimeout = timeout;
    return queue;
  }

  #forget(timeout: number): void {
    this.#queues.delete(timeout);
    if (timeout === this.#lastTimeout) {
      this.#last = undefined;
      this.#lastTimeout = -1;
    }
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    // Unref'd: a call in flight keeps the process alive by its connection already.
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.ceil(at - performance.now()))).unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    const due: T[] = [];
    let next = Infinity;
    for (const [timeout, queue] of this.#queues) {
      while (queue.size > 0 && queue.first.at <= now) {
        const item = queue.first;
        item.waiting = false;
        due.push(item);
        queue.shift();
      }
      if (queue.size > 0) next = Math.min(next, queue.first.at);
      else if (this.#queues.size > 1) this.#forget(timeout);
    }
    if (next < Infinity) this.#arm(next);
    // In deadline order across the queues; after they are consistent, as expire may add or cancel.
    if (due.length > 1) due.sort((a, b) => a.at - b.at);
    for (const item of due) this.expire(item);
  }
}
