import type { CNode } from '../cnode.js';
import type { CNodeError, CNodeErrorCode } from '../errors.js';
import type { HealthCheckOptions } from './options.js';

/**
 * Failures of a check that say the incarnation is ending anyway (it exited, was stopped, or the
 * library killed it for a fault): its exit tells why, and the check is no failure of its own.
 */
const ENDING: ReadonlySet<CNodeErrorCode> = new Set([
  'ERR_CNODE_EXITED',
  'ERR_CNODE_STOPPED',
  'ERR_CNODE_UNRESPONSIVE',
  'ERR_CNODE_PROTOCOL',
]);

/**
 * Checks a node's health: `interval` ms after its start, and after each answer, calls it with the
 * check's message. The first call that fails or is not answered within `timeout` ms (any failure
 * but those of an ending node) goes to `onFail`, and checking ends. The next check waits for the
 * answer to the last, so checks never pile up behind a slow worker. Returns a function that ends
 * the checks; the timer never keeps the owner alive on its own (the node does, while it runs).
 */
export function checkHealth(
  node: CNode,
  check: Required<HealthCheckOptions>,
  onFail: (error: CNodeError) => void,
): () => void {
  let active = true;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(run, check.interval).unref();
  };
  const run = () => {
    timer = undefined;
    node.call(check.message, { timeout: check.timeout }).then(
      () => active && schedule(),
      (error: CNodeError) => {
        if (!active) return;
        active = false;
        if (!ENDING.has(error.code)) onFail(error);
      },
    );
  };
  schedule();
  return () => {
    active = false;
    clearTimeout(timer);
  };
}
