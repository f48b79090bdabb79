/** The wire protocol, version 2: docs/protocol.md. The C twin is cnode/src/protocol.h. */
export const PROTOCOL_VERSION = 2;

export const enum FrameKind {
  Hello = 1,
  Welcome = 2,
  Call = 3,
  Cast = 4,
  Reply = 5,
  Fail = 6,
  Info = 7,
  Stop = 8,
  Ping = 9,
  Pong = 10,
  Release = 11,
}

/** Owner → worker. */
export type HelloFrame = [FrameKind.Hello, version: number, cookie: string];
export type CallFrame = [FrameKind.Call, id: number, message: unknown];
export type CastFrame = [FrameKind.Cast, message: unknown];
export type StopFrame = [FrameKind.Stop];
export type PingFrame = [FrameKind.Ping, seq: number];
/** The owner is done with a SharedBuffer: the worker unmaps it. */
export type ReleaseFrame = [FrameKind.Release, inode: bigint];

/** Worker → owner. */
export type WelcomeFrame = [FrameKind.Welcome, version: number, node: string];
export type ReplyFrame = [FrameKind.Reply, id: number, node: string, response: unknown];
export type FailFrame = [FrameKind.Fail, id: number, node: string, reason: string];
export type InfoFrame = [FrameKind.Info, node: string, message: unknown];
export type PongFrame = [FrameKind.Pong, seq: number];
export type WorkerFrame = WelcomeFrame | ReplyFrame | FailFrame | InfoFrame | PongFrame;

/** Checks the shape of a decoded frame from the worker; returns undefined for anything else. */
export function asWorkerFrame(value: unknown): WorkerFrame | undefined {
  if (!Array.isArray(value)) return undefined;
  const [kind, a, b, c] = value;
  switch (kind) {
    case FrameKind.Welcome:
      return value.length === 3 && typeof a === 'number' && typeof b === 'string' ? (value as WelcomeFrame) : undefined;
    case FrameKind.Reply:
      return value.length === 4 && isId(a) && typeof b === 'string' ? (value as ReplyFrame) : undefined;
    case FrameKind.Fail:
      return value.length === 4 && isId(a) && typeof b === 'string' && typeof c === 'string' ? (value as FailFrame) : undefined;
    case FrameKind.Info:
      return value.length === 3 && typeof a === 'string' ? (value as InfoFrame) : undefined;
    case FrameKind.Pong:
      return value.length === 2 && isId(a) ? (value as PongFrame) : undefined;
    default:
      return undefined;
  }
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}
