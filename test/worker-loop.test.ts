import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CNode, type CNodeOptions } from '../src/index.js';
import { waitUntil, workerOptions } from './helpers.js';

// The worker's loop as a sidecar uses it (test/workers/loop.c): timers, the user's descriptors, and
// cnode_post from other threads, each sending to the owner without being asked.

const nodes: CNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.stop()));
});

async function start(extra: Partial<CNodeOptions> = {}) {
  const { options, stderr } = workerOptions('loop', extra);
  const node = await CNode.start(options);
  nodes.push(node);
  const messages: unknown[][] = [];
  node.on('message', (message) => messages.push(message as unknown[]));
  return { node, messages, stderr };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tagged = (messages: unknown[][], tag: string) => messages.filter((m) => m[0] === tag);

describe('the worker loop', () => {
  it('runs a timer added before cnode_run, which sends every 10 ms in order without any call', async () => {
    const { messages } = await start({ args: ['tick10'] });
    await sleep(50);
    const first = messages.length;
    await sleep(200);
    const ticks = messages.slice(first);
    // 20 in 200 ms; a loaded machine may run fewer, never many more.
    expect(ticks.length).toBeGreaterThanOrEqual(10);
    expect(ticks.length).toBeLessThanOrEqual(22);
    const seqs = messages.map((m) => m[1] as number);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
  });

  it('delivers what was posted before cnode_run to a listener added right after start() resolves', async () => {
    const { messages } = await start({ args: ['post5'] });
    // They come soon after the handshake, mostly before start() resolves: not lost then either.
    await expect
      .poll(() => tagged(messages, 'early'), { timeout: 2000 })
      .toEqual([0, 1, 2, 3, 4].map((i) => ['early', i]));
  });

  it('cancels a timer from a handler: nothing comes after the answer', async () => {
    const { node, messages } = await start();
    const id = (await node.call({ op: 'tick', ms: 2 })) as number;
    expect(id).toBeGreaterThan(0);
    await waitUntil(() => messages.length >= 5, 2000, 'five ticks');
    expect(await node.call({ op: 'cancel', id })).toEqual([0, '0']);
    const after = messages.length;
    await sleep(60);
    expect(messages.length).toBe(after);
    expect(await node.call({ op: 'cancel', id })).toEqual([-1, 'ENOENT']);
  });

  it('cancels a timer from its own callback, and ends one whose callback returns 1', async () => {
    const { node, messages } = await start();
    await node.call({ op: 'self-cancel', ms: 5 });
    await node.call({ op: 'once', ms: 5 });
    await waitUntil(() => messages.length >= 2, 2000, 'both timers ran');
    await sleep(60);
    expect(tagged(messages, 'self-cancel')).toEqual([['self-cancel', 0, '0', 1]]);
    expect(tagged(messages, 'once')).toEqual([['once', 1]]);
  });

  it('calls back on a FIFO the test writes to, until cnode_remove_fd', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-loop-'));
    const fifo = path.join(dir, 'fifo');
    try {
      execFileSync('mkfifo', [fifo]);
      const { node, messages } = await start();
      expect(await node.call({ op: 'watch', path: fifo })).toBe(true);
      const writer = fs.openSync(fifo, 'w');
      fs.writeSync(writer, 'hello');
      await waitUntil(() => messages.length >= 1, 2000, 'the worker read the FIFO');
      expect(messages).toEqual([['fifo', 'hello']]);
      expect(await node.call({ op: 'unwatch' })).toEqual([0, '0']);
      fs.writeSync(writer, 'unheard');
      await sleep(60);
      expect(messages).toEqual([['fifo', 'hello']]);
      expect(await node.call({ op: 'unwatch' })).toEqual([-1, 'ENOENT']);
      fs.closeSync(writer);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sees the end of a FIFO: the callback removes its own descriptor', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-loop-'));
    const fifo = path.join(dir, 'fifo');
    try {
      execFileSync('mkfifo', [fifo]);
      const { node, messages } = await start();
      await node.call({ op: 'watch', path: fifo });
      const writer = fs.openSync(fifo, 'w');
      fs.writeSync(writer, 'bye');
      fs.closeSync(writer);
      await waitUntil(() => tagged(messages, 'fifo-eof').length === 1, 2000, 'the end of the FIFO');
      expect(messages.map((m) => m.join(''))).toEqual(['fifobye', 'fifo-eof']);
      expect(await node.call({ op: 'unwatch' })).toEqual([-1, 'ENOENT']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers cnode_post from two threads, 20,000 messages each, none lost or out of order', async () => {
    const { node, messages } = await start();
    const count = 20_000;
    expect(await node.call({ op: 'post', threads: 2, count })).toBe(true);
    await waitUntil(() => tagged(messages, 'posted').length === 2, 20_000, 'both threads finished');
    await node.call({ op: 'runs' }); // what was posted before is in by the answer
    const seqs: number[][] = [[], []];
    for (const m of messages) if (typeof m[0] === 'number') seqs[m[0]].push(m[1] as number);
    const expected = Array.from({ length: count }, (_, i) => i);
    expect(seqs[0]).toEqual(expected);
    expect(seqs[1]).toEqual(expected);
    // Each thread's "posted" comes after all of its messages.
    for (const t of [0, 1]) {
      const done = messages.findIndex((m) => m[0] === 'posted' && m[1] === t);
      const last = messages.findIndex((m) => m[0] === t && m[1] === count - 1);
      expect(done).toBeGreaterThan(last);
    }
  });

  it('bounds the post queue: a handler that posts fills it, EAGAIN, then all of it arrives', async () => {
    const { node, messages } = await start();
    expect(await node.call({ op: 'post-full' })).toEqual([8192, 'EAGAIN']);
    await waitUntil(() => messages.length >= 8192, 5000, 'the queue was sent');
    expect(messages.map((m) => m[1])).toEqual(Array.from({ length: 8192 }, (_, i) => i));
  });

  it('refuses bad arguments and every cap with the errno cnode.h names', async () => {
    const { node } = await start({ maxMessageSize: 1024 });
    expect(await node.call({ op: 'errors' })).toEqual({
      'timer-zero-interval': 'EINVAL',
      'timer-no-fn': 'EINVAL',
      'timer-huge-interval': 'EINVAL',
      'cancel-zero': 'EINVAL',
      'cancel-unknown': 'ENOENT',
      'timer-cap': 'ENOSPC',
      'fd-negative': 'EINVAL',
      'fd-stdin': 'EINVAL',
      'fd-no-events': 'EINVAL',
      'fd-bad-events': 'EINVAL',
      'fd-no-fn': 'EINVAL',
      'remove-unknown': 'ENOENT',
      'fd-cap': 'ENOSPC',
      'fd-duplicate': 'EEXIST',
      'post-two-objects': 'EINVAL',
      'post-ext': 'EINVAL',
      'post-too-big': 'EMSGSIZE',
    });
    expect(await node.call({ op: 'tick', ms: 0 })).toBe(-1); // and the worker goes on
  });

  it('stops within 100 ms with code 0 however busy its 1 ms timers are', async () => {
    const { node, stderr } = await start();
    expect(await node.call({ op: 'busy', count: 100, ms: 1 })).toBe(100);
    await sleep(50);
    expect(await node.call({ op: 'runs' })).toBeGreaterThan(100);
    const begun = performance.now();
    const info = await node.stop();
    expect(performance.now() - begun).toBeLessThan(100);
    expect(info).toMatchObject({ exitCode: 0, signal: null, stopped: true });
    // After cnode_run, cnode_post refuses.
    expect(stderr).toContain('after run: cnode_post -1 EPIPE');
  });

  it('ends with status 1 when a timer returns -1, and the owner sees exit code 1', async () => {
    const { node, stderr } = await start();
    await node.call({ op: 'fail-timer', ms: 20 });
    const info = await node.exited;
    expect(info).toMatchObject({ exitCode: 1, signal: null, stopped: false });
    expect(stderr.some((line) => line.includes('a timer callback returned -1'))).toBe(true);
  });

  for (const fail of [false, true]) {
    it(`answers every call it handled when a timer ${fail ? 'returns -1' : 'calls cnode_stop'} right after a full input budget`, async () => {
      const { node } = await start();
      const first = node.call({ op: 'stop-later', sleep: 100, ms: 20, fail });
      // Each call in a turn of its own: separate messages, queued while the handler sleeps.
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 400; i++) {
        calls.push(node.call({ op: 'runs' }));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await expect(first).resolves.toBeGreaterThan(0);
      const outcomes = await Promise.allSettled(calls);
      const answered = outcomes.findIndex((outcome) => outcome.status === 'rejected');
      // The loop handles up to 256 messages in a turn before it runs timers: each handled call
      // is answered, and the ones after the stop fail as calls to an exited worker do.
      expect(answered === -1 ? 400 : answered).toBeGreaterThanOrEqual(200);
      for (const [i, outcome] of outcomes.entries()) {
        if (i < answered || answered === -1) expect(outcome).toEqual({ status: 'fulfilled', value: 0 });
        else expect(outcome.status === 'rejected' && outcome.reason.code).toBe('ERR_CNODE_EXITED');
      }
      await expect(node.exited).resolves.toMatchObject({ exitCode: fail ? 1 : 0 });
    });
  }
});
