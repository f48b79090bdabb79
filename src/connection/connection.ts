/**
 * The owner's end of one connection to a worker, as a transport implements it: messages in,
 * messages out, back-pressure, and one close. The session above it knows no transport.
 *
 * A message is one or more frames back to back (docs/protocol.md section 2), then the side parts
 * its frames refer to. Received memory belongs to the receiver: a transport hands over buffers
 * it will not touch again.
 */
export interface Connection {
  /** What the transport carries beside frames. */
  readonly carries: {
    /** Binaries as separate parts of a message, not copied into its frames. */
    sideParts: boolean;
    /** SharedBuffers, named by descriptor: the worker runs on this host, as the owner's child. */
    sharedMemory: boolean;
  };
  /**
   * Whether the worker said it was ending (its last message, the end mark) before the connection
   * closed: a disconnect after it is the worker's orderly end, not a lost connection.
   */
  readonly peerEnded: boolean;
  /**
   * Writes one message; resolves once the transport has taken it (back-pressure: a caller that
   * awaits each write is paced by the worker), rejects if the connection closes first. One write
   * at a time: the next waits for this one. The buffers must not change afterwards. `shared`: the
   * SharedBuffers the frames name, for a transport that passes their descriptors.
   */
  write(frames: Buffer, sides: readonly Buffer[], shared?: readonly SharedDescriptor[]): Promise<void>;
  /**
   * A copy of a big binary for a message, made straight into the memory the transport will send
   * it from (a memfd), or undefined when that would not help (the caller copies it as usual).
   */
  stage?(bytes: Uint8Array): Buffer | undefined;
  /** A buffer stage() made that will never be written (its message was refused or withdrawn): let its memory go now. */
  unstage?(buffer: Buffer): void;
  /**
   * Side parts of a call the worker has answered (so it no longer reads them): those stage() made
   * may carry this worker's next messages, instead of memory made afresh. Never for a call that
   * timed out, was aborted or outlived its worker: that worker may still be reading them.
   */
  recycle?(sides: readonly Buffer[]): void;
  /** A SharedBuffer was released: a transport that passes descriptors forgets it sent this one. */
  forgetShared?(inode: number): void;
  /** After the worker's process has ended: waits, at most `timeoutMs`, until what it sent before it went has been delivered. */
  drain(timeoutMs: number): Promise<void>;
  /** Whether the connection's pending reads keep the event loop alive (they do by default). */
  setRef(ref: boolean): void;
  /** Closes it; no event is delivered afterwards. Closing twice does nothing. */
  close(): void;
}

/** A SharedBuffer as a transport sees it: its memfd in this process, and the file's inode. */
export interface SharedDescriptor {
  readonly fd: number;
  readonly inode: number;
}

/** What a connection tells the session. */
export interface ConnectionEvents {
  /** A message from the worker. */
  onMessage(frames: Buffer, sides: Buffer[]): void;
  /** The peer's end closed while the connection was open (the worker exited, or dropped it). */
  onDisconnect(): void;
  /** The transport failed: nothing more can be read. */
  onError(why: string): void;
}

/**
 * How the owner and a local worker reach each other: what the worker inherits at launch, the
 * endpoint its ready line must name, and the connection to it. One per start.
 */
export interface Transport {
  /** The launch line's settings the worker needs for this transport (`CNODE_TRANSPORT`, ...; launch/launch-line.ts). */
  readonly settings: Record<string, string>;
  /** Descriptors the worker inherits, as its descriptors 3, 4, ... in order. */
  readonly inherit: readonly number[];
  /** Once the worker is spawned, or failed to be: lets go of the owner's copies of its ends. */
  spawned(): void;
  /** The endpoint a ready line must name, for an error message (`ipc:///tmp/.../socket`). */
  readonly expectedEndpoint: string;
  /** Whether `endpoint`, from the ready line, is one this transport made. */
  isExpectedEndpoint(endpoint: string): boolean;
  /** Connects to the worker at `endpoint`. */
  connect(endpoint: string, maxMessageSize: number, events: ConnectionEvents): Connection;
  /** Releases what was made for the worker (an ipc directory), once it has exited. */
  release(): void;
}
