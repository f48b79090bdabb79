import type { HeartbeatOptions } from './options.js';

/**
 * The owner's liveness check of one worker. Any frame from the worker counts as a sign of life;
 * after `interval` ms of silence the worker is pinged, and after `timeout` ms it is declared
 * unresponsive (once). The worker answers pings between handler runs, so a worker stopped
 * (SIGSTOP), deadlocked or spinning in a handler is caught within timeout + interval.
 */
export class Heartbeat {
  #timer: NodeJS.Timeout;
  #lastHeard = Date.now();
  #seq = 0;

  constructor(
    { interval, timeout }: HeartbeatOptions,
    ping: (seq: number) => void,
    onUnresponsive: (silentMs: number) => void,
  ) {
    this.#timer = setInterval(() => {
      const silent = Date.now() - this.#lastHeard;
      if (silent >= timeout) {
        this.stop();
        onUnresponsive(silent);
      } else if (silent >= interval) {
        this.#seq = this.#seq >= 0xffff_ffff ? 1 : this.#seq + 1;
        ping(this.#seq);
      }
    }, interval);
    this.#timer.unref(); // the worker, not its heartbeat, keeps the owner alive
  }

  /** Records a frame from the worker. */
  heard(): void {
    this.#lastHeard = Date.now();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
