import { Packr } from 'msgpackr';
import { CNodeError } from './errors.js';

// Records and structured cloning are msgpackr extensions a C peer cannot read; 'auto' gives a
// number for every safe integer and a bigint beyond 2^53.
// ('auto' is implemented by msgpackr but missing from its type declarations.)
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'bigint' });

/** msgpack-c, as Debian builds it, decodes 32 levels of arrays and maps; the frame takes one. */
export const MAX_DEPTH = 31;
const INT32_MIN = -0x8000_0000;
const UINT32_MAX = 0xffff_ffff;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** Encodes a frame made of the protocol's own fields only. */
export function encodeFrame(fields: readonly unknown[]): Buffer {
  return packr.pack(fields);
}

/**
 * Encodes a frame whose last field is the user's message. Throws ERR_CNODE_BAD_MESSAGE, naming
 * where in the message, for what MessagePack cannot carry.
 */
export function encodeMessageFrame(fields: readonly unknown[], message: unknown): Buffer {
  return packr.pack([...fields, toWire(message, '$', [])]);
}

/** Decodes the frames in one message, back to back. Binaries in the result share memory with `message`. */
export function decodeAll(message: Uint8Array): unknown[] {
  return packr.unpackMultiple(message) as unknown[];
}

// Returns `value` itself unless something inside needs a wire form, so the common case allocates
// nothing: containers are copied only on the path to a changed value.
function toWire(value: unknown, path: string, ancestors: object[]): unknown {
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
      if (value < INT64_MIN || value > UINT64_MAX) throw bad(path, 'a bigint outside the 64-bit range', value);
      return value;
    case 'object':
      if (value === null) return null;
      if (value instanceof Uint8Array) return value;
      if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      if (value instanceof ArrayBuffer) return new Uint8Array(value);
      if (ancestors.includes(value)) throw bad(path, 'a cycle', value);
      if (ancestors.length === MAX_DEPTH) throw bad(path, `arrays and maps nested deeper than ${MAX_DEPTH} levels`, value);
      ancestors.push(value);
      try {
        if (Array.isArray(value)) return wireArray(value, path, ancestors);
        if (value instanceof Map) return wireMap(value, path, ancestors);
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) throw bad(path, `a ${proto?.constructor?.name ?? 'class'} instance`, value);
        return wireObject(value as Record<string, unknown>, path, ancestors);
      } finally {
        ancestors.pop();
      }
    default:
      throw bad(path, `a ${typeof value}`, value);
  }
}

function wireArray(array: unknown[], path: string, ancestors: object[]): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const wired = toWire(array[i], `${path}[${i}]`, ancestors);
    if (wired !== array[i]) (out ??= array.slice())[i] = wired;
  }
  return out ?? array;
}

function wireObject(object: Record<string, unknown>, path: string, ancestors: object[]): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const wired = toWire(object[key], `${path}.${key}`, ancestors);
    if (wired !== object[key]) (out ??= { ...object })[key] = wired;
  }
  return out ?? object;
}

function wireMap(map: Map<unknown, unknown>, path: string, ancestors: object[]): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  for (const [key, item] of map) {
    out.set(toWire(key, `${path} key`, ancestors), toWire(item, `${path}.get(${String(key)})`, ancestors));
  }
  return out;
}

function bad(path: string, what: string, value: unknown): CNodeError {
  const shown = typeof value === 'bigint' || typeof value === 'symbol' ? ` (${String(value)})` : typeof value === 'function' ? ` (${value.name || 'anonymous'})` : '';
  return new CNodeError('ERR_CNODE_BAD_MESSAGE', `Cannot send ${what} at ${path}${shown}: messages carry null, booleans, numbers, bigints, strings, binaries, arrays, plain objects and Maps`);
}
