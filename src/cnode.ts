import { EventEmitter } from 'node:events';
import os from 'node:os';
import { Channel, type Outgoing } from './channel.js';
import { BadMessage, encodeFrame, encodeMessageFrame, type Encoded } from './codec.js';
import type { SharedBuffer } from './shared-buffer.js';
import { Deadlines } from './deadlines.js';
import { CNodeError, describeExit, exitedError, nodeError, showValue, type CNodeErrorCode, type ExitInfo } from './errors.js';
import { checkOptionNames, checkTimeout, checkTransfer, normalizeOptions, type CNodeOptions, type NormalizedOptions } from './options.js';
import { Heartbeat } from './heartbeat.js';
import { FrameKind, type WorkerFrame } from './protocol.js';
import { nextCreation, uniqueAliveName } from './registry.js';
import { settlesWithin } from './wait.js';
import { WorkerProcess, type Identity } from './worker-process.js';

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
  /** Milliseconds to wait for ZeroMQ to take the message. Default: the node's callTimeout. */
  timeout?: number;
  /** As for call(). */
  transfer?: readonly ArrayBuffer[];
}

export interface StopOptions {
  /** Milliseconds to wait at each step: stop message, SIGTERM, SIGKILL. Default: the node's stopTimeout. */
  timeout?: number;
}

const CALL_OPTIONS = ['timeout', 'signal', 'transfer'] satisfies (keyof CallOptions)[];
const SEND_OPTIONS = ['timeout', 'transfer'] satisfies (keyof SendOptions)[];
const STOP_OPTIONS = ['timeout'] satisfies (keyof StopOptions)[];

interface PendingCall {
  resolve: (response: unknown) => void;
  reject: (error: CNodeError) => void;
}

type State = 'running' | 'stopping' | 'exited';

/** How long an exit waits for the worker's last frames to arrive before failing the calls left. */
const DRAIN_MS = 100;

/** The least stop() waits after SIGKILL, whatever its timeout. */
const SIGKILL_WAIT_MS = 1000;

/**
 * How long a worker whose connection closed may take to exit by itself before it is taken for
 * broken and killed. A worker that exits closes its connection first, so the two come together.
 */
const DISCONNECT_GRACE_MS = 250;

export interface CNodeEvents {
  /** An unsolicited message from the worker (cnode_send). */
  message: [message: unknown];
  /** The worker ended, for any reason. Emitted once. */
  exit: [info: ExitInfo];
  /** startLink only: the worker ended abnormally without stop(). */
  error: [error: CNodeError];
}

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
  readonly pid: number;
  /** Where the worker's socket is bound, from its ready line. */
  readonly endpoint: string;
  /** Resolves with the exit information once the worker has ended; never rejects. */
  readonly exited: Promise<ExitInfo>;

  #options: NormalizedOptions;
  #process: WorkerProcess;
  #channel: Channel;
  #linked: boolean;
  #state: State = 'running';
  #exitInfo: ExitInfo | undefined;
  #stopping: Promise<ExitInfo> | undefined;
  #stopRequested = false; // stop() came while the process still ran: its exit is not abnormal
  #pending = new Map<number, PendingCall>();
  #deadlines = new Deadlines();
  /** The SharedBuffers this worker was sent, by inode: ends the onRelease listener that tells it to unmap one. */
  #sharedSent = new Map<number, () => void>();
  #nextId = 0;
  #queuedSends = 0;
  #dropped = 0;
  #fault: CNodeError | undefined; // why the library killed the worker
  #heartbeat: Heartbeat | undefined;
  #disconnectTimer: NodeJS.Timeout | undefined;
  #killSignal: NodeJS.Signals | undefined; // what kill() sent: an exit by it is a stop
  #refed = true;
  #busyHold: NodeJS.Timeout | undefined; // holds the event loop for an unref'd node's waiting calls

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

  static async #start(options: CNodeOptions, linked: boolean): Promise<CNode> {
    const normalized = normalizeOptions(options);
    const alive = normalized.name || uniqueAliveName();
    // A default name is fresh, so its creation is 1; counting it would grow the registry forever.
    const creation = normalized.name ? nextCreation(alive) : 1;
    const identity: Identity = { alive, host: normalized.host, node: `${alive}@${normalized.host}`, creation };
    const worker = new WorkerProcess(normalized, identity);
    let channel: Channel | undefined;
    try {
      const endpoint = await worker.waitReady(normalized.readyTimeout);
      let node: CNode | undefined;
      channel = new Channel(
        endpoint,
        { maxMessageSize: normalized.maxMessageSize, curve: worker.curve },
        {
          onFrame: (frame) => node && node.#onFrame(frame),
          onViolation: (why) => node && node.#onViolation(why),
          onDisconnect: () => node && node.#onDisconnect(),
        },
      );
      await Promise.race([
        channel.handshake(worker.cookie, identity.node, normalized.readyTimeout),
        worker.exit.then((info) => Promise.reject(exitedError({ ...info, stopped: false }, 'during the handshake'))),
      ]);
      node = new CNode(normalized, identity, worker, channel, endpoint, linked);
      return node;
    } catch (error) {
      channel?.close();
      worker.signal('SIGKILL');
      await worker.exit;
      throw error;
    }
  }

  private constructor(options: NormalizedOptions, identity: Identity, worker: WorkerProcess, channel: Channel, endpoint: string, linked: boolean) {
    super();
    this.#options = options;
    this.#process = worker;
    this.#channel = channel;
    this.#linked = linked;
    this.name = identity.node;
    this.alive = identity.alive;
    this.host = identity.host;
    this.creation = identity.creation;
    this.pid = worker.pid;
    this.endpoint = endpoint;
    if (options.heartbeat) {
      this.#heartbeat = new Heartbeat(
        options.heartbeat,
        (seq) => channel.send(encodeFrame([FrameKind.Ping, seq])),
        (silentMs) => this.#kill(this.#error('ERR_CNODE_UNRESPONSIVE', `did not answer its heartbeat for ${Math.round(silentMs)} ms (heartbeat.timeout ${options.heartbeat!.timeout}); it was killed`)),
      );
    }
    this.exited = worker.exit.then(async (info) => {
      this.#heartbeat?.stop();
      clearTimeout(this.#disconnectTimer);
      await channel.drain(DRAIN_MS);
      // Stopped: stop() came first and the exit is one its steps cause; a crash during a stop
      // is still a crash, and so is a kill for a fault.
      const stopped = this.#stopRequested && !this.#fault && (info.exitCode === 0 || info.signal === 'SIGTERM' || info.signal === 'SIGKILL' || info.signal === this.#killSignal);
      return this.#onExit({ ...info, stopped, fault: this.#fault ?? null });
    });
  }

  /**
   * Sends `message` and resolves with the worker's response. Rejects with ERR_CNODE_CALL_TIMEOUT,
   * ERR_CNODE_ABORTED, ERR_CNODE_REMOTE (the handler failed), ERR_CNODE_EXITED, ERR_CNODE_STOPPED,
   * ERR_CNODE_BAD_MESSAGE, ERR_CNODE_OVERLOADED, ERR_CNODE_UNRESPONSIVE or ERR_CNODE_PROTOCOL.
   */
  call(message: unknown, options: CallOptions = {}): Promise<unknown> {
    let timeout: number;
    let signal: AbortSignal | undefined;
    let id: number;
    let encoded: Encoded;
    try {
      let transfer: readonly ArrayBuffer[] | undefined;
      ({ timeout, signal, transfer } = this.#checkOptions('call', options, CALL_OPTIONS, ({ timeout = this.#options.callTimeout, signal, transfer }) => {
        checkTimeout('timeout', timeout);
        checkTransfer(transfer);
        if (signal !== undefined && !(signal instanceof AbortSignal)) {
          throw new CNodeError('ERR_CNODE_INVALID_OPTION', `Expected the \`signal\` option to be an AbortSignal, got ${showValue(signal)}`);
        }
        return { timeout, signal, transfer };
      }));
      this.#checkCanSend();
      if (signal?.aborted) throw this.#aborted(signal);
      id = this.#allocateId();
      encoded = this.#encode([FrameKind.Call, id], message, transfer);
    } catch (error) {
      return Promise.reject(error);
    }
    let outgoing: Outgoing;
    // Each SharedBuffer's descriptor stays open until the call settles: the worker opens it
    // through /proc while it handles the call.
    const holds = encoded.shared.map((shared) => this.#holdShared(shared));
    return new Promise<unknown>((resolve, reject) => {
      const settle = () => {
        this.#pending.delete(id);
        this.#deadlines.cancel(deadline, timeout);
        signal?.removeEventListener('abort', onAbort);
        for (const endHold of holds) endHold();
        if (!this.#refed) this.#holdLoopWhileBusy();
      };
      // A call given up on is withdrawn from the send queue if it is still there: a worker that
      // stopped reading must not make the owner hold calls nobody waits for.
      const giveUp = (error: CNodeError) => {
        settle();
        this.#channel.withdraw(outgoing);
        reject(error);
      };
      const onAbort = () => giveUp(this.#aborted(signal!));
      const deadline = this.#deadlines.add(timeout, () => giveUp(this.#error('ERR_CNODE_CALL_TIMEOUT', `did not answer a call within ${timeout} ms`)));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (response) => (settle(), resolve(response)),
        reject: (error) => (settle(), reject(error)),
      });
      if (!this.#refed) this.#holdLoopWhileBusy();
      // A frame not sent means the socket closed: the worker is ending, and its exit settles the call.
      outgoing = this.#channel.send(encoded.frame, encoded.sides);
    });
  }

  /**
   * Sends `message` without waiting for an answer (a cast). Messages to one node are handled in
   * the order sent, calls included. Resolves once ZeroMQ has taken the message: awaiting each
   * send() paces a fast sender to the worker. Rejects with ERR_CNODE_SEND_TIMEOUT when ZeroMQ
   * does not take it within `timeout` (the worker stopped reading); the message is then dropped.
   */
  async send(message: unknown, options: SendOptions = {}): Promise<void> {
    const { timeout, transfer } = this.#checkOptions('send', options, SEND_OPTIONS, ({ timeout = this.#options.callTimeout, transfer }) => {
      checkTimeout('timeout', timeout);
      checkTransfer(transfer);
      return { timeout, transfer };
    });
    this.#checkCanSend();
    // No answer would say when the worker has opened a SharedBuffer's descriptor, which must stay open till then.
    const { frame, sides } = this.#encode([FrameKind.Cast], message, transfer, 'a SharedBuffer travels in call() only, not in send()');
    const { outgoing, taken } = this.#channel.sendAndWait(frame, sides);
    this.#queuedSends++;
    if (!this.#refed) this.#holdLoopWhileBusy();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(this.#error('ERR_CNODE_SEND_TIMEOUT', `did not take a message within ${timeout} ms; it was dropped`));
        this.#channel.withdraw(outgoing); // after: its own rejection must not win the race
      }, timeout);
    });
    try {
      await Promise.race([taken, timedOut]);
    } catch (error) {
      if (error instanceof CNodeError) throw error;
      throw this.#fault ?? (this.#exitInfo ? exitedError(this.#exitInfo, 'before the message was sent') : this.#error('ERR_CNODE_STOPPED', 'is stopping'));
    } finally {
      clearTimeout(timer);
      this.#queuedSends--;
      if (!this.#refed) this.#holdLoopWhileBusy();
    }
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
   * to `timeout` ms at each step. Resolves with the exit information. Calling it again returns the same promise.
   */
  stop(options: StopOptions = {}): Promise<ExitInfo> {
    if (!this.#stopping) {
      try {
        const { timeout } = this.#checkOptions('stop', options, STOP_OPTIONS, ({ timeout = this.#options.stopTimeout }) => {
          checkTimeout('timeout', timeout);
          return { timeout };
        });
        this.#stopping = this.#end(timeout, 'stop');
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#stopping;
  }

  /**
   * Ends the worker's process group at once with `signal` (default SIGKILL, OTP's brutal_kill),
   * without the stop message; SIGKILL follows if `signal` has not ended it within stopTimeout.
   * Resolves like stop(), which it also hurries along when a stop is under way. Calls and sends
   * after it reject with ERR_CNODE_STOPPED.
   */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    if (typeof signal !== 'string' || !Object.hasOwn(os.constants.signals, signal)) {
      return Promise.reject(this.#error('ERR_CNODE_INVALID_OPTION', `kill(): Expected \`signal\` to be a signal name such as 'SIGKILL' or 'SIGTERM', got ${showValue(signal)}`));
    }
    if (this.#stopping) {
      this.#process.signal(signal);
      return this.#stopping;
    }
    this.#killSignal = signal;
    this.#stopping = this.#end(this.#options.stopTimeout, signal);
    return this.#stopping;
  }

  /**
   * Lets the owner's event loop end while this node is idle, as `child.unref()` does: a node
   * then keeps the owner alive only while calls or sends are waiting. When the owner exits, the
   * worker is killed as always.
   */
  unref(): this {
    if (this.#refed) this.#setRef(false);
    return this;
  }

  /** Undoes unref(): the node keeps the owner's event loop alive until it has exited (the default). */
  ref(): this {
    if (!this.#refed) this.#setRef(true);
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * The steps that end the worker, each given `timeout` ms: the stop message, then SIGTERM (for
   * stop()), or the signal of kill(); then SIGKILL to the process group.
   */
  async #end(timeout: number, first: 'stop' | NodeJS.Signals): Promise<ExitInfo> {
    this.#stopRequested = !this.#process.exited;
    if (this.#state === 'running') this.#state = 'stopping';
    const exitWithin = (ms: number) => settlesWithin(this.exited, ms);
    const steps =
      first === 'stop'
        ? [() => this.#state !== 'exited' && this.#channel.send(encodeFrame([FrameKind.Stop])), () => this.#process.signal('SIGTERM')]
        : first === 'SIGKILL'
          ? []
          : [() => this.#process.signal(first)];
    for (const step of steps) {
      step();
      if (await exitWithin(timeout)) return this.exited;
    }
    this.#process.signal('SIGKILL');
    // SIGKILL cannot be refused, but the kernel may take a moment: a tiny timeout must not call
    // a dying process stuck. Once it is gone, its exit information follows within fixed bounds.
    const killWait = Math.max(timeout, SIGKILL_WAIT_MS);
    if ((await exitWithin(killWait)) || this.#process.exited) return this.exited;
    throw this.#error('ERR_CNODE_STOP_TIMEOUT', `(pid ${this.pid}) did not exit within ${killWait} ms of SIGKILL`);
  }

  #setRef(refed: boolean): void {
    this.#refed = refed;
    this.#process.setRef(refed);
    this.#channel.setRef(refed);
    this.#holdLoopWhileBusy();
  }

  // An unref'd node holds the event loop with a timer of its own while calls or sends wait, so
  // that an owner with nothing else to do still hears their answers.
  #holdLoopWhileBusy(): void {
    const busy = !this.#refed && this.#state !== 'exited' && this.#pending.size + this.#queuedSends > 0;
    if (busy && !this.#busyHold) this.#busyHold = setInterval(() => {}, 0x7fffffff);
    else if (!busy && this.#busyHold) {
      clearInterval(this.#busyHold);
      this.#busyHold = undefined;
    }
  }

  /**
   * Holds `shared` for a call in flight; the first time this worker is sent it, also arranges for
   * the worker to unmap it once the owner releases it. Returns the end of the hold.
   */
  #holdShared(shared: SharedBuffer): () => void {
    const endHold = shared.retain();
    if (!this.#sharedSent.has(shared.inode)) {
      const stopListening = shared.onRelease((inode) => {
        this.#sharedSent.delete(inode);
        if (this.#state !== 'exited') this.#channel.send(encodeFrame([FrameKind.Release, BigInt(inode)])); // an integer on the wire, however big
      });
      this.#sharedSent.set(shared.inode, stopListening);
    }
    return endHold;
  }

  #onExit(info: ExitInfo): ExitInfo {
    this.#state = 'exited';
    this.#exitInfo = info;
    this.#channel.close();
    for (const stopListening of this.#sharedSent.values()) stopListening(); // its mappings died with it
    this.#sharedSent.clear();
    const error = info.fault ?? exitedError(info, 'with a call in flight');
    for (const call of [...this.#pending.values()]) call.reject(error);
    this.#deadlines.clear();
    this.#holdLoopWhileBusy();
    if (this.#linked && !info.stopped && (info.signal !== null || info.exitCode !== 0)) {
      // Emitted from a plain callback, not a promise chain: unhandled, it is an uncaught exception.
      setImmediate(() => this.emit('error', info.fault ?? exitedError(info, 'unexpectedly')));
    }
    callListener(() => this.emit('exit', info), info);
    return info;
  }

  #onFrame(frame: WorkerFrame): void {
    this.#heartbeat?.heard();
    switch (frame[0]) {
      case FrameKind.Reply:
      case FrameKind.Fail: {
        const [kind, id, node, payload] = frame;
        const call = this.#pending.get(id);
        if (!call) {
          this.#dropped++; // a late reply to a call that timed out or was aborted: normal, not reported
          return;
        }
        if (node !== this.name) {
          return call.reject(this.#error('ERR_CNODE_PROTOCOL', `answered a call as ${JSON.stringify(node)}`));
        }
        if (kind === FrameKind.Reply) return call.resolve(payload);
        return call.reject(this.#error('ERR_CNODE_REMOTE', `failed the call: ${payload}`));
      }
      case FrameKind.Info: {
        const [, node, message] = frame;
        if (node !== this.name) return this.#onDropped(`a message signed ${JSON.stringify(node)}`);
        this.emit('message', message);
        return;
      }
      case FrameKind.Pong:
        return; // heard, which is all a pong is for
    }
  }

  // Counted always, reported once: a misbehaving worker must not flood the owner's log.
  #onDropped(why: string): void {
    if (this.#dropped++ === 0) {
      process.emitWarning(`cnode ${this.name} sent ${why}; dropped (later drops are counted, not reported)`, { code: 'CNODE_DROPPED_FRAME' });
    }
  }

  // A frame that breaks the protocol: the worker is broken, so it is killed rather than trusted
  // with more calls, and every call fails with the reason instead of waiting for its timeout.
  #onViolation(why: string): void {
    this.#dropped++;
    this.#kill(this.#error('ERR_CNODE_PROTOCOL', `broke the protocol: it sent ${why}; it was killed`));
  }

  // The worker's connection closed while it runs. A worker closes it when it exits, and then its
  // exit follows at once; one that stays alive without its connection is broken. libzmq closes
  // it itself when the worker sends a frame over maxMessageSize.
  #onDisconnect(): void {
    if (this.#state !== 'running' || this.#fault || this.#process.exited || this.#disconnectTimer) return;
    this.#disconnectTimer = setTimeout(() => {
      this.#kill(this.#error('ERR_CNODE_PROTOCOL', `lost its connection but did not exit: it sent a frame over maxMessageSize (${this.#options.maxMessageSize} bytes), or its socket broke; it was killed`));
    }, DISCONNECT_GRACE_MS);
    this.#disconnectTimer.unref();
  }

  /** Kills the worker for a fault the library found; its calls, pending and new, fail with `error`. */
  #kill(error: CNodeError): void {
    if (this.#fault || this.#process.exited) return;
    this.#fault = error;
    this.#heartbeat?.stop();
    this.#process.signal('SIGKILL');
    for (const call of [...this.#pending.values()]) call.reject(error);
  }

  /**
   * How many frames from the worker were dropped: late replies (to calls that timed out or were
   * aborted), messages signed with another node's name, and frames that broke the protocol.
   */
  get droppedFrames(): number {
    return this.#dropped;
  }

  /**
   * Encodes a frame with the user's message, refusing a frame or binary over maxMessageSize, and
   * any SharedBuffer when `noShared` says why; then takes the transferred ArrayBuffers, only once
   * nothing is left to refuse.
   */
  #encode(fields: readonly unknown[], message: unknown, transfer?: readonly ArrayBuffer[], noShared?: string): Encoded {
    let encoded: Encoded;
    try {
      encoded = encodeMessageFrame(fields, message, transfer);
    } catch (error) {
      if (!(error instanceof BadMessage)) throw error;
      const hint = error.hint ? `: ${error.hint}` : '';
      throw this.#error('ERR_CNODE_BAD_MESSAGE', `cannot be sent ${error.message}${hint}; nothing was sent`, { cause: error.cause });
    }
    const limit = this.#options.maxMessageSize;
    let biggestSide = 0;
    for (const side of encoded.sides) biggestSide = Math.max(biggestSide, side.length);
    const over = encoded.frame.length > limit ? `encodes to ${encoded.frame.length} bytes` : biggestSide > limit ? `carries a binary of ${biggestSide} bytes` : undefined;
    if (over) throw this.#error('ERR_CNODE_BAD_MESSAGE', `cannot be sent a message that ${over}, over maxMessageSize (${limit} bytes); nothing was sent`);
    if (noShared && encoded.shared.length > 0) throw this.#error('ERR_CNODE_BAD_MESSAGE', `cannot be sent this message: ${noShared}; nothing was sent`);
    encoded.takeTransfers();
    return encoded;
  }

  #checkCanSend(): void {
    if (this.#fault) throw this.#fault;
    if (this.#exitInfo && !this.#exitInfo.stopped) throw exitedError(this.#exitInfo, 'before the call');
    if (this.#state !== 'running') throw this.#error('ERR_CNODE_STOPPED', 'was stopped');
    if (this.#pending.size + this.#queuedSends >= this.#options.maxPending) {
      throw this.#error('ERR_CNODE_OVERLOADED', `already has ${this.#options.maxPending} calls and sends pending (the maxPending option)`);
    }
  }

  /** Checks a method's options; an invalid one fails naming this node and the method. */
  #checkOptions<O, R>(method: string, options: O, names: readonly string[], normalize: (options: O) => R): R {
    try {
      checkOptionNames(options, names);
      return normalize(options);
    } catch (error) {
      if (error instanceof CNodeError && error.code === 'ERR_CNODE_INVALID_OPTION') throw this.#error(error.code, `${method}(): ${error.message}`);
      throw error;
    }
  }

  /** An error about this node. */
  #error(code: CNodeErrorCode, text: string, fields?: { cause?: unknown }): CNodeError {
    return nodeError(this.name, code, text, fields);
  }

  #allocateId(): number {
    do this.#nextId = this.#nextId >= 0xffff_ffff ? 1 : this.#nextId + 1;
    while (this.#pending.has(this.#nextId));
    return this.#nextId;
  }

  #aborted(signal: AbortSignal): CNodeError {
    return this.#error('ERR_CNODE_ABORTED', 'had a call aborted', { cause: signal.reason });
  }

  toString(): string {
    return `CNode(${this.name}, pid ${this.pid}, ${this.#exitInfo ? describeExit(this.#exitInfo) : this.#state})`;
  }
}
