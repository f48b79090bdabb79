import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dealer } from 'zeromq';
import { CNode } from '../src/index.js';
import { FrameKind, PROTOCOL_VERSION } from '../src/protocol.js';
import { workerOptions } from './helpers.js';

// A stranger speaks the protocol by hand, with frames built as docs/protocol.md says. Over tcp
// without CurveZMQ only, where nothing but the cookie keeps a stranger's zeromq Dealer out: a test
// of that transport, so not in the conformance loop.
const packr = new Packr({ useRecords: false });
const { Hello: HELLO, Call: CALL, Cast: CAST } = FrameKind;

let node: CNode;
beforeAll(async () => {
  // tcp without CurveZMQ: a stranger can connect, and only the cookie keeps it out.
  node = await CNode.start(workerOptions('echo', { transport: 'tcp', curve: false }).options);
  await node.send({ op: 'set', value: 'owner' });
});
afterAll(async () => {
  await node.stop();
});

/** Connects a stranger, sends `frames`, and returns what the worker answered within 300 ms. */
async function stranger(frames: unknown[][]): Promise<unknown[]> {
  const socket = new Dealer({ linger: 0, receiveTimeout: 300, sendTimeout: 1000 });
  socket.connect(node.endpoint);
  const answers: unknown[] = [];
  try {
    for (const frame of frames) await socket.send(packr.pack(frame));
    for (;;) answers.push(packr.unpack((await socket.receive())[0]));
  } catch (error) {
    expect((error as { code?: string }).code).toBe('EAGAIN'); // the receive timed out: no answer
  } finally {
    socket.close();
  }
  return answers;
}

describe('the handshake', () => {
  it('drops a peer without the cookie: its frames never reach the handler', async () => {
    const setByStranger = [CAST, { op: 'set', value: 'stranger' }];
    expect(await stranger([setByStranger, [CALL, 1, { op: 'get' }]])).toEqual([]);
    expect(await stranger([[HELLO, PROTOCOL_VERSION, 'f'.repeat(64)], setByStranger, [CALL, 2, 'hi']])).toEqual([]);
    expect(await stranger([[HELLO, PROTOCOL_VERSION, 'not even a cookie'], setByStranger])).toEqual([]);
    expect(await stranger([['garbage'], [HELLO], setByStranger])).toEqual([]);
    await expect(node.call({ op: 'get' })).resolves.toBe('owner');
    await expect(node.call({ op: 'add', a: 1, b: 2 })).resolves.toBe(3);
  });

  it('keeps the cookie out of argv, error messages and the node', async () => {
    const error = await CNode.start(workerOptions('testbed', { args: ['exit-early'] }).options).catch(
      (reason: Error) => reason,
    );
    expect(JSON.stringify({ ...error, message: (error as Error).message })).not.toMatch(/[0-9a-f]{64}/);
    expect(JSON.stringify(Object.entries(node))).not.toMatch(/[0-9a-f]{64}/);
  });
});
