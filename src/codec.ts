import { addExtension, Packr } from 'msgpackr';
import { writeSimpleFrame } from './frame-writer.js';
import {
  EXT_SHARED,
  EXT_SIDE,
  MAX_DEPTH,
  MAX_SHARED,
  MAX_SHARED_VIEW,
  MAX_SIDES,
  SHARED_REF_SIZE,
  SIDE_MIN,
} from './protocol.js';
import { SharedBuffer, sharedBufferOf } from './shared-buffer.js';

// The protocol's numbers are src/protocol.ts's; these stay exported for modules that import them from the codec.
export { MAX_DEPTH, MAX_SHARED, MAX_SIDES, SIDE_MIN };

// Records and structured cloning are msgpackr extensions a C peer cannot read; 'auto' gives a
// number for every safe integer and a bigint beyond 2^53 ('auto' is implemented by msgpackr but
// missing from its type declarations). Maps decode as Maps, whatever their keys: as objects,
// msgpackr would turn a key 1, true or nil into the string "1", "true" or "null", "__proto__"
// into "__proto_", and fail on any other key; fromWire() makes objects of the string-keyed ones.
// variableMapSize: msgpackr's fast writer holds at most 65,535 keys per object.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
  int64AsType: 'auto' as 'bigint',
});

const INT32_MIN = -0x8000_0000;
const UINT32_MAX = 0xffff_ffff;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** A binary's place among the side parts of the message being encoded. */
class SideRef {
  constructor(readonly index: number) {}
}

/** Bytes of a SharedBuffer, named in a message instead of copied into it. */
class SharedRef {
  constructor(
    readonly shared: SharedBuffer,
    readonly offset: number,
    readonly length: number,
  ) {}
}

addExtension({
  Class: SharedRef,
  type: EXT_SHARED,
  pack: ({ shared, offset, length }: SharedRef) => {
    const data = Buffer.alloc(SHARED_REF_SIZE);
    data.writeUInt32BE(shared.fd, 0);
    data.writeBigUInt64BE(BigInt(shared.inode), 4);
    data.writeBigUInt64BE(BigInt(offset), 12);
    data.writeBigUInt64BE(BigInt(length), 20);
    return data;
  },
});

/** The side parts of the message being decoded: what EXT_SIDE values resolve to. */
let receivedSides: Buffer[] = [];

addExtension({
  Class: SideRef,
  type: EXT_SIDE,
  pack: (ref: SideRef) => {
    const data = Buffer.alloc(4);
    data.writeUInt32BE(ref.index);
    return data;
  },
  // msgpackr's extensions are global to the process: outside cnode's own decoding this type means
  // nothing, and saying so beats a wrong value.
  unpack: (data: Buffer) => {
    const index = data.length === 4 ? data.readUInt32BE(0) : 0;
    const side = receivedSides[index - 1];
    if (!side)
      throw new Error(
        `a side-part reference to part ${index} of a message with ${receivedSides.length + 1} parts (MessagePack ext type ${EXT_SIDE} is cnode's)`,
      );
    return side;
  },
});

/**
 * A frame, the binaries that travel beside it (parts 1, 2, ... of its message), and the
 * SharedBuffers it names. Side parts in transferred ArrayBuffers are views of the caller's memory
 * until takeTransfers() moves that memory out of the caller's hands.
 */
export interface Encoded {
  frame: Buffer;
  sides: Buffer[];
  shared: SharedBuffer[];
  takeTransfers(): void;
}

/** Encodes a frame made of the protocol's own fields only. */
export function encodeFrame(fields: readonly unknown[]): Buffer {
  return packr.pack(fields);
}

/**
 * Encodes a frame whose last field is the user's message. Throws ERR_CNODE_BAD_MESSAGE, naming
 * where in the message, for what MessagePack cannot carry. Binaries of SIDE_MIN bytes or more
 * (the first MAX_SIDES of them) become side parts, copied, so that the caller may change its
 * buffers as soon as this returns; but those in an ArrayBuffer of `transfer` are taken without a
 * copy by takeTransfers(), which detaches every ArrayBuffer of `transfer`, as postMessage does.
 */
export function encodeMessageFrame(
  fields: readonly unknown[],
  message: unknown,
  transfer?: readonly ArrayBuffer[],
  stager?: Stager,
): Encoded {
  if (transfer === undefined || transfer.length === 0) {
    // Most messages: a string or a small number, which need neither a wire form nor msgpackr.
    const frame = writeSimpleFrame(fields, message);
    if (frame !== undefined) return { frame, sides: NO_SIDES, shared: NO_SHARED, takeTransfers: nothingToTake };
  }
  const walk = takeWalk();
  try {
    if (transfer !== undefined && transfer.length > 0) walk.transfer = new Set(transfer);
    walk.stager = stager;
    const frame = packr.pack([...fields, toWire(message, walk)]);
    const { sides = NO_SIDES, shared = NO_SHARED, transfer: moving, transferred = [] } = walk;
    if (moving === NO_TRANSFER) return { frame, sides, shared, takeTransfers: nothingToTake };
    return { frame, sides, shared, takeTransfers: () => takeTransfers(moving, sides, transferred) };
  } catch (error) {
    if (walk.sides && stager) for (const side of walk.sides) stager.unstage(side);
    // A getter or a Proxy that throws, or a message too big for a Buffer: refused all the same.
    if (error instanceof BadMessage) throw error;
    const where = walk.path.length > 0 ? `the value at ${pathText(walk.path)}` : 'the message';
    throw new BadMessage(`${where}: encoding it threw ${String(error)}`, '', error);
  } finally {
    putWalk(walk);
  }
}

const NO_TRANSFER: ReadonlySet<ArrayBufferLike> = new Set();
// What a message with no binaries carries beside its frame: nothing, and nothing may be added.
const NO_SIDES: Buffer[] = Object.freeze([]) as unknown as Buffer[];
const NO_SHARED: SharedBuffer[] = Object.freeze([]) as unknown as SharedBuffer[];

function nothingToTake(): void {}

function takeTransfers(transfer: ReadonlySet<ArrayBufferLike>, sides: Buffer[], transferred: Transferred[]): void {
  // A SharedBuffer's memory is never copied into a message: moving it would only cost a copy.
  const buffers = [...transfer].filter((buffer) => !sharedBufferOf(buffer)) as ArrayBuffer[];
  if (buffers.length === 0) return;
  // What cannot be detached (marked untransferable, or external memory such as zeromq.js's) is
  // copied instead, and stays the caller's: structuredClone does that by itself.
  const moved = structuredClone(buffers, { transfer: buffers });
  const movedFrom = new Map(buffers.map((buffer, i) => [buffer, moved[i]]));
  for (const { index, buffer, byteOffset, byteLength } of transferred) {
    sides[index] = Buffer.from(movedFrom.get(buffer)!, byteOffset, byteLength);
  }
}

/**
 * Decodes the frames in one message, back to back, with its side parts. Binaries in the result
 * share memory with the message's parts.
 */
export function decodeAll(frames: Uint8Array, sides: Buffer[]): unknown[] {
  receivedSides = sides;
  try {
    const values = packr.unpackMultiple(frames) as unknown[];
    for (let i = 0; i < values.length; i++) values[i] = fromWire(values[i]);
    return values;
  } finally {
    receivedSides = [];
  }
}

/**
 * A decoded value as the user gets it: a map whose keys are all strings becomes a plain object
 * with exactly those keys (`__proto__` included, as an own property: nothing reaches the
 * prototype); a map with any other key stays a Map. Arrays and Maps are changed in place.
 */
function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) value[i] = fromWire(item);
    }
    return value;
  }
  return value instanceof Map ? mapFromWire(value) : value; // else a primitive or a Buffer
}

/** One pass while the keys are strings, the common case; a Map as soon as one is not. */
function mapFromWire(map: Map<unknown, unknown>): Map<unknown, unknown> | Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, item] of map) {
    if (typeof key !== 'string') return mapOfAnyKeys(map);
    const wired = typeof item === 'object' && item !== null ? fromWire(item) : item;
    if (key === '__proto__')
      Object.defineProperty(object, key, { value: wired, writable: true, enumerable: true, configurable: true });
    else object[key] = wired;
  }
  return object;
}

function mapOfAnyKeys(map: Map<unknown, unknown>): Map<unknown, unknown> {
  const keysChange = [...map.keys()].some((key) => typeof key === 'object' && key !== null);
  if (keysChange) return new Map([...map].map(([key, item]) => [fromWire(key), fromWire(item)]));
  for (const [key, item] of map) map.set(key, fromWire(item));
  return map;
}

/** A binary of the caller's that travels as side part `index` once takeTransfers() has moved it. */
interface Transferred {
  index: number;
  buffer: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

/**
 * One encoding's walk through a message: where it is, and what travels beside the frame. What
 * travels beside it is made only when a binary or a SharedBuffer is met, so that a message of
 * plain values allocates nothing for it.
 */
class Walk {
  /** The arrays, objects and Maps the walk is inside, for cycles and depth. */
  readonly ancestors: object[] = [];
  /** Where the walk is: keys and indexes, made into a path such as `$.a[2]` only for an error. */
  readonly path: Step[] = [];
  sides: Buffer[] | undefined = undefined;
  shared: SharedBuffer[] | undefined = undefined; // each once
  sharedRefs = 0;
  transfer: ReadonlySet<ArrayBufferLike> = NO_TRANSFER;
  transferred: Transferred[] | undefined = undefined;
  /** How a big binary is copied into its side part: the connection's stage(), if it has one. */
  stager: Stager | undefined = undefined;
}

/** How a transport copies a big binary straight into what will carry it (Connection.stage). */
export interface Stager {
  /** A copy of `bytes` in memory the transport sends as it is, or undefined: copy it as usual. */
  stage(bytes: Uint8Array): Buffer | undefined;
  /** A copy that will not be sent: its memory goes now. */
  unstage(buffer: Buffer): void;
}

/** A walk not in use: encoding is synchronous, but a getter in a message may encode another. */
let idleWalk: Walk | undefined = new Walk();

function takeWalk(): Walk {
  const walk = idleWalk ?? new Walk();
  idleWalk = undefined;
  return walk;
}

function putWalk(walk: Walk): void {
  // Both are empty unless the walk threw; emptying an empty one costs a call into the runtime.
  if (walk.ancestors.length > 0) walk.ancestors.length = 0;
  if (walk.path.length > 0) walk.path.length = 0;
  walk.sides = walk.shared = walk.transferred = undefined;
  walk.sharedRefs = 0;
  walk.transfer = NO_TRANSFER;
  walk.stager = undefined;
  idleWalk = walk;
}

/** A step of the path into a message: a key, an index, or into a Map's key or value. */
type Step = string | number | { mapKey: true } | { mapValue: unknown };

/**
 * The wire form of binary bytes: a SharedBuffer's are named, not copied; a big binary is copied
 * into its own side part; smaller ones, and those past MAX_SIDES, stay inline.
 */
function wireBinary(value: ArrayBufferView | ArrayBuffer, walk: Walk): Uint8Array | SideRef | SharedRef {
  const view = ArrayBuffer.isView(value) ? value : { buffer: value, byteOffset: 0, byteLength: value.byteLength };
  const shared = sharedBufferOf(view.buffer); // before any new view: a released one is detached
  if (shared) return wireShared(shared, view.byteOffset, view.byteLength, walk);
  const bytes = value instanceof Uint8Array ? value : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (bytes.byteLength < SIDE_MIN) return bytes;
  walk.sides ??= [];
  const sides = walk.sides;
  if (sides.length === MAX_SIDES) return bytes;
  if (walk.transfer.has(bytes.buffer)) {
    // The caller's own memory, for now: takeTransfers() moves it out of the caller's hands.
    walk.transferred ??= [];
    walk.transferred.push({
      index: sides.length,
      buffer: bytes.buffer as ArrayBuffer,
      byteOffset: bytes.byteOffset,
      byteLength: bytes.byteLength,
    });
    sides.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } else {
    // A copy: the transport sends from it later (zeromq.js without one of its own).
    sides.push(walk.stager?.stage(bytes) ?? Buffer.from(bytes));
  }
  return new SideRef(sides.length);
}

function wireShared(shared: SharedBuffer, offset: number, length: number, walk: Walk): SharedRef {
  if (shared.released) throw bad(walk, `a released SharedBuffer (inode ${shared.inode})`, shared);
  if (length > MAX_SHARED_VIEW)
    throw bad(
      walk,
      `a SharedBuffer view of ${length} bytes (a C handler's BIN holds at most ${MAX_SHARED_VIEW})`,
      shared,
    );
  if (++walk.sharedRefs > MAX_SHARED)
    throw bad(walk, `more than ${MAX_SHARED} SharedBuffer references in one message`, shared);
  walk.shared ??= [];
  if (!walk.shared.includes(shared)) walk.shared.push(shared);
  return new SharedRef(shared, offset, length);
}

// Returns `value` itself unless something inside needs a wire form, so the common case allocates
// nothing: containers are copied only on the path to a changed value.
function toWire(value: unknown, walk: Walk): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'undefined':
      return null;
    case 'number':
      // msgpackr writes integers beyond 32 bits as float64; a C handler should see an integer.
      return Number.isSafeInteger(value) && (value < INT32_MIN || value > UINT32_MAX) ? BigInt(value) : value;
    case 'bigint':
      if (value < INT64_MIN || value > UINT64_MAX) throw bad(walk, 'a bigint outside the 64-bit range', value);
      return value;
    case 'object': {
      if (value === null) return null;
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return wireBinary(value, walk);
      if (value instanceof SharedBuffer) return wireShared(value, 0, value.byteLength, walk);
      const ancestors = walk.ancestors;
      if (ancestors.includes(value)) throw bad(walk, 'a cycle', value);
      if (ancestors.length === MAX_DEPTH)
        throw bad(walk, `arrays and maps nested deeper than ${MAX_DEPTH} levels`, value);
      ancestors.push(value);
      try {
        if (Array.isArray(value)) return wireArray(value, walk);
        if (value instanceof Map) return wireMap(value, walk);
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null)
          throw bad(walk, `a ${proto?.constructor?.name ?? 'class'} instance`, value);
        return wireObject(value as Record<string, unknown>, walk);
      } finally {
        ancestors.pop();
      }
    }
    default:
      throw bad(walk, `a ${typeof value}`, value);
  }
}

function wireArray(array: unknown[], walk: Walk): unknown[] {
  let out: unknown[] | undefined;
  const path = walk.path;
  const depth = path.push(0) - 1;
  for (let i = 0; i < array.length; i++) {
    path[depth] = i;
    const wired = toWire(array[i], walk);
    if (wired !== array[i]) {
      out ??= array.slice();
      out[i] = wired;
    }
  }
  path.pop();
  return out ?? array;
}

function wireObject(object: Record<string, unknown>, walk: Walk): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  const path = walk.path;
  const depth = path.push('') - 1;
  for (const key of Object.keys(object)) {
    path[depth] = key;
    const item = object[key];
    const wired = toWire(item, walk);
    if (wired !== item) {
      out ??= { ...object };
      out[key] = wired;
    }
  }
  path.pop();
  return out ?? object;
}

function wireMap(map: Map<unknown, unknown>, walk: Walk): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  const path = walk.path;
  const depth = path.push('') - 1;
  for (const [key, item] of map) {
    path[depth] = { mapKey: true };
    const wiredKey = toWire(key, walk);
    path[depth] = { mapValue: key };
    out.set(wiredKey, toWire(item, walk));
  }
  path.pop();
  return out;
}

/**
 * Why a message cannot be sent: what, and where in the message. The node it was for turns it
 * into an ERR_CNODE_BAD_MESSAGE naming the node.
 */
export class BadMessage extends Error {
  constructor(
    what: string,
    /** What messages may carry, when that is the problem. */
    readonly hint: string,
    cause?: unknown,
  ) {
    super(what, cause === undefined ? undefined : { cause });
  }
}

const CARRIED = 'messages carry null, booleans, numbers, bigints, strings, binaries, arrays, plain objects and Maps';

function bad(walk: Walk, what: string, value: unknown): BadMessage {
  const shown =
    typeof value === 'bigint' || typeof value === 'symbol'
      ? ` (${String(value)})`
      : typeof value === 'function'
        ? ` (${value.name || 'anonymous'})`
        : '';
  return new BadMessage(
    `${what} at ${pathText(walk.path)}${shown}`,
    value instanceof SharedBuffer || ArrayBuffer.isView(value) ? '' : CARRIED,
  );
}

/** `$.a[2]`, `$.m key`, `$.m.get(k)`. */
function pathText(path: readonly Step[]): string {
  let text = '$';
  for (const step of path) {
    if (typeof step === 'number') text += `[${step}]`;
    else if (typeof step === 'string') text += `.${step}`;
    else if ('mapKey' in step) text += ' key';
    else text += `.get(${String(step.mapValue)})`;
  }
  return text;
}
