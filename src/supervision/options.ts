import { CNodeError } from '../errors.js';
import {
  type CNodeOptions,
  check,
  checkOptionNames,
  checkTimeout,
  type NormalizedOptions,
  normalizeOptions,
  OPTION_NAMES,
} from '../options.js';
import type { BackoffOptions, NormalizedBackoff } from './backoff.js';
import { childAliveName } from './names.js';

/** How the supervisor answers a child's exit. */
export type RestartStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/** Which exits of a child are followed by a restart. */
export type RestartPolicy = 'permanent' | 'transient' | 'temporary';

export interface HealthCheckOptions {
  /** What the supervisor calls the child with; any answer is healthy. Required. */
  message: unknown;
  /** Milliseconds from one check's answer to the next check (the first: from the start). Default: 5000. */
  interval?: number;
  /** Milliseconds to wait for the answer. Default: the child's callTimeout. */
  timeout?: number;
}

/** A child: every option of CNode.start, and how the supervisor treats it. */
export interface ChildSpec extends CNodeOptions {
  /** Unique among the supervisor's children; sup.child(id) finds it. The alive name, when valid as one. Required. */
  id: string;
  /** 'permanent' (always restarted), 'transient' (after an abnormal exit only) or 'temporary' (never). Default: 'permanent'. */
  restart?: RestartPolicy;
  /** A call the supervisor makes every `interval` ms; a failed or late answer kills and restarts the child. Default: none. */
  healthCheck?: HealthCheckOptions;
}

export interface SupervisorOptions {
  /** Which children a restart takes: the one that exited, all, or it and those started after it. Default: 'one_for_one'. */
  strategy?: RestartStrategy;
  /** More restarts than this within `period` stop the supervisor. Default: 3. */
  maxRestarts?: number;
  /** Milliseconds of the children's time (backoff delays excluded) over which restarts are counted. Default: 5000. */
  period?: number;
  /** How long restarts wait. Defaults: { initial: 100, max: 10000, factor: 2, jitter: 0.2 }. */
  backoff?: BackoffOptions;
  /** Started in this order, stopped in the reverse. Required. */
  children: readonly ChildSpec[];
}

export interface NormalizedChild {
  id: string;
  restart: RestartPolicy;
  healthCheck: Required<HealthCheckOptions> | undefined;
  /** What CNode.start() is given at each start. */
  start: CNodeOptions;
  /** The same, checked and with its defaults. */
  node: NormalizedOptions;
}

export interface NormalizedSupervisorOptions {
  strategy: RestartStrategy;
  maxRestarts: number;
  period: number;
  backoff: NormalizedBackoff;
  children: NormalizedChild[];
}

const SUPERVISOR_OPTIONS = [
  'strategy',
  'maxRestarts',
  'period',
  'backoff',
  'children',
] satisfies (keyof SupervisorOptions)[];
const CHILD_OPTIONS = [...OPTION_NAMES, 'id', 'restart', 'healthCheck'];
const BACKOFF_OPTIONS = ['initial', 'max', 'factor', 'jitter'] satisfies (keyof BackoffOptions)[];
const HEALTH_CHECK_OPTIONS = ['message', 'interval', 'timeout'] satisfies (keyof HealthCheckOptions)[];
const STRATEGIES: readonly unknown[] = ['one_for_one', 'one_for_all', 'rest_for_one'];
const POLICIES: readonly unknown[] = ['permanent', 'transient', 'temporary'];

// OTP's default is 1 restart in 5 s, which gives up on the second crash: for a native sidecar a
// crash is often caused by one request that its client retries at once. Elixir's 3 in 5 s lets a
// retry or two through, and still gives up on a crash loop at its fourth crash, since the backoff
// delays are not counted in the period (intensity.ts).
const DEFAULT_MAX_RESTARTS = 3;
const DEFAULT_PERIOD = 5000;
// The first restart comes back quickly (a one-off crash costs a tenth of a second); a child that
// keeps failing is retried every 10 s at most, about where pm2 (15 s) and systemd land; a fifth of
// the delay taken off at random keeps many owners from retrying in step.
const DEFAULT_BACKOFF: NormalizedBackoff = { initial: 100, max: 10_000, factor: 2, jitter: 0.2 };
const DEFAULT_HEALTH_INTERVAL = 5000;

/** Checks every option, the children's too, and fills in defaults; throws ERR_CNODE_INVALID_OPTION naming the first bad one. */
export function normalizeSupervisorOptions(options: SupervisorOptions): NormalizedSupervisorOptions {
  checkOptionNames(options, SUPERVISOR_OPTIONS);
  const {
    strategy = 'one_for_one',
    maxRestarts = DEFAULT_MAX_RESTARTS,
    period = DEFAULT_PERIOD,
    backoff,
    children,
  } = options;
  check('strategy', strategy, STRATEGIES.includes(strategy), "'one_for_one', 'one_for_all' or 'rest_for_one'");
  check('maxRestarts', maxRestarts, Number.isSafeInteger(maxRestarts) && maxRestarts >= 0, 'a non-negative integer');
  checkTimeout('period', period);
  check('children', children, Array.isArray(children), 'an array of child specs');
  const normalized = children.map((child, index) => normalizeChild(child, index));
  const seen = new Map<string, number>();
  const names = new Map<string, number>();
  normalized.forEach((child, index) => {
    const first = seen.get(child.id);
    if (first !== undefined)
      throw invalid(
        `Expected each child's \`id\` to be unique, got ${JSON.stringify(child.id)} for children[${first}] and children[${index}]`,
      );
    seen.set(child.id, index);
    const sharing = names.get(child.node.name);
    if (sharing !== undefined)
      throw invalid(
        `child ${JSON.stringify(child.id)} (children[${index}]): Expected the \`name\` option to differ from every other child's, got ${JSON.stringify(child.node.name)}, also children[${sharing}]'s`,
      );
    names.set(child.node.name, index);
  });
  return { strategy, maxRestarts, period, backoff: normalizeBackoff(backoff), children: normalized };
}

function normalizeBackoff(backoff: BackoffOptions | undefined): NormalizedBackoff {
  if (backoff === undefined) return DEFAULT_BACKOFF;
  check(
    'backoff',
    backoff,
    typeof backoff === 'object' && backoff !== null,
    'an object { initial, max, factor, jitter }',
  );
  checkOptionNames(backoff, BACKOFF_OPTIONS, 'backoff.');
  const {
    initial = DEFAULT_BACKOFF.initial,
    max = Math.max(DEFAULT_BACKOFF.max, initial),
    factor = DEFAULT_BACKOFF.factor,
    jitter = DEFAULT_BACKOFF.jitter,
  } = backoff;
  const milliseconds = (value: number) => Number.isSafeInteger(value) && value >= 0 && value <= 0x7fffffff;
  check('backoff.initial', initial, milliseconds(initial), 'a non-negative integer of milliseconds');
  check('backoff.max', max, milliseconds(max), 'a non-negative integer of milliseconds');
  check('backoff.max', max, max >= initial, `at least backoff.initial (${initial})`);
  check(
    'backoff.factor',
    factor,
    typeof factor === 'number' && factor >= 1 && Number.isFinite(factor),
    'a number of at least 1',
  );
  check('backoff.jitter', jitter, typeof jitter === 'number' && jitter >= 0 && jitter <= 1, 'a number from 0 to 1');
  return { initial, max, factor, jitter };
}

function normalizeChild(child: ChildSpec, index: number): NormalizedChild {
  const where = `children[${index}]`;
  check(where, child, typeof child === 'object' && child !== null && !Array.isArray(child), 'a child spec object');
  // Its errors name it by its id when it has one, as its user knows it.
  const label =
    typeof child.id === 'string' && child.id.length > 0 ? `child ${JSON.stringify(child.id)} (${where})` : where;
  try {
    checkOptionNames(child, CHILD_OPTIONS);
    const { id, restart = 'permanent', healthCheck, ...rest } = child;
    check('id', id, typeof id === 'string' && id.length > 0, 'a non-empty string');
    check('restart', restart, POLICIES.includes(restart), "'permanent', 'transient' or 'temporary'");
    const start: CNodeOptions = { ...rest, name: rest.name ?? childAliveName(id) };
    const node = normalizeOptions(start);
    // Resolved once: a relative path must not find another executable after a chdir.
    start.executable = node.executable;
    return { id, restart, healthCheck: normalizeHealthCheck(healthCheck, node.callTimeout), start, node };
  } catch (error) {
    if (error instanceof CNodeError && error.code === 'ERR_CNODE_INVALID_OPTION')
      throw invalid(`${label}: ${error.message}`);
    throw error;
  }
}

function normalizeHealthCheck(
  healthCheck: HealthCheckOptions | undefined,
  callTimeout: number,
): Required<HealthCheckOptions> | undefined {
  if (healthCheck === undefined) return undefined;
  check(
    'healthCheck',
    healthCheck,
    typeof healthCheck === 'object' && healthCheck !== null,
    'an object { message, interval, timeout }',
  );
  checkOptionNames(healthCheck, HEALTH_CHECK_OPTIONS, 'healthCheck.');
  const { message, interval = DEFAULT_HEALTH_INTERVAL, timeout = callTimeout } = healthCheck;
  check('healthCheck.message', message, message !== undefined, 'the message to call the child with');
  checkTimeout('healthCheck.interval', interval);
  checkTimeout('healthCheck.timeout', timeout);
  return { message, interval, timeout };
}

function invalid(message: string): CNodeError {
  return new CNodeError('ERR_CNODE_INVALID_OPTION', message);
}
