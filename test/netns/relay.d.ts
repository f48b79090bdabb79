// Types of relay.js (plain JavaScript, shared with the bench).

export interface Relay {
  /** Where it listens. */
  readonly host: string;
  readonly port: number;
  /** `<host>:<port>`, as `advertise` takes it. */
  readonly endpoint: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections open now. */
  readonly open: number;
  /** From now on drops every byte, both ways, and closes nothing: a link cut, which only a heartbeat can tell. */
  silence(): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

export function startRelay(options: {
  listen: { host: string; port?: number };
  target: { host: string; port: number };
  delayMs: number;
}): Promise<Relay>;
