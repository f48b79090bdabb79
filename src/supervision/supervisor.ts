import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { CNode } from '../cnode.js';
import { type CNodeError, describeExit, type ExitInfo, isAbnormal } from '../errors.js';
import { debug } from '../observe/debug.js';
import { Child, type ChildHandle, Incarnation, type PendingRestart } from './child.js';
import * as errors from './errors.js';
import { checkHealth } from './health-check.js';
import { Intensity } from './intensity.js';
import {
  type NormalizedSupervisorOptions,
  normalizeSupervisorOptions,
  type RestartPolicy,
  type SupervisorOptions,
} from './options.js';

export interface RestartEvent {
  /** The child that is restarted. */
  id: string;
  /**
   * How its incarnation ended, creation included. A health-check kill shows `stopped: false`
   * and the `fault` the check found, so that isAbnormal(info) is true, as for the heartbeat's kill.
   */
  info: ExitInfo;
  /** Milliseconds the restart waits before it starts the child again. */
  delay: number;
  /** The child whose exit (or failed start) caused the restart: `id` itself, or a sibling's under one_for_all or rest_for_one. */
  trigger: string;
}

export interface StartErrorEvent {
  /** The child that failed to start again. */
  id: string;
  /** Why: CNode.start()'s error. */
  error: CNodeError;
  /** Milliseconds before the next try. */
  delay: number;
}

export interface SupervisorEvents {
  /** A child's incarnation ended and the child will be started again after `delay` ms. */
  restart: [event: RestartEvent];
  /** A restart's start failed; it counts as a restart, and is tried again after `delay` ms. */
  startError: [event: StartErrorEvent];
  /** ERR_CNODE_TOO_MANY_RESTARTS, once every child is stopped; unhandled, it brings the owner down. */
  error: [error: CNodeError];
}

const now = () => performance.now();

function restarts(policy: RestartPolicy, info: ExitInfo): boolean {
  return policy === 'permanent' || (policy === 'transient' && isAbnormal(info));
}

/** Calls a user's listener; what it throws becomes an uncaught exception, not a broken restart. */
function callListener(emit: () => void): void {
  try {
    emit();
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}

/**
 * A supervisor, as OTP's: starts its children in order, restarts them as its strategy says when
 * they exit, each after a backoff delay, gives up (stopping them all) when they restart more than
 * maxRestarts times within period, and stops them in reverse order.
 *
 * It does one thing at a time, as an OTP supervisor does: a start (bounded by the child's
 * readyTimeout) or the stops of a restart (bounded by stopTimeout) go through one queue, so that
 * no two of them ever race over the same child. Backoff delays are timers outside the queue.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly #options: NormalizedSupervisorOptions;
  readonly #children: readonly Child[];
  readonly #byId: ReadonlyMap<string, Child>;
  readonly #intensity: Intensity;
  /** Until stop(), or giving up. */
  #running = true;
  /** Whether start() has resolved: before, a give-up rejects it instead of emitting 'error'. */
  #started = false;
  /** Why it gave up, when it did. */
  #failure: CNodeError | undefined;
  /** What calls to its stopped children are refused with: its give-up's error, or (undefined) ERR_CNODE_STOPPED. */
  #haltedBy: CNodeError | undefined;
  #queue: Promise<void> = Promise.resolve();
  /** The restarts waiting out their delays. */
  #delayed = new Set<PendingRestart>();
  #stopping: Promise<void> | undefined;

  /**
   * Starts the children in order; resolves once all run. When one fails to start, those started
   * are stopped in reverse order and it rejects with that child's error. No process is started
   * when an option is refused (ERR_CNODE_INVALID_OPTION).
   */
  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const supervisor = new Supervisor(normalizeSupervisorOptions(options));
    await supervisor.#enqueue(() => supervisor.#startAll());
    supervisor.#started = true;
    return supervisor;
  }

  private constructor(options: NormalizedSupervisorOptions) {
    super();
    this.#options = options;
    this.#children = options.children.map((spec) => new Child(spec, options.backoff));
    this.#byId = new Map(this.#children.map((child) => [child.spec.id, child]));
    this.#intensity = new Intensity(options.maxRestarts, options.period);
  }

  /** The stable handle of the child `id`; throws ERR_CNODE_INVALID_OPTION for an id no child has. */
  child(id: string): ChildHandle {
    const child = this.#byId.get(id);
    if (!child) throw errors.unknownChild(id, [...this.#byId.keys()]);
    return child.handle;
  }

  /** Every child's handle, in start order. */
  get children(): ChildHandle[] {
    return this.#children.map((child) => child.handle);
  }

  /**
   * Stops the children in reverse order, each with its stopTimeout; cancels the restarts that
   * wait; calls and sends waiting for a restart reject with ERR_CNODE_STOPPED. Calling it again
   * returns the same promise; after a give-up, it resolves once every child is stopped.
   */
  stop(): Promise<void> {
    if (!this.#stopping) {
      this.#halt(undefined);
      this.#stopping = this.#enqueue(() => this.#stopAll());
    }
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Runs `op` after everything queued before it; the queue goes on whatever `op` does. */
  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(op);
    this.#queue = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  async #startAll(): Promise<void> {
    for (const child of this.#children) {
      // A sibling that crashed during the start may have taken it into its restart already.
      if (child.pending) continue;
      let node: CNode;
      try {
        if (!this.#running) throw this.#failure;
        node = await CNode.start(child.spec.start);
      } catch (error) {
        this.#halt(undefined);
        await this.#stopAll();
        throw error;
      }
      if (child.pending) await node.stop().catch(() => {});
      else this.#install(child, node);
    }
    // A child that crashed during the start may have made the supervisor give up.
    if (!this.#running) {
      await this.#stopAll();
      throw this.#failure;
    }
  }

  /** A fresh node becomes the child's incarnation: its messages, its exit and its health are watched. */
  #install(child: Child, node: CNode): void {
    const incarnation = new Incarnation(node);
    node.on('message', (message) => child.handle.emit('message', message, node.creation));
    node.on('exit', (info) => this.#onExit(child, incarnation, info));
    const check = child.spec.healthCheck;
    if (check) {
      incarnation.endHealthCheck = checkHealth(node, check, (error) => {
        if (!this.#running || incarnation.planned || incarnation.exited) return;
        incarnation.healthFault = errors.healthFault(node, error, check.timeout);
        node.kill().catch(() => {}); // bounded by stopTimeout; its exit comes to #onExit
      });
    }
    child.running(incarnation);
  }

  #onExit(child: Child, incarnation: Incarnation, exit: ExitInfo): void {
    incarnation.endHealthCheck();
    // The supervisor's kill for a failed health check is a fault, not a stop, as the library's
    // own heartbeat kill is: a transient child is restarted after it, and the event says why.
    const info = incarnation.healthFault ? { ...exit, stopped: false, fault: incarnation.healthFault } : exit;
    incarnation.info = info;
    let delay: number | undefined;
    if (this.#running && !incarnation.planned && child.incarnation === incarnation && child.state === 'running') {
      if (restarts(child.spec.restart, info)) delay = this.#restart(child, { info }, now() - incarnation.startedAt);
      else child.ended();
    }
    callListener(() => child.handle.emit('exit', info));
    if (delay !== undefined) {
      incarnation.reported = true;
      debug('supervisor: child %s %s; restarting it in %d ms', child.spec.id, describeExit(info), delay);
      callListener(() => this.emit('restart', { id: child.spec.id, info, delay, trigger: child.spec.id }));
    }
  }

  /**
   * Decides a restart after `trigger` failed (its exit, or a failed start): counts it against the
   * intensity (giving up when it is one too many), takes its backoff delay, and takes over the
   * children its strategy restarts with it, whose calls now wait. The stops and the delay follow
   * in the queue. Returns the delay, or undefined when the supervisor gave up.
   */
  #restart(trigger: Child, failure: errors.Failure, uptime: number | undefined): number | undefined {
    if (this.#intensity.record(trigger.spec.id, now())) {
      this.#giveUp(trigger, failure);
      return undefined;
    }
    // Run stably: as long as the period, after which the intensity has forgotten its restarts too.
    if (uptime !== undefined && uptime >= this.#options.period) trigger.backoff.reset();
    const delay = trigger.backoff.next();
    const group = this.#group(trigger);
    const restart: PendingRestart = { trigger, group, children: new Set(), delay, timer: undefined };
    for (const child of group) {
      const live = child.incarnation && !child.incarnation.exited ? child.incarnation : undefined;
      if (live) live.planned = true;
      // A temporary sibling is stopped with the others, and never started again (as in OTP).
      if (child !== trigger && child.spec.restart === 'temporary') continue;
      const previous = child.pending;
      if (previous && previous !== restart) this.#takeOver(previous, child);
      child.pending = restart;
      restart.children.add(child);
      child.restarting();
    }
    void this.#enqueue(() => this.#stopThenWait(restart));
    return delay;
  }

  /** The children a restart after `trigger`'s failure takes, in start order. */
  #group(trigger: Child): Child[] {
    const children = this.#children.filter((child) => child.state !== 'ended' || child.spec.restart !== 'temporary');
    switch (this.#options.strategy) {
      case 'one_for_one':
        return [trigger];
      case 'one_for_all':
        return children;
      case 'rest_for_one':
        return children.slice(children.indexOf(trigger));
    }
  }

  /** A later restart takes `child` from an earlier one; an earlier one left with no child is cancelled. */
  #takeOver(previous: PendingRestart, child: Child): void {
    previous.children.delete(child);
    if (previous.children.size > 0 || !this.#delayed.has(previous)) return;
    clearTimeout(previous.timer);
    this.#delayed.delete(previous);
    this.#intensity.resume(previous.trigger.spec.id, now());
  }

  /**
   * In the queue: stops the group's running children in reverse order (each reported by a
   * 'restart' event, or retired if temporary), then waits out the delay, with the trigger's
   * intensity clock stopped.
   */
  async #stopThenWait(restart: PendingRestart): Promise<void> {
    for (const child of [...restart.group].reverse()) {
      const incarnation = child.incarnation;
      if (!this.#running) return;
      if (!incarnation?.planned || incarnation.reported) continue;
      const retiring = child !== restart.trigger && child.spec.restart === 'temporary';
      if (!retiring && child.pending !== restart) continue; // a later restart has it: that one stops it
      incarnation.reported = true;
      const stopped = await incarnation.node.stop().catch(() => undefined);
      const info = incarnation.info ?? stopped;
      if (retiring) {
        if (child.state === 'running' && incarnation.info) child.ended();
      } else if (info && this.#running && child.pending === restart) {
        debug('supervisor: child %s stopped to restart with %s', child.spec.id, restart.trigger.spec.id);
        callListener(() =>
          this.emit('restart', { id: child.spec.id, info, delay: restart.delay, trigger: restart.trigger.spec.id }),
        );
      }
    }
    if (!this.#running || restart.children.size === 0) return;
    this.#intensity.pause(restart.trigger.spec.id, now());
    this.#delayed.add(restart);
    // Held: a restart that waits must keep the owner alive, or a lone child's crash would end it.
    restart.timer = setTimeout(() => {
      restart.timer = undefined;
      this.#delayed.delete(restart);
      this.#intensity.resume(restart.trigger.spec.id, now());
      void this.#enqueue(() => this.#startGroup(restart));
    }, restart.delay);
  }

  /** In the queue: starts the children the restart still owns, in order. A failed start is a failure of that child. */
  async #startGroup(restart: PendingRestart): Promise<void> {
    for (const child of restart.group) {
      if (!this.#running) return;
      if (child.pending !== restart) continue;
      child.pending = undefined;
      let node: CNode;
      try {
        node = await CNode.start(child.spec.start);
      } catch (error) {
        if (!this.#running || child.pending !== undefined) continue;
        const delay = this.#restart(child, { error: error as CNodeError }, undefined);
        if (delay !== undefined)
          callListener(() => this.emit('startError', { id: child.spec.id, error: error as CNodeError, delay }));
        continue;
      }
      // Stopped, or taken over by a sibling's restart, while it started: this one is not wanted.
      if (!this.#running || child.pending !== undefined) {
        await node.stop().catch(() => {});
        continue;
      }
      this.#install(child, node);
    }
  }

  /** Too many restarts: stops everything, then emits 'error' from a plain callback, as a link does. */
  #giveUp(trigger: Child, failure: errors.Failure): void {
    const error = errors.tooManyRestarts(trigger.spec.id, failure, this.#options.maxRestarts, this.#options.period);
    debug('supervisor: giving up: %s', error.message);
    this.#failure = error;
    trigger.restarting(); // its incarnation is gone: what comes for it now is refused with the error
    this.#halt(error);
    this.#stopping = this.#enqueue(() => this.#stopAll()).then(() => {
      // Not from the promise chain: unhandled, it is an uncaught exception. Before start()
      // resolves, start() rejects with it instead, as nobody can listen yet.
      if (this.#started) setImmediate(() => this.emit('error', error));
    });
  }

  /**
   * Ends supervision at once: no restart is decided or started from now on, the delays are
   * cancelled, and what waits for a restart fails with `error` (by default ERR_CNODE_STOPPED).
   * The children still running are stopped by #stopAll, in the queue.
   */
  #halt(error: CNodeError | undefined): void {
    if (!this.#running) return;
    this.#running = false;
    this.#haltedBy = error;
    for (const restart of this.#delayed) clearTimeout(restart.timer);
    this.#delayed.clear();
    for (const child of this.#children) {
      child.pending = undefined;
      child.incarnation?.endHealthCheck();
      if (child.state === 'restarting')
        child.stopped(error ?? errors.supervisorStopped(child.nodeName, child.creation));
    }
  }

  /** In the queue: stops every child still running, in reverse order, each with its own stopTimeout. */
  async #stopAll(): Promise<void> {
    for (const child of [...this.#children].reverse()) {
      const incarnation = child.incarnation;
      if (incarnation && !incarnation.exited) {
        incarnation.planned = true;
        await incarnation.node.stop().catch(() => {}); // rejects only if even SIGKILL did not end it
      }
      child.stopped(this.#haltedBy ?? errors.supervisorStopped(child.nodeName, child.creation));
    }
  }
}
