/**
 * The ZeroMQ transport: a zeromq.js Dealer connecting to the worker's ROUTER over ipc (a Unix
 * socket in a fresh 0700 directory) or tcp (CurveZMQ with keys made for this start, or the
 * attaching owner's; ZMTP heartbeats when asked). Every quirk of zeromq.js and libzmq stays in
 * this file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { curveKeyPair, Dealer, type Observer } from 'zeromq';
import { closeOnExit } from '../launch/exit-hooks.js';
import { native } from '../native.js';
import { isWildcard, parseHostPort } from '../network-options.js';
import type { HeartbeatOptions } from '../options.js';
import { settlesWithin } from '../wait.js';
import type { Connection, ConnectionEvents, Transport } from './connection.js';

/** The owner's half of a CurveZMQ connection: the worker's public key and the owner's own pair. */
export interface ClientCurve {
  serverKey: string;
  publicKey: string;
  secretKey: string;
}

/** What a ZmqTransport is made for. */
export interface ZmqSettings {
  kind: 'ipc' | 'tcp';
  /** tcp: CurveZMQ, with keys made for this start. */
  curve: boolean;
  /** tcp: the bind and advertise options (network-options.ts); '' for the worker's choice. */
  bind: string;
  advertise: string;
  /** The heartbeat option: with `remote`, also ZMTP heartbeats on both ends. */
  heartbeat: HeartbeatOptions | undefined;
  /** The worker runs elsewhere (exec): no descriptor can reach it, and only a heartbeat tells a cut link. */
  remote: boolean;
}

/** The most ZMQ_HEARTBEAT_TTL takes: libzmq keeps it in deciseconds, in 16 bits. */
const MAX_HEARTBEAT_TTL_MS = 6_553_500;

export class ZmqTransport implements Transport {
  readonly settings: Record<string, string>;
  readonly expectedEndpoint: string;
  readonly inherit: readonly number[] = [];
  #ipcDir: string | undefined;
  #curve: ClientCurve | undefined;
  #endpoint: RegExp | undefined;
  #connection: ConnectionSettings;

  constructor({ kind, curve, bind, advertise, heartbeat, remote }: ZmqSettings) {
    this.settings = { CNODE_TRANSPORT: kind };
    // ZMTP heartbeats for a worker elsewhere only: on this host the lifeline, stdin and the
    // parent-death signal tell a gone owner, and a frozen worker (SIGSTOP, which freezes libzmq's
    // thread too) must be found unresponsive by the session's heartbeat, not taken for a cut link.
    const zmtp = kind === 'tcp' && remote ? heartbeat : undefined;
    this.#connection = { heartbeat: zmtp, remote };
    if (kind === 'ipc') {
      this.#ipcDir = fs.mkdtempSync(path.join(os.tmpdir(), `cnode-${process.pid}-`));
      this.settings.CNODE_IPC_DIR = this.#ipcDir;
      this.expectedEndpoint = `ipc://${this.#ipcDir}/socket`;
      return;
    }
    this.settings.CNODE_BIND = bind;
    if (advertise) this.settings.CNODE_ADVERTISE = advertise;
    // The worker's ROUTER drops its owner after timeout / 2 unanswered, as the Dealer does
    // (ZmqConnection): a cut link is found on both sides well within the heartbeat's timeout.
    if (zmtp) this.settings.CNODE_HEARTBEAT = `${zmtp.interval},${zmtpTimeout(zmtp)}`;
    const named = expectedTcpEndpoint(bind, advertise);
    this.expectedEndpoint = named.text;
    this.#endpoint = named.pattern;
    if (curve) {
      // The worker's secret key goes to the worker only; the owner keeps the public half.
      const server = curveKeyPair();
      const client = curveKeyPair();
      this.#curve = { serverKey: server.publicKey, publicKey: client.publicKey, secretKey: client.secretKey };
      // Like the cookie: in the launch line, which the worker reads and wipes at once.
      this.settings.CNODE_CURVE_SECRET = server.secretKey;
      this.settings.CNODE_CURVE_CLIENT = client.publicKey;
    }
  }

  /** A connection to a worker something else started (CNode.attach), with the owner's keys. */
  static connect(
    endpoint: string,
    maxMessageSize: number,
    curve: ClientCurve,
    heartbeat: HeartbeatOptions | undefined,
    events: ConnectionEvents,
  ): Connection {
    return new ZmqConnection(endpoint, maxMessageSize, curve, { heartbeat, remote: true }, events);
  }

  spawned(): void {}

  isExpectedEndpoint(endpoint: string): boolean {
    return this.#endpoint ? this.#endpoint.test(endpoint) : endpoint === this.expectedEndpoint;
  }

  connect(endpoint: string, maxMessageSize: number, events: ConnectionEvents): Connection {
    return new ZmqConnection(endpoint, maxMessageSize, this.#curve, this.#connection, events);
  }

  release(): void {
    if (this.#ipcDir) fs.rmSync(this.#ipcDir, { recursive: true, force: true });
  }
}

/** ZMQ_HEARTBEAT_TIMEOUT and _TTL: half the heartbeat's timeout, so ZeroMQ speaks before the owner's own check does. */
function zmtpTimeout({ timeout }: HeartbeatOptions): number {
  return Math.min(Math.floor(timeout / 2), MAX_HEARTBEAT_TTL_MS);
}

/**
 * What a tcp worker's ready line must name: the advertised host, else the bound address unless
 * it is every interface (then the worker's host name, whatever it is); the advertised port, else
 * the bound one, else any.
 */
function expectedTcpEndpoint(bind: string, advertise: string): { text: string; pattern: RegExp } {
  const bound = parseHostPort(bind);
  const advertised = advertise ? parseHostPort(advertise) : undefined;
  const host = advertised?.host ?? (bound && !isWildcard(bound.host) ? bound.host : undefined);
  const port = advertised?.port ?? bound?.port;
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    text: `tcp://${host ?? '<host>'}:${port ?? '<port>'}`,
    pattern: new RegExp(
      `^tcp://${host ? literal(host) : '[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?'}:${port ?? '[1-9]\\d{0,4}'}$`,
    ),
  };
}

/** How a connection is kept, beyond its endpoint and keys. */
interface ConnectionSettings {
  /** ZMTP heartbeats, for tcp with the heartbeat option. */
  heartbeat: HeartbeatOptions | undefined;
  /** The worker runs elsewhere: no SharedBuffer can reach it. */
  remote: boolean;
}

/** The descriptors of the poll handles on this thread's loop; undefined when the addon is not built. */
function pollDescriptors(): number[] | undefined {
  try {
    return native().pollDescriptors();
  } catch {
    return undefined;
  }
}

/**
 * A Dealer, its disconnect monitor and one receive loop (zeromq.js allows one pending receive
 * per socket, and one send at a time).
 */
class ZmqConnection implements Connection {
  readonly carries: Connection['carries'];
  #socket: Dealer;
  #events: Observer;
  #closed = false;
  #disconnected: Promise<void>;
  #forgetAtExit: () => void;
  /** The descriptors zeromq.js polls for this socket and its monitor, for setRef(); undefined without the addon. */
  #pollFds: number[] | undefined;
  #refed = true;
  /** The last send begun, which the next waits for when it is not the session's. */
  #writing: Promise<void> | undefined;
  /** The answer to the worker's end mark, once it is being sent: later writes wait for it. */
  #answering: Promise<void> | undefined;
  #endSeen = false;

  constructor(
    endpoint: string,
    maxMessageSize: number,
    curve: ClientCurve | undefined,
    { heartbeat, remote }: ConnectionSettings,
    private readonly handlers: ConnectionEvents,
  ) {
    this.carries = { sideParts: true, sharedMemory: !remote };
    // zeromq.js makes a poll handle with each socket and monitor; the ones new meanwhile are theirs.
    const before = pollDescriptors();
    const pollsBefore = before && new Set(before);
    // linger 0: closing never waits for a dead peer. Reconnection stays on: with it off
    // (reconnectInterval -1), libzmq discards the messages a peer sent just before it closed,
    // such as the replies to the calls before a stop. The ipc socket file is gone by then, so
    // the attempts fail until close(). maxMessageSize: libzmq drops a connection that sends a
    // bigger frame, before allocating it.
    this.#socket = new Dealer({
      linger: 0,
      maxMessageSize,
      ...(curve && {
        curveServerKey: curve.serverKey,
        curvePublicKey: curve.publicKey,
        curveSecretKey: curve.secretKey,
      }),
      // ZMTP heartbeats prove the connection (libzmq's I/O thread answers them, not the worker's
      // loop, which the session's own heartbeat proves): a peer silent for the timeout is dropped,
      // which the disconnect monitor reports.
      ...(heartbeat && {
        heartbeatInterval: heartbeat.interval,
        heartbeatTimeout: zmtpTimeout(heartbeat),
        heartbeatTimeToLive: zmtpTimeout(heartbeat),
      }),
    });
    this.#events = this.#socket.events; // read once: after the monitor closes, the getter makes a new one
    const pollsNow = pollDescriptors();
    this.#pollFds = pollsBefore && pollsNow?.filter((fd) => !pollsBefore.has(fd));
    this.#disconnected = this.#watchDisconnect();
    this.#socket.connect(endpoint);
    this.#forgetAtExit = closeOnExit(() => this.#close(true));
    void this.#receiveLoop();
  }

  write(frames: Buffer, sides: readonly Buffer[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    const message = sides.length > 0 ? [frames, ...sides] : frames;
    // One send at a time: the session's writes wait for each other, and for the end's answer.
    const sent = this.#answering ? this.#answering.then(() => this.#socket.send(message)) : this.#socket.send(message);
    this.#writing = sent;
    return sent;
  }

  /**
   * The worker's last message is an end mark, one empty part (no frame is empty): it waits, a
   * bounded time (1 s), for this answer before it closes (cnode/src/transport_zmq.c). Everything
   * it sent before has been handed on by now, so it may close. Closing earlier loses messages:
   * when the worker's end of an ipc connection closes while this Dealer's receive queue is at its
   * high-water mark, libzmq gives the connection up as soon as the queue has room again, and what
   * is still in the kernel's socket buffer is never read.
   */
  async #answerEnd(): Promise<void> {
    for (let writing = this.#writing; writing; writing = this.#writing) {
      await writing.catch(() => {});
      if (this.#writing === writing) break; // no write began meanwhile
    }
    if (this.#closed) return;
    this.#answering = this.#socket.send(Buffer.alloc(0)).catch(() => {}); // closed first: nobody waits
    this.#writing = this.#answering;
  }

  /**
   * A worker's process exit can be seen before ZeroMQ hands its last replies to the receive
   * loop. Once the connection is seen closed, ZeroMQ holds everything the worker sent, so read
   * until nothing is left.
   */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (!(await settlesWithin(this.#disconnected, timeoutMs))) return;
    while (!this.#closed && this.#socket.readable && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve)); // the receive loop reads meanwhile
    }
  }

  get peerEnded(): boolean {
    return this.#endSeen;
  }

  setRef(ref: boolean): void {
    if (this.#closed || ref === this.#refed) return;
    if (!this.#pollFds)
      throw new Error("unref() needs cnode's addon, which is not built: run `npm install` in the cnode package");
    native().setPollRef(this.#pollFds, ref);
    this.#refed = ref;
  }

  close(): void {
    this.#close(false);
  }

  /**
   * Closes the socket; its monitor closes itself once the socket has. `atExit`: the event loop
   * is ending, so close the monitor now: zeromq.js aborts the process when a worker_thread ends
   * with a socket or monitor still receiving (zeromq.js issue #411). (Closing the monitor
   * explicitly at other times leaks three eventfds in libzmq.)
   */
  #close(atExit: boolean): void {
    if (this.#closed) return;
    // A monitor closes itself a moment after its socket, and zeromq.js aborts the process if the
    // event loop ends before: an unref'd one must hold the loop again until then.
    if (!this.#refed) this.setRef(true);
    this.#closed = true;
    this.#forgetAtExit();
    this.#socket.close();
    if (atExit && !this.#events.closed) this.#events.close();
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
      for await (const [frames, ...sides] of this.#socket) {
        if (this.#closed) return;
        // The end mark is answered once: a worker that sends more must not make the owner queue
        // an answer for each (it holds memory while the owner's writes wait).
        if (frames.length > 0 || sides.length > 0) this.handlers.onMessage(frames, sides);
        else if (!this.#endSeen) {
          this.#endSeen = true;
          void this.#answerEnd();
        }
      }
    } catch (error) {
      if (!this.#closed) this.handlers.onError(`nothing readable: receive failed (${(error as Error).message})`);
    }
  }
}
