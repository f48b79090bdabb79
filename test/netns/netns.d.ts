// Types of netns.js (plain JavaScript, shared with the bench).

/** A network namespace joined to the owner's by a veth pair. */
export interface Namespace {
  /** `cnode-<pid>-<n>`, as `ip netns` names it. */
  readonly name: string;
  /** The veth end in the owner's namespace: cut() and restore() set it down and up. */
  readonly hostVeth: string;
  /** The veth end inside. */
  readonly farVeth: string;
  /** N in 10.213.N.0/30. */
  readonly subnet: number;
  /** 10.213.N.1: the owner's side of the link. */
  readonly hostAddress: string;
  /** 10.213.N.2: the namespace's side, where its workers bind. */
  readonly farAddress: string;
  /** `['ip', 'netns', 'exec', name]`: a command prefix that runs the rest inside. */
  readonly exec: readonly string[];
}

export function create(): Namespace;
export function cut(ns: Namespace): void;
export function restore(ns: Namespace): void;
export function pids(ns: Namespace | string): number[];
export function killAll(ns: Namespace | string): number[];
export function remove(ns: Namespace): void;
export function removeAll(): void;
export function sweepStale(): void;
export function unavailable(): string | undefined;
