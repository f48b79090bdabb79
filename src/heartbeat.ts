import type { HeartbeatOptions } from './options.js';

/**
 * A tick this much later than its interval (or half an interval, if longer) means the owner
 * itself did not run: busy with synchronous work, paused in a debugger, or the machine suspended.
 */
const STALL_MS = 50;

/**
 * The owner's liveness check of one worker. Any frame from the worker counts as a sign of life;
 * after `interval` ms of silence the worker is pinged, and after `timeout` ms, with a ping
 * unanswered, it is declared unresponsive (once). The worker answers pings between handler runs,
 * so a worker stopped (SIGSTOP), deadlocked or spinning in a handler is caught within
 * timeout + interval.
 *
 * Only silence the owner could have heard counts. Time is read from a monotonic clock, so a step
 * of the wall clock is not silence. When the owner stalls, the worker's answers wait unread in
 * the socket: a tick that comes late pings and starts the count again, so the worker gets a full
 * timeout after every stall; and a verdict waits for the I/O that the timers ran ahead of.
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
    const stall = interval + Math.max(STALL_MS, interval / 2);
    this.#timer = setInterval(() => {
      const now = performance.now();
      const stalled = now - this.#lastTick > stall;
      this.#lastTick = now;
      if (stalled) {
        this.#silentSince = now;
        this.#ping();
        return;
      }
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
