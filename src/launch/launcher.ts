/**
 * How a worker process comes to exist and is signalled: a local child (local.ts), the same
 * child running a command prefix that starts the worker elsewhere (local.ts with `exec`), or no
 * process at all, for a worker something else started (attached.ts). Nothing above this
 * interface may assume a local pid.
 */
export interface Identity {
  alive: string;
  host: string;
  /** `alive@host` */
  node: string;
  creation: number;
}

/** How the worker's process ended, as the launcher saw it. */
export interface ProcessEnd {
  /** The exit code, or null when a signal ended it. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the worker wrote to stderr (bounded). */
  stderr: string;
  /** The owner let it go without ending it (an attached node detached): a stop. */
  detached?: boolean;
}

/**
 * Where the worker runs: 'local', a child of this process; 'exec', elsewhere, through a local
 * command prefix (ssh, a container, a namespace); 'attached', elsewhere, started by something else.
 */
export type LaunchKind = 'local' | 'exec' | 'attached';

/** A launched worker. */
export interface Launched {
  readonly kind: LaunchKind;
  /** The pid of the local process the launcher started (0 when it could not start one, or started none). */
  readonly pid: number;
  /** Resolves, never rejects, once the process has ended and what the launcher held is released. */
  readonly ended: Promise<ProcessEnd>;
  /** Whether the process has ended (its exit was seen; `ended` may still be releasing). */
  readonly hasEnded: boolean;
  /**
   * Waits for the `ready <endpoint>` line and returns the endpoint, which `isExpected` must
   * accept (`expected` describes it for an error). Rejects with ERR_CNODE_SPAWN,
   * ERR_CNODE_READY_TIMEOUT, ERR_CNODE_EXITED or ERR_CNODE_PROTOCOL.
   */
  waitReady(timeoutMs: number, isExpected: (endpoint: string) => boolean, expected: string): Promise<string>;
  /**
   * Sends `signal` to the local process and everything it started, unless it has ended. For an
   * attached worker, which no signal reaches, SIGKILL lets it go (the connection is dropped).
   */
  signal(signal: NodeJS.Signals): void;
  /** Closes the worker's stdin: a worker reads EOF as its owner gone, and ssh carries it across. */
  closeInput(): void;
  /**
   * The connection to the worker closed; `peerEnded`: the worker said it was ending. A launcher
   * whose end is the connection's (attached) ends now; one with a process waits for its exit.
   */
  disconnected(peerEnded: boolean): void;
  /** Whether the process and its pipes keep the event loop alive (they do by default). */
  setRef(ref: boolean): void;
}
