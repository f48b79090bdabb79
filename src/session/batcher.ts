import type { Connection, SharedDescriptor } from '../connection/connection.js';

/** A frame waiting for its turn to be written. `data` is dropped when it is withdrawn. */
export interface Outgoing {
  data: Buffer | undefined;
  /** Binaries that travel beside the frame as its message's further parts. */
  sides: Buffer[] | undefined;
  /**
   * Its side parts once written, kept until its call is answered for a connection that reuses
   * their memory then (Connection.recycle); for other connections they go at the write.
   */
  written?: Buffer[];
  /** The SharedBuffers the frame names (a transport may pass their descriptors). */
  shared?: readonly SharedDescriptor[];
  /** For a frame whose sender waits until the connection has taken it (send()). */
  taken?: { resolve: () => void; reject: (error: unknown) => void };
}

/** Withdrawn frames are swept out of the queue once there are this many and they are half of it. */
const SWEEP_AT = 256;

/**
 * The owner's outgoing frames, in order, many to a message. Frames queued during one turn of
 * the event loop go together, at the end of it (a microtask: a lone call waits for nothing), and
 * so do those that queue while the connection is still taking the previous message. That flush
 * is explicit: it does not depend on whether a transport's write is synchronous.
 */
export class Batcher {
  #queue: Outgoing[] = [];
  #withdrawn = 0;
  #flushing = false;
  #closed = false;
  /** Bytes of the messages handed to the connection, frames and side parts (node.stats()). */
  written = 0;

  constructor(
    private readonly connection: Connection,
    /** The most bytes of frames in one message (the worker's CNODE_BATCH_BYTES, or maxMessageSize if smaller). */
    private readonly batchBytes: number,
  ) {}

  /** Queues a frame and its side parts; they are written at the end of this turn. Returns its place, for withdraw(). */
  push(data: Buffer, sides?: Buffer[], shared?: readonly SharedDescriptor[]): Outgoing {
    const outgoing: Outgoing = { data, sides, shared };
    if (this.#closed) return outgoing;
    this.#queue.push(outgoing);
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => void this.#flush());
    }
    return outgoing;
  }

  /** Queues a frame; resolves once the connection has taken it, rejects if it is withdrawn or the batcher closes first. */
  pushAndWait(data: Buffer, sides?: Buffer[]): { outgoing: Outgoing; taken: Promise<void> } {
    const outgoing = this.push(data, sides);
    const taken = new Promise<void>((resolve, reject) => (outgoing.taken = { resolve, reject }));
    if (this.#closed) outgoing.taken!.reject(new Error('closed'));
    return { outgoing, taken };
  }

  /**
   * Drops a frame that has not been written yet (its call timed out or was aborted), so that a
   * worker that stopped reading cannot make the queue hold what nobody waits for.
   */
  withdraw(outgoing: Outgoing): void {
    if (outgoing.data === undefined) return;
    this.#discard(outgoing);
    outgoing.data = outgoing.sides = undefined;
    outgoing.taken?.reject(new Error('withdrawn'));
    if (++this.#withdrawn >= SWEEP_AT && this.#withdrawn * 2 >= this.#queue.length) {
      this.#queue = this.#queue.filter((queued) => queued.data !== undefined);
      this.#withdrawn = 0;
    }
  }

  /** Drops what is queued; its waiters are told. */
  close(): void {
    this.#closed = true;
    for (const outgoing of this.#queue.splice(0)) {
      this.#discard(outgoing);
      outgoing.taken?.reject(new Error('closed'));
    }
  }

  /** The call of `outgoing` was answered: a connection that reuses its written side parts' memory gets them. */
  recycle(outgoing: Outgoing): void {
    const written = outgoing.written;
    if (written === undefined) return;
    outgoing.written = undefined;
    this.connection.recycle!(written);
  }

  /** Side parts that will never be written: a connection that staged them lets them go now. */
  #discard(outgoing: Outgoing): void {
    if (!outgoing.sides || !this.connection.unstage) return;
    for (const side of outgoing.sides) this.connection.unstage(side);
  }

  // Writes what is queued, in order, a message at a time, until nothing is left. A frame with
  // side parts or SharedBuffers goes with the frames before it and ends its message: side-part
  // indexes count the parts of their own message, and descriptors go with one message.
  async #flush(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const batch: Outgoing[] = [];
      const frames: Buffer[] = [];
      let bytes = 0;
      let taken = 0;
      let sides: Buffer[] = [];
      let shared: readonly SharedDescriptor[] | undefined;
      for (; taken < this.#queue.length; taken++) {
        const outgoing = this.#queue[taken];
        if (outgoing.data === undefined) {
          this.#withdrawn--;
          continue;
        }
        const hasSides = outgoing.sides !== undefined && outgoing.sides.length > 0;
        const hasShared = outgoing.shared !== undefined && outgoing.shared.length > 0;
        if (frames.length > 0 && (hasSides || hasShared || bytes + outgoing.data.length > this.batchBytes)) break;
        frames.push(outgoing.data);
        batch.push(outgoing);
        bytes += outgoing.data.length;
        if (hasSides || hasShared) {
          sides = outgoing.sides ?? [];
          shared = outgoing.shared;
          taken++;
          break;
        }
      }
      this.#queue.splice(0, taken);
      if (batch.length === 0) continue;
      for (const outgoing of batch) outgoing.data = outgoing.sides = undefined; // out of the queue: too late to withdraw
      this.written += bytes;
      for (const side of sides) this.written += side.length;
      try {
        await this.connection.write(frames.length === 1 ? frames[0] : Buffer.concat(frames, bytes), sides, shared);
        // The sides are the last frame's: it ended the message.
        if (sides.length > 0 && this.connection.recycle) batch[batch.length - 1].written = sides;
        for (const outgoing of batch) outgoing.taken?.resolve();
      } catch (error) {
        for (const outgoing of batch) outgoing.taken?.reject(error);
      }
    }
    this.#flushing = false;
  }
}
