/**
 * Call timeouts without a timer per call: a timer set and cleared for every call costs more than
 * a pipelined call does. Calls given the same timeout expire in the order they were made, so each
 * timeout value keeps a queue in deadline order, and one timer waits for the earliest head.
 */
export interface Deadline {
  at: number;
  expire: (() => void) | undefined; // undefined once cancelled or expired
}

/** Cancelled deadlines are swept out of a queue once there are this many and they are half of it. */
const SWEEP_AT = 1024;

class Queue {
  items: Deadline[] = [];
  head = 0;
  cancelled = 0;

  get size(): number {
    return this.items.length - this.head;
  }
}

export class Deadlines {
  #queues = new Map<number, Queue>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #live = 0;

  /** Calls `expire` once `timeoutMs` have passed, unless cancel() comes first. */
  add(timeoutMs: number, expire: () => void): Deadline {
    const deadline: Deadline = { at: performance.now() + timeoutMs, expire };
    let queue = this.#queues.get(timeoutMs);
    if (!queue) {
      queue = new Queue();
      this.#queues.set(timeoutMs, queue);
    }
    queue.items.push(deadline);
    this.#live++;
    if (deadline.at < this.#timerAt) this.#arm(deadline.at);
    return deadline;
  }

  cancel(deadline: Deadline, timeoutMs: number): void {
    if (deadline.expire === undefined) return;
    deadline.expire = undefined;
    if (--this.#live === 0) {
      // Nothing left to expire: drop the queues, but leave the timer, which does not keep the
      // process alive, to fire once for nothing: re-arming it for every call of a sequence of
      // calls would cost more.
      this.#queues.clear();
      return;
    }
    const queue = this.#queues.get(timeoutMs)!;
    if (++queue.cancelled >= SWEEP_AT && queue.cancelled * 2 >= queue.size) {
      queue.items = queue.items.slice(queue.head).filter((item) => item.expire !== undefined);
      queue.head = 0;
      queue.cancelled = 0;
    }
  }

  /** Forgets every deadline and stops the timer. */
  clear(): void {
    for (const queue of this.#queues.values()) for (const item of queue.items) item.expire = undefined;
    this.#queues.clear();
    this.#live = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    // Unref'd: a call in flight keeps the process alive by its socket's pending receive already.
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.ceil(at - performance.now()))).unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    const due: { at: number; expire: () => void }[] = [];
    let next = Infinity;
    for (const [timeoutMs, queue] of this.#queues) {
      while (queue.head < queue.items.length) {
        const item = queue.items[queue.head];
        if (item.expire !== undefined && item.at > now) break;
        queue.head++;
        if (item.expire === undefined) queue.cancelled--;
        else {
          due.push({ at: item.at, expire: item.expire });
          item.expire = undefined;
          this.#live--;
        }
      }
      if (queue.size === 0) this.#queues.delete(timeoutMs);
      else {
        if (queue.head >= SWEEP_AT) {
          queue.items = queue.items.slice(queue.head);
          queue.head = 0;
        }
        next = Math.min(next, queue.items[queue.head].at);
      }
    }
    if (next < Infinity) this.#arm(next);
    // In deadline order across the queues; after they are consistent, as expire may add or cancel.
    for (const { expire } of due.sort((a, b) => a.at - b.at)) expire();
  }
}
