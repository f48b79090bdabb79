// Fault model: a worker that is alive but does not answer, stopped by SIGSTOP or spinning in a
// handler. Calls time out, stop() escalates to SIGKILL within its bounds, and the optional
// heartbeat declares it dead, kills it and fails its calls with ERR_CNODE_UNRESPONSIVE.
import { afterAll, describe, expect, it } from 'vitest';
import { CNode, type CNodeError } from '../../src/index.js';
import { expectNothingLeft, isAlive, rejection, TRANSPORTS, workerOptions } from '../helpers.js';

const heartbeat = { interval: 50, timeout: 250 };

/**
 * How a worker is made to hang, after it has started, and the stop step that ends it: a stopped
 * process holds SIGTERM until SIGKILL; a spinning one dies of SIGTERM (the C library's handler
 * passes it on to the group, then lets it kill the worker even mid-handler).
 */
const hangs = [
  { how: 'SIGSTOP', hang: (node: CNode) => process.kill(node.pid, 'SIGSTOP'), endedBy: 'SIGKILL' },
  { how: 'a handler in an endless loop', hang: (node: CNode) => void node.send({ op: 'spin' }), endedBy: 'SIGTERM' },
] as const;

afterAll(() => expectNothingLeft());

describe('a hung worker', () => {
  for (const { how, hang, endedBy } of hangs) {
    it(`(${how}): calls time out, and stop() ends it by ${endedBy} within its bounds`, async () => {
      const node = await CNode.start(workerOptions('testbed', { stopTimeout: 100 }).options);
      hang(node);
      const error = await rejection(node.call('anyone there?', { timeout: 100 }));
      expect(error.code).toBe('ERR_CNODE_CALL_TIMEOUT');
      const started = Date.now();
      const info = await node.stop();
      // Each step waits 100 ms; SIGKILL's wait is at least 1 s.
      expect(Date.now() - started).toBeLessThan(100 + 100 + 1000 + 500);
      expect(info).toMatchObject({ signal: endedBy, stopped: true, fault: null });
      expect(isAlive(node.pid)).toBe(false);
    });

    // On every transport: over tcp a frozen worker's libzmq thread answers no ZMTP heartbeat
    // either, which must not make it look like a lost connection. With { 200, 1000 }, ZMTP (were
    // it on here) would drop the connection at 700 ms, and its grace end at 950: before the verdict.
    for (const transport of TRANSPORTS)
      it(`(${how}, ${transport}): the heartbeat kills it and fails its calls with ERR_CNODE_UNRESPONSIVE`, async () => {
        const heartbeat = { interval: 200, timeout: 1000 };
        const node = await CNode.startLink(workerOptions('testbed', { heartbeat, transport }).options);
        const linkError = new Promise<CNodeError>((resolve) => node.once('error', resolve));
        await expect(node.call('alive')).resolves.toBe('alive');
        hang(node);
        const started = Date.now();
        const calls = Array.from({ length: 10 }, (_, i) => rejection(node.call(i, { timeout: 10_000 })));
        const errors = await Promise.all(calls);
        // Declared dead after `timeout` of silence, checked every `interval`.
        expect(Date.now() - started).toBeLessThan(heartbeat.timeout + heartbeat.interval + 500);
        for (const error of errors) {
          expect(error.code).toBe('ERR_CNODE_UNRESPONSIVE');
          expect(error.message).toContain('heartbeat');
        }
        const info = await node.exited;
        expect(info).toMatchObject({ signal: 'SIGKILL', stopped: false });
        expect(info.fault?.code).toBe('ERR_CNODE_UNRESPONSIVE');
        expect((await linkError).code).toBe('ERR_CNODE_UNRESPONSIVE');
        expect((await rejection(node.call('after'))).code).toBe('ERR_CNODE_UNRESPONSIVE');
        expect(isAlive(node.pid)).toBe(false);
      });
  }

  it('the heartbeat leaves a healthy worker alone: idle, or busy with calls shorter than its timeout', async () => {
    const node = await CNode.start(workerOptions('testbed', { heartbeat }).options);
    await new Promise((resolve) => setTimeout(resolve, heartbeat.timeout * 3)); // idle: pings answered
    for (let i = 0; i < 5; i++) await node.call({ op: 'sleep', ms: heartbeat.timeout / 2 });
    await expect(node.call('still here')).resolves.toBe('still here');
    const info = await node.stop();
    expect(info).toMatchObject({ exitCode: 0, stopped: true, fault: null });
  });

  it('the heartbeat is off by default: a long call is not a death', async () => {
    const node = await CNode.start(workerOptions('testbed').options);
    await expect(node.call({ op: 'sleep', ms: 600 })).resolves.toBeDefined();
    await node.stop();
  });
});
