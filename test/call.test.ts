// Calls, sends and the worker's own messages. Conformance: every test here runs over each of TRANSPORTS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode, type CNodeError } from '../src/index.js';
import { rejection, TRANSPORTS, workerOptions } from './helpers.js';

describe.each(TRANSPORTS)('over %s', (transport) => {
  let node: CNode;
  beforeAll(async () => {
    node = await CNode.start(workerOptions('echo', { transport }).options);
  });
  afterAll(async () => {
    await node.stop();
  });

  describe('call', () => {
    it('round-trips every message type exactly, through C and back', async () => {
      const values: unknown[] = [
        null,
        true,
        false,
        0,
        -1,
        2 ** 31,
        -(2 ** 31) - 1,
        2 ** 40,
        Number.MAX_SAFE_INTEGER,
        -Number.MAX_SAFE_INTEGER,
        2n ** 63n,
        -(2n ** 63n),
        2n ** 64n - 1n,
        1.5,
        -0.25,
        1e300,
        '',
        'héllo wörld ✓',
        Buffer.from([0, 1, 2, 255]),
        [],
        [1, 'two', [3, [4]]],
        {},
        { nested: { list: [1, { deep: 'yes' }], bin: Buffer.from('xy') } },
      ];
      for (const value of values) expect(await node.call(value)).toEqual(value);
    });

    it('gives the C handler integers as integers, also beyond 32 bits', async () => {
      await expect(node.call({ op: 'add', a: 2 ** 40, b: 1 })).resolves.toBe(2 ** 40 + 1);
      await expect(node.call({ op: 'add', a: -(2 ** 40), b: -1 })).resolves.toBe(-(2 ** 40) - 1);
      await expect(node.call({ op: 'add', a: 2n ** 62n, b: 2n ** 62n })).resolves.toBe(2n ** 63n);
      await expect(node.call({ op: 'add', a: 1.5, b: 2 })).resolves.toBe(3.5);
    });

    it('sends Uint8Array as bin and other typed arrays as their bytes', async () => {
      const bytes = new Uint8Array([9, 8, 7]);
      expect(new Uint8Array((await node.call(bytes)) as Buffer)).toEqual(bytes);
      const floats = new Float64Array([1.25, -2, 3e10]);
      const echoed = (await node.call(floats)) as Buffer;
      expect(new Float64Array(echoed.buffer.slice(echoed.byteOffset, echoed.byteOffset + echoed.byteLength))).toEqual(
        floats,
      );
    });

    it('maps undefined to null and Maps to objects', async () => {
      await expect(node.call({ a: undefined, b: [undefined] })).resolves.toEqual({ a: null, b: [null] });
      await expect(node.call(new Map([['k', 1]]))).resolves.toEqual({ k: 1 });
    });

    it('resolves many calls in flight, each with its own reply', async () => {
      const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => node.call({ op: 'add', a: i, b: 1000 })));
      expect(replies).toEqual(Array.from({ length: 500 }, (_, i) => i + 1000));
    });

    it('rejects with ERR_CNODE_REMOTE carrying the handler message', async () => {
      const error = await rejection(node.call({ op: 'fail', reason: 'the disk is on fire' }));
      expect(error.code).toBe('ERR_CNODE_REMOTE');
      expect(error.message).toContain('the disk is on fire');
      expect(error.message).toContain(node.name);
      const unknown = await rejection(node.call({ op: 'nope' }));
      expect(unknown.message).toContain('unknown op "nope"');
    });

    it('times out with ERR_CNODE_CALL_TIMEOUT, drops the late reply, and keeps working', async () => {
      const error = await rejection(node.call({ op: 'sleep', ms: 300 }, { timeout: 50 }));
      expect(error.code).toBe('ERR_CNODE_CALL_TIMEOUT');
      expect(error.message).toContain('50 ms');
      await expect(node.call('after')).resolves.toBe('after'); // queued behind the sleep; the late reply was dropped
      expect(node.droppedFrames).toBe(1); // the late reply, counted
    });

    it('times each call out at its own deadline, whatever the mix of timeouts and answers', async () => {
      // Behind a 400 ms sleep nothing is answered in time; the calls with 1 s are.
      const started = performance.now();
      const settledAt = (promise: Promise<unknown>) =>
        promise
          .then(
            () => 'answered',
            (error: CNodeError) => error.code,
          )
          .then((outcome) => ({ outcome, at: performance.now() - started }));
      const sleep = settledAt(node.call({ op: 'sleep', ms: 400 }));
      const calls = [300, 100, 1000, 200, 100, 1000].map((timeout) => settledAt(node.call(timeout, { timeout })));
      const results = await Promise.all(calls);
      expect(results.map((r) => r.outcome)).toEqual([
        'ERR_CNODE_CALL_TIMEOUT',
        'ERR_CNODE_CALL_TIMEOUT',
        'answered',
        'ERR_CNODE_CALL_TIMEOUT',
        'ERR_CNODE_CALL_TIMEOUT',
        'answered',
      ]);
      for (const [i, timeout] of [300, 100, 1000, 200, 100].entries()) {
        if (timeout < 1000) expect(results[i].at, `the ${timeout} ms call`).toBeGreaterThanOrEqual(timeout - 1);
      }
      expect(results[1].at).toBeLessThan(results[3].at); // 100 ms before 200 ms before 300 ms
      expect(results[3].at).toBeLessThan(results[0].at);
      expect((await sleep).outcome).toBe('answered');
    });

    it('rejects with ERR_CNODE_ABORTED when the signal fires, before or during the call', async () => {
      const before = await rejection(node.call('x', { signal: AbortSignal.abort() }));
      expect(before.code).toBe('ERR_CNODE_ABORTED');
      const controller = new AbortController();
      const during = node.call({ op: 'sleep', ms: 200 }, { signal: controller.signal });
      controller.abort(new Error('changed my mind'));
      const error = await rejection(during);
      expect(error.code).toBe('ERR_CNODE_ABORTED');
      expect((error.cause as Error).message).toBe('changed my mind');
      await expect(node.call('still here')).resolves.toBe('still here');
    });

    it('refuses values it cannot encode before sending, naming where', async () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const [value, where] of [
        [{ f: () => 1 }, '$.f'],
        [[Symbol('s')], '$[0]'],
        [cyclic, '$.self'],
        [new Date(), 'Date'],
        [2n ** 64n, '64-bit'],
      ] as const) {
        const error = await rejection(node.call(value));
        expect(error.code).toBe('ERR_CNODE_BAD_MESSAGE');
        expect(error.message).toContain(where);
        expect(error.message).toContain(node.name);
        expect(error.node).toBe(node.name);
      }
      await expect(node.send({ f: () => 1 })).rejects.toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    });

    it('carries 31 levels of nesting, the most msgpack-c decodes, and refuses 32 before sending', async () => {
      const nest = (levels: number): unknown => (levels === 0 ? 'core' : [nest(levels - 1)]);
      await expect(node.call(nest(31))).resolves.toEqual(nest(31));
      const error = await rejection(node.call(nest(32)));
      expect(error.code).toBe('ERR_CNODE_BAD_MESSAGE');
      expect(error.message).toContain('deeper than 31 levels');
    });

    it('checks the options of call(), send() and stop(), naming the node, the method and the option', async () => {
      const cases: [Promise<unknown>, string][] = [
        [
          node.call('x', { timeout: 0 }),
          'call(): Expected the `timeout` option to be a positive integer of milliseconds, got `0` (number)',
        ],
        [
          node.call('x', { signal: 'no' as never }),
          'call(): Expected the `signal` option to be an AbortSignal, got `"no"` (string)',
        ],
        [node.call('x', { timeot: 5 } as never), 'call(): Unknown option `timeot`; did you mean `timeout`?'],
        [node.call('x', null as never), 'call(): Expected an options object, got `null` (null)'],
        [
          node.send('x', { signal: new AbortController().signal } as never),
          'send(): Unknown option `signal`; the options are `timeout`, `transfer`',
        ],
        [node.stop({ timout: 5 } as never), 'stop(): Unknown option `timout`; did you mean `timeout`?'],
      ];
      for (const [attempt, message] of cases) {
        const error = await rejection(attempt);
        expect(error.code).toBe('ERR_CNODE_INVALID_OPTION');
        expect(error.message).toBe(`cnode ${node.name} ${message}`);
        expect(error.node).toBe(node.name);
      }
      await expect(node.call('still running')).resolves.toBe('still running');
    });
  });

  describe('send', () => {
    it('is handled in order with calls: a call after a send sees its effect', async () => {
      for (let i = 0; i < 50; i++) {
        await node.send({ op: 'set', value: { round: i } });
        await expect(node.call({ op: 'get' })).resolves.toEqual({ round: i });
      }
      // without awaiting the sends, order still holds
      const sends = Array.from({ length: 100 }, (_, i) => node.send({ op: 'set', value: i }));
      const last = node.call({ op: 'get' });
      await Promise.all(sends);
      await expect(last).resolves.toBe(99);
    });
  });

  describe('worker to owner', () => {
    it('delivers cnode_send messages as message events', async () => {
      const received: unknown[] = [];
      const listener = (message: unknown) => received.push(message);
      node.on('message', listener);
      await expect(node.call({ op: 'notify', value: { hello: 'owner', n: 7 } })).resolves.toBe(true);
      await expect.poll(() => received).toEqual([{ hello: 'owner', n: 7 }]);
      node.off('message', listener);
    });
  });

  describe('back-pressure', () => {
    it('fails fast with ERR_CNODE_OVERLOADED beyond maxPending', async () => {
      const small = await CNode.start(workerOptions('echo', { transport, maxPending: 10 }).options);
      try {
        const calls = Array.from({ length: 10 }, () => small.call({ op: 'sleep', ms: 20 }));
        await expect(small.call('one too many')).rejects.toMatchObject({ code: 'ERR_CNODE_OVERLOADED' });
        await Promise.all(calls);
        await expect(small.call('room again')).resolves.toBe('room again');
      } finally {
        await small.stop();
      }
    });
  });
});
