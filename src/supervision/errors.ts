// Every message the supervisor words, in one place.
import type { CNode } from '../cnode.js';
import { CNodeError, describeExit, type ExitInfo, exitedError, nodeError } from '../errors.js';
import type { RestartPolicy } from './options.js';

/** What ended a child's incarnation, or kept it from coming: its exit, or its failed start. */
export type Failure = { info: ExitInfo } | { error: CNodeError };

/** Why the supervisor killed a node whose health check failed: a late answer, or a failed one. */
export function healthFault(node: CNode, cause: CNodeError, timeout: number): CNodeError {
  const fields = { creation: node.creation, cause };
  if (cause.code === 'ERR_CNODE_CALL_TIMEOUT') {
    const text = `did not answer its health check within ${timeout} ms; the supervisor killed it`;
    return nodeError(node.name, 'ERR_CNODE_UNRESPONSIVE', text, fields);
  }
  // The cause names the node too: said once is enough.
  const prefix = `cnode ${node.name} `;
  const why = cause.message.startsWith(prefix) ? cause.message.slice(prefix.length) : cause.message;
  return nodeError(node.name, cause.code, `failed its health check (${why}); the supervisor killed it`, fields);
}

/** The error of a supervisor that gave up: ERR_CNODE_TOO_MANY_RESTARTS, with the last failure's details. */
export function tooManyRestarts(id: string, failure: Failure, maxRestarts: number, period: number): CNodeError {
  const text = (last: string) =>
    `supervisor: more than ${maxRestarts} restarts within ${period} ms (backoff delays not counted), the last of child ${JSON.stringify(id)}: ${last}; every child was stopped`;
  if ('error' in failure) {
    const { error } = failure;
    return new CNodeError('ERR_CNODE_TOO_MANY_RESTARTS', text(`it failed to start: ${error.message}`), {
      node: error.node,
      creation: error.creation,
      cause: error,
    });
  }
  const { info } = failure;
  return new CNodeError(
    'ERR_CNODE_TOO_MANY_RESTARTS',
    text(info.fault?.message ?? `${info.node} ${describeExit(info)}`),
    {
      node: info.node,
      creation: info.creation,
      exitCode: info.exitCode,
      signal: info.signal,
      stderr: info.stderr,
      cause: info.fault ?? undefined,
    },
  );
}

/** A call or send with failFast, made while the child restarts. */
export function restarting(node: string, creation: number, info: ExitInfo | undefined): CNodeError {
  if (info) return exitedError(info, 'and is restarting (the call had failFast)');
  return nodeError(node, 'ERR_CNODE_EXITED', 'is being restarted (the call had failFast)', { creation });
}

/** A call or send to a child that ended and is not restarted. */
export function ended(info: ExitInfo, policy: RestartPolicy): CNodeError {
  const why =
    policy === 'temporary'
      ? 'a temporary child is never restarted'
      : 'a transient child is restarted only after an abnormal exit';
  if (info.fault) return info.fault;
  if (info.stopped)
    return nodeError(info.node, 'ERR_CNODE_STOPPED', `was stopped with its siblings (${why})`, {
      creation: info.creation,
    });
  return exitedError(info, `before the call (${why})`);
}

/** A call or send to a child whose supervisor stopped, or that waited for a restart the stop cancelled. */
export function supervisorStopped(node: string, creation: number): CNodeError {
  return nodeError(node, 'ERR_CNODE_STOPPED', 'was stopped: its supervisor stopped', { creation });
}

/** A call or send that waited for the child's next incarnation for all of its timeout. */
export function waitTimedOut(kind: 'call' | 'send', node: string, creation: number, timeout: number): CNodeError {
  return kind === 'call'
    ? nodeError(node, 'ERR_CNODE_CALL_TIMEOUT', `did not answer a call within ${timeout} ms: it was restarting`, {
        creation,
      })
    : nodeError(
        node,
        'ERR_CNODE_SEND_TIMEOUT',
        `did not take a message within ${timeout} ms: it was restarting; it was dropped`,
        { creation },
      );
}

export function waitAborted(node: string, creation: number, reason: unknown): CNodeError {
  return nodeError(node, 'ERR_CNODE_ABORTED', 'had a call aborted while it was restarting', {
    creation,
    cause: reason,
  });
}

export function waitOverloaded(node: string, creation: number, maxPending: number): CNodeError {
  return nodeError(
    node,
    'ERR_CNODE_OVERLOADED',
    `already has ${maxPending} calls and sends waiting for its restart (the maxPending option)`,
    { creation },
  );
}

export function unknownChild(id: unknown, ids: readonly string[]): CNodeError {
  const known = ids.length > 0 ? `the ids are ${ids.map((each) => JSON.stringify(each)).join(', ')}` : 'it has none';
  return new CNodeError(
    'ERR_CNODE_INVALID_OPTION',
    `Supervisor.child(): no child has the id ${typeof id === 'string' ? JSON.stringify(id) : String(id)}; ${known}`,
  );
}
