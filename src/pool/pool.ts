import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { burstNow } from '../clock.js';
import { CNode } from '../cnode.js';
import { CNodeError, type CNodeErrorCode, callerStack, describeExit, type ExitInfo } from '../errors.js';
import { debug } from '../observe/debug.js';
import { checkOptionNames, checkSignal, checkTimeout, checkTransfer } from '../options.js';
import { Deadlines, type Timed } from '../session/deadlines.js';
import { settlesWithin } from '../wait.js';
import { type NormalizedPoolOptions, normalizePoolOptions, type PoolOptions } from './options.js';
import { type Queued, TaskQueue } from './queue.js';
import { StartBackoff } from './start-backoff.js';
import { PoolCounters, type PoolStats } from './stats.js';
import { leastBusy, newWorker, type PoolWorker } from './worker.js';

export interface PoolCallOptions {
  /** Milliseconds from pool.call() to the answer, waiting in the queue included. Default: callTimeout. */
  timeout?: number;
  /** Aborts the call, queued or running: it rejects with ERR_CNODE_ABORTED at once. */
  signal?: AbortSignal;
  /** As for node.call(); the buffers are detached when the call is dispatched, and such a call is never retried. */
  transfer?: readonly ArrayBuffer[];
}

export interface PoolSendOptions {
  /** Milliseconds from pool.send() until a worker's connection takes the message. Default: callTimeout. */
  timeout?: number;
  transfer?: readonly ArrayBuffer[];
}

export interface PoolStopOptions {
  /** Milliseconds to let queued and running calls finish; those left then fail with ERR_CNODE_STOPPED. Default: stopTimeout. */
  timeout?: number;
}

export interface PoolEvents {
  /** An unsolicited message from one of the workers, and the worker (its name, creation, pid). */
  message: [message: unknown, worker: CNode];
  /** A worker ended, for any reason; the pool replaces it when it must. */
  exit: [info: ExitInfo, worker: CNode];
  /** needsDrain was true and is false again: the queue has room for a round of calls. */
  drain: [];
}

/** A call or send, from pool.call() to its end; made by one literal, in newTask(). */
interface Task extends Timed, Queued {
  readonly kind: 'call' | 'send';
  readonly message: unknown;
  readonly signal: AbortSignal | undefined;
  readonly transfer: readonly ArrayBuffer[] | undefined;
  /** Milliseconds it may still wait, from when it was (last) queued: what Deadlines waits. */
  timeout: number;
  /** When it was made, when it times out, and when it was last dispatched, on performance.now()'s clock. */
  readonly madeAt: number;
  readonly deadline: number;
  dispatchedAt: number;
  /** Whether the caller gave its own timeout: a task without one, dispatched at once, passes none on. */
  readonly ownTimeout: boolean;
  /** How many workers died while it ran, and how many times it was dispatched again. */
  deaths: number;
  retried: number;
  onAbort: (() => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: CNodeError) => void;
}

function newTask(
  now: number,
  kind: Task['kind'],
  message: unknown,
  timeout: number,
  ownTimeout: boolean,
  signal: AbortSignal | undefined,
  transfer: readonly ArrayBuffer[] | undefined,
): Task {
  return {
    kind,
    message,
    signal,
    transfer,
    timeout,
    at: now + timeout,
    waiting: false,
    queued: false,
    madeAt: now,
    deadline: now + timeout,
    dispatchedAt: 0,
    ownTimeout,
    deaths: 0,
    retried: 0,
    onAbort: undefined,
    resolve: noop,
    reject: noop,
  };
}

function noop(): void {}

/** The codes a call gets when its worker died under it (rather than by its own doing or the caller's). */
const DEATHS: readonly CNodeErrorCode[] = [
  'ERR_CNODE_EXITED',
  'ERR_CNODE_UNRESPONSIVE',
  'ERR_CNODE_PROTOCOL',
  'ERR_CNODE_DISCONNECTED',
];

/** The least time between a failed start and the next start in any slot: failed starts must not spin. */
const START_PAUSE_MS = 100;

/** pool.call()'s rejections, given its caller's stack, not the node's caller's, the pool (see callerStack). */
const withCallerStack = callerStack();

/** How often the pool looks for idle workers to stop and for workers over maxWorkerRss (at most). */
const HOUSEKEEPING_MS = 1000;

/**
 * A pool of native workers that queues calls and dispatches each to the least busy worker. A
 * worker that dies fails only the calls it was running and is replaced; calls waiting in the
 * queue wait on. Built on CNode's public API.
 */
export class CNodePool extends EventEmitter<PoolEvents> {
  #options: NormalizedPoolOptions;
  #state: 'running' | 'stopping' | 'stopped' = 'running';
  #stopping: Promise<void> | undefined;
  #workers: PoolWorker[] = [];
  /** Slots taken by a worker running or starting. */
  #slots = new Set<number>();
  /** The starts under way. */
  #starts = new Set<Promise<void>>();
  /** Set while stop() waits for the queue to empty and the workers to go idle. */
  #onIdle: (() => void) | undefined;
  #queue = new TaskQueue<Task>();
  #waiting = new Deadlines<Task>((task) => {
    this.#queue.giveUp(task);
    this.#fail(
      task,
      this.#error(
        task.kind === 'call' ? 'ERR_CNODE_CALL_TIMEOUT' : 'ERR_CNODE_SEND_TIMEOUT',
        `had a ${task.kind} wait in its queue for its whole timeout (${Math.round(task.deadline - task.madeAt)} ms); it was never sent`,
      ),
    );
    this.#drainCheck();
    this.#idleCheck();
  });
  #counters = new PoolCounters();
  /** The last start's error while no start succeeded since, each slot's backoff, and the timer of the next try. */
  #startError: CNodeError | undefined;
  #backoff = new StartBackoff();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAt = 0;
  /** No start begins before this (performance.now()): a failed start pauses them all a little. */
  #pausedUntil = 0;
  #housekeeping: NodeJS.Timeout | undefined;
  #needsDrain = false;

  /** Starts the pool's first workers (size.min, or one) and resolves once they are ready; no process is left on failure. */
  static async start(options: PoolOptions): Promise<CNodePool> {
    const pool = new CNodePool(normalizePoolOptions(options));
    const first = Math.max(pool.#options.min, 1);
    const started = await Promise.allSettled(Array.from({ length: first }, (_, slot) => pool.#startWorker(slot)));
    // What failed is the caller's to hear; the pool retries nothing it is about to stop.
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      await pool.stop();
      throw failed.reason;
    }
    return pool;
  }

  private constructor(options: NormalizedPoolOptions) {
    super();
    this.#options = options;
    if (options.min < options.max || options.maxWorkerRss < Number.POSITIVE_INFINITY) {
      const every = Math.min(HOUSEKEEPING_MS, options.idleTimeout);
      this.#housekeeping = setInterval(() => this.#keepHouse(), every).unref();
    }
  }

  /**
   * Queues `message` for the least busy worker and resolves with its answer. Rejects as
   * node.call() does, and with ERR_CNODE_OVERLOADED (maxQueue calls already wait), ERR_CNODE_POISON
   * (two workers died running it), ERR_CNODE_STOPPED (stop() was called), or the start error
   * when no worker can be started.
   */
  call(message: unknown, options?: PoolCallOptions): Promise<unknown> {
    return this.#submit('call', message, options).then(undefined, withCallerStack);
  }

  /** Queues `message` for the least busy worker, without an answer; resolves once the worker's connection took it. */
  send(message: unknown, options?: PoolSendOptions): Promise<void> {
    return this.#submit('send', message, options) as Promise<void>;
  }

  /**
   * Sends `message` to every worker running now, past the queue (configuration, say); resolves
   * once each has taken it. Workers started later do not get it: what every worker must have
   * belongs in `args` or `env`.
   */
  async broadcast(message: unknown): Promise<void> {
    if (this.#state !== 'running') throw this.#error('ERR_CNODE_STOPPED', 'was stopped');
    // Not to a worker that is being replaced or is dying: it would refuse, and takes no more calls.
    const workers = this.#workers.filter((worker) => !worker.retiring);
    await Promise.all(workers.map((worker) => worker.node.send(message)));
  }

  /** True while a round of calls (size.max × concurrency) or more waits in the queue: wait for 'drain' before queueing more. */
  get needsDrain(): boolean {
    return this.#needsDrain;
  }

  /** Calls and sends waiting in the queue. */
  get queued(): number {
    return this.#queue.size;
  }

  stats(): PoolStats {
    const now = performance.now();
    let busyMs = this.#counters.busyMs;
    let busy = 0;
    const bytes = { ...this.#counters.bytes };
    for (const worker of this.#workers) {
      const { sent, received } = worker.node.stats().bytes;
      bytes.sent += sent;
      bytes.received += received;
      if (worker.running === 0) continue;
      busy++;
      busyMs += now - worker.since;
    }
    const elapsed = now - this.#counters.startedAt;
    return {
      workers: this.#workers.length,
      busy,
      queued: this.#queue.size,
      completed: this.#counters.completed,
      failed: this.#counters.failed,
      restarts: this.#counters.restarts,
      runTime: this.#counters.runTime.summary(),
      waitTime: this.#counters.waitTime.summary(),
      utilization: elapsed > 0 ? Math.min(1, busyMs / (elapsed * this.#options.max)) : 0,
      errors: this.#counters.errorCounts(),
      bytes,
    };
  }

  /**
   * Stops taking calls, lets what is queued and running finish (up to `timeout` ms; what is left
   * then fails with ERR_CNODE_STOPPED), then stops every worker. Calling it again returns the same promise.
   */
  stop(options: PoolStopOptions = {}): Promise<void> {
    if (!this.#stopping) {
      try {
        checkOptionNames(options, ['timeout']);
        const { timeout = this.#options.node.stopTimeout } = options;
        checkTimeout('timeout', timeout);
        this.#stopping = this.#stop(timeout);
      } catch (error) {
        return Promise.reject(this.#rename(error, 'stop'));
      }
    }
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stop(timeout: number): Promise<void> {
    this.#state = 'stopping';
    const idle = new Promise<void>((resolve) => {
      this.#onIdle = resolve;
      this.#idleCheck();
    });
    await settlesWithin(idle, timeout);
    this.#onIdle = undefined;
    this.#state = 'stopped';
    for (const task of this.#queue.takeAll()) this.#fail(task, this.#error('ERR_CNODE_STOPPED', 'was stopped'));
    this.#waiting.clear();
    clearTimeout(this.#retryTimer);
    clearInterval(this.#housekeeping);
    // A worker still starting stops as it comes up (#startWorker).
    await Promise.allSettled([...this.#starts]);
    await Promise.all(this.#workers.map((worker) => worker.node.stop()));
  }

  #idleCheck(): void {
    if (this.#onIdle && this.#queue.size === 0 && this.#workers.every((worker) => worker.running === 0)) this.#onIdle();
  }

  #submit(kind: Task['kind'], message: unknown, options: PoolCallOptions | undefined): Promise<unknown> {
    let task: Task;
    let now: number;
    try {
      let timeout = this.#options.node.callTimeout;
      let signal: AbortSignal | undefined;
      let transfer: readonly ArrayBuffer[] | undefined;
      if (options !== undefined) ({ timeout, signal, transfer } = this.#checkCallOptions(kind, options));
      if (this.#state !== 'running') throw this.#error('ERR_CNODE_STOPPED', 'was stopped');
      if (signal?.aborted) throw this.#aborted(signal.reason);
      if (this.#workers.length === 0 && this.#startError) throw this.#noWorker();
      now = burstNow(); // the call's start and, dispatched at once, its dispatch
      task = newTask(now, kind, message, timeout, options?.timeout !== undefined, signal, transfer);
    } catch (error) {
      this.#counters.fail((error as CNodeError).code); // a refusal is a failure its caller saw
      return Promise.reject(error);
    }
    // The common case: nothing waits, and a worker has room; the call's promise is then the
    // node's, followed by the pool's bookkeeping, with no promise of the pool's own.
    const worker = this.#queue.size === 0 ? leastBusy(this.#workers, this.#options.concurrency, false) : undefined;
    if (worker) return this.#run(task, worker, now);
    if (this.#queue.size >= this.#options.maxQueue) {
      this.#counters.fail('ERR_CNODE_OVERLOADED');
      return Promise.reject(
        this.#error('ERR_CNODE_OVERLOADED', `already has ${this.#options.maxQueue} calls queued (the maxQueue option)`),
      );
    }
    return this.#waitInQueue(task, false);
  }

  /** Queues `task` and returns its promise, which its dispatch or its giving up settles. */
  #waitInQueue(task: Task, front: boolean): Promise<unknown> {
    const promise = new Promise<unknown>((resolve, reject) => {
      task.resolve = resolve;
      task.reject = reject;
    });
    this.#enqueue(task, front);
    return promise;
  }

  #checkCallOptions(kind: Task['kind'], options: PoolCallOptions) {
    try {
      checkOptionNames(options, kind === 'call' ? ['timeout', 'signal', 'transfer'] : ['timeout', 'transfer']);
      const { timeout = this.#options.node.callTimeout, signal, transfer } = options;
      checkTimeout('timeout', timeout);
      checkTransfer(transfer);
      checkSignal(signal);
      return { timeout, signal, transfer };
    } catch (error) {
      throw this.#rename(error, kind);
    }
  }

  #enqueue(task: Task, front: boolean): void {
    this.#queue.add(task, front);
    this.#waiting.add(task);
    if (task.signal && !task.onAbort) {
      const signal = task.signal;
      task.onAbort = () => {
        if (!task.queued) return; // running: the node's call() has its own listener
        this.#queue.giveUp(task);
        this.#waiting.cancel(task);
        this.#fail(task, this.#aborted(signal.reason));
        this.#drainCheck();
        this.#idleCheck();
      };
      signal.addEventListener('abort', task.onAbort, { once: true });
    }
    if (!this.#needsDrain && this.#queue.size >= this.#options.max * this.#options.concurrency) this.#needsDrain = true;
    this.#grow();
  }

  /** Dispatches what waits in the queue, oldest first, while workers have room. */
  #dispatch(): void {
    for (let task = this.#queue.peek(); task; task = this.#queue.peek()) {
      // A call that was at a worker's death runs alone (see #finished).
      const worker = leastBusy(this.#workers, this.#options.concurrency, task.deaths > 0);
      if (!worker) break;
      this.#queue.take();
      this.#waiting.cancel(task);
      this.#forgetSignal(task); // the node's call() listens to it now
      this.#run(task, worker, burstNow(), false).then(task.resolve, task.reject);
    }
    this.#drainCheck();
    if (this.#queue.size > 0) this.#grow();
  }

  /** Hands `task` to `worker` at `now`; `direct` when it never waited in the queue. Settles as the task does. */
  #run(task: Task, worker: PoolWorker, now: number, direct = true): Promise<unknown> {
    const left = Math.max(1, Math.ceil(task.deadline - now));
    task.dispatchedAt = now;
    this.#counters.waitTime.add(now - task.madeAt);
    if (worker.running++ === 0) {
      worker.since = now;
      if (task.deaths > 0) worker.isolated = true;
    }
    if (++worker.dispatched >= this.#options.maxCallsPerWorker) {
      worker.retiring = worker.planned = true; // recycled: it stops once idle, and another starts now
      this.#grow();
    }
    const { node } = worker;
    // Dispatched at once with the node's own timeout and nothing else: no options to check.
    const plain = direct && !task.ownTimeout && !task.signal && !task.transfer;
    let answer: Promise<unknown>;
    if (task.kind === 'call') {
      answer = plain
        ? node.call(task.message)
        : node.call(task.message, { timeout: left, signal: task.signal, transfer: task.transfer });
    } else {
      answer = plain ? node.send(task.message) : node.send(task.message, { timeout: left, transfer: task.transfer });
    }
    return answer.then(
      (value) => this.#finished(task, worker, undefined, value),
      (error: CNodeError) => this.#finished(task, worker, error, undefined),
    );
  }

  /** What the task's promise settles with once its worker answered: the value, a retry's promise, or a throw. */
  #finished(task: Task, worker: PoolWorker, error: CNodeError | undefined, value: unknown): unknown {
    const now = burstNow();
    if (--worker.running === 0) {
      this.#counters.busyMs += now - worker.since;
      worker.since = now;
      worker.isolated = false;
      if (worker.retiring) this.#end(worker.node.stop());
    }
    let outcome: CNodeError | Promise<unknown> | undefined;
    if (!error) {
      this.#counters.completed++;
      if (task.kind === 'call') this.#counters.runTime.add(now - task.dispatchedAt);
    } else if (DEATHS.includes(error.code)) {
      worker.retiring = true; // dead, or being killed for a fault: it takes nothing more
      outcome = this.#afterDeath(task, worker, error);
    } else {
      if (
        this.#options.killOnAbort &&
        (error.code === 'ERR_CNODE_CALL_TIMEOUT' || error.code === 'ERR_CNODE_ABORTED') &&
        !worker.killedFor
      ) {
        // The handler may run for ever: the one way to stop it is to end its process.
        worker.killedFor = task;
        worker.retiring = true;
        this.#end(worker.node.kill());
      }
      outcome = error;
    }
    this.#dispatch();
    this.#idleCheck();
    if (!error) return value;
    if (outcome instanceof Promise) return outcome;
    this.#counters.fail((outcome ?? error).code);
    this.#forgetSignal(task);
    throw outcome;
  }

  /**
   * A call whose worker died while it ran: ERR_CNODE_POISON if this is the second death it was
   * at, else dispatched again (its promise) if `retries` allow, else the error; a send is never sent twice.
   */
  #afterDeath(task: Task, worker: PoolWorker, error: CNodeError): CNodeError | Promise<unknown> {
    // stop() ended the worker when its timeout ran out: the pool's doing, not the call's.
    if (this.#state === 'stopped') return error;
    // A worker killed by killOnAbort for another call: that call killed it, not this one.
    const innocent = worker.killedFor !== undefined && worker.killedFor !== task;
    if (!innocent) task.deaths++;
    if (task.kind === 'call' && task.deaths >= 2) {
      return this.#error(
        'ERR_CNODE_POISON',
        `did not try a call on a third worker: the two workers that ran it died (the last ${error.message.replace(/^cnode /, '')})`,
        { cause: error },
      );
    }
    // Its buffers went with the first try; and a call whose time is up has nowhere to go.
    const left = task.deadline - performance.now();
    const again = task.retried < this.#options.retries && !task.transfer && left >= 1;
    if (task.kind !== 'call' || !again) return error;
    task.retried++;
    task.timeout = left;
    return this.#waitInQueue(task, true);
  }

  /** A worker's stop() or kill() that the pool does not wait for: it rejects only if even SIGKILL failed, which its exit reports too. */
  #end(ending: Promise<unknown>): void {
    ending.catch(noop);
  }

  #fail(task: Task, error: CNodeError): void {
    this.#counters.fail(error.code);
    this.#forgetSignal(task);
    task.reject(error);
  }

  #forgetSignal(task: Task): void {
    if (task.onAbort) task.signal!.removeEventListener('abort', task.onAbort);
    task.onAbort = undefined;
  }

  #drainCheck(): void {
    if (this.#needsDrain && this.#queue.size < this.#options.max * this.#options.concurrency) {
      this.#needsDrain = false;
      process.nextTick(() => this.emit('drain'));
    }
  }

  /** Workers that take calls (running and not retiring). */
  get #active(): number {
    let active = 0;
    for (const worker of this.#workers) if (!worker.retiring) active++;
    return active;
  }

  /**
   * Starts workers while fewer than size.min run or start, and more, up to size.max, for what
   * waits beyond what the starting ones will take; in slots that are not backing off.
   */
  #grow(): void {
    if (this.#state === 'stopped') return;
    const paused = this.#pausedUntil - performance.now();
    if (paused > 0) {
      this.#growIn(paused);
      return;
    }
    const { min, max, concurrency } = this.#options;
    const active = this.#active;
    const starting = this.#starts.size;
    let wanted = Math.min(max, Math.max(min, active + Math.max(starting, Math.ceil(this.#queue.size / concurrency))));
    // With no worker and a start that failed, one more try must come, or calls fail for ever.
    if (this.#startError && this.#workers.length === 0) wanted = Math.max(wanted, 1);
    for (let n = active + starting; n < wanted; n++) {
      const slot = this.#freeSlot();
      if (slot === undefined) break;
      void this.#startWorker(slot).catch(noop);
    }
  }

  /**
   * The lowest slot that holds no worker and is not backing off, or undefined (a timer then
   * grows the pool when the first is ready). Slots run from 0 to size.max, plus one for each
   * retiring worker, which keeps its slot until it exits: enough for every worker wanted.
   */
  #freeSlot(): number | undefined {
    const now = performance.now();
    let retiring = 0;
    for (const worker of this.#workers) if (worker.retiring) retiring++;
    let soonest = Number.POSITIVE_INFINITY;
    for (let slot = 0; slot < this.#options.max + retiring; slot++) {
      if (this.#slots.has(slot)) continue;
      const readyIn = this.#backoff.readyIn(slot, now);
      if (readyIn === 0) return slot;
      soonest = Math.min(soonest, readyIn);
    }
    if (soonest < Number.POSITIVE_INFINITY) this.#growIn(soonest);
    return undefined;
  }

  /** Grows the pool again in `ms` (or sooner, if already due sooner). */
  #growIn(ms: number): void {
    const at = performance.now() + ms;
    if (this.#retryTimer && this.#retryAt <= at) return;
    clearTimeout(this.#retryTimer);
    this.#retryAt = at;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#grow();
    }, ms).unref();
  }

  /** Starts a worker in `slot`; its failure is also the pool's (#startFailed). */
  #startWorker(slot: number): Promise<void> {
    this.#slots.add(slot);
    const start = this.#startIn(slot);
    this.#starts.add(start);
    void start.then(
      () => this.#starts.delete(start),
      () => this.#starts.delete(start),
    );
    return start;
  }

  async #startIn(slot: number): Promise<void> {
    let node: CNode;
    try {
      node = await CNode.start(this.#options.workerOptionsFor(slot));
    } catch (error) {
      this.#slots.delete(slot);
      this.#startFailed(slot, error as CNodeError);
      throw error;
    }
    this.#backoff.succeeded(slot);
    this.#startError = undefined;
    const worker = newWorker(node, slot);
    debug('pool %s: worker %s started in slot %d', this.#options.prefix, node.name, slot);
    node.on('message', (message) => this.emit('message', message, node));
    node.on('exit', (info) => this.#exited(worker, info));
    this.#workers.push(worker);
    if (this.#state === 'stopped') this.#end(node.stop());
    else {
      this.#dispatch();
      this.#idleCheck();
    }
  }

  // While no worker runs, a failed start fails what waits, and calls fail at once, until a
  // start succeeds: waiting for a worker that cannot start would hang every caller.
  #startFailed(slot: number, error: CNodeError): void {
    this.#startError = error;
    // This start is still among #starts: no other is under way.
    if (this.#workers.length === 0 && this.#starts.size <= 1) {
      for (const task of this.#queue.takeAll()) {
        this.#waiting.cancel(task);
        this.#fail(task, this.#noWorker());
      }
      this.#drainCheck();
      this.#idleCheck();
    }
    const now = performance.now();
    this.#backoff.failed(slot, now);
    this.#pausedUntil = now + START_PAUSE_MS;
    if (this.#state !== 'stopped') this.#growIn(START_PAUSE_MS);
  }

  #exited(worker: PoolWorker, info: ExitInfo): void {
    this.#workers.splice(this.#workers.indexOf(worker), 1);
    this.#slots.delete(worker.slot);
    const { sent, received } = worker.node.stats().bytes; // its count ends with it
    this.#counters.bytes.sent += sent;
    this.#counters.bytes.received += received;
    // Retired by the pool and stopped as asked: no restart; a retired worker that crashed is one.
    const replaced = !(worker.planned && info.stopped) && this.#state !== 'stopped';
    if (replaced) this.#counters.restarts++;
    debug(
      'pool %s: worker %s %s%s',
      this.#options.prefix,
      info.node,
      describeExit(info),
      replaced ? '; it is replaced' : worker.planned ? ' (retired)' : '',
    );
    this.emit('exit', info, worker.node);
    this.#grow();
  }

  /** Stops workers idle past idleTimeout while more than size.min run; retires workers over maxWorkerRss. */
  #keepHouse(): void {
    const now = performance.now();
    const { min, idleTimeout, maxWorkerRss } = this.#options;
    let active = this.#active + this.#starts.size;
    for (const worker of this.#workers) {
      if (worker.retiring) continue;
      if (worker.running === 0 && active > min && now - worker.since >= idleTimeout) {
        this.#retire(worker);
        active--;
      } else if (maxWorkerRss < Number.POSITIVE_INFINITY && residentBytes(worker.node.pid) > maxWorkerRss) {
        this.#retire(worker);
      }
    }
    this.#grow();
  }

  /** Gives `worker` nothing more; it stops once what it runs has settled. */
  #retire(worker: PoolWorker): void {
    worker.retiring = worker.planned = true;
    if (worker.running === 0) this.#end(worker.node.stop());
  }

  #noWorker(): CNodeError {
    const cause = this.#startError!;
    return this.#error(cause.code, `has no worker: the last start failed: ${cause.message}`, { cause });
  }

  #aborted(reason: unknown): CNodeError {
    return this.#error('ERR_CNODE_ABORTED', 'had a call aborted', { cause: reason });
  }

  /** An option error of one of the pool's methods, named as node methods name theirs. */
  #rename(error: unknown, method: string): unknown {
    if (error instanceof CNodeError && error.code === 'ERR_CNODE_INVALID_OPTION')
      return this.#error(error.code, `${method}(): ${error.message}`);
    return error;
  }

  #error(code: CNodeErrorCode, text: string, fields: { cause?: unknown } = {}): CNodeError {
    return new CNodeError(code, `cnode pool ${this.#options.prefix} ${text}`, fields);
  }

  toString(): string {
    return `CNodePool(${this.#options.prefix}, ${this.#workers.length} workers, ${this.#queue.size} queued)`;
  }
}

/** A process's resident memory, in bytes, from /proc (0 when it cannot be read: it is ending). */
function residentBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
