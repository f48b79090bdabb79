// The frame writer on its own: the frames it writes must be msgpackr's bytes exactly, since the
// codec uses it in msgpackr's place for the simple ones.
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codec.js';
import { writeSimpleFrame } from '../../src/frame-writer.js';
import { FrameKind } from '../../src/protocol.js';

const ascii = (n: number) => 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(n / 36)).slice(0, n);

describe('writeSimpleFrame', () => {
  it('writes the bytes msgpackr writes, for every length of string header and every integer form', () => {
    const strings = [0, 1, 31, 32, 63, 64, 65, 255, 256, 1000, 4096].map(ascii);
    strings.push(
      'é',
      'é'.repeat(16), // 16 units, 32 bytes: the header grows past the guess
      'é'.repeat(40), // 80 bytes
      '€'.repeat(100), // 300 bytes: a str16 after a str8 guess
      '😀'.repeat(20), // surrogate pairs, by the loop
      '😀'.repeat(40), // and by utf8Write
      '\ud800', // a lone surrogate, by the loop: msgpackr writes its three bytes
      `${ascii(70)}\ud800`, // and by utf8Write, which replaces it
      `a\udc00b`,
    );
    const integers = [0, -0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffff_ffff, -1, -0x20, -0x21, -0x80, -0x81];
    integers.push(-0x8000, -0x8001, -0x8000_0000);
    const values: unknown[] = [...strings, ...integers, true, false, null];
    const fieldSets = [
      [FrameKind.Call, 1],
      [FrameKind.Call, 0x80],
      [FrameKind.Call, 0xffff_ffff],
      [FrameKind.Cast],
      [],
    ];
    for (const fields of fieldSets) {
      for (const value of values) {
        const written = writeSimpleFrame(fields, value);
        expect(written, `${JSON.stringify(fields)} ${JSON.stringify(value)}`).toEqual(encodeFrame([...fields, value]));
      }
    }
    expect(writeSimpleFrame([FrameKind.Cast], undefined)).toEqual(encodeFrame([FrameKind.Cast, null]));
  });

  it('leaves every other frame to msgpackr', () => {
    for (const value of [
      1.5,
      2 ** 32,
      -(2 ** 31) - 1,
      Number.NaN,
      1n,
      ascii(4097),
      [1],
      {},
      Buffer.alloc(1),
      Symbol('s'),
    ]) {
      expect(writeSimpleFrame([FrameKind.Call, 1], value)).toBeUndefined();
    }
    for (const fields of [
      [FrameKind.Call, -1],
      [FrameKind.Call, 1.5],
      [FrameKind.Call, 2 ** 32],
      ['x'],
      Array(15).fill(1),
    ]) {
      expect(writeSimpleFrame(fields, 'ok')).toBeUndefined();
    }
  });

  it('never writes over a frame it handed out, across many buffers', () => {
    const frames = Array.from(
      { length: 3000 },
      (_, i) => [i, writeSimpleFrame([FrameKind.Call, i], `${i} ${ascii(90)}`)] as const,
    );
    for (const [i, frame] of frames) expect(frame).toEqual(encodeFrame([FrameKind.Call, i, `${i} ${ascii(90)}`]));
  });
});
