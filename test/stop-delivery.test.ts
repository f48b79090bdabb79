// What a worker sends just before it stops reaches the owner: every message it handed to
// cnode_send before the stop arrives, in order, before 'exit'. Many thousands of messages are
// more than ZeroMQ's high-water marks hold (1,000 each way), so part of them are still in the
// kernel's socket buffer when the worker ends (see the close in cnode/src/transport_zmq.c).
// Conformance: every test here runs over each of TRANSPORTS.
import { describe, expect, it } from 'vitest';
import { CNode } from '../src/index.js';
import { TRANSPORTS, workerOptions } from './helpers.js';

const COUNT = 20_000;

describe.each(TRANSPORTS)('over %s', (transport) => {
  const testbed = () => workerOptions('testbed', { transport }).options;

  /** Records the worker's messages, and whether each came before 'exit'. */
  function record(node: CNode) {
    const seen = { messages: [] as unknown[], afterExit: 0, exited: false };
    node.on('message', (value) => {
      if (seen.exited) seen.afterExit++;
      seen.messages.push(value);
    });
    node.on('exit', () => {
      seen.exited = true;
    });
    return seen;
  }

  const inOrder = Array.from({ length: COUNT }, (_, i) => i);

  it(`delivers ${COUNT} messages sent by a handler before 'exit', when stop() ends the worker meanwhile`, async () => {
    const node = await CNode.start(testbed());
    const seen = record(node);
    // A cast: stop() goes while the handler is still sending, and ends the worker right after.
    await node.send({ op: 'notify-many', count: COUNT });
    const info = await node.stop();
    expect(info).toMatchObject({ exitCode: 0, signal: null, stopped: true });
    expect(seen.messages.length).toBe(COUNT);
    expect(seen.messages).toEqual(inOrder);
    expect(seen.afterExit).toBe(0);
  });

  it(`delivers ${COUNT} messages sent by a handler before 'exit', when the handler ends the worker with cnode_stop`, async () => {
    const node = await CNode.start(testbed());
    const seen = record(node);
    await node.send({ op: 'notify-many', count: COUNT, stop: true });
    const info = await node.exited;
    expect(info).toMatchObject({ exitCode: 0, signal: null, stopped: false });
    expect(seen.messages.length).toBe(COUNT);
    expect(seen.messages).toEqual(inOrder);
    expect(seen.afterExit).toBe(0);
  });
});
