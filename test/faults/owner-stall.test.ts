// Fault model: the owner itself does not run for a while (synchronous work, a debugger pause)
// or its wall clock steps. The worker's answers wait unread meanwhile: that silence is the
// owner's, and the heartbeat must not kill a healthy worker for it, yet still catch a hung one.
import { afterAll, describe, expect, it } from 'vitest';
import { CNode } from '../../src/index.js';
import { liveChildren, workerOptions } from '../helpers.js';

/** Blocks this thread, as synchronous work or a debugger pause would. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the owner's event loop does not run
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(() => {
  expect(liveChildren()).toEqual([]);
});

describe('the heartbeat, when the owner stalls', () => {
  it('does not kill a healthy idle worker after 3 s of synchronous work in the owner', async () => {
    const node = await CNode.start(workerOptions('testbed', { heartbeat: { interval: 500, timeout: 2000 } }).options);
    await expect(node.call('before')).resolves.toBe('before');
    await sleep(600); // a ping is out when the stall begins
    stall(3000);
    await expect(node.call('after')).resolves.toBe('after');
    await sleep(1200); // the ticks after the stall
    await expect(node.call('later')).resolves.toBe('later');
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
  });

  it('is not fooled by a step of the wall clock', async () => {
    const node = await CNode.start(workerOptions('testbed', { heartbeat: { interval: 100, timeout: 300 } }).options);
    const realNow = Date.now;
    try {
      Date.now = () => realNow() + 3_600_000; // an hour ahead, as after an NTP step
      await sleep(700);
      await expect(node.call('still here')).resolves.toBe('still here');
    } finally {
      Date.now = realNow;
    }
    await expect(node.stop()).resolves.toMatchObject({ stopped: true, fault: null });
  });

  it('still catches a hung worker while the owner runs in long turns, counting only the time it ran', async () => {
    const heartbeat = { interval: 100, timeout: 500 };
    const node = await CNode.start(workerOptions('testbed', { heartbeat }).options);
    await expect(node.call('alive')).resolves.toBe('alive');
    process.kill(node.pid, 'SIGSTOP');
    let ended = false;
    void node.exited.then(() => (ended = true));
    const started = performance.now();
    while (!ended && performance.now() - started < 10_000) {
      stall(200); // turns of 200 ms, with the loop reading its sockets between them
      await new Promise((resolve) => setImmediate(resolve));
    }
    const info = await node.exited;
    expect(info.fault?.code).toBe('ERR_CNODE_UNRESPONSIVE');
    // About half of the time was the owner's own: the timeout counts the other half.
    expect(performance.now() - started).toBeLessThan(4 * heartbeat.timeout + 1000);
  });

  it('still catches a hung worker, a full timeout after the stall ends', async () => {
    const heartbeat = { interval: 100, timeout: 400 };
    const node = await CNode.start(workerOptions('testbed', { heartbeat }).options);
    await expect(node.call('alive')).resolves.toBe('alive');
    process.kill(node.pid, 'SIGSTOP');
    stall(1000);
    const stallEnded = performance.now();
    const info = await node.exited;
    const after = performance.now() - stallEnded;
    expect(info.fault?.code).toBe('ERR_CNODE_UNRESPONSIVE');
    expect(info).toMatchObject({ signal: 'SIGKILL', stopped: false });
    expect(after).toBeGreaterThanOrEqual(heartbeat.timeout - 20);
    expect(after).toBeLessThan(heartbeat.timeout + 2 * heartbeat.interval + 1000);
  });
});
