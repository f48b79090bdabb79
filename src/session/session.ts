/**
 * The protocol over any connection (docs/protocol.md): the handshake, the frames from the
 * worker checked against the protocol, the outgoing frames batched, and the heartbeat. It knows
 * neither the transport nor the calls.
 */

import { decodeAll, encodeFrame } from '../codec.js';
import type { Connection, ConnectionEvents, SharedDescriptor } from '../connection/connection.js';
import { type CNodeError, nodeError } from '../errors.js';
import type { HeartbeatOptions } from '../options.js';
import {
  asWorkerFrame,
  BATCH_BYTES,
  FrameKind,
  MAX_SIDES,
  PROTOCOL_VERSION,
  type WelcomeFrame,
  type WorkerFrame,
} from '../protocol.js';
import { Batcher, type Outgoing } from './batcher.js';
import { Heartbeat } from './heartbeat.js';

/** The frames the node above handles; the session answers the rest itself. */
export type NodeFrame = Exclude<WorkerFrame, { 0: FrameKind.Welcome | FrameKind.Pong }>;

export interface SessionEvents {
  /** A well-formed REPLY, FAIL or INFO after the handshake. */
  onFrame(frame: NodeFrame): void;
  /** A frame that breaks the protocol: the worker cannot be trusted with another call. */
  onViolation(why: string): void;
  /** The worker's end of the connection closed while it runs. */
  onDisconnect(): void;
  /** The heartbeat went unanswered for its timeout; `silentMs` is how long. */
  onUnresponsive(silentMs: number): void;
}

export class Session {
  readonly connection: Connection;
  #batcher: Batcher;
  #heartbeat: Heartbeat | undefined;
  #closed = false;
  #onWelcome: ((frame: WelcomeFrame) => void) | undefined;
  #failHandshake: ((code: 'ERR_CNODE_CONNECT' | 'ERR_CNODE_PROTOCOL', why: string) => void) | undefined;
  /** Set once the handshake is done: until then nothing reaches the node. */
  #events: SessionEvents | undefined;
  /** Frames that came after the handshake and before open(): given to the node when it opens. */
  #beforeOpen: NodeFrame[] = [];
  /** A violation between the handshake and open(): reported when the node opens. */
  #violatedBeforeOpen: string | undefined;
  /** Bytes of the messages from the worker, frames and side parts. */
  #received = 0;

  /**
   * `node`: the worker's name, which its WELCOME must give, or (`expectName` false, an attached
   * worker) what errors call it until its WELCOME names it. `connect`: the connection's maker
   * (the transport's connect()), given the session's events.
   */
  constructor(
    private node: string,
    connect: (events: ConnectionEvents) => Connection,
    maxMessageSize: number,
    private readonly expectName = true,
  ) {
    this.connection = connect({
      onMessage: (frames, sides) => this.#dispatch(frames, sides),
      onDisconnect: () => this.#events?.onDisconnect(),
      onError: (why) => this.#violation(why),
    });
    this.#batcher = new Batcher(this.connection, Math.min(BATCH_BYTES, maxMessageSize));
  }

  /**
   * Proves the cookie and checks the worker's version and name; resolves with the name and the
   * worker's pid on its own host. Rejects with ERR_CNODE_CONNECT or ERR_CNODE_PROTOCOL.
   */
  handshake(cookie: string, timeoutMs: number): Promise<{ node: string; pid: number }> {
    return new Promise((resolve, reject) => {
      let welcomed = { node: this.node, pid: 0 };
      const settle = (error?: CNodeError) => {
        clearTimeout(timer);
        this.#onWelcome = undefined;
        this.#failHandshake = undefined;
        if (error) reject(error);
        else resolve(welcomed);
      };
      const timer = setTimeout(
        () => settle(nodeError(this.node, 'ERR_CNODE_CONNECT', `did not answer the handshake within ${timeoutMs} ms`)),
        timeoutMs,
      );
      // A violation, or close() because start() failed otherwise.
      this.#failHandshake = (code, why) => settle(nodeError(this.node, code, why));
      this.#onWelcome = ([, version, name, pid]) => {
        if (version !== PROTOCOL_VERSION)
          settle(
            nodeError(
              this.node,
              'ERR_CNODE_PROTOCOL',
              `speaks protocol version ${version}; this library speaks ${PROTOCOL_VERSION}`,
            ),
          );
        else if (this.expectName && name !== this.node)
          settle(nodeError(this.node, 'ERR_CNODE_PROTOCOL', `answered the handshake as ${JSON.stringify(name)}`));
        else {
          this.node = name;
          welcomed = { node: name, pid };
          settle();
        }
      };
      this.send(encodeFrame([FrameKind.Hello, PROTOCOL_VERSION, cookie])); // the timer reports a failure
    });
  }

  /** After the handshake: delivers the worker's frames to `events`, and starts the heartbeat if asked. */
  open(events: SessionEvents, heartbeat: HeartbeatOptions | undefined): void {
    this.#events = events;
    for (const frame of this.#beforeOpen.splice(0)) this.#toNode(frame);
    if (this.#violatedBeforeOpen !== undefined) events.onViolation(this.#violatedBeforeOpen);
    if (heartbeat) {
      this.#heartbeat = new Heartbeat(
        heartbeat,
        (seq) => this.send(encodeFrame([FrameKind.Ping, seq])),
        (silentMs) => events.onUnresponsive(silentMs),
      );
    }
  }

  /** Bytes of messages to the worker (handed to the connection) and from it, frames and side parts. */
  get bytes(): { sent: number; received: number } {
    return { sent: this.#batcher.written, received: this.#received };
  }

  /** Queues one encoded frame and its side parts. Returns its place in the queue, for withdraw(). */
  send(frame: Buffer, sides?: Buffer[], shared?: readonly SharedDescriptor[]): Outgoing {
    return this.#batcher.push(frame, sides, shared);
  }

  /** The owner released a SharedBuffer (its RELEASE frame follows). */
  forgetShared(inode: number): void {
    this.connection.forgetShared?.(inode);
  }

  /** Queues one encoded frame; resolves once the connection has taken it, rejects if it is withdrawn or the session closes first. */
  sendAndWait(frame: Buffer, sides?: Buffer[]): { outgoing: Outgoing; taken: Promise<void> } {
    return this.#batcher.pushAndWait(frame, sides);
  }

  /** The call of `outgoing` was answered: its side parts' memory may carry later messages (Connection.recycle). */
  recycle(outgoing: Outgoing): void {
    this.#batcher.recycle(outgoing);
  }

  /** Drops a frame not written yet. */
  withdraw(outgoing: Outgoing): void {
    this.#batcher.withdraw(outgoing);
  }

  /** The worker's process has ended: no more heartbeat; what it sent before it went is still delivered, for at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    this.#heartbeat?.stop();
    await this.connection.drain(timeoutMs);
  }

  /** The heartbeat stops (the worker is being killed). */
  stopHeartbeat(): void {
    this.#heartbeat?.stop();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#heartbeat?.stop();
    this.#failHandshake?.('ERR_CNODE_CONNECT', 'closed the connection during the handshake');
    this.#batcher.close();
    this.connection.close();
  }

  #dispatch(frames: Buffer, sides: Buffer[]): void {
    // Counted here, once per message the connection hands over (a batch of frames): node.stats().
    this.#received += frames.length;
    for (let i = 0; i < sides.length; i++) this.#received += sides[i].length;
    const broken = this.#deliver(frames, sides);
    if (broken) this.#violation(broken);
  }

  /** Delivers the frames of one message, in order; returns how it breaks the protocol, if it does. */
  #deliver(frames: Buffer, sides: Buffer[]): string | undefined {
    // Counted only for a report: this runs for every message.
    const bytes = () => sides.reduce((n, part) => n + part.length, frames.length);
    if (sides.length > MAX_SIDES) {
      return `a message of ${sides.length + 1} parts (${bytes()} bytes); version ${PROTOCOL_VERSION} messages have at most ${1 + MAX_SIDES}`;
    }
    let values: unknown[];
    try {
      values = decodeAll(frames, sides);
    } catch (error) {
      return `a message of ${bytes()} bytes that cannot be decoded (${(error as Error).message})`;
    }
    for (const value of values) {
      if (this.#closed) return;
      const frame = asWorkerFrame(value);
      if (!frame)
        return `a message of ${bytes()} bytes that holds something other than frames of protocol version ${PROTOCOL_VERSION}`;
      this.#heartbeat?.heard();
      if (this.#onWelcome) {
        if (frame[0] !== FrameKind.Welcome) return `a frame of kind ${frame[0]} before the handshake`;
        this.#onWelcome(frame);
      } else if (frame[0] === FrameKind.Welcome) {
        return 'a second WELCOME';
      } else if (frame[0] !== FrameKind.Pong) {
        // Heard, which is all a PONG is for.
        if (this.#events) this.#toNode(frame);
        else this.#beforeOpen.push(frame);
      }
    }
  }

  // A user's listener may throw: the frames after it must still be handled, and the error must
  // not vanish.
  #toNode(frame: NodeFrame): void {
    try {
      this.#events!.onFrame(frame);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }

  #violation(why: string): void {
    if (this.#failHandshake)
      this.#failHandshake('ERR_CNODE_PROTOCOL', `broke the protocol during the handshake: it sent ${why}`);
    else if (this.#events) this.#events.onViolation(why);
    else this.#violatedBeforeOpen ??= why;
  }
}
