import type { Launched, LaunchKind, ProcessEnd } from './launcher.js';

/**
 * The launcher of an attached node (CNode.attach): no process, for something else (systemd, a
 * container) started the worker, which serves until stopped. Its end is the connection's: the
 * worker ending (its end mark, then the connection closing), the connection lost, or the owner
 * letting it go (detach, or SIGKILL, which is all kill() can do to it).
 */
export class Attachment implements Launched {
  readonly kind: LaunchKind = 'attached';
  readonly pid = 0;
  readonly ended: Promise<ProcessEnd>;
  #hasEnded = false;
  #resolve: (end: ProcessEnd) => void = () => {};

  constructor(private readonly endpoint: string) {
    this.ended = new Promise((resolve) => (this.#resolve = resolve));
  }

  get hasEnded(): boolean {
    return this.#hasEnded;
  }

  /** The worker is already serving at the endpoint it was given: nothing to wait for. */
  waitReady(): Promise<string> {
    return Promise.resolve(this.endpoint);
  }

  /** Only SIGKILL means anything here: let the worker go, at once. */
  signal(signal: NodeJS.Signals): void {
    if (signal === 'SIGKILL') this.#end({ exitCode: null, signal: null, stderr: '', detached: true });
  }

  closeInput(): void {}

  /** The worker ended in order (exit code 0, as far as the owner can tell), or the connection was lost (no code). */
  disconnected(peerEnded: boolean): void {
    this.#end({ exitCode: peerEnded ? 0 : null, signal: null, stderr: '' });
  }

  /** The connection holds the loop, or not; there is nothing else to hold it. */
  setRef(): void {}

  #end(end: ProcessEnd): void {
    if (this.#hasEnded) return;
    this.#hasEnded = true;
    this.#resolve(end);
  }
}
