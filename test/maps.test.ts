// Maps of every kind MessagePack allows, both ways: a valid message is never a protocol
// violation, keys arrive exactly as they were sent, and big maps and arrays work up to
// maxMessageSize.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode, CNodeError } from '../src/index.js';
import { rejection, workerOptions } from './helpers.js';

let node: CNode;
beforeAll(async () => {
  node = await CNode.start(workerOptions('echo').options);
});
afterAll(async () => {
  await node.stop();
  expect(node.droppedFrames).toBe(0);
});

describe('maps whose keys are not all strings', () => {
  it('arrive as Maps with the same keys, through C and back, and the worker lives on', async () => {
    const maps = [
      new Map([[[1, 2], 'point']]),
      new Map<unknown, unknown>([
        [1, 'one'],
        [-2, 'minus two'],
        [2 ** 40, 'big'],
        [2n ** 63n, 'huge'],
      ]),
      new Map<unknown, unknown>([
        [null, 'nil'],
        [true, 'yes'],
        [false, 'no'],
      ]),
      new Map([[1.5, 'float']]),
      new Map([[Buffer.from([1, 2, 3]), 'binary']]),
      new Map<unknown, unknown>([
        ['text', 1],
        [7, 'mixed'],
      ]),
      new Map([[new Map([[1, 2]]), 'a map as a key']]),
    ];
    for (const map of maps) expect(await node.call(map)).toEqual(map);
    expect(await node.call({ nested: [maps[0]] })).toEqual({ nested: [maps[0]] });
    // Keys that are objects arrive as objects: a map key with string keys is a plain object.
    const keyed = (await node.call(new Map([[{ x: 1 }, 'object key']]))) as Map<unknown, unknown>;
    expect([...keyed]).toEqual([[{ x: 1 }, 'object key']]);
    await expect(node.call('still alive')).resolves.toBe('still alive');
  });

  it('packed by a C worker, as a reply and as a message, arrive as a Map with every key intact', async () => {
    const testbed = await CNode.start(workerOptions('testbed').options);
    try {
      const messages: unknown[] = [];
      testbed.on('message', (message) => messages.push(message));
      const expected = new Map<unknown, unknown>([
        [1, 'one'],
        [-1, 'minus one'],
        [null, 'nil'],
        [true, 'true'],
        [1.5, 'float'],
        [Buffer.from('ab'), 'bin'],
        [[1, 2], 'array'],
        ['__proto__', 'proto'],
      ]);
      expect(await testbed.call({ op: 'odd-keys' })).toEqual(expected);
      await expect.poll(() => messages).toEqual([expected]);
      await expect(testbed.call('alive')).resolves.toBe('alive');
      expect(testbed.droppedFrames).toBe(0);
    } finally {
      await testbed.stop();
    }
  });

  it('fail nothing queued behind them', async () => {
    const replies = await Promise.all([node.call(new Map([[[1, 2], 'point']])), node.call('innocent')]);
    expect(replies).toEqual([new Map([[[1, 2], 'point']]), 'innocent']);
  });
});

describe('string keys', () => {
  it('arrive unchanged, "__proto__" included, as own properties that touch no prototype', async () => {
    const sent = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "null": 2, "true": 3, "": 4}');
    const echoed = (await node.call(sent)) as Record<string, unknown>;
    expect(Object.keys(echoed)).toEqual(['__proto__', 'constructor', 'null', 'true', '']);
    expect(Object.getOwnPropertyDescriptor(echoed, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.getPrototypeOf(echoed)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(echoed.constructor).toBe(1);
  });

  it('make plain objects, also from a Map with string keys only', async () => {
    await expect(node.call(new Map([['k', 1]]))).resolves.toEqual({ k: 1 });
  });
});

describe('big maps and arrays', () => {
  const objectOf = (size: number) => Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}`, i]));

  it('an object of 65,536 keys round-trips', async () => {
    const object = objectOf(65_536);
    expect(await node.call(object)).toEqual(object);
  });

  it('an object of 1,000,000 keys, a Map of 65,536 entries and an array of 1,000,000 items round-trip', async () => {
    const object = objectOf(1_000_000);
    const echoed = (await node.call(object, { timeout: 20_000 })) as Record<string, number>;
    // Compared key by key, in order: a deep equality of a million keys takes seconds.
    const keys = Object.keys(echoed);
    expect(keys.length).toBe(1_000_000);
    expect(keys.every((key, i) => key === `k${i}` && echoed[key] === i)).toBe(true);
    const map = new Map(Array.from({ length: 65_536 }, (_, i) => [i, i]));
    expect(await node.call(map)).toEqual(map);
    const array = Array.from({ length: 1_000_000 }, (_, i) => i);
    expect(await node.call(array, { timeout: 20_000 })).toEqual(array);
  });

  it('an object over maxMessageSize is refused with ERR_CNODE_BAD_MESSAGE naming the node', async () => {
    const small = await CNode.start(workerOptions('echo', { maxMessageSize: 1024 }).options);
    try {
      const error = await rejection(small.call(objectOf(65_536)));
      expect(error).toBeInstanceOf(CNodeError);
      expect(error.code).toBe('ERR_CNODE_BAD_MESSAGE');
      expect(error.message).toContain(small.name);
      expect(error.message).toContain('maxMessageSize');
    } finally {
      await small.stop();
    }
  });
});

describe('a message that throws while it is encoded', () => {
  it('is refused with ERR_CNODE_BAD_MESSAGE carrying the cause, by call() and send()', async () => {
    const boom = new Error('boom');
    const message = {
      get value() {
        throw boom;
      },
    };
    for (const attempt of [node.call(message), node.send(message)]) {
      const error = await rejection(attempt);
      expect(error).toBeInstanceOf(CNodeError);
      expect(error.code).toBe('ERR_CNODE_BAD_MESSAGE');
      expect(error.message).toContain(node.name);
      expect(error.message).toContain('boom');
      expect(error.cause).toBe(boom);
    }
    await expect(node.call('after')).resolves.toBe('after');
  });
});
