// Binaries of 32 KiB or more travel as their own ZeroMQ parts beside the frames (docs/protocol.md
// section 2). These tests check that they arrive intact, in their places, whatever their number
// and mix, and that a caller's buffer is its own again once call() returns.
// Conformance: every test here runs over each of TRANSPORTS.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode } from '../src/index.js';
import { TRANSPORTS, workerOptions } from './helpers.js';

/** `value` with each binary replaced by its length and hash: toEqual compares big Buffers byte by byte, slowly. */
function digest(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return `${value.length} bytes, sha256 ${createHash('sha256').update(value).digest('hex')}`;
  if (Array.isArray(value)) return value.map(digest);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, digest(item)]));
  return value;
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  let node: CNode;
  beforeAll(async () => {
    node = await CNode.start(workerOptions('echo', { transport }).options);
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

    it('go back as side parts from a handler that packs with plain msgpack-c, not through its buffer', async () => {
      // testbed's echo op answers with msgpack_pack_object: its bins become side parts too.
      const testbed = await CNode.start(workerOptions('testbed', { transport }).options);
      try {
        for (const size of [32767, 32768, 65535, 65536, 16 << 20]) {
          const bytes = randomBytes(size);
          const echoed = (await testbed.call({ op: 'echo', value: bytes })) as Buffer;
          expect(echoed.equals(bytes), `${size} bytes`).toBe(true);
          // A side part arrives as a Buffer of its own; an inline bin is a view of its message.
          expect(echoed.buffer.byteLength === size, `${size} bytes as a side part`).toBe(size >= 32768);
        }
        const many = Array.from({ length: 70 }, (_, i) => randomBytes(32768 + i));
        expect(digest(await testbed.call({ op: 'echo', value: many }))).toEqual(digest(many));
      } finally {
        await testbed.stop();
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
      const small = await CNode.start(workerOptions('echo', { transport, maxMessageSize: 65536 }).options);
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

  describe('transfer', () => {
    it('takes the listed ArrayBuffers instead of copying: detached when call() returns, intact at the worker', async () => {
      const bytes = randomBytes(1 << 20);
      const big = new Uint8Array(bytes.length);
      big.set(bytes);
      const small = new Float64Array([1.5, 2.5]); // inline: packed, and detached all the same
      const answer = node.call({ big, small }, { transfer: [big.buffer, small.buffer, big.buffer] });
      expect(big.byteLength).toBe(0);
      expect(small.length).toBe(0);
      const back = (await answer) as { big: Buffer; small: Buffer };
      expect(back.big.equals(bytes)).toBe(true);
      expect(new Float64Array(back.small.buffer.slice(back.small.byteOffset, back.small.byteOffset + 16))).toEqual(
        new Float64Array([1.5, 2.5]),
      );
    });

    it('works for send() too', async () => {
      const value = new Uint8Array(50_000).fill(9);
      await node.send({ op: 'set', value }, { transfer: [value.buffer] });
      expect(value.byteLength).toBe(0);
      expect(((await node.call({ op: 'get' })) as Buffer).every((byte) => byte === 9)).toBe(true);
    });

    it('copies, as structuredClone does, what cannot be transferred, such as memory zeromq.js received', async () => {
      // Over the ring, big enough to come back by memfd (a record holds a quarter of the ring).
      const sent = randomBytes(300_000);
      const reply = (await node.call(sent)) as Buffer;
      const again = (await node.call(reply, { transfer: [reply.buffer as ArrayBuffer] })) as Buffer;
      expect(reply.equals(sent)).toBe(true); // still the caller's
      expect(again.equals(sent)).toBe(true);
    });

    it('detaches nothing when the option or the message is refused', async () => {
      const kept = new Uint8Array(40_000);
      await expect(node.call(kept, { transfer: [kept] as unknown as ArrayBuffer[] })).rejects.toMatchObject({
        code: 'ERR_CNODE_INVALID_OPTION',
        message: expect.stringContaining('`transfer`'),
      });
      await expect(node.send(kept, { transfer: 'all' as unknown as ArrayBuffer[] })).rejects.toMatchObject({
        code: 'ERR_CNODE_INVALID_OPTION',
      });
      await expect(node.call({ kept, bad: () => 1 }, { transfer: [kept.buffer] })).rejects.toMatchObject({
        code: 'ERR_CNODE_BAD_MESSAGE',
      });
      expect(kept.byteLength).toBe(40_000);
    });
  });
});
