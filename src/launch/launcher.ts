/**
 * How a worker process comes to exist and is signalled. Today the one launcher is the local
 * child (local.ts); nothing above this interface may assume a local pid, so that a launcher that
 * execs through ssh, or one that attaches to a worker already running, can take its place.
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
}

/** A launched worker. */
export interface Launched {
  /** The pid of the local process the launcher started (0 when it could not start one). */
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
  /** Sends `signal` to the worker and everything it started, unless it has ended. */
  signal(signal: NodeJS.Signals): void;
  /** Whether the process and its pipes keep the event loop alive (they do by default). */
  setRef(ref: boolean): void;
}
