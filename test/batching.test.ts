// Batching (docs/protocol.md section 2): frames that queue up travel together in one ZeroMQ
// message each way. These tests check that batching keeps every reply with its own call, keeps
// order, and holds nothing back; how much faster it is, is bench/'s question. Conformance: every
// test here runs over each of TRANSPORTS (a transport whose write is synchronous must batch too).
import { describe, expect, it } from 'vitest';
import { startedNodes, TRANSPORTS, workerOptions } from './helpers.js';

describe.each(TRANSPORTS)('over %s', (transport) => {
  const nodes = startedNodes();
  const echo = () => nodes.start(workerOptions('echo', { transport }).options);

  describe('batched frames', () => {
    it('give each of 5,000 pipelined calls its own reply, whatever their sizes', async () => {
      const node = await echo();
      // Small ones batch; every 97th is over the 64 KiB batch limit and travels alone between them.
      const values = Array.from({ length: 5000 }, (_, i) => (i % 97 === 0 ? { i, pad: 'x'.repeat(70_000) } : { i }));
      const replies = await Promise.all(values.map((value) => node.call(value)));
      expect(replies).toEqual(values);
    });

    it('keep the order of casts and calls: each call sees every cast sent before it', async () => {
      const node = await echo();
      const seen: Promise<unknown>[] = [];
      for (let i = 0; i < 2000; i++) {
        void node.send({ op: 'set', value: i });
        if (i % 50 === 49) seen.push(node.call({ op: 'get' }));
      }
      expect(await Promise.all(seen)).toEqual(Array.from({ length: 40 }, (_, k) => k * 50 + 49));
    });

    it("keep the worker's messages in order with its replies, and deliver all of them", async () => {
      const node = await echo();
      const messages: unknown[] = [];
      node.on('message', (message) => messages.push(message));
      const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => node.call({ op: 'notify', value: i })));
      expect(answers.every((answer) => answer === true)).toBe(true);
      expect(messages).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    });

    it('fail only the failing calls of a batch, with their own reasons', async () => {
      const node = await echo();
      const results = await Promise.allSettled(
        Array.from({ length: 300 }, (_, i) =>
          node.call(i % 3 === 0 ? { op: 'fail', reason: `no ${i}` } : { op: 'echo', value: i }),
        ),
      );
      results.forEach((result, i) => {
        if (i % 3 === 0)
          expect(result).toMatchObject({
            status: 'rejected',
            reason: { code: 'ERR_CNODE_REMOTE', message: expect.stringContaining(`no ${i}`) },
          });
        else expect(result).toEqual({ status: 'fulfilled', value: i });
      });
    });

    it('hold a reply back no longer than about 1 ms when the frames behind it keep the worker busy', async () => {
      const node = await echo();
      const started = performance.now();
      const answered = node.call('first').then(() => performance.now() - started);
      for (let i = 0; i < 100; i++) void node.send({ op: 'sleep', ms: 5 }); // 500 ms of casts behind it
      expect(await answered).toBeLessThan(250); // not after the casts
    });

    it('hold no reply back while a slow handler runs, once handlers have been slow', async () => {
      const node = await echo();
      await node.call({ op: 'sleep', ms: 100 }); // handlers are slow lately
      const started = performance.now();
      const at = (promise: Promise<unknown>) => promise.then(() => performance.now() - started);
      const [fast, slow] = await Promise.all([at(node.call('fast')), at(node.call({ op: 'sleep', ms: 200 }))]);
      expect(slow - fast).toBeGreaterThan(100); // the fast reply went before the slow handler ran
    });

    it('hold no reply back: the last of a burst resolves without another call behind it', async () => {
      const node = await echo();
      await Promise.all(Array.from({ length: 257 }, (_, i) => node.call(i)));
      // A reply held for a batch with nothing behind it would leave this call to its timeout.
      await expect(node.call('alone', { timeout: 1000 })).resolves.toBe('alone');
    });
  });
});
