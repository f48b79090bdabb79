import { Dealer } from 'zeromq';
import { decode, encodeFrame } from './codec.js';
import { CNodeError } from './errors.js';
import { asWorkerFrame, FrameKind, peekReplyId, PROTOCOL_VERSION, type WorkerFrame } from './protocol.js';
import { settlesWithin } from './wait.js';

interface QueuedFrame {
  data: Buffer;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The owner's ZeroMQ connection to one worker: a Dealer, one receive loop, and a send queue
 * (zeromq.js allows one send at a time per socket, so sends wait here, in order).
 */
export class Channel {
  #socket: Dealer;
  #queue: QueuedFrame[] = [];
  #sending = false;
  #closed = false;
  #onWelcome: ((frame: WorkerFrame) => void) | undefined;
  #disconnected: Promise<void>;
  #stopHandshake: (() => void) | undefined;

  /**
   * @param onFrame receives every well-formed frame after the handshake
   * @param onDropped receives what could not be decoded or was not expected, with the call id
   *   when it was a reply
   */
  constructor(
    endpoint: string,
    private readonly onFrame: (frame: WorkerFrame) => void,
    private readonly onDropped: (why: string, callId?: number) => void,
  ) {
    // linger 0: closing never waits for a dead peer. Reconnection stays on: with it off
    // (reconnectInterval -1), libzmq discards the messages a peer sent just before it closed,
    // such as the replies to the calls before a stop. The ipc socket file is gone by then, so
    // the attempts fail until close().
    this.#socket = new Dealer({ linger: 0 });
    const events = this.#socket.events;
    this.#disconnected = new Promise((resolve) => events.on('disconnect', () => resolve()));
    this.#socket.connect(endpoint);
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
      const timer = setTimeout(() => {
        this.#onWelcome = undefined;
        reject(new CNodeError('ERR_CNODE_CONNECT', `cnode ${node} did not answer the handshake within ${timeoutMs} ms`, { node }));
      }, timeoutMs);
      this.#stopHandshake = () => clearTimeout(timer); // start() failed otherwise: close() ends the wait
      this.#onWelcome = ([, version, name]) => {
        clearTimeout(timer);
        this.#onWelcome = undefined;
        if (version !== PROTOCOL_VERSION) {
          reject(new CNodeError('ERR_CNODE_PROTOCOL', `cnode ${node} speaks protocol version ${version}; this library speaks ${PROTOCOL_VERSION}`, { node }));
        } else if (name !== node) {
          reject(new CNodeError('ERR_CNODE_PROTOCOL', `cnode ${node} answered the handshake as ${JSON.stringify(name)}`, { node }));
        } else {
          resolve();
        }
      };
      this.send(encodeFrame([FrameKind.Hello, PROTOCOL_VERSION, cookie])).catch(() => {}); // the timer reports it
    });
  }

  /** Queues one encoded frame; resolves once ZeroMQ has taken it. */
  send(data: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('channel closed'));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ data, resolve, reject });
      if (!this.#sending) void this.#pump();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHandshake?.();
    this.#socket.close();
    for (const frame of this.#queue.splice(0)) frame.reject(new Error('channel closed'));
  }

  async #pump(): Promise<void> {
    this.#sending = true;
    while (this.#queue.length > 0 && !this.#closed) {
      const frame = this.#queue.shift()!;
      try {
        await this.#socket.send(frame.data);
        frame.resolve();
      } catch (error) {
        frame.reject(error);
      }
    }
    this.#sending = false;
  }

  async #receiveLoop(): Promise<void> {
    try {
      for await (const message of this.#socket) {
        try {
          this.#dispatch(message);
        } catch (error) {
          // A user's listener threw: the loop must go on, and the error must not vanish.
          process.nextTick(() => {
            throw error;
          });
        }
      }
    } catch (error) {
      if (!this.#closed) this.onDropped(`receive failed: ${(error as Error).message}`);
    }
  }

  #dispatch(message: Buffer[]): void {
    let frame: WorkerFrame | undefined;
    let problem = 'a malformed frame';
    try {
      frame = message.length === 1 ? asWorkerFrame(decode(message[0])) : undefined;
    } catch (error) {
      problem = `a frame that does not decode (${(error as Error).message})`;
    }
    if (!frame) {
      const bytes = message.reduce((n, part) => n + part.length, 0);
      return this.onDropped(`${problem} of ${bytes} bytes`, message.length === 1 ? peekReplyId(message[0]) : undefined);
    }
    if (frame[0] === FrameKind.Welcome) {
      return this.#onWelcome ? this.#onWelcome(frame) : this.onDropped('an unexpected WELCOME');
    }
    if (this.#onWelcome) return this.onDropped(`frame kind ${frame[0]} before the handshake`);
    this.onFrame(frame);
  }
}
