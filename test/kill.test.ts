// kill(signal): ending a worker's process group at once, without the stop message, and hearing
// how it ended, as stop() tells it.
import { afterAll, describe, expect, it } from 'vitest';
import { CNode } from '../src/index.js';
import { expectNothingLeft, isAlive, rejection, waitUntil, workerOptions } from './helpers.js';

afterAll(() => expectNothingLeft());

describe('kill()', () => {
  it('SIGKILLs the whole group at once: calls in flight reject with the signal, later ones are refused', async () => {
    const node = await CNode.start(workerOptions('testbed').options);
    const grandchild = (await node.call({ op: 'fork', ignoreTerm: true })) as number;
    const inFlight = rejection(node.call({ op: 'sleep', ms: 5000 }));
    const started = Date.now();
    const info = await node.kill();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(info).toMatchObject({ node: node.name, exitCode: null, signal: 'SIGKILL', stopped: true, fault: null });
    expect(await inFlight).toMatchObject({ code: 'ERR_CNODE_EXITED', signal: 'SIGKILL' });
    expect((await rejection(node.call('after'))).code).toBe('ERR_CNODE_STOPPED');
    await expect(node.exited).resolves.toEqual(info);
    await expect(node.stop()).resolves.toEqual(info);
    await waitUntil(() => !isAlive(grandchild), 1000, 'the grandchild is gone');
    expect(isAlive(node.pid)).toBe(false);
  });

  it('sends another signal when asked, and SIGKILL after stopTimeout when that one is ignored', async () => {
    const node = await CNode.start(workerOptions('testbed').options);
    await expect(node.kill('SIGTERM')).resolves.toMatchObject({ signal: 'SIGTERM', stopped: true });

    const stubborn = await CNode.start(workerOptions('testbed', { stopTimeout: 200 }).options);
    await stubborn.call({ op: 'ignore-sigterm' });
    const started = Date.now();
    await expect(stubborn.kill('SIGTERM')).resolves.toMatchObject({ signal: 'SIGKILL', stopped: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('hurries a stop() that is waiting on a hung worker, and both resolve the same', async () => {
    const node = await CNode.start(workerOptions('testbed').options);
    process.kill(node.pid, 'SIGSTOP');
    const stopping = node.stop({ timeout: 10_000 });
    const started = Date.now();
    const info = await node.kill();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(info).toMatchObject({ signal: 'SIGKILL', stopped: true });
    await expect(stopping).resolves.toEqual(info);
  });

  it('during a stop: its signal counts as the stop, and SIGKILL follows within stopTimeout', async () => {
    const linked = await CNode.startLink(workerOptions('testbed').options);
    const errors: unknown[] = [];
    linked.on('error', (error) => errors.push(error));
    await linked.send({ op: 'sleep', ms: 3000 }); // the stop message waits behind it
    const stopping = linked.stop({ timeout: 3000 });
    await expect(linked.kill('SIGINT')).resolves.toMatchObject({ signal: 'SIGINT', stopped: true });
    await expect(stopping).resolves.toMatchObject({ signal: 'SIGINT', stopped: true });
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([]);

    const stubborn = await CNode.start(workerOptions('testbed', { stopTimeout: 200 }).options);
    await stubborn.call({ op: 'ignore-sigterm' });
    await stubborn.send({ op: 'sleep', ms: 3000 });
    const slowStop = stubborn.stop({ timeout: 3000 });
    const started = Date.now();
    await expect(stubborn.kill('SIGTERM')).resolves.toMatchObject({ signal: 'SIGKILL', stopped: true });
    expect(Date.now() - started).toBeLessThan(1500);
    await slowStop;
  });

  it('refuses a signal that is not one, naming it and the node, and leaves the worker running', async () => {
    const node = await CNode.start(workerOptions('echo').options);
    const error = await rejection(node.kill('SIGNOPE' as NodeJS.Signals));
    expect(error.code).toBe('ERR_CNODE_INVALID_OPTION');
    expect(error.message).toContain('"SIGNOPE"');
    expect(error.message).toContain(node.name);
    await expect(node.call('still here')).resolves.toBe('still here');
    await node.stop();
  });
});
