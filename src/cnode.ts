import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { type AttachOptions, normalizeAttachOptions } from './attach-options.js';
import { burstNow } from './clock.js';
import { type Encoded, encodeFrame, type Stager } from './codec.js';
import type { Transport } from './connection/connection.js';
import { RingTransport } from './connection/ring.js';
import { ZmqTransport } from './connection/zmq.js';
import {
  CNodeError,
  type CNodeErrorCode,
  callerStack,
  describeExit,
  type ExitInfo,
  exitedError,
  isAbnormal,
  nodeError,
  showValue,
} from './errors.js';
import { Attachment } from './launch/attached.js';
import type { Identity, Launched, ProcessEnd } from './launch/launcher.js';
import { LocalWorker } from './launch/local.js';
import { LoopHold } from './loop-hold.js';
import { nextCreation, uniqueAliveName } from './names.js';
import { callChannel, nodeExitChannel, nodeStartChannel } from './observe/channels.js';
import { debug } from './observe/debug.js';
import { NodeCounters, type NodeStats } from './observe/stats.js';
import {
  type CNodeOptions,
  check,
  checkMethodOptions,
  checkSignal,
  checkTimeout,
  checkTransfer,
  type HeartbeatOptions,
  type NormalizedOptions,
  normalizeOptions,
} from './options.js';
import { COOKIE_LEN, FrameKind } from './protocol.js';
import type { Outgoing } from './session/batcher.js';
import { type Call, CallTable, promiseOf, unsettled } from './session/call-table.js';
import { Deadlines, type Timed } from './session/deadlines.js';
import { encodeOutgoing } from './session/outgoing.js';
import { type NodeFrame, Session } from './session/session.js';
import { SharedHolds } from './session/shared-holds.js';
import { settlesWithin } from './wait.js';

/** Calls a user's listener; what it throws becomes an uncaught exception, not a broken promise chain. */
function callListener<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}

export interface CallOptions {
  /** Milliseconds to wait for the reply. Default: the node's callTimeout. */
  timeout?: number;
  /** Aborts the call: it rejects with ERR_CNODE_ABORTED; a late reply is dropped. */
  signal?: AbortSignal;
  /**
   * ArrayBuffers of the message that the call may take instead of copying its big binaries: they
   * are detached when call() returns, as with postMessage. Default: none (binaries are copied).
   */
  transfer?: readonly ArrayBuffer[];
}

export interface SendOptions {
  /** Milliseconds to wait for the connection to take the message. Default: the node's callTimeout. */
  timeout?: number;
  /** As for call(). */
  transfer?: readonly ArrayBuffer[];
}

export interface StopOptions {
  /** Milliseconds to wait at each step: stop message, SIGTERM, SIGKILL. Default: the node's stopTimeout. */
  timeout?: number;
  /**
   * For an attached node: true asks the worker to end (the stop message, then a wait of
   * `timeout`), false (the default) detaches and leaves it serving. A launched node is always
   * ended: false is refused there.
   */
  terminate?: boolean;
}

/** A call in flight, as the node keeps it: what to withdraw if it is given up, and what to release as it ends. */
interface NodeCall extends Call {
  /** Its frame's place in the send queue. */
  outgoing: Outgoing | undefined;
  /** Ends the holds on the SharedBuffers it carries. */
  holds: (() => void)[] | undefined;
  /** burstNow() when call() was made: its latency, for stats(). */
  madeAt: number;
}

/** Every NodeCall is made here, by one literal (call-table.ts says why). */
function newCall(timeout: number, signal: AbortSignal | undefined): NodeCall {
  return {
    id: 0,
    timeout,
    signal,
    at: Number.POSITIVE_INFINITY,
    waiting: false,
    resolve: unsettled,
    reject: unsettled,
    onAbort: undefined,
    outgoing: undefined,
    holds: undefined,
    madeAt: 0,
  };
}

/** A send waiting for the connection to take its message. */
interface PendingSend extends Timed {
  reject: (error: CNodeError) => void;
  outgoing: Outgoing;
}

const CALL_OPTIONS = ['timeout', 'signal', 'transfer'] satisfies (keyof CallOptions)[];
const SEND_OPTIONS = ['timeout', 'transfer'] satisfies (keyof SendOptions)[];
const STOP_OPTIONS = ['timeout', 'terminate'] satisfies (keyof StopOptions)[];

/**
 * Where a node is in its life. Each transition happens once: running → stopping (stop() or
 * kill()) or killed (the library killed it for a fault) → exited.
 */
type State =
  | { is: 'running' }
  | { is: 'stopping'; signal: NodeJS.Signals | undefined } // kill()'s signal: an exit by it is a stop
  | { is: 'killed'; fault: CNodeError }
  | { is: 'exited'; info: ExitInfo };

/** The most messages kept from a worker between its handshake and start() resolving; more are dropped and counted. */
const EARLY_MESSAGES = 10_000;

/** How long an exit waits for the worker's last frames to arrive before failing the calls left. */
const DRAIN_MS = 100;

/** The least stop() waits after SIGKILL, whatever its timeout. */
const SIGKILL_WAIT_MS = 1000;

/**
 * How long a worker whose connection closed may take to exit by itself before it is taken for
 * broken and killed. A worker that exits closes its connection first, so the two come together.
 */
const DISCONNECT_GRACE_MS = 250;

/** How long each step of ending an exec process after a lost connection waits: stdin's EOF, then SIGTERM. */
const LOST_STEP_MS = 1000;

/**
 * The grace of a worker elsewhere whose connection closed: its exec process (ssh) reports its
 * exit a moment after the connection closes, and an exit must not be taken for a cut link. A
 * cut link is found by the ZMTP heartbeat within interval + timeout / 2 of the last word, so
 * half of what the timeout leaves after that is the grace: the loss is reported within the
 * timeout. Without a heartbeat nothing bounds it, so the most is given.
 */
function remoteGrace(heartbeat: HeartbeatOptions | undefined): number {
  if (!heartbeat) return 1000;
  return Math.min(1000, Math.max(100, Math.floor((heartbeat.timeout / 2 - heartbeat.interval) / 2)));
}

/** The settings of a node the methods read, whichever way it came to be (start, attach). */
type NodeSettings = Pick<
  NormalizedOptions,
  'callTimeout' | 'stopTimeout' | 'maxPending' | 'maxMessageSize' | 'heartbeat'
>;

/** An attached worker's WELCOME names it; a name of any other shape is not a worker's. */
const NODE_NAME = /^([A-Za-z0-9_-]{1,64})@([A-Za-z0-9._-]{1,255})$/;

export interface CNodeEvents {
  /** An unsolicited message from the worker (cnode_send). */
  message: [message: unknown];
  /** The worker ended, for any reason. Emitted once. */
  exit: [info: ExitInfo];
  /** startLink only: the worker ended abnormally without stop(). */
  error: [error: CNodeError];
}

/** call()'s rejections, given their caller's stack (see callerStack). */
const withCallerStack = callerStack();

/**
 * A native worker process, supervised: start it, call it, send to it, hear from it, stop it.
 * The lifecycle, top to bottom: start → running → stopping → exited; each transition happens once.
 */
export class CNode extends EventEmitter<CNodeEvents> {
  /** The full node name, `alive@host`. */
  readonly name: string;
  readonly alive: string;
  readonly host: string;
  /** 1 for the first start of this alive name in this process, one more for each restart. */
  readonly creation: number;
  /**
   * The pid of the local process: the worker, or with `exec` the command prefix's process (ssh);
   * 0 for an attached node.
   */
  readonly pid: number;
  /** The worker's pid on its own host, from its handshake; for a local worker the same as `pid`. */
  readonly workerPid: number;
  /** Where the worker's socket is bound, from its ready line (or, attached, the endpoint given). */
  readonly endpoint: string;
  /** Resolves with the exit information once the worker has ended; never rejects. */
  readonly exited: Promise<ExitInfo>;

  #options: NodeSettings;
  #worker: Launched;
  #session: Session;
  #linked: boolean;
  #state: State = { is: 'running' };
  #ending: Promise<ExitInfo> | undefined; // what stop() and kill() return
  #calls = new CallTable<NodeCall>({
    timedOut: (call) => this.#error('ERR_CNODE_CALL_TIMEOUT', `did not answer a call within ${call.timeout} ms`),
    aborted: (_call, reason) => this.#aborted(reason),
    settled: (call, gaveUp, answered, error) => {
      if (error) this.#counters.fail(error.code);
      else {
        this.#counters.answered++;
        this.#counters.latency.add(burstNow() - call.madeAt);
      }
      if (call.holds) {
        for (const endHold of call.holds) endHold();
        call.holds = undefined; // nor its SharedBuffers, which go when they are collected
      }
      // A call given up on is withdrawn from the send queue if it is still there: a worker
      // that stopped reading must not make the owner hold calls nobody waits for.
      if (gaveUp && call.outgoing) this.#session.withdraw(call.outgoing);
      // Answered, the worker's handler has returned: what it was sent may carry later calls.
      else if (answered && call.outgoing) this.#session.recycle(call.outgoing);
      call.outgoing = undefined;
      this.#busyChanged();
    },
  });
  /** The timeouts of the sends waiting for the connection to take them: one timer for all, as for calls. */
  #sends = new Deadlines<PendingSend>((send) => {
    send.reject(
      this.#error('ERR_CNODE_SEND_TIMEOUT', `did not take a message within ${send.timeout} ms; it was dropped`),
    );
    this.#session.withdraw(send.outgoing); // after: its own rejection must not win the race
  });
  #shared = new SharedHolds((inode) => {
    // An integer on the wire, however big.
    if (this.#state.is === 'exited') return;
    this.#session.forgetShared(inode);
    this.#session.send(encodeFrame([FrameKind.Release, BigInt(inode)]));
  });
  /** The connection's way to copy a big binary straight into what carries it, if it has one. */
  #stager: Stager | undefined;
  /**
   * Why no SharedBuffer may go in a call, when none may: its memory is on this host, the worker
   * is not. Fixed by the connection, so set once rather than worked out on every call.
   */
  #noShared: string | undefined;
  #queuedSends = 0;
  #dropped = 0;
  #disconnectTimer: NodeJS.Timeout | undefined;
  #hold: LoopHold;
  /** Messages the worker sent before start() resolved (a timer, cnode_post before cnode_run). */
  #early: unknown[] | undefined = [];
  /** What stats() reports. */
  #counters = new NodeCounters();

  /** Starts a worker and resolves once it is ready and connected. No process is left on failure. */
  static start(options: CNodeOptions): Promise<CNode> {
    return CNode.#start(options, false);
  }

  /**
   * start(), linked: when the worker ends abnormally (a signal, or a non-zero exit code) other than
   * by stop(), the node also emits 'error', which brings the owner down unless it is handled.
   */
  static startLink(options: CNodeOptions): Promise<CNode> {
    return CNode.#start(options, true);
  }

  // Numbered as Bundlex's CNode is: 1. options, 2. identity, 3. transport, 4. launch, 5. ready
  // line, 6. connect and handshake. Any failure kills what was started and releases the rest.
  static async #start(options: CNodeOptions, linked: boolean): Promise<CNode> {
    const normalized = normalizeOptions(options);
    const alive = normalized.name || uniqueAliveName();
    // A default name is fresh, so its creation is 1; counting it would grow the names forever.
    const creation = normalized.name ? nextCreation(alive) : 1;
    const identity: Identity = { alive, host: normalized.host, node: `${alive}@${normalized.host}`, creation };
    const transport: Transport =
      normalized.transport === 'local'
        ? new RingTransport(normalized.ringSize, normalized.maxMessageSize)
        : new ZmqTransport({
            kind: normalized.transport,
            curve: normalized.curve,
            bind: normalized.bind,
            advertise: normalized.advertise,
            heartbeat: normalized.heartbeat,
            remote: normalized.exec !== undefined,
          });
    const cookie = randomBytes(COOKIE_LEN / 2).toString('hex');
    debug('%s start: %s over %s', identity.node, normalized.executable, normalized.transport);
    let worker: Launched;
    try {
      worker = new LocalWorker(
        normalized,
        identity,
        { ...transport.settings, CNODE_COOKIE: cookie, CNODE_MAX_MESSAGE_SIZE: String(normalized.maxMessageSize) },
        transport.inherit,
      );
    } catch (error) {
      transport.spawned();
      transport.release();
      throw error;
    }
    transport.spawned(); // spawn() is synchronous: the worker has its copies
    void worker.ended.then(() => transport.release()); // the worker's own end of it goes with it
    let session: Session | undefined;
    try {
      const endpoint = await worker.waitReady(
        normalized.readyTimeout,
        (named) => transport.isExpectedEndpoint(named),
        transport.expectedEndpoint,
      );
      debug('%s ready: pid %d at %s', identity.node, worker.pid, endpoint);
      session = new Session(
        identity.node,
        (events) => transport.connect(endpoint, normalized.maxMessageSize, events),
        normalized.maxMessageSize,
      );
      const { pid } = await Promise.race([
        session.handshake(cookie, normalized.readyTimeout),
        worker.ended.then((end) =>
          Promise.reject(
            exitedError({ node: identity.node, creation, ...end, stopped: false }, 'during the handshake'),
          ),
        ),
      ]);
      debug('%s handshake done: worker pid %d', identity.node, pid);
      const node = new CNode(normalized, identity, worker, session, endpoint, linked, pid);
      if (nodeStartChannel.hasSubscribers) nodeStartChannel.publish({ node });
      // After the caller's code that follows `await CNode.start()` has run, so that a listener it
      // adds there hears what the worker sent as soon as it was connected.
      setImmediate(() => node.#deliverEarly());
      return node;
    } catch (error) {
      debug('%s start failed, killing pid %d (SIGKILL): %s', identity.node, worker.pid, (error as Error).message);
      session?.close();
      worker.signal('SIGKILL');
      await worker.ended;
      throw error;
    }
  }

  /**
   * Connects to a worker that something else started in serve mode (CNODE_SERVE, with its
   * CurveZMQ secret key and this owner's public key among its authorized ones), and resolves
   * once the handshake is done: the same call, send, message and monitor as a started node, with
   * no process of this owner's (pid 0). The name is the worker's, from its handshake. 'exit'
   * means the connection was lost (fault ERR_CNODE_DISCONNECTED: the calls in flight reject
   * with it, and nothing is replayed) or the worker ended; stop() detaches, and
   * stop({ terminate: true }) asks the worker to end. Rejects with ERR_CNODE_INVALID_OPTION,
   * ERR_CNODE_CONNECT (no handshake within readyTimeout: not serving there, other keys, or
   * another owner attached) or ERR_CNODE_PROTOCOL.
   */
  static async attach(options: AttachOptions): Promise<CNode> {
    const normalized = normalizeAttachOptions(options);
    const { endpoint, maxMessageSize, curve, heartbeat, readyTimeout } = normalized;
    const worker = new Attachment(endpoint);
    debug('%s attach', endpoint);
    // Named by its endpoint until its WELCOME names it.
    const session = new Session(
      endpoint,
      (events) => ZmqTransport.connect(endpoint, maxMessageSize, curve, heartbeat, events),
      maxMessageSize,
      false,
    );
    try {
      // No cookie: CURVE and the worker's list of keys have authenticated this owner.
      const { node, pid } = await session.handshake('0'.repeat(COOKIE_LEN), readyTimeout).catch((error: CNodeError) => {
        if (error.code !== 'ERR_CNODE_CONNECT') throw error;
        throw nodeError(
          endpoint,
          'ERR_CNODE_CONNECT',
          `did not answer the handshake within ${readyTimeout} ms: is a worker serving there, is serverKey its key, is publicKey among its CNODE_AUTHORIZED_KEYS, and is no other owner attached?`,
        );
      });
      const named = NODE_NAME.exec(node);
      if (!named)
        throw nodeError(
          endpoint,
          'ERR_CNODE_PROTOCOL',
          `answered the handshake as ${JSON.stringify(node)}, not alive@host`,
        );
      const identity: Identity = { alive: named[1], host: named[2], node, creation: 1 };
      debug('%s attached at %s: worker pid %d', node, endpoint, pid);
      const attached = new CNode(normalized, identity, worker, session, endpoint, false, pid);
      if (nodeStartChannel.hasSubscribers) nodeStartChannel.publish({ node: attached });
      setImmediate(() => attached.#deliverEarly());
      return attached;
    } catch (error) {
      debug('%s attach failed: %s', endpoint, (error as Error).message);
      session.close();
      worker.signal('SIGKILL');
      throw error;
    }
  }

  private constructor(
    options: NodeSettings,
    identity: Identity,
    worker: Launched,
    session: Session,
    endpoint: string,
    linked: boolean,
    workerPid: number,
  ) {
    super();
    this.#options = options;
    this.#worker = worker;
    this.#session = session;
    const { connection } = session;
    if (connection.stage && connection.unstage)
      this.#stager = { stage: connection.stage.bind(connection), unstage: connection.unstage.bind(connection) };
    if (!connection.carries.sharedMemory)
      this.#noShared =
        "a SharedBuffer cannot cross hosts (this node's worker runs elsewhere, through exec or attach, so its connection carries no shared memory): pass a Buffer or a typed array instead";
    this.#hold = new LoopHold([session.connection, worker]);
    this.#linked = linked;
    this.name = identity.node;
    this.alive = identity.alive;
    this.host = identity.host;
    this.creation = identity.creation;
    this.pid = worker.pid;
    this.workerPid = workerPid;
    this.endpoint = endpoint;
    session.open(
      {
        onFrame: (frame) => this.#onFrame(frame),
        onViolation: (why) => this.#onViolation(why),
        onDisconnect: () => this.#onDisconnect(),
        onUnresponsive: (silentMs) =>
          this.#killForFault(
            this.#error(
              'ERR_CNODE_UNRESPONSIVE',
              `did not answer its heartbeat for ${Math.round(silentMs)} ms (heartbeat.timeout ${options.heartbeat!.timeout}); it was killed`,
            ),
          ),
      },
      options.heartbeat,
    );
    this.exited = worker.ended.then(async (end) => {
      clearTimeout(this.#disconnectTimer);
      await session.drain(DRAIN_MS);
      return this.#onExit(this.#exitInfo(end));
    });
  }

  /**
   * Sends `message` and resolves with the worker's response. Rejects with ERR_CNODE_CALL_TIMEOUT,
   * ERR_CNODE_ABORTED, ERR_CNODE_REMOTE (the handler failed), ERR_CNODE_EXITED, ERR_CNODE_STOPPED,
   * ERR_CNODE_BAD_MESSAGE, ERR_CNODE_OVERLOADED, ERR_CNODE_UNRESPONSIVE or ERR_CNODE_PROTOCOL.
   */
  call(message: unknown, options?: CallOptions): Promise<unknown> {
    const answer = callChannel.hasSubscribers
      ? callChannel.tracePromise(() => this.#call(message, options), { node: this.name, message })
      : this.#call(message, options);
    return answer.then(undefined, withCallerStack);
  }

  #call(message: unknown, options: CallOptions | undefined): Promise<unknown> {
    this.#counters.made++;
    let call: NodeCall;
    let encoded: Encoded;
    try {
      // No options object, the common case: the node's own timeout, already checked.
      let timeout = this.#options.callTimeout;
      let signal: AbortSignal | undefined;
      let transfer: readonly ArrayBuffer[] | undefined;
      if (options !== undefined) ({ timeout, signal, transfer } = this.#callOptions(options));
      this.#checkCanSend();
      if (signal?.aborted) throw this.#aborted(signal.reason);
      call = newCall(timeout, signal);
      call.madeAt = burstNow();
      call.id = this.#calls.nextId();
      encoded = this.#encode([FrameKind.Call, call.id], message, transfer, this.#noShared);
    } catch (error) {
      this.#counters.fail((error as CNodeError).code);
      return Promise.reject(error);
    }
    // Each SharedBuffer's descriptor stays open until the call settles: the worker opens it
    // through /proc while it handles the call (or is sent a copy of it, over a ring).
    const shared = encoded.shared;
    if (shared.length > 0) call.holds = shared.map((buffer) => this.#shared.hold(buffer));
    const promise = promiseOf(call);
    this.#calls.add(call);
    this.#busyChanged();
    // A frame not sent means the connection closed: the worker is ending, and its exit settles the call.
    call.outgoing = this.#session.send(encoded.frame, encoded.sides, shared.length > 0 ? shared : undefined);
    return promise;
  }

  #callOptions(options: CallOptions): { timeout: number; signal?: AbortSignal; transfer?: readonly ArrayBuffer[] } {
    return checkMethodOptions(
      this.name,
      'call',
      options,
      CALL_OPTIONS,
      ({ timeout = this.#options.callTimeout, signal, transfer }) => {
        checkTimeout('timeout', timeout);
        checkTransfer(transfer);
        checkSignal(signal);
        return { timeout, signal, transfer };
      },
    );
  }

  /**
   * Sends `message` without waiting for an answer (a cast). Messages to one node are handled in
   * the order sent, calls included. Resolves once the connection has taken the message: awaiting
   * each send() paces a fast sender to the worker. Rejects with ERR_CNODE_SEND_TIMEOUT when it
   * does not take it within `timeout` (the worker stopped reading); the message is then dropped.
   */
  async send(message: unknown, options?: SendOptions): Promise<void> {
    // No options object, the common case: the node's own timeout, already checked.
    let timeout = this.#options.callTimeout;
    let transfer: readonly ArrayBuffer[] | undefined;
    if (options !== undefined) ({ timeout, transfer } = this.#sendOptions(options));
    this.#checkCanSend();
    // No answer would say when the worker has opened a SharedBuffer's descriptor, which must stay open till then.
    const { frame, sides } = this.#encode(
      [FrameKind.Cast],
      message,
      transfer,
      'a SharedBuffer travels in call() only, not in send()',
    );
    const { outgoing, taken } = this.#session.sendAndWait(frame, sides);
    this.#queuedSends++;
    this.#busyChanged();
    const waiting: PendingSend = { timeout, at: Number.POSITIVE_INFINITY, waiting: false, reject: unsettled, outgoing };
    const timedOut = new Promise<never>((_, reject) => {
      waiting.reject = reject;
    });
    this.#sends.add(waiting);
    try {
      await Promise.race([taken, timedOut]);
    } catch (error) {
      if (error instanceof CNodeError) throw error;
      throw this.#refusal('before the message was sent');
    } finally {
      this.#sends.cancel(waiting);
      this.#queuedSends--;
      this.#busyChanged();
    }
  }

  #sendOptions(options: SendOptions): { timeout: number; transfer?: readonly ArrayBuffer[] } {
    return checkMethodOptions(
      this.name,
      'send',
      options,
      SEND_OPTIONS,
      ({ timeout = this.#options.callTimeout, transfer }) => {
        checkTimeout('timeout', timeout);
        checkTransfer(transfer);
        return { timeout, transfer };
      },
    );
  }

  /** Calls `listener` once with the exit information when the worker ends; returns a function that removes it. */
  monitor(listener: (info: ExitInfo) => void): () => void {
    let active = true;
    void this.exited.then((info) => active && callListener(listener, info));
    return () => {
      active = false;
    };
  }

  /**
   * Stops the worker: the stop message, then SIGTERM, then SIGKILL to its process group, waiting up
   * to `timeout` ms at each step; with `exec`, stdin is closed (its EOF crosses to the worker)
   * before SIGTERM. An attached node detaches, or with `terminate` is sent the stop message and
   * waits `timeout` for the worker to end. Resolves with the exit information. Calling it again
   * returns the same promise.
   */
  stop(options: StopOptions = {}): Promise<ExitInfo> {
    if (!this.#ending) {
      try {
        const { timeout, terminate } = checkMethodOptions(
          this.name,
          'stop',
          options,
          STOP_OPTIONS,
          ({ timeout = this.#options.stopTimeout, terminate }) => {
            checkTimeout('timeout', timeout);
            check('terminate', terminate, terminate === undefined || typeof terminate === 'boolean', 'a boolean');
            check(
              'terminate',
              terminate,
              terminate !== false || this.#worker.kind === 'attached',
              'left out or true for a node this owner started (only an attached node can be left running)',
            );
            return { timeout, terminate };
          },
        );
        debug('%s stop() asked', this.name);
        this.#ending = this.#end(timeout, this.#worker.kind === 'attached' && !terminate ? 'detach' : 'stop');
        this.#busyChanged();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#ending;
  }

  /**
   * Ends the worker's process group at once with `signal` (default SIGKILL, OTP's brutal_kill),
   * without the stop message; SIGKILL follows if `signal` has not ended it within stopTimeout.
   * Resolves like stop(), which it also hurries along when a stop is under way. Calls and sends
   * after it reject with ERR_CNODE_STOPPED.
   */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    if (typeof signal !== 'string' || !Object.hasOwn(os.constants.signals, signal)) {
      return Promise.reject(
        this.#error(
          'ERR_CNODE_INVALID_OPTION',
          `kill(): Expected \`signal\` to be a signal name such as 'SIGKILL' or 'SIGTERM', got ${showValue(signal)}`,
        ),
      );
    }
    debug('%s kill(%s) asked', this.name, signal);
    if (!this.#ending) {
      this.#ending = this.#end(this.#options.stopTimeout, signal);
      this.#busyChanged();
      return this.#ending;
    }
    // A stop under way: this signal ends it sooner, and counts as a stop; SIGKILL follows in
    // stopTimeout whatever the stop's own steps still wait for.
    if (this.#state.is === 'stopping') this.#state = { is: 'stopping', signal };
    this.#worker.signal(signal);
    if (signal !== 'SIGKILL') {
      const escalate = setTimeout(() => this.#worker.signal('SIGKILL'), this.#options.stopTimeout).unref();
      void this.exited.then(() => clearTimeout(escalate));
    }
    return this.#ending;
  }

  /**
   * Lets the owner's event loop end while this node is idle, as `child.unref()` does: a node
   * then keeps the owner alive only while calls or sends are waiting, or while it is being
   * stopped. When the owner exits, the worker is killed as always.
   */
  unref(): this {
    if (this.#hold.refed && this.#state.is !== 'exited') this.#hold.setRef(false, this.#busy);
    return this;
  }

  /** Undoes unref(): the node keeps the owner's event loop alive until it has exited (the default). */
  ref(): this {
    if (!this.#hold.refed && this.#state.is !== 'exited') this.#hold.setRef(true, this.#busy);
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Counts of this node's calls, their failures by code, bytes each way and call latency, since start (docs/observability.md). */
  stats(): NodeStats {
    const counters = this.#counters;
    return {
      calls: {
        made: counters.made,
        answered: counters.answered,
        failed: counters.failed,
        inFlight: this.#calls.size,
      },
      errors: counters.errorCounts(),
      bytes: this.#session.bytes,
      latency: counters.latency.summary(),
    };
  }

  /** How many calls are in flight and sends are queued: what maxPending caps, and what a pool balances. */
  get pending(): number {
    return this.#calls.size + this.#queuedSends;
  }

  /**
   * How many frames from the worker were dropped: late replies (to calls that timed out or were
   * aborted), messages signed with another node's name, and frames that broke the protocol.
   */
  get droppedFrames(): number {
    return this.#dropped;
  }

  toString(): string {
    return `CNode(${this.name}, pid ${this.pid}, ${this.#state.is === 'exited' ? describeExit(this.#state.info) : this.#state.is})`;
  }

  /**
   * The steps that end the worker, each given `timeout` ms: the stop message, then (with exec)
   * stdin closed, then SIGTERM (for stop()), or the signal of kill(); then SIGKILL to the process
   * group. An attached worker has no process: it is let go ('detach', and SIGKILL), or sent the
   * stop message and given `timeout` to end.
   */
  async #end(timeout: number, first: 'stop' | 'detach' | NodeJS.Signals): Promise<ExitInfo> {
    // A worker already gone (its exit being drained) is not stopped by this; nor is one the
    // library is killing for a fault.
    if (this.#state.is === 'running' && !this.#worker.hasEnded)
      this.#state = { is: 'stopping', signal: first === 'stop' || first === 'detach' ? undefined : first };
    const exitWithin = (ms: number) => settlesWithin(this.exited, ms);
    const stopMessage = () => this.#state.is !== 'exited' && this.#session.send(encodeFrame([FrameKind.Stop]));
    const { kind } = this.#worker;
    if (kind === 'attached') return this.#endAttached(timeout, first === 'stop' ? stopMessage : undefined);
    const steps =
      first === 'stop'
        ? [
            stopMessage,
            ...(kind === 'exec' ? [() => this.#worker.closeInput()] : []),
            () => this.#worker.signal('SIGTERM'),
          ]
        : first === 'SIGKILL'
          ? []
          : [() => this.#worker.signal(first as NodeJS.Signals)];
    for (const step of steps) {
      step();
      if (await exitWithin(timeout)) return this.exited;
      debug('%s still running %d ms after a stop step', this.name, timeout);
    }
    debug(
      '%s killing pid %d (SIGKILL): %s',
      this.name,
      this.pid,
      first === 'SIGKILL' ? 'kill()' : 'stop steps ran out',
    );
    this.#worker.signal('SIGKILL');
    // SIGKILL cannot be refused, but the kernel may take a moment: a tiny timeout must not call
    // a dying process stuck. Once it is gone, its exit information follows within fixed bounds.
    const killWait = Math.max(timeout, SIGKILL_WAIT_MS);
    if ((await exitWithin(killWait)) || this.#worker.hasEnded) return this.exited;
    throw this.#error('ERR_CNODE_STOP_TIMEOUT', `(pid ${this.pid}) did not exit within ${killWait} ms of SIGKILL`);
  }

  /**
   * An attached worker's end: let go now (`stopMessage` undefined), or sent the stop message and
   * given `timeout` to end, then let go with ERR_CNODE_STOP_TIMEOUT.
   */
  async #endAttached(timeout: number, stopMessage: (() => unknown) | undefined): Promise<ExitInfo> {
    if (stopMessage) {
      stopMessage();
      if (await settlesWithin(this.exited, timeout)) return this.exited;
    }
    this.#worker.signal('SIGKILL');
    const info = await this.exited;
    if (!stopMessage) return info;
    throw this.#error(
      'ERR_CNODE_STOP_TIMEOUT',
      `did not end within ${timeout} ms of the stop message; it was detached`,
    );
  }

  /** How the worker ended, as the user sees it: the one place the exit information is made. */
  #exitInfo({ exitCode, signal, stderr, detached }: ProcessEnd): ExitInfo {
    const state = this.#state;
    // Stopped: stop() or kill() came first and the exit is one of their steps; a crash during a
    // stop is still a crash, and so is a kill for a fault.
    const stopped =
      state.is === 'stopping' &&
      (exitCode === 0 || signal === 'SIGTERM' || signal === 'SIGKILL' || signal === state.signal || detached === true);
    return {
      node: this.name,
      creation: this.creation,
      exitCode,
      signal,
      stderr,
      stopped,
      fault: state.is === 'killed' ? state.fault : null,
    };
  }

  #onExit(info: ExitInfo): ExitInfo {
    if (this.#early) this.#deliverEarly(); // what the worker sent comes before its 'exit'
    this.#state = { is: 'exited', info };
    if (debug.enabled) {
      const cause = info.fault
        ? `fault ${info.fault.code}: ${info.fault.message}`
        : info.stopped
          ? 'stopped'
          : 'by itself';
      debug('%s exit: %s (%s)', this.name, describeExit(info), cause);
    }
    this.#session.close();
    this.#shared.forgetAll();
    this.#calls.close(
      info.fault ??
        (this.#worker.kind === 'attached' && info.stopped
          ? this.#error('ERR_CNODE_STOPPED', 'was detached with a call in flight')
          : exitedError(info, 'with a call in flight')),
    );
    this.#busyChanged();
    if (this.#linked && isAbnormal(info)) {
      // Emitted from a plain callback, not a promise chain: unhandled, it is an uncaught exception.
      setImmediate(() => this.emit('error', info.fault ?? exitedError(info, 'unexpectedly')));
    }
    if (nodeExitChannel.hasSubscribers) nodeExitChannel.publish({ node: this, info });
    callListener(() => this.emit('exit', info), info);
    return info;
  }

  #onFrame(frame: NodeFrame): void {
    switch (frame[0]) {
      case FrameKind.Reply:
      case FrameKind.Fail: {
        const [kind, id, node, payload] = frame;
        // A late reply to a call that timed out or was aborted: normal, counted, not reported.
        if (node !== this.name) {
          if (!this.#calls.reject(id, this.#error('ERR_CNODE_PROTOCOL', `answered a call as ${JSON.stringify(node)}`)))
            this.#dropped++;
        } else if (
          !(kind === FrameKind.Reply
            ? this.#calls.resolve(id, payload)
            : this.#calls.reject(id, this.#remoteError(payload as string, frame[4])))
        ) {
          this.#dropped++;
        }
        return;
      }
      case FrameKind.Info: {
        const [, node, message] = frame;
        if (node !== this.name) this.#onDropped(`a message signed ${JSON.stringify(node)}`);
        else if (!this.#early) this.emit('message', message);
        else if (this.#early.length < EARLY_MESSAGES) this.#early.push(message);
        else this.#onDropped(`more than ${EARLY_MESSAGES} messages before start() resolved`);
        return;
      }
    }
  }

  #deliverEarly(): void {
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const message of early) callListener(() => this.emit('message', message), undefined);
  }

  // Counted always, reported once: a misbehaving worker must not flood the owner's log.
  #onDropped(why: string): void {
    if (this.#dropped++ === 0) {
      process.emitWarning(`cnode ${this.name} sent ${why}; dropped (later drops are counted, not reported)`, {
        code: 'CNODE_DROPPED_FRAME',
      });
    }
  }

  // A frame that breaks the protocol: the worker is broken, so it is killed rather than trusted
  // with more calls, and every call fails with the reason instead of waiting for its timeout.
  #onViolation(why: string): void {
    this.#dropped++;
    this.#killForFault(this.#error('ERR_CNODE_PROTOCOL', `broke the protocol: it sent ${why}; it was killed`));
  }

  // The worker's connection closed while it runs. A worker closes it when it exits, and then its
  // exit follows at once; one that stays alive without its connection is broken. libzmq closes
  // it itself when the worker sends a frame over maxMessageSize. A worker elsewhere may also
  // have been cut off (a link down, its host gone, the ZMTP heartbeat unanswered): its exec
  // process is given a moment to report an exit, and otherwise the connection is taken for lost.
  #onDisconnect(): void {
    const state = this.#state.is;
    if (state === 'killed' || state === 'exited' || this.#worker.hasEnded || this.#disconnectTimer) return;
    const { kind } = this.#worker;
    const { peerEnded } = this.#session.connection;
    if (kind === 'attached') {
      // No process to wait for: the connection is all this owner has of the worker.
      if (peerEnded || state === 'stopping') this.#worker.disconnected(peerEnded);
      else this.#killForFault(this.#lost('lost its connection'));
      return;
    }
    if (state !== 'running') return;
    const remote = kind === 'exec';
    this.#disconnectTimer = setTimeout(
      () => {
        this.#killForFault(
          remote
            ? this.#lost('lost its connection (a cut link, or its host gone); its exec process was ended')
            : this.#error(
                'ERR_CNODE_PROTOCOL',
                `lost its connection but did not exit: it sent a frame over maxMessageSize (${this.#options.maxMessageSize} bytes), or its socket broke; it was killed`,
              ),
        );
      },
      remote ? remoteGrace(this.#options.heartbeat) : DISCONNECT_GRACE_MS,
    );
    this.#disconnectTimer.unref();
  }

  #lost(text: string): CNodeError {
    return this.#error('ERR_CNODE_DISCONNECTED', text);
  }

  /** Kills the worker for a fault the library found; its calls, pending and new, fail with `error`. */
  #killForFault(error: CNodeError): void {
    if (this.#state.is === 'killed' || this.#state.is === 'exited' || this.#worker.hasEnded) return;
    this.#state = { is: 'killed', fault: error };
    debug('%s killing pid %d for a fault: %s', this.name, this.pid, error.message);
    this.#busyChanged();
    this.#session.stopHeartbeat();
    if (this.#worker.kind === 'exec') void this.#endExec();
    else this.#worker.signal('SIGKILL');
    this.#calls.rejectAll(error);
  }

  /**
   * Ends an exec process the library gave up on, gently first: stdin's EOF crosses to the far
   * worker when the link still works (ssh carries it), then SIGTERM, then SIGKILL, each bounded.
   */
  async #endExec(): Promise<void> {
    const step = Math.min(this.#options.stopTimeout, LOST_STEP_MS);
    for (const next of [() => this.#worker.closeInput(), () => this.#worker.signal('SIGTERM')]) {
      next();
      if (await settlesWithin(this.#worker.ended, step)) return;
    }
    this.#worker.signal('SIGKILL');
  }

  // Calls or sends began or ended, a stop began, or the worker exited: an unref'd node holds the
  // loop while any wait, and while it is being stopped or killed, so that an owner with nothing
  // else to do still sees `await node.stop()` through.
  #busyChanged(): void {
    this.#hold.busyChanged(this.#busy);
  }

  get #busy(): boolean {
    return (
      this.#state.is !== 'exited' && (this.pending > 0 || this.#ending !== undefined || this.#state.is === 'killed')
    );
  }

  #encode(fields: readonly unknown[], message: unknown, transfer?: readonly ArrayBuffer[], noShared?: string): Encoded {
    return encodeOutgoing(this.name, this.#options.maxMessageSize, fields, message, transfer, noShared, this.#stager);
  }

  #checkCanSend(): void {
    if (this.#state.is !== 'running') throw this.#refusal('before the call');
    if (this.pending >= this.#options.maxPending) {
      throw this.#error(
        'ERR_CNODE_OVERLOADED',
        `already has ${this.#options.maxPending} calls and sends pending (the maxPending option)`,
      );
    }
  }

  /** Why nothing more can be sent: the fault, the exit, or the stop. */
  #refusal(doing: string): CNodeError {
    const state = this.#state;
    if (state.is === 'killed') return state.fault;
    if (state.is === 'exited')
      return (
        state.info.fault ??
        (state.info.stopped ? this.#error('ERR_CNODE_STOPPED', 'was stopped') : exitedError(state.info, doing))
      );
    if (state.is === 'stopping') return this.#error('ERR_CNODE_STOPPED', 'was stopped');
    // Running, and the connection refused a write: it closed because the worker is exiting.
    return this.#error('ERR_CNODE_EXITED', `closed its connection ${doing}: it is exiting`);
  }

  #aborted(reason: unknown): CNodeError {
    return this.#error('ERR_CNODE_ABORTED', 'had a call aborted', { cause: reason });
  }

  /** The handler failed the call: cnode_fail's reason, and cnode_fail_code's code when it gave one. */
  #remoteError(reason: string, remoteCode: string | undefined): CNodeError {
    const text = remoteCode === undefined ? reason : `${remoteCode}: ${reason}`;
    return nodeError(this.name, 'ERR_CNODE_REMOTE', `failed the call: ${text}`, {
      creation: this.creation,
      remoteCode,
    });
  }

  /** An error about this node. */
  #error(code: CNodeErrorCode, text: string, fields?: { cause?: unknown }): CNodeError {
    return nodeError(this.name, code, text, { creation: this.creation, ...fields });
  }
}
