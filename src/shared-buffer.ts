import { constants as bufferConstants } from 'node:buffer';
import fs from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { markAsUntransferable } from 'node:worker_threads';
import { CNodeError, showValue } from './errors.js';
import { native } from './native.js';

/** The addon's shared-memory functions (addon/shared.h documents them). */
interface SharedAddon {
  sharedCreate(byteLength: number): { buffer: ArrayBuffer; fd: number; inode: number; byteLength: number };
  sharedRelease(buffer: ArrayBuffer, keepFd?: boolean): boolean;
  sharedStats(): { mapped: number; records: number };
}

function addon(): SharedAddon {
  return native() as unknown as SharedAddon;
}

/** The largest byteLength: 2^40, or less where Node cannot make a bigger ArrayBuffer (2^32 in Node 20). */
export const MAX_SHARED_BYTES = Math.min(2 ** 40, bufferConstants.MAX_LENGTH);

/** What a SharedBuffer's finalization and its onRelease listeners need, without the buffer itself. */
interface ReleaseState {
  inode: number;
  listeners: Set<(inode: number) => void> | null; // null once they were called
}

function notify(state: ReleaseState): void {
  const listeners = state.listeners;
  state.listeners = null;
  for (const listener of listeners ?? []) {
    try {
      listener(state.inode);
    } catch (error) {
      process.nextTick(() => {
        throw error; // an uncaught exception, as a throwing event listener would be
      });
    }
  }
}

/** Each SharedBuffer by its ArrayBuffer, so that a view of one can travel as the shared bytes it is. */
const byArrayBuffer = new WeakMap<ArrayBufferLike, SharedBuffer>();

/** The SharedBuffer whose memory `buffer` is, if any. */
export function sharedBufferOf(buffer: ArrayBufferLike): SharedBuffer | undefined {
  return byArrayBuffer.get(buffer);
}

/** A SharedBuffer dropped without release(): its ArrayBuffer's finalizer unmaps it; here its listeners hear of it. */
const collected = new FinalizationRegistry<ReleaseState>(notify);

/**
 * Memory the owner shares with its workers: a sealed memfd mapped into this process, that a worker
 * maps too (cnode/src/shared.h, by owner pid, `fd` and `inode`), so that both read and write the
 * same bytes and nothing is copied through the socket.
 *
 * Lifetime: release() (or `using`) detaches the buffer and every view of it at once (their length
 * becomes 0) and unmaps the owner's pages. The descriptor stays open while a hold from retain() is
 * active, since a worker still has to open it through /proc, and closes with the last hold. A
 * SharedBuffer never released is unmapped and closed when its ArrayBuffer is garbage collected;
 * V8 counts its full length as external memory, so big buffers bring collections on. Each one holds
 * a descriptor until then: release what you are done with.
 *
 * Do not hand its views to an API that reads them later on another thread (a zero-copy socket send):
 * release() would unmap the pages under it.
 */
export class SharedBuffer implements Disposable {
  /** The size in bytes, as created. */
  readonly byteLength: number;
  /** The memfd in this process. A worker opens /proc/<owner pid>/fd/<fd>. Closed once fully released. */
  readonly fd: number;
  /** The memfd's inode number: proves to a worker that `fd` still names this file, and keys its cache. */
  readonly inode: number;

  #buffer: ArrayBuffer;
  #released = false;
  #holds = 0;
  #state: ReleaseState;

  private constructor(created: ReturnType<SharedAddon['sharedCreate']>) {
    this.#buffer = created.buffer;
    this.byteLength = created.byteLength;
    this.fd = created.fd;
    this.inode = created.inode;
    this.#state = { inode: created.inode, listeners: new Set() };
    markAsUntransferable(this.#buffer); // postMessage copies it: the mapping stays with this thread
    collected.register(this, this.#state, this);
    byArrayBuffer.set(this.#buffer, this);
  }

  /** Makes a zero-filled shared buffer of `byteLength` bytes (an integer from 1 to MAX_SHARED_BYTES). */
  static create(byteLength: number): SharedBuffer {
    if (!Number.isInteger(byteLength) || byteLength < 1 || byteLength > MAX_SHARED_BYTES) {
      throw new CNodeError(
        'ERR_CNODE_INVALID_OPTION',
        `Expected \`byteLength\` to be an integer from 1 to ${MAX_SHARED_BYTES}, got ${showValue(byteLength)}`,
      );
    }
    try {
      return new SharedBuffer(addon().sharedCreate(byteLength));
    } catch (error) {
      // The system refused (EMFILE, ENOMEM...): the addon gives errno; name it as Node's errors do.
      const { errno } = error as { errno?: unknown };
      if (typeof errno === 'number') Object.assign(error as Error, { code: getSystemErrorName(-errno) });
      throw error;
    }
  }

  /** The memory. After release() it is detached: byteLength 0, and any view of it has length 0. */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  /** True once release() was called (the descriptor may still be open for a hold). */
  get released(): boolean {
    return this.#released;
  }

  /** A byte view of the whole buffer. Throws a TypeError after release(). */
  bytes(): Uint8Array {
    this.#checkLive('bytes()');
    return new Uint8Array(this.#buffer);
  }

  /** A Float64 view of the whole buffer (of its first floor(byteLength / 8) × 8 bytes). Throws a TypeError after release(). */
  float64(): Float64Array {
    this.#checkLive('float64()');
    return new Float64Array(this.#buffer, 0, Math.floor(this.byteLength / 8));
  }

  /**
   * Marks the buffer in use by a message in flight: until the returned function is called (once
   * is enough; more calls do nothing), release() keeps the descriptor open so that the worker can
   * still open it. Throws ERR_CNODE_BAD_MESSAGE when the buffer is already released.
   */
  retain(): () => void {
    if (this.#released) {
      throw new CNodeError(
        'ERR_CNODE_BAD_MESSAGE',
        `SharedBuffer (inode ${this.inode}) was released and cannot be sent`,
      );
    }
    this.#holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.#holds === 0 && this.#released) this.#finish();
    };
  }

  /**
   * Releases the buffer; later calls do nothing. Now: detaches it (every view gets length 0) and
   * unmaps the owner's pages. Then, at once or when the last hold from retain() ends: closes the
   * descriptor and calls the onRelease listeners. A worker's own mapping is not affected: tell it
   * to forget the inode (onRelease) to free the memory.
   */
  release(): void {
    if (this.#released) return;
    addon().sharedRelease(this.#buffer, true);
    this.#released = true;
    if (this.#holds === 0) this.#finish();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * Calls `listener(inode)` once when the owner is done with the buffer: after release() and its
   * last hold (the descriptor is closed by then), or after the SharedBuffer was garbage collected
   * unreleased. Meant for telling workers to drop their mappings (cnode_shared_forget). Returns a
   * function that removes it. A listener must not refer to this SharedBuffer, or it would never be
   * collected. Added after the release it is called on the next microtask. What it throws becomes
   * an uncaught exception.
   */
  onRelease(listener: (inode: number) => void): () => void {
    // No closure here may use `this`: V8 would keep it in their shared context, and the listener
    // set, held by the FinalizationRegistry, would keep this SharedBuffer alive for ever.
    const { inode, listeners } = this.#state;
    if (listeners === null) {
      let active = true;
      queueMicrotask(() => active && notify({ inode, listeners: new Set([listener]) }));
      return () => {
        active = false;
      };
    }
    const own = (released: number) => listener(released); // its own entry: removing it removes only this one
    listeners.add(own);
    return () => {
      listeners.delete(own);
    };
  }

  #finish(): void {
    fs.closeSync(this.fd);
    collected.unregister(this);
    notify(this.#state);
  }

  #checkLive(what: string): void {
    if (this.#released) throw new TypeError(`SharedBuffer ${what}: the buffer (inode ${this.inode}) was released`);
  }
}

/** For tests: regions still mapped, and records whose finalizer has not run yet, in this process. */
export function sharedStats(): { mapped: number; records: number } {
  return addon().sharedStats();
}
