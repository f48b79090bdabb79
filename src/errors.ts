/** Every failure the library reports is a CNodeError with one of these codes. */
export type CNodeErrorCode =
  | 'ERR_CNODE_INVALID_OPTION' // an option has the wrong type or value; no process was started
  | 'ERR_CNODE_SPAWN' // the executable could not be started
  | 'ERR_CNODE_READY_TIMEOUT' // no `ready` line within readyTimeout
  | 'ERR_CNODE_CONNECT' // the worker did not complete the handshake within readyTimeout
  | 'ERR_CNODE_PROTOCOL' // the worker broke the protocol (bad ready line, handshake or frame); it was killed
  | 'ERR_CNODE_EXITED' // the worker exited: before ready, or with calls pending, or before a call
  | 'ERR_CNODE_STOPPED' // the node was stopped by stop()
  | 'ERR_CNODE_CALL_TIMEOUT' // no reply within the call's timeout
  | 'ERR_CNODE_SEND_TIMEOUT' // send() could not hand the message to ZeroMQ within its timeout
  | 'ERR_CNODE_UNRESPONSIVE' // the heartbeat went unanswered: the worker was killed
  | 'ERR_CNODE_DISCONNECTED' // the connection to a worker elsewhere (exec, attach) was lost: a cut link, or its host gone
  | 'ERR_CNODE_ABORTED' // the call's AbortSignal fired
  | 'ERR_CNODE_REMOTE' // the worker's handler failed the call
  | 'ERR_CNODE_BAD_MESSAGE' // a message that cannot be encoded; nothing was sent
  | 'ERR_CNODE_OVERLOADED' // maxPending calls and sends are already waiting (a pool: maxQueue calls are queued)
  | 'ERR_CNODE_STOP_TIMEOUT' // the worker outlived even SIGKILL's bound
  | 'ERR_CNODE_POISON' // a pool's call was running when two workers died: it is not tried on a third
  | 'ERR_CNODE_TOO_MANY_RESTARTS'; // a supervisor's children restarted more than maxRestarts times within period

/** How a worker ended. */
export interface ExitInfo {
  /** The node name, `alive@host`. */
  node: string;
  /** Which start of this alive name it was: 1, then one more for each restart. */
  creation: number;
  /**
   * The exit code (with `exec`, the exec process's, which ssh makes the far worker's), or null
   * when a signal ended it. An attached worker: 0 when it ended in order (it said so before its
   * connection closed), else null.
   */
  exitCode: number | null;
  /** The signal that ended it (e.g. 'SIGSEGV'), or null. */
  signal: NodeJS.Signals | null;
  /** The last lines the worker wrote to stderr (bounded; none for an attached worker). */
  stderr: string;
  /** True when stop() or kill() ended it (for an attached node, detached it too). */
  stopped: boolean;
  /**
   * Why the library killed the worker, when it did: ERR_CNODE_UNRESPONSIVE (the heartbeat went
   * unanswered), ERR_CNODE_PROTOCOL (it broke the protocol) or ERR_CNODE_DISCONNECTED (the
   * connection to a worker elsewhere was lost; its exec process was ended). Null otherwise.
   */
  fault: CNodeError | null;
}

export interface CNodeErrorFields {
  node?: string;
  creation?: number;
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  stderr?: string;
  remoteCode?: string;
  cause?: unknown;
}

export class CNodeError extends Error {
  readonly code: CNodeErrorCode;
  /** The node the error is about, `alive@host`, when there is one. */
  readonly node?: string;
  /** The creation of the node's worker the error is about, when it is about one incarnation. */
  readonly creation?: number;
  readonly exitCode?: number | null;
  readonly signal?: NodeJS.Signals | null;
  readonly stderr?: string;
  /**
   * ERR_CNODE_REMOTE: the worker's own error code, as its handler gave it to cnode_fail_code
   * (e.g. 'SQLITE_CONSTRAINT'); undefined when it gave none (cnode_fail).
   */
  readonly remoteCode?: string;

  constructor(code: CNodeErrorCode, message: string, fields: CNodeErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'CNodeError';
    this.code = code;
    this.node = fields.node;
    if ('creation' in fields) this.creation = fields.creation;
    if ('exitCode' in fields) this.exitCode = fields.exitCode;
    if ('signal' in fields) this.signal = fields.signal;
    if ('stderr' in fields) this.stderr = fields.stderr;
    if (code === 'ERR_CNODE_REMOTE') this.remoteCode = fields.remoteCode;
  }
}

/**
 * A rejection handler that gives the error a call rejects with the stack of its caller, instead
 * of the frame handler's that rejected it: chained as `.then(undefined, rethrow)` to the promise
 * call() returns, it runs as that promise rejects, and V8's async stack trace walks the promise
 * chain from there to the functions awaiting it, starting at the caller's `await node.call(...)`.
 * Nothing is captured for a call that succeeds: a stack captured as each call is made would cost
 * microseconds (3 to 7 µs measured for Error.captureStackTrace), the extra reaction about 0.1 µs
 * pipelined, where an async call() wrapper cost 0.2 to 0.3 µs (bench/profile/pipelined.js).
 * A caller that does not await (`.catch(...)`) gets a stack with no frames, none of them ours.
 * An error shared by several calls (one exit fails every call in flight) keeps the first stack
 * given. Each layer (a node, a pool) makes its own, and so gives the error its own caller's.
 */
export function callerStack(): (error: unknown) => never {
  const given = new WeakSet<object>();
  const rethrow = (error: unknown): never => {
    if (error instanceof Error && !given.has(error)) {
      given.add(error);
      Error.captureStackTrace(error, rethrow);
    }
    throw error;
  };
  return rethrow;
}

/** An error about one node: its message starts with `cnode <node>`, and it carries the node's name. */
export function nodeError(
  node: string,
  code: CNodeErrorCode,
  text: string,
  fields: Omit<CNodeErrorFields, 'node'> = {},
): CNodeError {
  return new CNodeError(code, `cnode ${node} ${text}`, { node, ...fields });
}

/**
 * Whether an exit is abnormal: not caused by stop() or kill(), and by a signal, a non-zero exit
 * code, or a fault (the library ended the worker: unresponsive, a protocol violation, its
 * connection lost, even when the exec process it ended then exits with 0). A linked node emits
 * 'error' for such an exit; a supervisor restarts on it.
 */
export function isAbnormal(info: ExitInfo): boolean {
  return !info.stopped && (info.fault !== null || info.signal !== null || info.exitCode !== 0);
}

/**
 * Describes an exit for a message: "exited with code 3" or "was killed by SIGSEGV". An attached
 * worker's end has neither (no process of this owner's): it "ended".
 */
export function describeExit(info: Pick<ExitInfo, 'exitCode' | 'signal'>): string {
  if (info.signal) return `was killed by ${info.signal}`;
  return info.exitCode === null ? 'ended' : `exited with code ${info.exitCode}`;
}

/** The error a call gets when the worker has ended; stderr's tail is appended when there is one. */
export function exitedError(info: Omit<ExitInfo, 'fault'>, doing: string): CNodeError {
  const tail = info.stderr ? `\n${info.stderr}` : '';
  return nodeError(info.node, 'ERR_CNODE_EXITED', `${describeExit(info)} ${doing}${tail}`, {
    creation: info.creation,
    exitCode: info.exitCode,
    signal: info.signal,
    stderr: info.stderr,
  });
}

/** Formats a value for an error message: `-1` (number). */
export function showValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'bigint' ? `${value}n` : String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  if (text.length > 80) text = `${text.slice(0, 77)}...`;
  return `\`${text}\` (${value === null ? 'null' : typeof value})`;
}
