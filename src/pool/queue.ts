/**
 * The pool's waiting calls, oldest first, in a ring that grows by doubling. A call that gives up
 * while it waits (its timeout, its signal) is not searched for: it says so itself (`queued`
 * false) and is skipped when it reaches the head, so that giving up costs nothing.
 */
export interface Queued {
  /** Whether it still waits here: cleared by the pool as it dispatches or gives it up. */
  queued: boolean;
}

const FIRST_SLOTS = 16;
/** Given-up items are swept out of the middle once there are this many slots in use and they are half. */
const SWEEP_AT = 1024;
/** An emptied ring that grew past this goes back to FIRST_SLOTS. */
const SHRINK_FROM = 1024;

export class TaskQueue<T extends Queued> {
  #slots: (T | undefined)[] = new Array(FIRST_SLOTS).fill(undefined);
  #mask = FIRST_SLOTS - 1;
  #head = 0;
  /** Slots in use, given-up items included. */
  #used = 0;
  /** Items that still wait. */
  size = 0;

  /** Adds `item` at the back (a new call) or at the front (a call dispatched again after its worker died). */
  add(item: T, front = false): void {
    if (this.#used === this.#slots.length) this.#resize(this.#slots.length * 2);
    item.queued = true;
    if (front) {
      this.#head = (this.#head - 1) & this.#mask;
      this.#slots[this.#head] = item;
    } else {
      this.#slots[(this.#head + this.#used) & this.#mask] = item;
    }
    this.#used++;
    this.size++;
  }

  /** The oldest item that still waits, left in place; undefined when none does. */
  peek(): T | undefined {
    this.#skipGivenUp();
    return this.#used > 0 ? this.#slots[this.#head] : undefined;
  }

  /** Takes the oldest item that still waits out of the queue. */
  take(): T | undefined {
    const item = this.peek();
    if (item) {
      this.#drop();
      item.queued = false;
      this.size--;
    }
    return item;
  }

  /** `item`, in the queue, no longer waits (its caller gave up). */
  giveUp(item: T): void {
    item.queued = false;
    this.size--;
    this.#skipGivenUp();
    // Given-up items behind a head that waits on would pile up: swept once they are half the ring.
    if (this.#used >= SWEEP_AT && this.size * 2 < this.#used) this.#sweep();
  }

  /** Takes every waiting item out, oldest first. */
  takeAll(): T[] {
    const items: T[] = [];
    for (let item = this.take(); item; item = this.take()) items.push(item);
    return items;
  }

  #skipGivenUp(): void {
    while (this.#used > 0 && !this.#slots[this.#head]!.queued) this.#drop();
    if (this.#used === 0 && this.#slots.length > SHRINK_FROM) this.#resize(FIRST_SLOTS);
  }

  #sweep(): void {
    let kept = 0;
    for (let i = 0; i < this.#used; i++) {
      const item = this.#slots[(this.#head + i) & this.#mask]!;
      if (item.queued) this.#slots[(this.#head + kept++) & this.#mask] = item;
    }
    for (let i = kept; i < this.#used; i++) this.#slots[(this.#head + i) & this.#mask] = undefined;
    this.#used = kept;
  }

  #drop(): void {
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#used--;
  }

  #resize(slots: number): void {
    const next: (T | undefined)[] = new Array(slots).fill(undefined);
    for (let i = 0; i < this.#used; i++) next[i] = this.#slots[(this.#head + i) & this.#mask];
    this.#slots = next;
    this.#mask = slots - 1;
    this.#head = 0;
  }
}
