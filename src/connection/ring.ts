/**
 * The ring transport, for a worker on this host: shared memory with a ring each way, an eventfd
 * each way to wake a sleeping side, and a socketpair that is the lifeline (its EOF says the
 * worker is gone) and carries descriptors. The owner's end is the addon's Ring (addon/ring.cc);
 * the format is cnode/src/ring.h's; the worker inherits its end as descriptors 3 to 6.
 */
import { closeOnExit } from '../launch/exit-hooks.js';
import { native } from '../native.js';
import type { Connection, ConnectionEvents, SharedDescriptor, Transport } from './connection.js';

/** The descriptors the worker gets, in its numbering, as CNODE_RING_FDS tells it. */
const CHILD_FDS = '3,4,5,6';

/** The addon's end of a ring (addon/ring.cc). */
export interface NativeRing {
  /** Segment, the worker's eventfd, the owner's eventfd, the worker's end of the lifeline. */
  readonly childFds: number[];
  spawned(): void;
  start(
    onMessages: (list: (Buffer | Buffer[] | undefined)[]) => void,
    onEvent: (kind: string, why?: string) => void,
  ): void;
  write(frames: Buffer, sides: readonly Buffer[], fds: readonly number[]): boolean;
  stage(bytes: Uint8Array): Buffer | undefined;
  unstage(buffer: Buffer): void;
  recycle(buffers: readonly Buffer[]): void;
  pump(): void;
  setRef(ref: boolean): void;
  close(): void;
}

export class RingTransport implements Transport {
  readonly settings: Record<string, string> = { CNODE_TRANSPORT: 'local', CNODE_RING_FDS: CHILD_FDS };
  readonly expectedEndpoint = 'local';
  /** What the worker inherits as its descriptors 3, 4, 5 and 6. */
  readonly inherit: number[];
  #ring: NativeRing;
  #connected = false;

  /** `ringSize`: bytes per direction (a power of two); `maxMessageSize`: the largest part the worker may send. */
  constructor(ringSize: number, maxMessageSize: number) {
    const { Ring } = native();
    this.#ring = new Ring(ringSize, maxMessageSize);
    this.inherit = this.#ring.childFds;
  }

  spawned(): void {
    this.#ring.spawned();
  }

  isExpectedEndpoint(endpoint: string): boolean {
    return endpoint === this.expectedEndpoint;
  }

  connect(_endpoint: string, _maxMessageSize: number, events: ConnectionEvents): Connection {
    this.#connected = true;
    return new RingConnection(this.#ring, events);
  }

  /** Once the worker has exited: a connection closes the ring itself, after its last delivery. */
  release(): void {
    if (!this.#connected) this.#ring.close();
  }
}

/** A write that found the ring full, waiting for the worker to make room. */
interface Blocked {
  frames: Buffer;
  sides: readonly Buffer[];
  fds: readonly number[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

const taken = Promise.resolve();
const NO_FDS: readonly number[] = [];

class RingConnection implements Connection {
  readonly carries = { sideParts: true, sharedMemory: true };
  /** A ring's worker is the owner's child: its exit, not its words, says it ended. */
  readonly peerEnded = false;
  #ring: NativeRing;
  #closed = false;
  #blocked: Blocked[] = [];
  /** The inodes of the SharedBuffers whose descriptors the worker has been sent and keeps. */
  #sentShared = new Set<number>();
  /** Why the ring cannot be written any more (a worker's index out of bounds): every later write fails with it. */
  #broken: Error | undefined;
  #forgetAtExit: () => void;

  constructor(
    ring: NativeRing,
    private readonly handlers: ConnectionEvents,
  ) {
    this.#ring = ring;
    ring.start(
      (list) => this.#onMessages(list),
      (kind, why) => this.#onEvent(kind, why),
    );
    this.#forgetAtExit = closeOnExit(() => this.close());
  }

  /** Writes into the ring now; a message that does not fit waits, in order, for the worker to make room. */
  write(frames: Buffer, sides: readonly Buffer[], shared?: readonly SharedDescriptor[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    if (this.#broken) return Promise.reject(this.#broken);
    const fds = shared ? this.#newDescriptors(shared) : NO_FDS;
    try {
      if (this.#blocked.length === 0 && this.#ring.write(frames, sides, fds)) return taken;
    } catch (error) {
      return Promise.reject(this.#failed(error));
    }
    return new Promise((resolve, reject) => this.#blocked.push({ frames, sides, fds, resolve, reject }));
  }

  /** The addon delivers what the worker wrote before its exit when asked: nothing to wait for. */
  async drain(): Promise<void> {
    if (!this.#closed) this.#ring.pump();
  }

  /** A big binary copied once, into the memfd that will carry it (addon/staged.cc). */
  stage(bytes: Uint8Array): Buffer | undefined {
    return this.#closed ? undefined : this.#ring.stage(bytes);
  }

  unstage(buffer: Buffer): void {
    this.#ring.unstage(buffer);
  }

  /** The memfds of an answered call's staged parts are kept for this worker's next ones (addon/staged.cc). */
  recycle(sides: readonly Buffer[]): void {
    if (!this.#closed) this.#ring.recycle(sides);
  }

  forgetShared(inode: number): void {
    this.#sentShared.delete(inode);
  }

  /**
   * The descriptors of the SharedBuffers this worker has not been sent yet: it keeps each one it
   * gets until the buffer's RELEASE (cnode/src/shared.c), so one call sends it. Counted as sent
   * here, at the write: a call withdrawn before it was written sent nothing.
   */
  #newDescriptors(shared: readonly SharedDescriptor[]): number[] {
    const fds: number[] = [];
    for (const { fd, inode } of shared) {
      if (this.#sentShared.has(inode)) continue;
      this.#sentShared.add(inode);
      fds.push(fd);
    }
    return fds;
  }

  setRef(ref: boolean): void {
    if (!this.#closed) this.#ring.setRef(ref);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forgetAtExit();
    this.#ring.close();
    for (const blocked of this.#blocked.splice(0)) blocked.reject(new Error('connection closed'));
  }

  #onMessages(list: (Buffer | Buffer[] | undefined)[]): void {
    for (let i = 0; i < list.length && !this.#closed; i += 2) {
      this.handlers.onMessage(list[i] as Buffer, (list[i + 1] as Buffer[] | undefined) ?? []);
    }
  }

  #onEvent(kind: string, why?: string): void {
    if (this.#closed) return;
    if (kind === 'writable') this.#retry();
    else if (kind === 'disconnect') this.handlers.onDisconnect();
    else this.handlers.onError(why ?? kind);
  }

  #retry(): void {
    while (this.#blocked.length > 0 && !this.#closed) {
      const next = this.#blocked[0];
      try {
        if (!this.#ring.write(next.frames, next.sides, next.fds)) return;
      } catch (error) {
        this.#failed(error); // rejects it with the rest
        return;
      }
      this.#blocked.shift();
      next.resolve();
    }
  }

  /** A write the ring could not take (a worker's index out of bounds, no memfd left): the connection is broken. */
  #failed(error: unknown): Error {
    this.#broken = error as Error;
    this.handlers.onError(this.#broken.message);
    for (const blocked of this.#blocked.splice(0)) blocked.reject(this.#broken);
    return this.#broken;
  }
}
