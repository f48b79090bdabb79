import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { CallOptions, CNode, SendOptions } from '../cnode.js';
import type { CNodeError, ExitInfo } from '../errors.js';
import { check, checkMethodOptions, checkSignal, checkTimeout, checkTransfer } from '../options.js';
import { Backoff, type NormalizedBackoff } from './backoff.js';
import * as errors from './errors.js';
import type { NormalizedChild } from './options.js';

/**
 * Where a child is: `running` (its incarnation serves calls), `restarting` (calls and sends wait
 * for the next incarnation), `ended` (it exited and its restart policy keeps it down) or
 * `stopped` (its supervisor stopped).
 */
export type ChildState = 'running' | 'restarting' | 'ended' | 'stopped';

export interface ChildCallOptions extends CallOptions {
  /**
   * While the child restarts, reject at once with ERR_CNODE_EXITED instead of waiting (for up to
   * `timeout`) for its next incarnation. Default: false.
   */
  failFast?: boolean;
}

export interface ChildSendOptions extends SendOptions {
  /** As for call(). */
  failFast?: boolean;
}

export interface ChildEvents {
  /** A message from the current incarnation (cnode_send), and that incarnation's creation. */
  message: [message: unknown, creation: number];
  /** An incarnation ended, for any reason; as the 'restart' event tells it. */
  exit: [info: ExitInfo];
}

const CALL_OPTIONS = ['timeout', 'signal', 'transfer', 'failFast'] satisfies (keyof ChildCallOptions)[];
const SEND_OPTIONS = ['timeout', 'transfer', 'failFast'] satisfies (keyof ChildSendOptions)[];

/** One start of a child: its node, and what the supervisor knows of it. */
export class Incarnation {
  readonly node: CNode;
  /** When it started, monotonic: its uptime decides whether its backoff resets. */
  readonly startedAt = performance.now();
  /** How it ended, as the supervisor tells it (a health-check kill is no stop), once it has. */
  info: ExitInfo | undefined;
  /** The supervisor is stopping it itself (its shutdown, or a sibling's restart): its exit is no failure. */
  planned = false;
  /** Its 'restart' event was emitted, or it was retired (a temporary sibling): done with. */
  reported = false;
  /** Why the supervisor killed it, when its health check failed. */
  healthFault: CNodeError | undefined;
  /** Ends its health checks. */
  endHealthCheck: () => void = () => {};

  constructor(node: CNode) {
    this.node = node;
  }

  get exited(): boolean {
    return this.info !== undefined;
  }
}

/** A restart under way: the children it will start, once the one that failed has waited its delay. */
export interface PendingRestart {
  /** The child whose exit, or failed start, caused it: its backoff gave the delay, its clock stands still during it. */
  trigger: Child;
  /** The children the strategy takes, in start order: it stops those running, and starts those it still owns. */
  group: readonly Child[];
  /** The children it will start; a later restart that takes one over removes it. */
  children: Set<Child>;
  delay: number;
  /** While it waits out its delay. */
  timer: NodeJS.Timeout | undefined;
}

/** The options of a call or send, checked. */
interface CheckedOptions {
  timeout: number | undefined;
  signal: AbortSignal | undefined;
  transfer: readonly ArrayBuffer[] | undefined;
  failFast: boolean;
}

/** A call or send made during a restart, waiting for the next incarnation. */
interface Waiter {
  proceed(node: CNode): void;
  fail(error: CNodeError): void;
}

/** A child as its supervisor keeps it: the spec, the current incarnation, and the calls that wait for the next. */
export class Child {
  readonly spec: NormalizedChild;
  readonly backoff: Backoff;
  readonly handle: ChildHandle;
  state: ChildState = 'restarting'; // until its first start
  /** The current incarnation, or the last one while it restarts, or has ended. */
  incarnation: Incarnation | undefined;
  /** The restart that will start it next, when one is under way. */
  pending: PendingRestart | undefined;
  #waiters = new Set<Waiter>();
  #stoppedBy: CNodeError | undefined;

  constructor(spec: NormalizedChild, backoff: NormalizedBackoff) {
    this.spec = spec;
    this.backoff = new Backoff(backoff);
    this.handle = new ChildHandle(this);
  }

  /** The node name of the current or last incarnation, `alive@host`. */
  get nodeName(): string {
    return this.incarnation?.node.name ?? `${this.spec.node.name}@${this.spec.node.host}`;
  }

  get creation(): number {
    return this.incarnation?.node.creation ?? 0;
  }

  /** A new incarnation serves: the calls and sends that waited go to it, in the order they were made. */
  running(incarnation: Incarnation): void {
    this.incarnation = incarnation;
    this.state = 'running';
    for (const waiter of [...this.#waiters]) waiter.proceed(incarnation.node);
  }

  /** A restart was decided: calls and sends from now on wait for the next incarnation. */
  restarting(): void {
    this.state = 'restarting';
  }

  /** It exited, and its restart policy keeps it down. */
  ended(): void {
    this.state = 'ended';
    this.#failWaiters(errors.ended(this.incarnation!.info!, this.spec.restart));
  }

  /**
   * Its supervisor stopped, or gave up: what waited for a restart, and every later call or send,
   * fails with `error` (ERR_CNODE_STOPPED, or the supervisor's ERR_CNODE_TOO_MANY_RESTARTS).
   */
  stopped(error: CNodeError): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.#stoppedBy = error;
    this.#failWaiters(error);
  }

  call(message: unknown, options?: ChildCallOptions): Promise<unknown> {
    // The common case first: a running child, no options, straight to its node.
    if (this.state === 'running' && options === undefined) return this.incarnation!.node.call(message);
    let checked: CheckedOptions;
    try {
      checked = this.checkOptions('call', options ?? {}, CALL_OPTIONS);
    } catch (error) {
      return Promise.reject(error);
    }
    const { failFast, ...forward } = checked;
    if (this.state === 'running') return this.incarnation!.node.call(message, forward);
    const refusal = this.#refusal(failFast);
    if (refusal) return Promise.reject(refusal);
    return this.#wait('call', forward.timeout ?? this.spec.node.callTimeout, forward.signal, (node, timeout) =>
      node.call(message, { ...forward, timeout }),
    );
  }

  send(message: unknown, options?: ChildSendOptions): Promise<void> {
    if (this.state === 'running' && options === undefined) return this.incarnation!.node.send(message);
    let checked: CheckedOptions;
    try {
      checked = this.checkOptions('send', options ?? {}, SEND_OPTIONS);
    } catch (error) {
      return Promise.reject(error);
    }
    const { failFast, signal: _none, ...forward } = checked;
    if (this.state === 'running') return this.incarnation!.node.send(message, forward);
    const refusal = this.#refusal(failFast);
    if (refusal) return Promise.reject(refusal);
    return this.#wait('send', forward.timeout ?? this.spec.node.callTimeout, undefined, (node, timeout) =>
      node.send(message, { ...forward, timeout }),
    );
  }

  /** Checks the options of call() or send() as the node would, and failFast, naming the child's node. */
  checkOptions(method: 'call' | 'send', options: ChildCallOptions, names: readonly string[]): CheckedOptions {
    return checkMethodOptions(
      this.nodeName,
      method,
      options,
      names,
      ({ timeout, signal, transfer, failFast = false }) => {
        if (timeout !== undefined) checkTimeout('timeout', timeout);
        checkTransfer(transfer);
        checkSignal(signal);
        check('failFast', failFast, typeof failFast === 'boolean', 'a boolean');
        return { timeout, signal, transfer, failFast };
      },
    );
  }

  /** Why a call or send to a child that is not running cannot wait for it, if it cannot. */
  #refusal(failFast: boolean): CNodeError | undefined {
    switch (this.state) {
      case 'ended':
        return errors.ended(this.incarnation!.info!, this.spec.restart);
      case 'stopped':
        return this.#stoppedBy;
      default:
        return failFast ? errors.restarting(this.nodeName, this.creation, this.incarnation?.info) : undefined;
    }
  }

  /**
   * Waits for the next incarnation, then hands it the call or send with what is left of its
   * timeout. Bounded by that timeout; aborted by its signal; failed when the supervisor stops.
   */
  #wait<T>(
    kind: 'call' | 'send',
    timeout: number,
    signal: AbortSignal | undefined,
    proceed: (node: CNode, timeout: number) => Promise<T>,
  ): Promise<T> {
    const node = this.nodeName;
    const creation = this.creation;
    if (signal?.aborted) return Promise.reject(errors.waitAborted(node, creation, signal.reason));
    // What waits counts against maxPending, as what the node holds does: a restart must not
    // let an owner queue without bound.
    if (this.#waiters.size >= this.spec.node.maxPending)
      return Promise.reject(errors.waitOverloaded(node, creation, this.spec.node.maxPending));
    return new Promise<T>((resolve, reject) => {
      const deadline = performance.now() + timeout;
      const settle = () => {
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        proceed: (next) => {
          settle();
          resolve(proceed(next, Math.max(1, Math.ceil(deadline - performance.now()))));
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(errors.waitAborted(node, creation, signal!.reason));
      const timer = setTimeout(() => waiter.fail(errors.waitTimedOut(kind, node, creation, timeout)), timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  #failWaiters(error: CNodeError): void {
    for (const waiter of [...this.#waiters]) waiter.fail(error);
  }
}

/**
 * A supervised child, as its user holds it: stable across restarts. call() and send() reach the
 * current incarnation; made during a restart, they wait for the next one (up to their timeout),
 * or fail at once with `failFast`.
 */
export class ChildHandle extends EventEmitter<ChildEvents> {
  readonly #child: Child;

  /** @internal made by the supervisor */
  constructor(child: Child) {
    super();
    this.#child = child;
  }

  /** The child's id, as its spec gave it. */
  get id(): string {
    return this.#child.spec.id;
  }

  /** 'running', 'restarting', 'ended' (its restart policy keeps it down) or 'stopped' (its supervisor stopped). */
  get state(): ChildState {
    return this.#child.state;
  }

  /** The creation of the current incarnation (the last one, while it restarts): one more at each start. */
  get creation(): number {
    return this.#child.creation;
  }

  /** The pid of the current incarnation (the last one, while it restarts). */
  get pid(): number {
    return this.#child.incarnation?.node.pid ?? 0;
  }

  /** The node name of the current incarnation, `alive@host`: the same for every incarnation. */
  get name(): string {
    return this.#child.nodeName;
  }

  /**
   * Calls the current incarnation. During a restart, waits for the next one up to `timeout` (its
   * default: the child's callTimeout), which then gets what is left of it; rejects at once with
   * ERR_CNODE_EXITED instead with `failFast: true`. A call in flight when its incarnation dies
   * rejects with ERR_CNODE_EXITED: it is not made again, since it may not be idempotent.
   */
  call(message: unknown, options?: ChildCallOptions): Promise<unknown> {
    return this.#child.call(message, options);
  }

  /** Sends to the current incarnation; during a restart, waits as call() does. */
  send(message: unknown, options?: ChildSendOptions): Promise<void> {
    return this.#child.send(message, options);
  }

  toString(): string {
    return `ChildHandle(${this.id}, ${this.name} creation ${this.creation}, ${this.state})`;
  }
}
