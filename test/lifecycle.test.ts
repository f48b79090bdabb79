// Exit, link and stop: how a worker ends and what the owner hears. Conformance: every test here
// runs over each of TRANSPORTS.
import { describe, expect, it } from 'vitest';
import { CNode, type CNodeError, type ExitInfo } from '../src/index.js';
import {
  descriptorBaseline,
  expectNothingLeft,
  isAlive,
  rejection,
  TRANSPORTS,
  waitUntil,
  workerOptions,
} from './helpers.js';

describe.each(TRANSPORTS)('over %s', (transport) => {
  const echo = () => workerOptions('echo', { transport }).options;
  const testbed = () => workerOptions('testbed', { transport }).options;

  describe('exit', () => {
    it('rejects 100 calls in flight at once when the worker crashes, with the signal and stderr tail', async () => {
      const node = await CNode.start(testbed());
      await node.call({ op: 'print', stderr: 'last words' });
      const exits: ExitInfo[] = [];
      node.on('exit', (info) => exits.push(info));
      await node.send({ op: 'sleep', ms: 100 }); // the calls below are sent, and unanswered, when it crashes
      await node.send({ op: 'crash' });
      const calls = Array.from({ length: 100 }, (_, i) => rejection(node.call(i)));
      const errors = await Promise.all(calls);
      for (const error of errors) {
        expect(error.code).toBe('ERR_CNODE_EXITED');
        expect(error.signal).toBe('SIGSEGV');
        expect(error.exitCode).toBeNull();
      }
      const info = await node.exited;
      expect(info).toMatchObject({ node: node.name, exitCode: null, signal: 'SIGSEGV', stopped: false });
      expect(info.stderr).toContain('last words');
      expect(exits).toEqual([info]);
      const later = await rejection(node.call('too late'));
      expect(later.code).toBe('ERR_CNODE_EXITED');
      expect(later.message).toContain('SIGSEGV');
      await expect(node.stop()).resolves.toEqual(info); // stop() after an exit just reports it
      expect(exits).toHaveLength(1);
    });

    it('reports an exit code, and a clean exit the worker chose', async () => {
      const failing = await CNode.start(echo());
      await rejection(failing.call({ op: 'exit', code: 7 }));
      await expect(failing.exited).resolves.toMatchObject({ exitCode: 7, signal: null, stopped: false });
      const quitting = await CNode.start(echo());
      await expect(quitting.call({ op: 'stop' })).resolves.toBe(true);
      await expect(quitting.exited).resolves.toMatchObject({ exitCode: 0, signal: null, stopped: false });
    });

    it('calls a monitor once, and not after it is removed', async () => {
      const node = await CNode.start(echo());
      const seen: ExitInfo[] = [];
      const removed: ExitInfo[] = [];
      node.monitor((info) => seen.push(info));
      const remove = node.monitor((info) => removed.push(info));
      remove();
      process.kill(node.pid, 'SIGKILL');
      const info = await node.exited;
      await new Promise((resolve) => setImmediate(resolve));
      expect(seen).toEqual([info]);
      expect(info.signal).toBe('SIGKILL');
      expect(removed).toEqual([]);
    });
  });

  describe('link', () => {
    it('startLink emits error on an abnormal exit', async () => {
      const node = await CNode.startLink(echo());
      const errors: CNodeError[] = [];
      node.on('error', (error) => errors.push(error));
      await rejection(node.call({ op: 'crash' }));
      await node.exited;
      await expect.poll(() => errors.length).toBe(1);
      expect(errors[0].code).toBe('ERR_CNODE_EXITED');
      expect(errors[0].signal).toBe('SIGSEGV');
    });

    it('reports a crash that stop() did not cause as a crash, even when stop() came first', async () => {
      const node = await CNode.startLink(echo());
      const errors: CNodeError[] = [];
      node.on('error', (error) => errors.push(error));
      process.kill(node.pid, 'SIGSEGV');
      await waitUntil(() => !isAlive(node.pid), 1000, 'the worker died');
      await expect(node.stop()).resolves.toMatchObject({ signal: 'SIGSEGV', stopped: false });
      await expect.poll(() => errors.map((error) => error.signal)).toEqual(['SIGSEGV']);
    });

    it('startLink emits no error for stop() or a clean exit, and start() never does', async () => {
      const errors: unknown[] = [];
      const stopped = await CNode.startLink(echo());
      stopped.on('error', (error) => errors.push(error));
      await stopped.stop();
      const clean = await CNode.startLink(echo());
      clean.on('error', (error) => errors.push(error));
      await clean.call({ op: 'stop' });
      await clean.exited;
      const unlinked = await CNode.start(echo()); // no listener: an 'error' would throw
      await rejection(unlinked.call({ op: 'crash' }));
      await unlinked.exited;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(errors).toEqual([]);
    });
  });

  describe('stop', () => {
    it('stops with the stop message, resolves the exit information, and is idempotent', async () => {
      const node = await CNode.start(echo());
      const pending = node.call({ op: 'sleep', ms: 50 }); // sent before stop: answered before it
      const first = node.stop();
      expect(node.stop()).toBe(first);
      await expect(pending).resolves.toBe(50);
      const info = await first;
      expect(info).toMatchObject({ exitCode: 0, signal: null, stopped: true });
      expect(isAlive(node.pid)).toBe(false);
      const after = await rejection(node.call('x'));
      expect(after.code).toBe('ERR_CNODE_STOPPED');
      await expect(node.send('x')).rejects.toMatchObject({ code: 'ERR_CNODE_STOPPED' });
    });

    it('escalates to SIGTERM, then SIGKILL, within its bounds', async () => {
      const spinning = await CNode.start(testbed());
      void spinning.send({ op: 'spin' }); // never reads the stop message
      const started = Date.now();
      await expect(spinning.stop({ timeout: 200 })).resolves.toMatchObject({ signal: 'SIGTERM', stopped: true });
      expect(Date.now() - started).toBeLessThan(1500);

      const stubborn = await CNode.start(testbed());
      await stubborn.call({ op: 'ignore-sigterm' });
      void stubborn.send({ op: 'spin' });
      await expect(stubborn.stop({ timeout: 200 })).resolves.toMatchObject({ signal: 'SIGKILL', stopped: true });

      const hurried = await CNode.start(testbed());
      await hurried.call({ op: 'ignore-sigterm' });
      void hurried.send({ op: 'spin' });
      await expect(hurried.stop({ timeout: 1 })).resolves.toMatchObject({ signal: 'SIGKILL', stopped: true });
    });

    it('ends the processes the worker forked, on stop and on a crash', async () => {
      for (const end of ['stop', 'crash'] as const) {
        const node = await CNode.start(testbed());
        const grandchild = (await node.call({ op: 'fork' })) as number;
        expect(isAlive(grandchild)).toBe(true);
        if (end === 'stop') await node.stop();
        else await rejection(node.call({ op: 'crash' }));
        await node.exited;
        await waitUntil(() => !isAlive(grandchild), 1000, `the forked child ${grandchild} is gone after ${end}`);
      }
    });

    it('works with await using', async () => {
      let pid = 0;
      {
        await using node = await CNode.start(echo());
        pid = node.pid;
        await expect(node.call(1)).resolves.toBe(1);
      }
      expect(isAlive(pid)).toBe(false);
    });

    it('leaves no process, descriptor or socket file behind after 200 start/stop cycles', async () => {
      const descriptors = await descriptorBaseline(transport); // let zeromq open its context
      for (let i = 0; i < 200; i++) {
        const node = await CNode.start(echo());
        if (i % 2 === 0) await node.call(i);
        await node.stop();
      }
      // No socket directory is the ipc check (tcp makes none). The last node's monitor closes
      // itself just after its socket: a leak would be one descriptor per cycle.
      await expectNothingLeft({ descriptors });
    });
  });
});
