import type { SharedBuffer } from '../shared-buffer.js';

/**
 * The SharedBuffers one worker was sent. A call holds each buffer it carries until it settles
 * (the worker opens its descriptor through /proc while it handles the call); the first time the
 * worker is sent a buffer, its release is arranged to tell the worker to unmap it.
 */
export class SharedHolds {
  /** By inode: ends the onRelease listener. */
  #sent = new Map<number, () => void>();

  constructor(private readonly tellReleased: (inode: number) => void) {}

  /** Holds `shared` for a call in flight; returns the end of the hold. */
  hold(shared: SharedBuffer): () => void {
    const endHold = shared.retain();
    if (!this.#sent.has(shared.inode)) {
      const stopListening = shared.onRelease((inode) => {
        this.#sent.delete(inode);
        this.tellReleased(inode);
      });
      this.#sent.set(shared.inode, stopListening);
    }
    return endHold;
  }

  /** The worker has ended, and its mappings with it: no release needs telling any more. */
  forgetAll(): void {
    for (const stopListening of this.#sent.values()) stopListening();
    this.#sent.clear();
  }
}
