/** The wire protocol, version 1: docs/protocol.md. The C twin is cnode/src/protocol.h. */
export const PROTOCOL_VERSION = 1;

export const enum FrameKind {
  Hello = 1,
  Welcome = 2,
  Call = 3,
  Cast = 4,
  Reply = 5,
  Fail = 6,
  Info = 7,
  Stop = 8,
}

/** Owner → worker. */
export type HelloFrame = [FrameKind.Hello, version: number, cookie: string];
export type CallFrame = [FrameKind.Call, id: number, message: unknown];
export type CastFrame = [FrameKind.Cast, message: unknown];
export type StopFrame = [FrameKind.Stop];

/** Worker → owner. */
export type WelcomeFrame = [FrameKind.Welcome, version: number, node: string];
export type ReplyFrame = [FrameKind.Reply, id: number, node: string, response: unknown];
export type FailFrame = [FrameKind.Fail, id: number, node: string, reason: string];
export type InfoFrame = [FrameKind.Info, node: string, message: unknown];
export type WorkerFrame = WelcomeFrame | ReplyFrame | FailFrame | InfoFrame;

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
    default:
      return undefined;
  }
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

/**
 * The call id of a REPLY or FAIL frame that does not decode as a whole (its response holds
 * something the codec refuses), read from the frame's first bytes: `[5|6, id, ...`.
 */
export function peekReplyId(frame: Uint8Array): number | undefined {
  if (frame.length < 3 || frame[0] !== 0x94 || (frame[1] !== FrameKind.Reply && frame[1] !== FrameKind.Fail)) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const type = frame[2];
  if (type <= 0x7f) return type; // positive fixint
  if (type === 0xcc && frame.length >= 4) return view.getUint8(3);
  if (type === 0xcd && frame.length >= 5) return view.getUint16(3);
  if (type === 0xce && frame.length >= 7) return view.getUint32(3);
  return undefined;
}
