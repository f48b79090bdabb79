import { Backoff } from '../supervision/backoff.js';

/** A slot's delays after failed starts in a row: 100 ms doubling to 10 s, up to a fifth less at random. */
const START_BACKOFF = { initial: 100, max: 10_000, factor: 2, jitter: 0.2 };

/**
 * When each of a pool's slots may start a worker again. Each slot backs off on its own: with
 * `exec` a function of the slot, a slot is a host, and a host that cannot start workers must not
 * hold back the replacements on the others.
 */
export class StartBackoff {
  /** The slots backing off: their delays, and when the next start may begin (performance.now()). */
  #slots = new Map<number, { backoff: Backoff; until: number }>();

  /** A start in `slot` failed at `now`. */
  failed(slot: number, now: number): void {
    const entry = this.#slots.get(slot) ?? { backoff: new Backoff(START_BACKOFF), until: 0 };
    entry.until = now + entry.backoff.next();
    this.#slots.set(slot, entry);
  }

  /** A start in `slot` succeeded: its next failure begins again at the shortest delay. */
  succeeded(slot: number): void {
    this.#slots.delete(slot);
  }

  /** Milliseconds until `slot` may start a worker: 0 when it may now. */
  readyIn(slot: number, now: number): number {
    const entry = this.#slots.get(slot);
    return entry === undefined ? 0 : Math.max(0, entry.until - now);
  }
}
