// Fault model, owner side: what the owner asks to send cannot be sent. Refused before anything
// is sent, with an error naming the problem; the node goes on working. (Bad options are refused
// before any process starts: test/start.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode } from '../../src/index.js';
import { expectNothingLeft, rejection, workerOptions } from '../helpers.js';

const limit = 64 * 1024;
let node: CNode;

beforeAll(async () => {
  node = await CNode.start(workerOptions('testbed', { maxMessageSize: limit }).options);
});

afterAll(async () => {
  await node.stop();
  await expectNothingLeft();
});

describe('garbage from the owner', () => {
  it('values that cannot be encoded are refused before anything is sent, by call() and send()', async () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const bad: [unknown, string][] = [
      [{ value: () => 1 }, '$.value'],
      [{ value: Symbol('s') }, '$.value'],
      [{ value: cycle }, '$.value.self'],
    ];
    for (const [message, where] of bad) {
      const error = await rejection(node.call({ op: 'echo', ...(message as object) }));
      expect(error.code).toBe('ERR_CNODE_BAD_MESSAGE');
      expect(error.message).toContain(where);
      await expect(node.send(message)).rejects.toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    }
    await expect(node.call('fine')).resolves.toBe('fine');
  });

  it('messages over maxMessageSize are refused before sending, naming the size and the limit', async () => {
    const big = 'x'.repeat(limit + 1); // in the frame itself
    const error = await rejection(node.call(big));
    expect(error.code).toBe('ERR_CNODE_BAD_MESSAGE');
    expect(error.message).toMatch(
      new RegExp(`encodes to \\d+ bytes, over maxMessageSize \\(${limit} bytes\\); nothing was sent`),
    );
    await expect(node.send(big)).rejects.toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    const bigBinary = Buffer.alloc(limit + 1); // a side part of its own
    expect((await rejection(node.call({ bigBinary }))).message).toContain(
      `carries a binary of ${limit + 1} bytes, over maxMessageSize (${limit} bytes); nothing was sent`,
    );
    await expect(node.send(bigBinary)).rejects.toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    const fits = Buffer.alloc(limit - 64, 7);
    expect(Buffer.compare((await node.call(fits)) as Buffer, fits)).toBe(0);
  });

  it('the worker refuses to send over maxMessageSize: a reply fails the call, cnode_send returns EMSGSIZE', async () => {
    // One byte over: the binary can travel neither inline nor as a part of its own.
    const error = await rejection(node.call({ op: 'big-reply', bytes: limit + 1 }));
    expect(error.code).toBe('ERR_CNODE_REMOTE');
    expect(error.message).toContain(`over the owner's maxMessageSize of ${limit} bytes`);
    const notified = (await node.call({ op: 'notify-big', bytes: limit })) as { rc: number; errno: number };
    expect(notified).toMatchObject({ rc: -1, errno: 90 }); // EMSGSIZE on Linux
    await expect(node.call({ op: 'big-reply', bytes: limit / 2 })).resolves.toHaveLength(limit / 2);
    // Exactly maxMessageSize, as msgpack_pack_bin and one msgpack_pack_bin_body write it: a side part.
    await expect(node.call({ op: 'big-reply', bytes: limit })).resolves.toHaveLength(limit);
    expect(node.droppedFrames).toBe(0);
  });
});
