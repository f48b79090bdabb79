import type { HeartbeatOptions } from '../options.js';

/**
 * A tick this much later than its interval means the owner itself did not run meanwhile: busy
 * with synchronous work, paused in a debugger, or the machine suspended.
 */
const LATE_MS = 20;

/**
 * The owner's liveness check of one worker. Any frame from the worker counts as a sign of life;
 * after `interval` ms of silence the worker is pinged, and after `timeout` ms, with a ping
 * unanswered, it is declared unresponsive (once). The worker answers pings between handler runs,
 * so a worker stopped (SIGSTOP), deadlocked or spinning in a handler is caught within
 * timeout + interval.
 *
 * Only silence the owner could have heard counts. Time is read from a monotonic clock, so a step
 * of the wall clock is not silence. While the owner does not run, the worker's answers wait
 * unread: the time a tick comes late is not counted, and after a stall as long as the timeout
 * (3 s of synchronous work, a debugger pause) the worker is pinged and given a full timeout
 * again. A verdict waits for the I/O that the timers ran ahead of.
 */
export class Heartbeat {
  #timer: NodeJS.Timeout;
  #verdict: NodeJS.Immediate | undefined;
  /** Since when the worker has been silent, as far as the owner could have heard it. */
  #silentSince = performance.now();
  #lastTick = this.#silentSince;
  #pinged = false;
  #seq = 0;

  constructor(
    { interval, timeout }: HeartbeatOptions,
    private readonly ping: (seq: number) => void,
    onUnresponsive: (silentMs: number) => void,
  ) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      const late = now - this.#lastTick - interval;
      this.#lastTick = now;
      if (late >= timeout) {
        this.#silentSince = now;
        this.#ping();
        return;
      }
      if (late > LATE_MS) this.#silentSince = Math.min(now, this.#silentSince + late);
      const silent = now - this.#silentSince;
      if (silent >= timeout && this.#pinged) {
        // Timers run before the loop reads its sockets: judge once the worker's frames, if any
        // are waiting, have been read.
        const silentSince = this.#silentSince;
        this.#verdict ??= setImmediate(() => {
          this.#verdict = undefined;
          if (this.#silentSince !== silentSince) return;
          this.stop();
          onUnresponsive(performance.now() - silentSince);
        }).unref();
      } else if (silent >= interval) {
        this.#ping();
      }
    }, interval);
    this.#timer.unref(); // the worker, not its heartbeat, keeps the owner alive
  }

  /** Records a frame from the worker. */
  heard(): void {
    this.#silentSince = performance.now();
    this.#pinged = false;
  }

  stop(): void {
    clearInterval(this.#timer);
    if (this.#verdict) clearImmediate(this.#verdict);
  }

  #ping(): void {
    this.#seq = this.#seq >= 0xffff_ffff ? 1 : this.#seq + 1;
    this.#pinged = true;
    this.ping(this.#seq);
  }
}
