import os from 'node:os';
import {
  type CNodeOptions,
  check,
  checkOptionNames,
  checkTimeout,
  type NormalizedOptions,
  normalizeOptions,
  OPTION_NAMES,
} from '../options.js';

/** The options that may differ per slot, to spread a pool over hosts. */
type PerSlot = 'exec' | 'bind' | 'advertise';
const PER_SLOT = ['exec', 'bind', 'advertise'] as const satisfies readonly PerSlot[];

export interface PoolOptions extends Omit<CNodeOptions, PerSlot> {
  /**
   * As CNodeOptions' `exec`, or a function of the worker's slot (0, 1, ...) giving its command
   * prefix, to spread a pool over hosts: `(slot) => ['ssh', hosts[slot % hosts.length]]`. A
   * replacement takes the slot of the worker it replaces, so it starts on the same host; a slot
   * whose starts fail backs off on its own. Default: none (local workers).
   */
  exec?: CNodeOptions['exec'] | ((slot: number) => CNodeOptions['exec']);
  /** As CNodeOptions' `bind`, or a function of the worker's slot. */
  bind?: CNodeOptions['bind'] | ((slot: number) => CNodeOptions['bind']);
  /** As CNodeOptions' `advertise`, or a function of the worker's slot (the address of its host, say). */
  advertise?: CNodeOptions['advertise'] | ((slot: number) => CNodeOptions['advertise']);
  size?: number | { min?: number; max?: number };
  /** Calls and sends each worker is given at once; more wait in the pool's queue. Default: 4. */
  concurrency?: number;
  /** Most calls and sends waiting in the queue; more fail with ERR_CNODE_OVERLOADED. Default: 100000. */
  maxQueue?: number;
  /** Milliseconds a worker beyond size.min may sit idle before it is stopped. Default: 30000. */
  idleTimeout?: number;
  /**
   * How many more times a call is dispatched when the worker running it dies (never when its
   * handler failed it). Default: 0: it rejects with ERR_CNODE_EXITED.
   */
  retries?: number;
  /**
   * When a call times out or is aborted while its worker runs it, kill that worker (and start
   * another): the one way to interrupt a C handler. Default: false (the worker finishes the call).
   */
  killOnAbort?: boolean;
  /** Calls after which a worker is replaced, gracefully. Default: Infinity (never). */
  maxCallsPerWorker?: number;
  /** Resident memory in bytes above which a worker is replaced, gracefully (checked each second). Default: Infinity. */
  maxWorkerRss?: number;
}

/** A pool's own options, checked and given their defaults; `node` is what each worker is started with. */
export interface NormalizedPoolOptions {
  /** The workers' options, checked (the defaults it reads; slot 0's exec). */
  node: NormalizedOptions;
  /** What the worker in `slot` is started with. */
  workerOptionsFor(slot: number): CNodeOptions;
  /** The alive name each worker's is made from: `<prefix>_<slot>`. */
  prefix: string;
  min: number;
  max: number;
  concurrency: number;
  maxQueue: number;
  idleTimeout: number;
  retries: number;
  killOnAbort: boolean;
  maxCallsPerWorker: number;
  maxWorkerRss: number;
}

/**
 * Chosen by measurement (bench/README.md, "The pool's concurrency"): with 1 a worker idles for a
 * round trip between calls (10-16% fewer 100 µs tasks than with 4, half the 64 KiB hashes); past
 * 4 compute tasks gain nothing, while a death or a killOnAbort takes more calls with it and a
 * call waits longer behind others at a busy worker.
 */
export const DEFAULT_CONCURRENCY = 4;
const POOL_OPTION_NAMES = [
  'size',
  'concurrency',
  'maxQueue',
  'idleTimeout',
  'retries',
  'killOnAbort',
  'maxCallsPerWorker',
  'maxWorkerRss',
] satisfies (keyof PoolOptions)[];
/** A pool's alive names get `_<slot>` appended; the name option leaves room for it. */
const MAX_PREFIX = 56;

let pools = 0;

/** Checks every option, the workers' included; throws ERR_CNODE_INVALID_OPTION naming the first bad one. */
export function normalizePoolOptions(options: PoolOptions): NormalizedPoolOptions {
  checkOptionNames(options, [...POOL_OPTION_NAMES, ...OPTION_NAMES]);
  const {
    size = os.availableParallelism(),
    concurrency = DEFAULT_CONCURRENCY,
    maxQueue = 100_000,
    idleTimeout = 30_000,
    retries = 0,
    killOnAbort = false,
    maxCallsPerWorker = Number.POSITIVE_INFINITY,
    maxWorkerRss = Number.POSITIVE_INFINITY,
    ...others
  } = options;
  const { exec } = options;
  // Slot 0's stand for all in the checks; each worker's own are checked as it starts.
  const node = normalizeOptions(forSlot(others, 0));
  check('name', node.name, node.name.length <= MAX_PREFIX, `at most ${MAX_PREFIX} characters in a pool`);
  const { min, max } = normalizeSize(size);
  check('concurrency', concurrency, isCount(concurrency) && concurrency >= 1, 'a positive integer');
  check(
    'concurrency',
    concurrency,
    concurrency <= node.maxPending,
    `at most maxPending (${node.maxPending}), which caps what one worker is given`,
  );
  check('maxQueue', maxQueue, isCount(maxQueue), 'a non-negative integer');
  checkTimeout('idleTimeout', idleTimeout);
  check('retries', retries, isCount(retries), 'a non-negative integer');
  check('killOnAbort', killOnAbort, typeof killOnAbort === 'boolean', 'a boolean');
  check(
    'maxCallsPerWorker',
    maxCallsPerWorker,
    maxCallsPerWorker === Number.POSITIVE_INFINITY || (isCount(maxCallsPerWorker) && maxCallsPerWorker >= 1),
    'a positive integer or Infinity',
  );
  check(
    'maxWorkerRss',
    maxWorkerRss,
    maxWorkerRss === Number.POSITIVE_INFINITY || (isCount(maxWorkerRss) && maxWorkerRss >= 1),
    'a positive integer of bytes or Infinity',
  );
  check(
    'maxWorkerRss',
    maxWorkerRss,
    maxWorkerRss === Number.POSITIVE_INFINITY || process.platform === 'linux',
    'left out on this system (a worker’s memory is read from /proc, which only Linux has)',
  );
  check(
    'maxWorkerRss',
    maxWorkerRss,
    maxWorkerRss === Number.POSITIVE_INFINITY || exec === undefined,
    'left out with `exec` (a remote worker’s memory cannot be read from this host’s /proc)',
  );
  const prefix = node.name || `cnodepool_${process.pid}_${++pools}`;
  return {
    node,
    workerOptionsFor: (slot) => ({ ...forSlot(others, slot), name: `${prefix}_${slot}` }),
    prefix,
    min,
    max,
    concurrency,
    maxQueue,
    idleTimeout,
    retries,
    killOnAbort,
    maxCallsPerWorker,
    maxWorkerRss,
  };
}

/** A worker's options: the pool's, with those given as functions of the slot called for `slot`. */
function forSlot(options: Pick<PoolOptions, PerSlot> & Omit<CNodeOptions, PerSlot>, slot: number): CNodeOptions {
  const own = { ...options } as CNodeOptions;
  for (const name of PER_SLOT) {
    const value = options[name];
    if (typeof value === 'function') Object.assign(own, { [name]: value(slot) });
  }
  return own;
}

function normalizeSize(size: PoolOptions['size']): { min: number; max: number } {
  if (typeof size === 'number') {
    check('size', size, isCount(size) && size >= 1, 'a positive integer, or { min, max }');
    return { min: size, max: size };
  }
  check('size', size, typeof size === 'object' && size !== null, 'a positive integer, or { min, max }');
  checkOptionNames(size, ['min', 'max'], 'size.');
  const { min = 0, max = Math.max(min, os.availableParallelism()) } = size as { min?: number; max?: number };
  check('size.min', min, isCount(min), 'a non-negative integer');
  check('size.max', max, isCount(max) && max >= 1, 'a positive integer');
  check('size.max', max, max >= min, `at least size.min (${min})`);
  return { min, max };
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
