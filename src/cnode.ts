import { EventEmitter } from 'node:events';
import { Channel } from './channel.js';
import { encodeFrame, encodeMessageFrame } from './codec.js';
import { CNodeError, describeExit, exitedError, type ExitInfo } from './errors.js';
import { checkTimeout, normalizeOptions, type CNodeOptions, type NormalizedOptions } from './options.js';
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
}

export interface StopOptions {
  /** Milliseconds to wait at each step: stop message, SIGTERM, SIGKILL. Default: the node's stopTimeout. */
  timeout?: number;
}

interface PendingCall {
  resolve: (response: unknown) => void;
  reject: (error: CNodeError) => void;
}

type State = 'running' | 'stopping' | 'exited';

/** How long an exit waits for the worker's last frames to arrive before failing the calls left. */
const DRAIN_MS = 100;

/** The least stop() waits after SIGKILL, whatever its timeout. */
const SIGKILL_WAIT_MS = 1000;

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
  #nextId = 0;
  #queuedSends = 0;
  #dropped = 0;

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
        (frame) => node && node.#onFrame(frame),
        (why, callId) => node && node.#onDropped(why, callId),
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
    this.exited = worker.exit.then(async (info) => {
      await channel.drain(DRAIN_MS);
      // Stopped: stop() came first and the exit is one its steps cause; a crash during a stop
      // is still a crash.
      const stopped = this.#stopRequested && (info.exitCode === 0 || info.signal === 'SIGTERM' || info.signal === 'SIGKILL');
      return this.#onExit({ ...info, stopped });
    });
  }

  /**
   * Sends `message` and resolves with the worker's response. Rejects with ERR_CNODE_CALL_TIMEOUT,
   * ERR_CNODE_ABORTED, ERR_CNODE_REMOTE (the handler failed), ERR_CNODE_EXITED, ERR_CNODE_STOPPED,
   * ERR_CNODE_BAD_MESSAGE or ERR_CNODE_OVERLOADED.
   */
  call(message: unknown, options: CallOptions = {}): Promise<unknown> {
    const { timeout = this.#options.callTimeout, signal } = options;
    try {
      checkTimeout('timeout', timeout);
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new CNodeError('ERR_CNODE_INVALID_OPTION', `Expected the \`signal\` option to be an AbortSignal, got ${typeof signal}`);
      }
      this.#checkCanSend();
      if (signal?.aborted) throw this.#aborted(signal);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#allocateId();
    let frame: Buffer;
    try {
      frame = encodeMessageFrame([FrameKind.Call, id], message);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<unknown>((resolve, reject) => {
      const settle = () => {
        this.#pending.delete(id);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        settle();
        reject(this.#aborted(signal!));
      };
      const timer = setTimeout(() => {
        settle();
        reject(new CNodeError('ERR_CNODE_CALL_TIMEOUT', `cnode ${this.name} did not answer a call within ${timeout} ms`, { node: this.name }));
      }, timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (response) => (settle(), resolve(response)),
        reject: (error) => (settle(), reject(error)),
      });
      // A failed send means the socket closed: the worker is ending, and its exit settles the call.
      this.#channel.send(frame).catch(() => {});
    });
  }

  /**
   * Sends `message` without waiting for an answer (a cast). Messages to one node are handled in
   * the order sent, calls included. Resolves once the message is queued in ZeroMQ.
   */
  async send(message: unknown): Promise<void> {
    this.#checkCanSend();
    const frame = encodeMessageFrame([FrameKind.Cast], message);
    this.#queuedSends++;
    try {
      await this.#channel.send(frame);
    } catch {
      throw this.#exitInfo ? exitedError(this.#exitInfo, 'before the message was sent') : new CNodeError('ERR_CNODE_STOPPED', `cnode ${this.name} is stopping`, { node: this.name });
    } finally {
      this.#queuedSends--;
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
      const { timeout = this.#options.stopTimeout } = options;
      try {
        checkTimeout('timeout', timeout);
      } catch (error) {
        return Promise.reject(error);
      }
      this.#stopRequested = !this.#process.exited;
      this.#stopping = this.#stop(timeout);
    }
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stop(timeout: number): Promise<ExitInfo> {
    if (this.#state === 'running') this.#state = 'stopping';
    const exitWithin = (ms: number) => settlesWithin(this.exited, ms);
    if (this.#state !== 'exited') this.#channel.send(encodeFrame([FrameKind.Stop])).catch(() => {});
    if (await exitWithin(timeout)) return this.exited;
    this.#process.signal('SIGTERM');
    if (await exitWithin(timeout)) return this.exited;
    this.#process.signal('SIGKILL');
    // SIGKILL cannot be refused, but the kernel may take a moment: a tiny timeout must not call
    // a dying process stuck. Once it is gone, its exit information follows within fixed bounds.
    const killWait = Math.max(timeout, SIGKILL_WAIT_MS);
    if ((await exitWithin(killWait)) || this.#process.exited) return this.exited;
    throw new CNodeError('ERR_CNODE_STOP_TIMEOUT', `cnode ${this.name} (pid ${this.pid}) did not exit within ${killWait} ms of SIGKILL`, { node: this.name });
  }

  #onExit(info: ExitInfo): ExitInfo {
    this.#state = 'exited';
    this.#exitInfo = info;
    this.#channel.close();
    const error = exitedError(info, 'with a call in flight');
    for (const call of [...this.#pending.values()]) call.reject(error);
    if (this.#linked && !info.stopped && (info.signal !== null || info.exitCode !== 0)) {
      // Emitted from a plain callback, not a promise chain: unhandled, it is an uncaught exception.
      setImmediate(() => this.emit('error', exitedError(info, 'unexpectedly')));
    }
    callListener(() => this.emit('exit', info), info);
    return info;
  }

  #onFrame(frame: WorkerFrame): void {
    switch (frame[0]) {
      case FrameKind.Reply:
      case FrameKind.Fail: {
        const [kind, id, node, payload] = frame;
        const call = this.#pending.get(id);
        if (!call) return; // it timed out or was aborted: a late reply is dropped
        if (node !== this.name) {
          return call.reject(new CNodeError('ERR_CNODE_PROTOCOL', `cnode ${this.name} answered a call as ${JSON.stringify(node)}`, { node: this.name }));
        }
        if (kind === FrameKind.Reply) return call.resolve(payload);
        return call.reject(new CNodeError('ERR_CNODE_REMOTE', `cnode ${this.name} failed the call: ${payload}`, { node: this.name }));
      }
      case FrameKind.Info: {
        const [, node, message] = frame;
        if (node !== this.name) return this.#onDropped(`a message signed ${JSON.stringify(node)}`);
        this.emit('message', message);
        return;
      }
      default:
        this.#onDropped(`an unexpected frame of kind ${frame[0]}`);
    }
  }

  // Counted always, reported once: a misbehaving worker must not flood the owner's log. A reply
  // that did not decode still fails its call at once, rather than by timeout.
  #onDropped(why: string, callId?: number): void {
    const call = callId === undefined ? undefined : this.#pending.get(callId);
    call?.reject(new CNodeError('ERR_CNODE_PROTOCOL', `cnode ${this.name} answered a call with ${why}`, { node: this.name }));
    if (this.#dropped++ === 0) {
      process.emitWarning(`cnode ${this.name} sent ${why}; dropped (later drops are counted, not reported)`, { code: 'CNODE_DROPPED_FRAME' });
    }
  }

  /** How many frames from the worker were malformed or unexpected and dropped. */
  get droppedFrames(): number {
    return this.#dropped;
  }

  #checkCanSend(): void {
    if (this.#exitInfo && !this.#exitInfo.stopped) throw exitedError(this.#exitInfo, 'before the call');
    if (this.#state !== 'running') throw new CNodeError('ERR_CNODE_STOPPED', `cnode ${this.name} was stopped`, { node: this.name });
    if (this.#pending.size + this.#queuedSends >= this.#options.maxPending) {
      throw new CNodeError('ERR_CNODE_OVERLOADED', `cnode ${this.name} already has ${this.#options.maxPending} calls and sends pending (the maxPending option)`, { node: this.name });
    }
  }

  #allocateId(): number {
    do this.#nextId = this.#nextId >= 0xffff_ffff ? 1 : this.#nextId + 1;
    while (this.#pending.has(this.#nextId));
    return this.#nextId;
  }

  #aborted(signal: AbortSignal): CNodeError {
    return new CNodeError('ERR_CNODE_ABORTED', `a call to cnode ${this.name} was aborted`, { node: this.name, cause: signal.reason });
  }

  toString(): string {
    return `CNode(${this.name}, pid ${this.pid}, ${this.#exitInfo ? describeExit(this.#exitInfo) : this.#state})`;
  }
}
