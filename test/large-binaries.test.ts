// Binaries of 32 KiB or more travel as their own ZeroMQ parts beside the frames (docs/protocol.md
// section 2). These tests check that they arrive intact, in their places, whatever their number
// and mix, and that a caller's buffer is its own again once call() returns.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode } from '../src/index.js';
import { workerOptions } from './helpers.js';

/** `value` with each binary replaced by its length and hash: toEqual compares big Buffers byte by byte, slowly. */
function digest(value: unknown): unknown {
  if (value instanceof Uint8Array) return `${value.length} bytes, sha256 ${createHash('sha256').update(value).digest('hex')}`;
  if (Array.isArray(value)) return value.map(digest);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, digest(item)]));
  return value;
}

let node: CNode;
beforeAll(async () => {
  node = await CNode.start(workerOptions('echo').options);
});
afterAll(async () => {
  await node.stop();
});

describe('large binaries', () => {
  it('arrive intact at every size around the side-part threshold, up to 16 MiB', async () => {
    for (const size of [32767, 32768, 32769, 1 << 20, 16 << 20]) {
      const bytes = randomBytes(size);
      const back = (await node.call(bytes)) as Buffer;
      expect(back.length, `${size}`).toBe(size);
      expect(back.equals(bytes), `${size}`).toBe(true);
    }
  });

  it('keep their places among small values, nested, and past the 64 side parts a message may have', async () => {
    const message = {
      small: Buffer.from('inline'),
      list: Array.from({ length: 70 }, (_, i) => randomBytes(32768 + i)), // 6 of them inline
      nested: { deep: [[randomBytes(100_000)], 'text', 42] },
    };
    expect(digest(await node.call(message))).toEqual(digest(message));
  });

  it('are transformed in place by the worker, and a typed array the caller passed is not changed', async () => {
    const values = Float64Array.from({ length: 1 << 17 }, (_, i) => i / 4); // 1 MiB
    const back = (await node.call({ op: 'scale', factor: 2, data: values })) as Buffer;
    const scaled = new Float64Array(back.buffer, back.byteOffset, back.length / 8);
    expect(scaled.length).toBe(values.length);
    expect(scaled.every((x, i) => x === i / 2)).toBe(true);
    expect(values[values.length - 1]).toBe((values.length - 1) / 4); // the caller's own, untouched
  });

  it("are copied by call(): changing the caller's buffer at once does not change what the worker gets", async () => {
    const bytes = randomBytes(1 << 20);
    const original = Buffer.from(bytes);
    const answer = node.call(bytes);
    bytes.fill(0);
    expect(((await answer) as Buffer).equals(original)).toBe(true);
  });

  it('come back from a handler that packs its own copy (kept by set, answered by get)', async () => {
    const value = [randomBytes(200_000), randomBytes(10)];
    await node.send({ op: 'set', value });
    expect(digest(await node.call({ op: 'get' }))).toEqual(digest(value));
  });

  it('count against maxMessageSize one by one: a binary over it is refused before sending', async () => {
    const small = await CNode.start({ ...workerOptions('echo').options, maxMessageSize: 65536 });
    try {
      const fits = [randomBytes(60_000), randomBytes(60_000)]; // 120,000 bytes, in two parts
      expect(digest(await small.call(fits))).toEqual(digest(fits));
      await expect(small.call(randomBytes(70_000))).rejects.toMatchObject({
        code: 'ERR_CNODE_BAD_MESSAGE',
        message: expect.stringContaining('carries a binary of 70000 bytes, over maxMessageSize (65536 bytes)'),
      });
    } finally {
      await small.stop();
    }
  });
});
