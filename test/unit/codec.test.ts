// The codec on its own: what a message becomes on the wire and back, without a worker. The
// worker's side of the same bytes is tested by the rest of the suite.
import { describe, expect, it } from 'vitest';
import { BadMessage, decodeAll, encodeFrame, encodeMessageFrame } from '../../src/codec.js';
import { FrameKind, SIDE_MIN } from '../../src/protocol.js';

/** A frame as the worker would echo it: encoded, then decoded as one frame of a message. */
function roundTrip(message: unknown): unknown {
  const { frame, sides } = encodeMessageFrame([FrameKind.Call, 1], message);
  const [decoded] = decodeAll(frame, sides) as unknown[][];
  return decoded[2];
}

describe('codec', () => {
  it('round-trips every kind of value, Maps with any keys included', () => {
    const values = [
      null,
      true,
      0,
      -1,
      2 ** 40,
      2n ** 63n,
      1.5,
      '',
      'é',
      Buffer.from([1, 2]),
      [1, [2]],
      { a: { b: 1 } },
    ];
    for (const value of values) expect(roundTrip(value)).toEqual(value);
    expect(
      roundTrip(
        new Map<unknown, unknown>([
          [1, 'a'],
          [null, 'b'],
        ]),
      ),
    ).toEqual(
      new Map<unknown, unknown>([
        [1, 'a'],
        [null, 'b'],
      ]),
    );
    expect(roundTrip(new Map([['k', 1]]))).toEqual({ k: 1 });
    expect(roundTrip(undefined)).toBeNull();
  });

  it('keeps "__proto__" an own property on decode', () => {
    const decoded = roundTrip(JSON.parse('{"__proto__": 1}')) as object;
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toBe(1);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
  });

  it('decodes frames back to back, as a batch', () => {
    const batch = Buffer.concat([encodeFrame([FrameKind.Pong, 1]), encodeFrame([FrameKind.Pong, 2])]);
    expect(decodeAll(batch, [])).toEqual([
      [FrameKind.Pong, 1],
      [FrameKind.Pong, 2],
    ]);
  });

  it('moves binaries of SIDE_MIN bytes or more into side parts, copied unless transferred', () => {
    const big = new Uint8Array(SIDE_MIN).fill(7);
    const copied = encodeMessageFrame([FrameKind.Cast], { big, small: new Uint8Array(4) });
    expect(copied.sides).toHaveLength(1);
    expect(copied.sides[0].buffer).not.toBe(big.buffer);
    expect(decodeAll(copied.frame, copied.sides)).toEqual([
      [FrameKind.Cast, { big: Buffer.from(big), small: Buffer.alloc(4) }],
    ]);

    const moved = encodeMessageFrame([FrameKind.Cast], big, [big.buffer]);
    moved.takeTransfers();
    expect(big.byteLength).toBe(0); // detached, as postMessage does
    expect(moved.sides[0]).toEqual(Buffer.alloc(SIDE_MIN, 7));
  });

  it('refuses what MessagePack cannot carry, naming where, before anything is made', () => {
    const cases: [unknown, string][] = [
      [{ a: [1, () => 1] }, 'a function at $.a[1]'],
      [new Map([[1, Symbol('s')]]), 'a symbol at $.get(1)'],
      [{ d: new Date(0) }, 'a Date instance at $.d'],
      [
        {
          get boom() {
            throw new Error('no');
          },
        },
        'the value at $.boom: encoding it threw Error: no',
      ],
    ];
    for (const [message, text] of cases) {
      expect(() => encodeMessageFrame([FrameKind.Cast], message)).toThrow(BadMessage);
      expect(() => encodeMessageFrame([FrameKind.Cast], message)).toThrow(text);
    }
  });
});
