import os from 'node:os';
import path from 'node:path';
import { CNodeError, nodeError, showValue } from './errors.js';
import { normalizeNetwork } from './network-options.js';

export interface CNodeOptions {
  /**
   * Path of the compiled worker; relative paths resolve against process.cwd(). With `exec`, the
   * path on the far side, passed as it is (not checked here). Required.
   */
  executable: string;
  /** User arguments, passed after the four standard ones. Default: []. */
  args?: readonly string[];
  /**
   * A command prefix that runs the worker elsewhere, such as `['ssh', 'user@host']`,
   * `['docker', 'exec', '-i', 'box']` or `['ip', 'netns', 'exec', 'far']`: the local process is
   * `[...exec, executable, host, alive, node, creation, ...args]`, and `env` and `cwd` are its.
   * The transport is then tcp with CurveZMQ, the heartbeat is on by default, the worker binds
   * every interface by default, and no SharedBuffer crosses. Default: none (a local child).
   */
  exec?: readonly string[];
  /**
   * For tcp: where the worker's socket binds, `<address>` or `<address>:<port>` (an ephemeral
   * port when left out); `0.0.0.0` or `*` is every interface. Off the loopback, `curve` must be
   * true. Default: '127.0.0.1', or '0.0.0.0' with `exec`.
   */
  bind?: string;
  /**
   * For tcp: the endpoint the worker's ready line names, which the owner connects to: `<host>` or
   * `<host>:<port>` (the bound port when left out). Default: the bound address, or the worker's
   * host name when it binds every interface.
   */
  advertise?: string;
  /** The alive name (letters, digits, `_`, `-`). Default: a fresh unique one. */
  name?: string;
  /** The host name. Default: os.hostname(). */
  host?: string;
  /** The worker's environment, as child_process has it. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The worker's working directory. Default: process.cwd(). */
  cwd?: string;
  /**
   * 'local' (shared-memory rings, for a worker on this host: the fastest), 'ipc' (ZeroMQ over a
   * Unix socket in a fresh 0700 directory) or 'tcp' (ZeroMQ on 127.0.0.1, an ephemeral port).
   * Default: 'local' on Linux, else 'ipc'.
   */
  transport?: 'local' | 'ipc' | 'tcp';
  /**
   * For 'local': the bytes of each of the two rings, a power of two from 16384 to 2^30. A record
   * takes at most a quarter, so the default holds a whole batch (64 KiB) inline. Default: 524288.
   */
  ringSize?: number;
  /** Milliseconds to wait for the ready line, and again for the handshake. Default: 5000. */
  readyTimeout?: number;
  /** Default timeout of call(), in milliseconds. Default: 5000. */
  callTimeout?: number;
  /** Milliseconds stop() waits at each step (stop message, SIGTERM, SIGKILL). Default: 5000. */
  stopTimeout?: number;
  /** Receives each stdout line but the ready line. Default: written to process.stdout as `[node] line`. */
  onStdout?: (line: string) => void;
  /** Receives each stderr line. Default: written to process.stderr as `[node] line`. */
  onStderr?: (line: string) => void;
  /** Longest stdout/stderr line kept, in bytes; longer lines are cut. Default: 65536. */
  maxLineLength?: number;
  /** Most calls in flight plus sends queued; more fail with ERR_CNODE_OVERLOADED. Default: 10000. */
  maxPending?: number;
  /**
   * Largest frame, in bytes, either way: bigger messages are refused before sending, and the worker
   * refuses to send bigger replies. Default: 67108864 (64 MiB).
   */
  maxMessageSize?: number;
  /**
   * Liveness check, off by default: every `interval` ms of silence the owner pings the worker, and
   * after `timeout` ms without hearing from it the worker is killed and its calls fail with
   * ERR_CNODE_UNRESPONSIVE. The worker answers between handler runs, so `timeout` must exceed
   * the longest call. Over tcp it also sets ZMTP heartbeats on the connection (every `interval`,
   * dropped after `timeout / 2` unanswered), so a cut link is found from both ends. `false`: off.
   * Defaults when given: interval 1000, timeout 5000. Default: off, but on with `exec`.
   */
  heartbeat?: { interval?: number; timeout?: number } | false;
  /** For tcp: encrypt with CurveZMQ, keys fresh per start, only this owner can connect. Default: true. */
  curve?: boolean;
}

export interface HeartbeatOptions {
  interval: number;
  timeout: number;
}

export type NormalizedOptions = Required<Omit<CNodeOptions, 'onStdout' | 'onStderr' | 'heartbeat' | 'exec'>> &
  Pick<CNodeOptions, 'onStdout' | 'onStderr' | 'exec'> & { heartbeat: HeartbeatOptions | undefined };

const TRANSPORTS: readonly unknown[] = ['local', 'ipc', 'tcp'];
/** Shared-memory rings where the system has memfd and eventfd. */
const DEFAULT_TRANSPORT = process.platform === 'linux' ? 'local' : 'ipc';

/** The largest maxMessageSize: what a Buffer can hold, and what ZeroMQ's int64 limit takes. */
const MAX_MESSAGE_SIZE_LIMIT = 2 ** 31 - 1;

const ALIVE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const HOST_NAME = /^[A-Za-z0-9._-]{1,255}$/;

/** Every option start() takes: a name not here is refused, so a misspelt option is not ignored. */
export const OPTION_NAMES = Object.keys({
  executable: true,
  args: true,
  exec: true,
  bind: true,
  advertise: true,
  name: true,
  host: true,
  env: true,
  cwd: true,
  transport: true,
  ringSize: true,
  readyTimeout: true,
  callTimeout: true,
  stopTimeout: true,
  onStdout: true,
  onStderr: true,
  maxLineLength: true,
  maxPending: true,
  maxMessageSize: true,
  heartbeat: true,
  curve: true,
} satisfies Record<keyof CNodeOptions, true>);

/** Checks every option and fills in defaults; throws ERR_CNODE_INVALID_OPTION naming the first bad one. */
export function normalizeOptions(options: CNodeOptions): NormalizedOptions {
  checkOptionNames(options, OPTION_NAMES);
  const {
    executable,
    args = [],
    name,
    host = os.hostname(),
    env = process.env,
    cwd = process.cwd(),
    // A worker on another host is reached over tcp only.
    transport = options.exec === undefined ? DEFAULT_TRANSPORT : 'tcp',
    ringSize = 512 * 1024,
    readyTimeout = 5000,
    callTimeout = 5000,
    stopTimeout = 5000,
    onStdout,
    onStderr,
    maxLineLength = 65536,
    maxPending = 10000,
    maxMessageSize = 64 * 1024 * 1024,
    heartbeat,
    curve = true,
  } = options;
  check('executable', executable, typeof executable === 'string' && executable.length > 0, 'a non-empty string');
  check('args', args, Array.isArray(args) && args.every((arg) => typeof arg === 'string'), 'an array of strings');
  check(
    'name',
    name,
    name === undefined || (typeof name === 'string' && ALIVE_NAME.test(name)),
    '1-64 letters, digits, `_` or `-`',
  );
  check('host', host, typeof host === 'string' && HOST_NAME.test(host), 'a host name');
  check('env', env, typeof env === 'object' && env !== null, 'an object');
  check('cwd', cwd, typeof cwd === 'string' && cwd.length > 0, 'a non-empty string');
  check('transport', transport, TRANSPORTS.includes(transport), "'local', 'ipc' or 'tcp'");
  check(
    'transport',
    transport,
    options.exec === undefined || transport === 'tcp',
    "'tcp' (or left out) with `exec`: a worker on another host is reached over tcp",
  );
  check(
    'transport',
    transport,
    transport !== 'local' || process.platform === 'linux',
    "'ipc' or 'tcp' on this system ('local' needs Linux: memfd and eventfd)",
  );
  check(
    'ringSize',
    ringSize,
    Number.isSafeInteger(ringSize) && ringSize >= 16384 && ringSize <= 2 ** 30 && (ringSize & (ringSize - 1)) === 0,
    'a power of two from 16384 to 1073741824',
  );
  checkTimeout('readyTimeout', readyTimeout);
  checkTimeout('callTimeout', callTimeout);
  checkTimeout('stopTimeout', stopTimeout);
  check('onStdout', onStdout, onStdout === undefined || typeof onStdout === 'function', 'a function');
  check('onStderr', onStderr, onStderr === undefined || typeof onStderr === 'function', 'a function');
  check(
    'maxLineLength',
    maxLineLength,
    Number.isSafeInteger(maxLineLength) && maxLineLength >= 80,
    'an integer of at least 80',
  );
  checkLimits(maxPending, maxMessageSize);
  check('curve', curve, typeof curve === 'boolean', 'a boolean');
  // An ipc socket is reachable only through its 0700 directory, a ring only by the worker
  // that inherits it; CurveZMQ is for tcp.
  check(
    'curve',
    curve,
    !(options.curve === true && transport !== 'tcp'),
    `left out with transport '${transport}' (CurveZMQ encrypts tcp only)`,
  );
  const network = normalizeNetwork(options, transport, curve);
  return {
    // The far side's path is the far side's business: resolving it here would name a local directory.
    executable: executable.includes('/') && !network.exec ? path.resolve(executable) : executable,
    args: [...args],
    name: name ?? '',
    host,
    env,
    cwd,
    transport,
    ringSize,
    readyTimeout,
    callTimeout,
    stopTimeout,
    onStdout,
    onStderr,
    maxLineLength,
    maxPending,
    maxMessageSize,
    // A worker elsewhere can be cut off without a word: its heartbeat is what finds that.
    heartbeat: normalizeHeartbeat(heartbeat ?? (network.exec ? {} : undefined), network.exec !== undefined),
    curve,
    ...network,
  };
}

/**
 * Checks the heartbeat option: an object of its settings, or false (or undefined) for none.
 * `remote`: for a worker elsewhere, whose cut link ZMTP finds within interval + timeout / 2 of
 * its last word; the node then waits a grace for an exit (cnode.ts) and must still report it
 * within the timeout, before the session's own check could call the worker hung.
 */
export function normalizeHeartbeat(heartbeat: CNodeOptions['heartbeat'], remote = false): HeartbeatOptions | undefined {
  if (heartbeat === undefined || heartbeat === false) return undefined;
  check('heartbeat', heartbeat, typeof heartbeat === 'object' && heartbeat !== null, 'an object { interval, timeout }');
  checkOptionNames(heartbeat, ['interval', 'timeout'], 'heartbeat.');
  const { interval = 1000, timeout = 5000 } = heartbeat;
  checkTimeout('heartbeat.interval', interval);
  checkTimeout('heartbeat.timeout', timeout);
  check('heartbeat.timeout', timeout, timeout >= interval, `at least heartbeat.interval (${interval})`);
  if (remote)
    check(
      'heartbeat.timeout',
      timeout,
      timeout >= 2 * interval + 400,
      `at least 2 × heartbeat.interval + 400 (${2 * interval + 400}) for a worker elsewhere, so that a cut link is told apart from a hung worker within it`,
    );
  return { interval, timeout };
}

/** Checks the caps every node has, started or attached: maxPending and maxMessageSize. */
export function checkLimits(maxPending: unknown, maxMessageSize: unknown): void {
  check('maxPending', maxPending, Number.isSafeInteger(maxPending) && (maxPending as number) > 0, 'a positive integer');
  check(
    'maxMessageSize',
    maxMessageSize,
    Number.isSafeInteger(maxMessageSize) &&
      (maxMessageSize as number) >= 1024 &&
      (maxMessageSize as number) <= MAX_MESSAGE_SIZE_LIMIT,
    `an integer from 1024 to ${MAX_MESSAGE_SIZE_LIMIT}`,
  );
}

/** Checks a timeout given in milliseconds: a positive integer, small enough for setTimeout. */
export function checkTimeout(option: string, value: unknown): asserts value is number {
  check(
    option,
    value,
    Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= 0x7fffffff,
    'a positive integer of milliseconds',
  );
}

/**
 * Checks the options of one of a node's methods (`call`, `send`, `stop`) and normalizes them; an
 * invalid one fails with ERR_CNODE_INVALID_OPTION naming the node and the method.
 */
export function checkMethodOptions<O, R>(
  node: string,
  method: string,
  options: O,
  names: readonly string[],
  normalize: (options: O) => R,
): R {
  try {
    checkOptionNames(options, names);
    return normalize(options);
  } catch (error) {
    if (error instanceof CNodeError && error.code === 'ERR_CNODE_INVALID_OPTION')
      throw nodeError(node, error.code, `${method}(): ${error.message}`);
    throw error;
  }
}

/**
 * Checks that `options` is an object of known option names only; an unknown one is named, with
 * the nearest known name when there is one close enough to be a slip.
 */
export function checkOptionNames(options: unknown, known: readonly string[], prefix = ''): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const what = prefix ? `the \`${prefix.slice(0, -1)}\` option to be an object` : 'an options object';
    throw new CNodeError('ERR_CNODE_INVALID_OPTION', `Expected ${what}, got ${showValue(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const nearest = nearestName(name, known);
    const hint = nearest
      ? `; did you mean \`${prefix}${nearest}\`?`
      : `; the options are ${known.map((option) => `\`${prefix}${option}\``).join(', ')}`;
    throw new CNodeError('ERR_CNODE_INVALID_OPTION', `Unknown option \`${prefix}${name}\`${hint}`);
  }
}

/** The known name within a few edits of `name` (Levenshtein distance, at most a third of its length). */
function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** Throws ERR_CNODE_INVALID_OPTION naming `option` and its bad `value` unless `ok`. */
export function check(option: string, value: unknown, ok: boolean, expected: string): void {
  if (!ok) {
    throw new CNodeError(
      'ERR_CNODE_INVALID_OPTION',
      `Expected the \`${option}\` option to be ${expected}, got ${showValue(value)}`,
    );
  }
}

/** Checks a call's `signal` option: absent, or an AbortSignal. */
export function checkSignal(value: unknown): asserts value is AbortSignal | undefined {
  check('signal', value, value === undefined || value instanceof AbortSignal, 'an AbortSignal');
}

/** Checks a call's or send's `transfer` option: absent, or an array of ArrayBuffers. */
export function checkTransfer(value: unknown): asserts value is readonly ArrayBuffer[] | undefined {
  if (value === undefined) return;
  check(
    'transfer',
    value,
    Array.isArray(value) && value.every((item) => item instanceof ArrayBuffer),
    'an array of ArrayBuffers',
  );
}
