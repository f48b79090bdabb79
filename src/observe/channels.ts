import diagnostics_channel from 'node:diagnostics_channel';
import type { CNode } from '../cnode.js';
import type { CNodeError, ExitInfo } from '../errors.js';

/**
 * The node:diagnostics_channel channels a tracing tool subscribes to, as undici and node:http
 * publish theirs; docs/observability.md gives each message's shape. Nothing is built or published
 * while nobody subscribes (`hasSubscribers`): a call pays one property read.
 */

/** Published once a node is ready: started (handshake done) or attached. */
export interface NodeStartMessage {
  node: CNode;
}

/** Published as a node's 'exit' is emitted. */
export interface NodeExitMessage {
  node: CNode;
  info: ExitInfo;
}

/**
 * The context of one call on the `cnode:call` TracingChannel: `start` and `end` around call()
 * itself, then `asyncStart` and `asyncEnd` as it settles with `result`, or `error` then
 * `asyncStart` and `asyncEnd` with `error` set.
 */
export interface CallMessage {
  /** The node's full name, alive@host. */
  node: string;
  /** What was passed to call(). */
  message: unknown;
  /** The reply, once answered. */
  result?: unknown;
  /** Why it was rejected. */
  error?: CNodeError;
}

export const nodeStartChannel = diagnostics_channel.channel('cnode:node:start');
export const nodeExitChannel = diagnostics_channel.channel('cnode:node:exit');
export const callChannel = diagnostics_channel.tracingChannel<unknown, CallMessage>('cnode:call');

// TracingChannel's hasSubscribers came in Node 20.13; engines says >=20: before it, the same
// question asked of its five channels, or nothing would ever be traced there.
if (!Reflect.has(callChannel, 'hasSubscribers')) {
  Object.defineProperty(callChannel, 'hasSubscribers', {
    get() {
      const { start, end, asyncStart, asyncEnd, error } = callChannel;
      return (
        start.hasSubscribers ||
        end.hasSubscribers ||
        asyncStart.hasSubscribers ||
        asyncEnd.hasSubscribers ||
        error.hasSubscribers
      );
    },
  });
}
