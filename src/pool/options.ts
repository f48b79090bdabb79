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

export interface PoolOptions extends CNodeOptions {
  /**
   * How many workers: a number, or `{ min, max }` to grow under load up to max and shrink idle
   * workers back to min after idleTimeout. Default: os.availableParallelism().
   */
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
  /** The workers' options, checked (the defaults it reads) and as given (what each worker starts with). */
  node: NormalizedOptions;
  workerOptions: CNodeOptions;
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
    ...nodeOptions
  } = options;
  const node = normalizeOptions(nodeOptions);
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
  return {
    node,
    workerOptions: nodeOptions,
    prefix: node.name || `cnodepool_${process.pid}_${++pools}`,
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
