/**
 * The frames most calls are: a few protocol integers and one plain value (a string, a small
 * integer, a boolean, null), written without msgpackr, whose setup for each pack() costs more
 * than such a frame's bytes. The bytes are exactly those msgpackr writes (test/unit/codec.test.ts
 * compares them), so a worker cannot tell the two apart.
 */

/** Frames are written back to back into one buffer and handed out as views of it, as msgpackr does with its own. */
const SCRATCH_BYTES = 64 * 1024;
let scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
let used = 0;

/**
 * Buffer's own UTF-8 writer, under write(): write() checks its arguments and the encoding's name
 * first, which costs more than copying a short string (msgpackr calls utf8Write() too).
 */
interface Utf8Writable {
  utf8Write(value: string, offset: number, length: number): number;
}
const hasUtf8Write = typeof (Buffer.prototype as Partial<Utf8Writable>).utf8Write === 'function';

/** Longer strings, in UTF-16 units, are left to msgpackr. */
const MAX_CHARS = 4096;
/** msgpackr writes a string this short with its own loop, and a longer one with utf8Write(): they differ on a lone surrogate. */
const LOOP_CHARS = 0x40;

/**
 * The frame `[...fields, value]`, when every field is an unsigned 32-bit integer and `value` is
 * undefined or null (both nil), a boolean, a 32-bit integer or a string of at most MAX_CHARS;
 * undefined when it is not such a frame.
 */
export function writeSimpleFrame(fields: readonly unknown[], value: unknown): Buffer | undefined {
  const count = fields.length + 1;
  if (count > 15) return undefined; // a fixarray's most
  let room = 1 + 5 * fields.length;
  switch (typeof value) {
    case 'string':
      if (value.length > MAX_CHARS) return undefined;
      room += 5 + 3 * value.length;
      break;
    case 'number':
      if (value >>> 0 !== value && value >> 0 !== value) return undefined;
      room += 5;
      break;
    case 'boolean':
    case 'undefined':
      room += 1;
      break;
    default:
      if (value !== null) return undefined;
      room += 1;
  }
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (typeof field !== 'number' || field >>> 0 !== field) return undefined;
  }
  if (scratch.length - used < room) {
    scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    used = 0;
  }
  const target = scratch;
  let at = used;
  target[at++] = 0x90 | count;
  for (let i = 0; i < fields.length; i++) at = writeInteger(target, at, fields[i] as number);
  if (typeof value === 'string') at = writeString(target, at, value);
  else if (typeof value === 'number') at = writeInteger(target, at, value);
  else target[at++] = value === true ? 0xc3 : value === false ? 0xc2 : 0xc0;
  const frame = target.subarray(used, at);
  used = at;
  return frame;
}

/** A 32-bit integer, signed or not, in its shortest form (a positive fixint up to 0x7f: msgpackr's useRecords: false). */
function writeInteger(target: Buffer, at: number, value: number): number {
  if (value >>> 0 === value) {
    if (value < 0x80) {
      target[at++] = value;
    } else if (value < 0x100) {
      target[at++] = 0xcc;
      target[at++] = value;
    } else if (value < 0x10000) {
      target[at++] = 0xcd;
      target[at++] = value >> 8;
      target[at++] = value & 0xff;
    } else {
      target[at++] = 0xce;
      target[at++] = value >>> 24;
      target[at++] = (value >> 16) & 0xff;
      target[at++] = (value >> 8) & 0xff;
      target[at++] = value & 0xff;
    }
  } else if (value >= -0x20) {
    target[at++] = 0x100 + value;
  } else if (value >= -0x80) {
    target[at++] = 0xd0;
    target[at++] = value + 0x100;
  } else if (value >= -0x8000) {
    target[at++] = 0xd1;
    target.writeInt16BE(value, at);
    at += 2;
  } else {
    target[at++] = 0xd2;
    target.writeInt32BE(value, at);
    at += 4;
  }
  return at;
}

/** A string, as msgpackr writes it: its UTF-8 bytes after the shortest str header for their count. */
function writeString(target: Buffer, at: number, value: string): number {
  const chars = value.length;
  // The header is guessed from the count of UTF-16 units, and moved once the bytes are counted.
  const guess = chars < 0x20 ? 1 : chars < 0x100 ? 2 : chars < 0x10000 ? 3 : 5;
  let length: number;
  if (chars < LOOP_CHARS) {
    let out = at + guess;
    for (let i = 0; i < chars; i++) {
      let c1 = value.charCodeAt(i);
      if (c1 < 0x80) {
        target[out++] = c1;
      } else if (c1 < 0x800) {
        target[out++] = (c1 >> 6) | 0xc0;
        target[out++] = (c1 & 0x3f) | 0x80;
      } else if ((c1 & 0xfc00) === 0xd800 && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        const c2 = value.charCodeAt(i + 1);
        c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
        i++;
        target[out++] = (c1 >> 18) | 0xf0;
        target[out++] = ((c1 >> 12) & 0x3f) | 0x80;
        target[out++] = ((c1 >> 6) & 0x3f) | 0x80;
        target[out++] = (c1 & 0x3f) | 0x80;
      } else {
        // A lone surrogate too, as msgpackr's loop does.
        target[out++] = (c1 >> 12) | 0xe0;
        target[out++] = ((c1 >> 6) & 0x3f) | 0x80;
        target[out++] = (c1 & 0x3f) | 0x80;
      }
    }
    length = out - at - guess;
  } else {
    const room = target.length - at - guess;
    length = hasUtf8Write
      ? (target as Buffer & Utf8Writable).utf8Write(value, at + guess, room)
      : target.write(value, at + guess, room, 'utf8');
  }
  if (length < 0x20) {
    target[at++] = 0xa0 | length;
  } else if (length < 0x100) {
    if (guess < 2) target.copyWithin(at + 2, at + 1, at + 1 + length);
    target[at++] = 0xd9;
    target[at++] = length;
  } else if (length < 0x10000) {
    if (guess < 3) target.copyWithin(at + 3, at + guess, at + guess + length);
    target[at++] = 0xda;
    target[at++] = length >> 8;
    target[at++] = length & 0xff;
  } else {
    if (guess < 5) target.copyWithin(at + 5, at + guess, at + guess + length);
    target[at++] = 0xdb;
    target.writeUInt32BE(length, at);
    at += 4;
  }
  return at + length;
}
