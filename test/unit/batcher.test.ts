// The batcher over a real ZeroMQ connection, to a Router this test binds itself: how frames are
// grouped into messages, in order, and what withdraw and close do. No worker process is needed.

import { afterEach, describe, expect, it } from 'vitest';
import { Router } from 'zeromq';
import type { Connection } from '../../src/connection/connection.js';
import { ZmqTransport } from '../../src/connection/zmq.js';
import { Batcher } from '../../src/session/batcher.js';

interface Pair {
  router: Router;
  connection: Connection;
  /** The next message the Router receives: its frames part and side parts. */
  receive(): Promise<Buffer[]>;
}

const opened: (() => void)[] = [];
afterEach(() => {
  for (const close of opened.splice(0)) close();
});

async function pair(): Promise<Pair> {
  const transport = new ZmqTransport({
    kind: 'ipc',
    curve: false,
    bind: '',
    advertise: '',
    heartbeat: undefined,
    remote: false,
  });
  const router = new Router({ linger: 0 });
  await router.bind(transport.expectedEndpoint);
  const connection = transport.connect(transport.expectedEndpoint, 1 << 20, {
    onMessage: () => {},
    onDisconnect: () => {},
    onError: () => {},
  });
  opened.push(() => {
    connection.close();
    router.close();
    transport.release();
  });
  return {
    router,
    connection,
    receive: async () => (await router.receive()).slice(1), // without the routing id
  };
}

const frame = (n: number, size = 8) => Buffer.alloc(size, n);

describe('Batcher', () => {
  it('sends the frames queued in one turn together, in order, as one message', async () => {
    const { connection, receive } = await pair();
    const batcher = new Batcher(connection, 65536);
    for (let i = 1; i <= 5; i++) batcher.push(frame(i));
    const [frames, ...sides] = await receive();
    expect(sides).toEqual([]);
    expect(frames).toEqual(Buffer.concat([1, 2, 3, 4, 5].map((n) => frame(n))));
  });

  it('starts a new message at the byte cap, and gives a frame with side parts a message of its own', async () => {
    const { connection, receive } = await pair();
    const batcher = new Batcher(connection, 20);
    batcher.push(frame(1));
    batcher.push(frame(2));
    batcher.push(frame(3)); // 24 bytes would pass the cap of 20
    batcher.push(frame(4), [Buffer.from('side')]); // side-part indexes count its own message's parts
    batcher.push(frame(5));
    expect(await receive()).toEqual([Buffer.concat([frame(1), frame(2)])]);
    expect(await receive()).toEqual([frame(3)]);
    expect(await receive()).toEqual([frame(4), Buffer.from('side')]);
    expect(await receive()).toEqual([frame(5)]);
  });

  it('drops a withdrawn frame, rejecting its waiter, and resolves the others once taken', async () => {
    const { connection, receive } = await pair();
    const batcher = new Batcher(connection, 65536);
    const kept = batcher.pushAndWait(frame(1));
    const dropped = batcher.pushAndWait(frame(2));
    batcher.withdraw(dropped.outgoing);
    await expect(dropped.taken).rejects.toThrow('withdrawn');
    await expect(kept.taken).resolves.toBeUndefined();
    expect(await receive()).toEqual([frame(1)]);
  });

  it('after close(), sends nothing and rejects the waiters', async () => {
    const { connection } = await pair();
    const batcher = new Batcher(connection, 65536);
    const waiting = batcher.pushAndWait(frame(1));
    batcher.close();
    await expect(waiting.taken).rejects.toThrow('closed');
    await expect(batcher.pushAndWait(frame(2)).taken).rejects.toThrow('closed');
  });
});
