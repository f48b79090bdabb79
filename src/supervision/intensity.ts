/**
 * A supervisor's restart intensity: more than `maxRestarts` restarts within `period` ms means the
 * children cannot be kept running, and the supervisor gives up.
 *
 * The period is not measured on the wall clock. Backoff makes a crash loop wait longer and longer
 * between restarts, and on the wall clock it would soon space them more than period / maxRestarts
 * apart: the loop would never trip the limit and would go on forever. So each restart is aged on
 * its own child's clock, one that stands still while that child waits out a backoff delay: a
 * restart counts until its child has spent `period` ms running, starting or being stopped. A crash
 * loop is then seen for what it is however long its delays grow, while a child that runs for
 * `period` ms is forgotten as it would be without backoff. Other children's clocks run on: one
 * child's long delay does not make another's restarts look closer together.
 *
 * Pure: time is a parameter (monotonic milliseconds), for the tests.
 */
export class Intensity {
  readonly #maxRestarts: number;
  readonly #period: number;
  /** The restarts not yet forgotten, oldest first: when, and how long their child had waited by then. */
  #restarts: { key: string; at: number; waited: number }[] = [];
  /** Per child: how long it has waited in backoff delays in all, and since when it waits now. */
  #clocks = new Map<string, { waited: number; since: number | undefined }>();

  constructor(maxRestarts: number, period: number) {
    this.#maxRestarts = maxRestarts;
    this.#period = period;
  }

  /** `key`'s clock stops: it waits out a backoff delay from `now`. */
  pause(key: string, now: number): void {
    const clock = this.#clock(key);
    clock.since ??= now;
  }

  /** `key`'s clock runs again: its delay ended (or was cancelled) at `now`. */
  resume(key: string, now: number): void {
    const clock = this.#clock(key);
    if (clock.since === undefined) return;
    clock.waited += now - clock.since;
    clock.since = undefined;
  }

  /** Records a restart of `key` at `now`; true when it makes more than maxRestarts within the period. */
  record(key: string, now: number): boolean {
    this.#forget(now);
    this.#restarts.push({ key, at: now, waited: this.#waited(key, now) });
    return this.#restarts.length > this.#maxRestarts;
  }

  /** How many restarts count at `now`. */
  count(now: number): number {
    this.#forget(now);
    return this.#restarts.length;
  }

  /** How old a restart is on its child's clock at `now`. */
  #age(restart: { key: string; at: number; waited: number }, now: number): number {
    return now - restart.at - (this.#waited(restart.key, now) - restart.waited);
  }

  // Ages only grow, so a restart once forgotten stays forgotten; but they grow at different
  // rates, so any of them, not only the oldest, may be the next to go.
  #forget(now: number): void {
    this.#restarts = this.#restarts.filter((restart) => this.#age(restart, now) < this.#period);
  }

  #waited(key: string, now: number): number {
    const clock = this.#clock(key);
    return clock.waited + (clock.since === undefined ? 0 : now - clock.since);
  }

  #clock(key: string): { waited: number; since: number | undefined } {
    let clock = this.#clocks.get(key);
    if (!clock) {
      clock = { waited: 0, since: undefined };
      this.#clocks.set(key, clock);
    }
    return clock;
  }
}
