import { Dealer, type Observer } from 'zeromq';
import { decodeAll, encodeFrame, MAX_SIDES } from './codec.js';
import { CNodeError } from './errors.js';
import { asWorkerFrame, FrameKind, PROTOCOL_VERSION, type WorkerFrame } from './protocol.js';
import { native } from './native.js';
import { closeOnExit } from './registry.js';
import { settlesWithin } from './wait.js';

/** A frame waiting for its turn to be handed to ZeroMQ. `data` is dropped when it is withdrawn. */
export interface Outgoing {
  data: Buffer | undefined;
  /** Binaries that travel beside the frame as the message's further parts. */
  sides?: Buffer[];
  resolve?: () => void;
  reject?: (error: unknown) => void;
}

/** The owner's half of a CurveZMQ connection: the worker's public key and the owner's own pair. */
export interface ClientCurve {
  serverKey: string;
  publicKey: string;
  secretKey: string;
}

export interface ChannelHandlers {
  /** Every well-formed frame after the handshake. */
  onFrame: (frame: WorkerFrame) => void;
  /** A frame that breaks the protocol: the worker cannot be trusted with another call. */
  onViolation: (why: string) => void;
  /** The connection to the worker closed. */
  onDisconnect: () => void;
}

/** Withdrawn frames are swept out of the queue once there are this many and they are half of it. */
const SWEEP_AT = 256;
/** The most bytes of frames sent together in one message (the worker's CNODE_BATCH_BYTES). */
const BATCH_BYTES = 65536;

/**
 * The owner's ZeroMQ connection to one worker: a Dealer, one receive loop, and a send queue
 * (zeromq.js allows one send at a time per socket, so sends wait here, in order).
 */
export class Channel {
  #socket: Dealer;
  #events: Observer;
  #queue: Outgoing[] = [];
  #withdrawn = 0;
  #sending = false;
  #closed = false;
  #onWelcome: ((frame: WorkerFrame) => void) | undefined;
  #failHandshake: ((code: 'ERR_CNODE_CONNECT' | 'ERR_CNODE_PROTOCOL', why: string) => void) | undefined;
  #disconnected: Promise<void>;
  #forgetAtExit: () => void;
  #batchBytes: number;
  /** The descriptors zeromq.js polls for this socket and its monitor, for setRef(). */
  #pollFds: number[];

  constructor(
    endpoint: string,
    { maxMessageSize, curve }: { maxMessageSize: number; curve?: ClientCurve },
    private readonly handlers: ChannelHandlers,
  ) {
    // linger 0: closing never waits for a dead peer. Reconnection stays on: with it off
    // (reconnectInterval -1), libzmq discards the messages a peer sent just before it closed,
    // such as the replies to the calls before a stop. The ipc socket file is gone by then, so
    // the attempts fail until close(). maxMessageSize: libzmq drops a connection that sends a
    // bigger frame, before allocating it.
    // zeromq.js makes a poll handle with each socket and monitor; the ones new meanwhile are theirs.
    const pollsBefore = native().pollDescriptors();
    this.#socket = new Dealer({
      linger: 0,
      maxMessageSize,
      ...(curve && { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
    });
    this.#batchBytes = Math.min(BATCH_BYTES, maxMessageSize);
    this.#events = this.#socket.events; // read once: after the monitor closes, the getter makes a new one
    this.#pollFds = native().pollDescriptors().filter((fd) => !pollsBefore.includes(fd));
    this.#disconnected = this.#watchDisconnect();
    this.#socket.connect(endpoint);
    this.#forgetAtExit = closeOnExit(() => this.close(true));
    void this.#receiveLoop();
  }

  /**
   * After the worker has exited, delivers what it sent before it went: a worker's process exit
   * can be seen before ZeroMQ hands its last replies to the receive loop. Once the connection is
   * seen closed, ZeroMQ holds everything the worker sent, so read until nothing is left.
   */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (!(await settlesWithin(this.#disconnected, timeoutMs))) return;
    while (!this.#closed && this.#socket.readable && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve)); // the receive loop reads meanwhile
    }
  }

  /** Proves the cookie and checks the worker's version and name. Rejects with ERR_CNODE_CONNECT or ERR_CNODE_PROTOCOL. */
  handshake(cookie: string, node: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: CNodeError) => {
        clearTimeout(timer);
        this.#onWelcome = undefined;
        this.#failHandshake = undefined;
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => {
        settle(new CNodeError('ERR_CNODE_CONNECT', `cnode ${node} did not answer the handshake within ${timeoutMs} ms`, { node }));
      }, timeoutMs);
      // A violation, or close() because start() failed otherwise.
      this.#failHandshake = (code, why) => settle(new CNodeError(code, `cnode ${node} ${why}`, { node }));
      this.#onWelcome = ([, version, name]) => {
        if (version !== PROTOCOL_VERSION) {
          settle(new CNodeError('ERR_CNODE_PROTOCOL', `cnode ${node} speaks protocol version ${version}; this library speaks ${PROTOCOL_VERSION}`, { node }));
        } else if (name !== node) {
          settle(new CNodeError('ERR_CNODE_PROTOCOL', `cnode ${node} answered the handshake as ${JSON.stringify(name)}`, { node }));
        } else {
          settle();
        }
      };
      this.send(encodeFrame([FrameKind.Hello, PROTOCOL_VERSION, cookie])); // the timer reports a failure
    });
  }

  /** Whether this connection's pending receives keep the event loop alive (they do by default). */
  setRef(ref: boolean): void {
    if (!this.#closed) native().setPollRef(this.#pollFds, ref);
  }

  /** Queues one encoded frame and its side parts. Returns its place in the queue, for withdraw(). */
  send(data: Buffer, sides?: Buffer[]): Outgoing {
    const outgoing: Outgoing = { data, sides };
    if (!this.#closed) this.#enqueue(outgoing);
    return outgoing;
  }

  /** Queues one encoded frame; resolves once ZeroMQ has taken it, rejects if the channel closes first. */
  sendAndWait(data: Buffer, sides?: Buffer[]): { outgoing: Outgoing; taken: Promise<void> } {
    const outgoing: Outgoing = { data, sides };
    const taken = new Promise<void>((resolve, reject) => {
      outgoing.resolve = resolve;
      outgoing.reject = reject;
    });
    if (this.#closed) outgoing.reject!(new Error('channel closed'));
    else this.#enqueue(outgoing);
    return { outgoing, taken };
  }

  /**
   * Drops a frame that has not been handed to ZeroMQ yet (its call timed out or was aborted), so
   * that a worker that stopped reading cannot make the queue hold what nobody waits for.
   */
  withdraw(outgoing: Outgoing): void {
    if (outgoing.data === undefined) return;
    outgoing.data = outgoing.sides = undefined;
    outgoing.reject?.(new Error('withdrawn'));
    if (++this.#withdrawn >= SWEEP_AT && this.#withdrawn * 2 >= this.#queue.length) {
      this.#queue = this.#queue.filter((queued) => queued.data !== undefined);
      this.#withdrawn = 0;
    }
  }

  /**
   * Closes the socket; its monitor closes itself once the socket has. `atExit`: the event loop
   * is ending, so close the monitor now: zeromq.js aborts the process when a worker_thread ends
   * with a socket or monitor still receiving (zeromq.js issue #411). (Closing the monitor
   * explicitly at other times leaks three eventfds in libzmq.)
   */
  close(atExit = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forgetAtExit();
    this.#failHandshake?.('ERR_CNODE_CONNECT', 'closed the connection during the handshake');
    this.#socket.close();
    if (atExit && !this.#events.closed) this.#events.close();
    for (const outgoing of this.#queue.splice(0)) outgoing.reject?.(new Error('channel closed'));
  }

  #enqueue(outgoing: Outgoing): void {
    this.#queue.push(outgoing);
    if (!this.#sending) void this.#pump();
  }

  // Sends what is queued, in order. Frames that queued up while the last send was in progress go
  // together in one ZeroMQ message, up to BATCH_BYTES: one message per call is what limits
  // pipelined calls (docs/protocol.md section 2). A lone frame goes at once, on its own, and so
  // does a frame with side parts, whose indexes count the parts of its own message.
  async #pump(): Promise<void> {
    this.#sending = true;
    while (this.#queue.length > 0 && !this.#closed) {
      const batch: Outgoing[] = [];
      const frames: Buffer[] = [];
      let bytes = 0;
      let taken = 0;
      let sides: Buffer[] = [];
      for (; taken < this.#queue.length; taken++) {
        const outgoing = this.#queue[taken];
        if (outgoing.data === undefined) {
          this.#withdrawn--;
          continue;
        }
        const hasSides = outgoing.sides !== undefined && outgoing.sides.length > 0;
        if (frames.length > 0 && (hasSides || bytes + outgoing.data.length > this.#batchBytes)) break;
        frames.push(outgoing.data);
        batch.push(outgoing);
        bytes += outgoing.data.length;
        if (hasSides) {
          sides = outgoing.sides!;
          taken++;
          break;
        }
      }
      this.#queue.splice(0, taken);
      if (batch.length === 0) continue;
      for (const outgoing of batch) outgoing.data = outgoing.sides = undefined; // out of the queue: too late to withdraw
      try {
        const framesPart = frames.length === 1 ? frames[0] : Buffer.concat(frames, bytes);
        await this.#socket.send(sides.length > 0 ? [framesPart, ...sides] : framesPart);
        for (const outgoing of batch) outgoing.resolve?.();
      } catch (error) {
        for (const outgoing of batch) outgoing.reject?.(error);
      }
    }
    this.#sending = false;
  }

  // Reads the socket's events itself rather than through events.on(), whose loop leaves an
  // unhandled rejection behind when the monitor is closed while it waits.
  async #watchDisconnect(): Promise<void> {
    let resolve = () => {};
    const disconnected = new Promise<void>((done) => (resolve = done));
    void (async () => {
      try {
        for await (const event of this.#events) {
          if (event.type !== 'disconnect') continue;
          resolve();
          if (!this.#closed) this.handlers.onDisconnect();
        }
      } catch {
        // closed while waiting
      }
    })();
    return disconnected;
  }

  async #receiveLoop(): Promise<void> {
    try {
      for await (const message of this.#socket) {
        this.#dispatch(message);
      }
    } catch (error) {
      if (!this.#closed) this.#violation(`nothing readable: receive failed (${(error as Error).message})`);
    }
  }

  #dispatch(message: Buffer[]): void {
    // Counted only for a report: this runs for every message.
    const bytes = () => message.reduce((n, part) => n + part.length, 0);
    if (message.length > 1 + MAX_SIDES) return this.#violation(`a message of ${message.length} parts (${bytes()} bytes); version ${PROTOCOL_VERSION} messages have at most ${1 + MAX_SIDES}`);
    let values: unknown[];
    try {
      values = decodeAll(message[0], message.slice(1));
    } catch (error) {
      return this.#violation(`a message of ${bytes()} bytes that cannot be decoded (${(error as Error).message})`);
    }
    for (const value of values) {
      if (this.#closed) return;
      const frame = asWorkerFrame(value);
      if (!frame) return this.#violation(`a message of ${bytes()} bytes that holds something other than frames of protocol version ${PROTOCOL_VERSION}`);
      if (this.#onWelcome) {
        if (frame[0] !== FrameKind.Welcome) return this.#violation(`a frame of kind ${frame[0]} before the handshake`);
        this.#onWelcome(frame);
      } else if (frame[0] === FrameKind.Welcome) {
        return this.#violation('a second WELCOME');
      } else {
        try {
          this.handlers.onFrame(frame);
        } catch (error) {
          // A user's listener threw: the frames after it must still be handled, and the error
          // must not vanish.
          process.nextTick(() => {
            throw error;
          });
        }
      }
    }
  }

  #violation(why: string): void {
    if (this.#failHandshake) return this.#failHandshake('ERR_CNODE_PROTOCOL', `broke the protocol during the handshake: it sent ${why}`);
    this.handlers.onViolation(why);
  }
}
