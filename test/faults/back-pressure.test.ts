// Fault model: a fast sender and a slow, or stopped, worker. Pending work is capped by
// maxPending (calls in flight plus sends waiting): past it, call() and send() fail at once with
// ERR_CNODE_OVERLOADED. Awaiting each send() paces the sender; when the worker stops reading,
// send() fails with ERR_CNODE_SEND_TIMEOUT and calls time out, and what they left in the send
// queue is dropped with them, so the owner's memory stays bounded.
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { CNode, type CNodeError } from '../../src/index.js';
import { expectNothingLeft, heldMemory, rejection, workerOptions } from '../helpers.js';

afterAll(() => expectNothingLeft());

describe('back-pressure', () => {
  it('caps calls and sends pending at maxPending, fails the rest with ERR_CNODE_OVERLOADED, then recovers', async () => {
    const node = await CNode.start(workerOptions('testbed', { maxPending: 100 }).options);
    const slow = Array.from({ length: 60 }, () => node.call({ op: 'sleep', ms: 1 }));
    const casts = Array.from({ length: 40 }, () => node.send({ op: 'sleep', ms: 1 }));
    const refused = await Promise.allSettled([node.call('one more'), node.send('one more')]);
    for (const result of refused) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as CNodeError;
      expect(error.code).toBe('ERR_CNODE_OVERLOADED');
      expect(error.message).toContain('maxPending');
    }
    await Promise.all([...slow, ...casts]);
    await expect(node.call('room again')).resolves.toBe('room again');
    await node.stop();
  });

  it('a sender that awaits each send() is paced; a stopped worker makes send() fail with ERR_CNODE_SEND_TIMEOUT', async () => {
    const node = await CNode.start(workerOptions('testbed').options);
    process.kill(node.pid, 'SIGSTOP');
    onTestFinished(() => void node.stop({ timeout: 100 })); // a stopped worker answers only SIGKILL
    const payload = Buffer.alloc(16 * 1024);
    let accepted = 0;
    let error: CNodeError | undefined;
    // ZeroMQ takes messages until its queues and the kernel's buffers are full, then no more.
    while (!error && accepted < 20_000) {
      try {
        await node.send(payload, { timeout: 200 });
        accepted++;
      } catch (caught) {
        error = caught as CNodeError;
      }
    }
    expect(error?.code).toBe('ERR_CNODE_SEND_TIMEOUT');
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(20_000);
    const info = await node.stop({ timeout: 100 });
    expect(info.signal).toBe('SIGKILL');
  });

  it('calls that time out against a stopped worker leave nothing in the send queue', async () => {
    const node = await CNode.start(workerOptions('testbed', { maxPending: 2000 }).options);
    process.kill(node.pid, 'SIGSTOP');
    onTestFinished(() => void node.stop({ timeout: 100 }));
    const payload = Buffer.alloc(16 * 1024);
    const fill = async () => {
      const errors = await Promise.all(
        Array.from({ length: 2000 }, () => rejection(node.call(payload, { timeout: 100 }))),
      );
      expect(errors.every((error) => error.code === 'ERR_CNODE_CALL_TIMEOUT')).toBe(true);
    };
    await fill(); // ZeroMQ's own queues (1,000 messages of high-water mark, then the kernel's) fill up
    await fill();
    const before = await heldMemory();
    for (let round = 0; round < 5; round++) await fill(); // 10,000 calls of 16 KiB: 160 MiB if kept
    expect((await heldMemory()) - before).toBeLessThan(8 * 1024 * 1024);
    await node.stop({ timeout: 100 });
  });
});
