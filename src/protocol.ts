/**
 * The wire protocol, version 4 (docs/protocol.md): its numbers and its frames, as the owner sees them.
 *
 * Where the numbers live: the C library keeps them in cnode/src/protocol.h (and the version in
 * cnode/include/cnode.h), as compile-time constants C needs for array sizes and case labels and
 * the npm tarball builds with CMake alone; this file keeps them for the owner, the tests and
 * their JavaScript fixtures, which import them from dist/protocol.js. Neither is generated from
 * the other: a generator would be one more build step for both the clone and the tarball, and a
 * generated file one more thing to go stale. Instead test/protocol.test.ts compiles a C program
 * that prints every constant of protocol.h and compares it with this file, name by name and both
 * ways: CNODE_X there is X here, CNODE_FRAME_HELLO is FrameKind.Hello, and the two limits that
 * come from msgpack-c (MAX_DEPTH, MAX_SHARED_VIEW) are checked against its headers. A number
 * changed on one side only, or added to one side only, fails the suite. Elsewhere, import the
 * numbers from here rather than re-type them.
 */
export const PROTOCOL_VERSION = 4;

/** The first element of every frame's array (docs/protocol.md section 2). */
export const FrameKind = {
  Hello: 1,
  Welcome: 2,
  Call: 3,
  Cast: 4,
  Reply: 5,
  Fail: 6,
  Info: 7,
  Stop: 8,
  Ping: 9,
  Pong: 10,
  Release: 11,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];
/** Each kind is a type too, as with the enum this object replaces: `[FrameKind.Hello, ...]`. */
export declare namespace FrameKind {
  type Hello = typeof FrameKind.Hello;
  type Welcome = typeof FrameKind.Welcome;
  type Call = typeof FrameKind.Call;
  type Cast = typeof FrameKind.Cast;
  type Reply = typeof FrameKind.Reply;
  type Fail = typeof FrameKind.Fail;
  type Info = typeof FrameKind.Info;
  type Stop = typeof FrameKind.Stop;
  type Ping = typeof FrameKind.Ping;
  type Pong = typeof FrameKind.Pong;
  type Release = typeof FrameKind.Release;
}

/** The cookie: 64 hex characters (32 random bytes), fresh per start (section 1). */
export const COOKIE_LEN = 64;
/** A FAIL's code (cnode_fail_code, the error's remoteCode): 1 to this many bytes of printable ASCII (section 2). */
export const CODE_MAX = 64;
/** What a FAIL's code may be: it goes into error messages and logs, so no control character. */
const REMOTE_CODE = new RegExp(`^[\\x20-\\x7e]{1,${CODE_MAX}}$`);
/** More than any HELLO takes: the worker drops a bigger frame from a peer before its handshake, unread (section 3). */
export const HELLO_MAX_SIZE = 128;

/**
 * Binaries of this many bytes or more travel as their own ZeroMQ part beside the frames, not
 * copied through MessagePack (section 2).
 */
export const SIDE_MIN = 32768;
/** The most side parts in one message. */
export const MAX_SIDES = 64;
/** The ext type that stands for a side part in a frame: its data is the part's index, 4 bytes big-endian. */
export const EXT_SIDE = 1;

/** The ext type that names bytes of a SharedBuffer (section 5). */
export const EXT_SHARED = 2;
/** Its data: fd (4), inode (8), offset (8), length (8), big-endian. */
export const SHARED_REF_SIZE = 28;
/** The most SharedBuffer references one message may hold. */
export const MAX_SHARED = 16;
/** The most bytes one reference may name: a C handler's BIN has a 32-bit size. */
export const MAX_SHARED_VIEW = 0xffff_ffff;

/** msgpack-c, as Debian builds it, decodes 32 levels of arrays and maps; the frame takes one (section 5). */
export const MAX_DEPTH = 31;

/** The most bytes of frames sent together in one message, either way (section 2). */
export const BATCH_BYTES = 65536;
/** The worker's batching: it holds replies at most this many microseconds after the first... */
export const BATCH_MICROS = 1000;
/** ...and holds none while its handlers take longer than this many microseconds on average. */
export const BATCH_SLOW_MICROS = 50;

/** Owner → worker. */
export type HelloFrame = [FrameKind.Hello, version: number, cookie: string];
export type CallFrame = [FrameKind.Call, id: number, message: unknown];
export type CastFrame = [FrameKind.Cast, message: unknown];
export type StopFrame = [FrameKind.Stop];
export type PingFrame = [FrameKind.Ping, seq: number];
/** The owner is done with a SharedBuffer: the worker unmaps it. */
export type ReleaseFrame = [FrameKind.Release, inode: bigint];

/** Worker → owner. */
/** `pid`: the worker's own, on its host (which may not be the owner's). */
export type WelcomeFrame = [FrameKind.Welcome, version: number, node: string, pid: number];
export type ReplyFrame = [FrameKind.Reply, id: number, node: string, response: unknown];
/** `code` is the worker's own error code (cnode_fail_code), when it gave one. */
export type FailFrame = [FrameKind.Fail, id: number, node: string, reason: string, code?: string];
export type InfoFrame = [FrameKind.Info, node: string, message: unknown];
export type PongFrame = [FrameKind.Pong, seq: number];
export type WorkerFrame = WelcomeFrame | ReplyFrame | FailFrame | InfoFrame | PongFrame;

/** Checks the shape of a decoded frame from the worker; returns undefined for anything else. */
export function asWorkerFrame(value: unknown): WorkerFrame | undefined {
  if (!Array.isArray(value)) return undefined;
  const [kind, a, b, c] = value;
  switch (kind) {
    case FrameKind.Welcome:
      // Version 2's had no pid: taken, so that the handshake can say which version it speaks.
      if (value.length === 3 && typeof a === 'number' && a !== PROTOCOL_VERSION && typeof b === 'string')
        return [kind, a, b, 0];
      return value.length === 4 && typeof a === 'number' && typeof b === 'string' && isId(c)
        ? (value as WelcomeFrame)
        : undefined;
    case FrameKind.Reply:
      return value.length === 4 && isId(a) && typeof b === 'string' ? (value as ReplyFrame) : undefined;
    case FrameKind.Fail:
      return (value.length === 4 ||
        (value.length === 5 && typeof value[4] === 'string' && REMOTE_CODE.test(value[4]))) &&
        isId(a) &&
        typeof b === 'string' &&
        typeof c === 'string'
        ? (value as FailFrame)
        : undefined;
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
