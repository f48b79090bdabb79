/** How long restarts wait: `initial` ms, then `factor` times more each time, up to `max`, less a random part. */
export interface BackoffOptions {
  /** Milliseconds before the first restart (0: at once, as OTP restarts). Default: 100. */
  initial?: number;
  /** The longest delay, in milliseconds. Default: 10000. */
  max?: number;
  /** Each delay is the previous one times this (1: always `initial`). Default: 2. */
  factor?: number;
  /** The most of a delay, as a fraction from 0 to 1, taken off at random. Default: 0.2. */
  jitter?: number;
}

export type NormalizedBackoff = Required<BackoffOptions>;

/**
 * One child's backoff: the delay of each restart in a row, from `initial` growing by `factor` to
 * `max`, each shortened by a random fraction of up to `jitter`, so that the supervisors of many
 * owners that lost the same resource do not all come back at the same moment. The jitter only
 * shortens: `max` is a true bound. Pure: the random source is a parameter, for the tests.
 */
export class Backoff {
  readonly #options: NormalizedBackoff;
  readonly #random: () => number;
  /** The undelayed delay of the next restart. */
  #next: number;

  constructor(options: NormalizedBackoff, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
    this.#next = Math.min(options.initial, options.max);
  }

  /** The delay of the next restart, in whole milliseconds; the one after it grows. */
  next(): number {
    const { max, factor, jitter } = this.#options;
    const base = this.#next;
    // Grown as a product, not as initial * factor ** n, so that it stops at max instead of
    // overflowing to Infinity (and to NaN with initial 0).
    this.#next = Math.min(max, base * factor);
    return Math.round(base * (1 - jitter * this.#random()));
  }

  /** Back to `initial`: the child has run stably. */
  reset(): void {
    this.#next = Math.min(this.#options.initial, this.#options.max);
  }
}
