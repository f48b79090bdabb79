// Fault model, owner side: the owner dies in every way, and its worker, and the worker's
// children, never outlive it. The owner's deaths are conformance: they run over each of
// TRANSPORTS (a worker must notice its owner gone whatever connects them).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CNode } from '../../src/index.js';
import {
  binary,
  hasProcessEntry,
  isAlive,
  liveChildren,
  root,
  TRANSPORTS,
  type Transport,
  waitUntil,
  workerOptions,
  zombieChildren,
} from '../helpers.js';

interface Pids {
  worker: number;
  grandchild: number;
  /** With 'stubborn': a second child of the worker, one that ignores SIGTERM. */
  stubborn?: number;
}

/** How long the worker gives the rest of its group after SIGTERM before it SIGKILLs them
    (CNODE_GROUP_GRACE_MS in cnode/src/watchdog.c). */
const GROUP_GRACE_MS = 1000;

/** Starts test/fixtures/owner.js, which starts a worker; resolves with the owner and the pids. */
async function startOwner(
  transport: Transport,
  how: string,
  children: 'stubborn' | 'stubborn+ignore-sigterm' | '' = '',
) {
  const owner = spawn(
    process.execPath,
    [path.join(root, 'test/fixtures/owner.js'), how, binary('testbed'), children, transport],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const lines = readline.createInterface({ input: owner.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  const pids = JSON.parse(line) as Pids;
  expect(isAlive(pids.worker)).toBe(true);
  expect(isAlive(pids.grandchild)).toBe(true);
  if (children) expect(isAlive(pids.stubborn!)).toBe(true);
  const die = () => owner.stdin!.write('now\n');
  return { owner, pids, die };
}

async function expectAllGone(pids: Pids, how: string, timeoutMs = 1000) {
  await waitUntil(() => !isAlive(pids.worker), timeoutMs, `the worker is gone after the owner ${how}`);
  await waitUntil(() => !isAlive(pids.grandchild), timeoutMs, `the worker's child is gone after the owner ${how}`);
  if (pids.stubborn) {
    await waitUntil(
      () => !isAlive(pids.stubborn!),
      timeoutMs,
      `the worker's child that ignores SIGTERM is gone after the owner ${how}`,
    );
  }
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  describe('the owner dies', () => {
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      it(`by ${signal}: its worker and the worker's child are gone within 1 s`, async () => {
        const { owner, pids } = await startOwner(transport, 'signal');
        const exited = once(owner, 'exit');
        owner.kill(signal);
        await exited;
        await expectAllGone(pids, `got ${signal}`);
      });
    }

    // Node's exit hooks do not run when it dies of a signal: the worker alone must end its group,
    // SIGKILLing what SIGTERM did not end within its grace.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'] as const) {
      it(`by ${signal}: its worker, and a child of the worker that ignores SIGTERM, are gone within the grace`, async () => {
        const { owner, pids } = await startOwner(transport, 'signal', 'stubborn');
        const exited = once(owner, 'exit');
        owner.kill(signal);
        try {
          const [, by] = await exited;
          expect(by).toBe(signal);
          await expectAllGone(pids, `got ${signal}`, GROUP_GRACE_MS + 1000);
        } finally {
          if (isAlive(pids.stubborn!)) process.kill(pids.stubborn!, 'SIGKILL'); // a failure leaves nothing behind
        }
      });
    }

    it('by SIGKILL, when the worker ignores SIGTERM too: it ends on stdin EOF, and its child that ignores SIGTERM with it', async () => {
      const { owner, pids } = await startOwner(transport, 'signal', 'stubborn+ignore-sigterm');
      try {
        owner.kill('SIGKILL');
        await once(owner, 'exit');
        await expectAllGone(pids, 'got SIGKILL', GROUP_GRACE_MS + 1000);
      } finally {
        if (isAlive(pids.stubborn!)) process.kill(pids.stubborn!, 'SIGKILL');
      }
    });

    it('by process.exit(), with a child of the worker that ignores SIGTERM: all are killed at once', async () => {
      const { owner, pids, die } = await startOwner(transport, 'exit', 'stubborn');
      die();
      await once(owner, 'exit');
      await expectAllGone(pids, 'called process.exit()');
    });

    it('by process.exit(): its worker is killed', async () => {
      const { owner, pids, die } = await startOwner(transport, 'exit');
      die();
      await once(owner, 'exit');
      await expectAllGone(pids, 'called process.exit()');
    });

    it('by an uncaught exception: its worker is killed', async () => {
      const { owner, pids, die } = await startOwner(transport, 'throw');
      die();
      const [code] = await once(owner, 'exit');
      expect(code).toBe(1);
      await expectAllGone(pids, 'threw');
    });

    it('of its linked worker crashing, when it does not handle the error event', async () => {
      const { owner, pids, die } = await startOwner(transport, 'linked-crash');
      let stderr = '';
      owner.stderr!.on('data', (chunk) => (stderr += chunk));
      die();
      const [code] = await once(owner, 'exit');
      expect(code).toBe(1);
      expect(stderr).toContain('ERR_CNODE_EXITED');
      expect(stderr).toContain('SIGSEGV');
      await expectAllGone(pids, 'crashed with its worker');
    });

    // Node reaps a child only while the event loop that spawned it runs; a thread's loop ends with
    // the thread. (worker.terminate() is not covered: zeromq.js aborts the whole process when a
    // thread is terminated with a socket open, zeromq.js issue #411; docs/reliability.md.)
    for (const how of ['exit', 'throw'] as const) {
      it(`when it is a worker_thread that ends by ${how === 'exit' ? 'process.exit()' : 'an uncaught exception'}: the worker is killed and reaped, no zombie is left`, async () => {
        const thread = new Worker(path.join(root, 'test/fixtures/thread-owner.js'), {
          workerData: { how, executable: binary('testbed'), transport },
          stdout: true,
          stderr: true,
        });
        const errors: Error[] = [];
        thread.on('error', (error) => errors.push(error));
        const [pids] = (await once(thread, 'message')) as [Pids];
        expect(isAlive(pids.worker)).toBe(true);
        const exited = new Promise((resolve) => thread.once('exit', resolve)); // once() would reject on 'error'
        thread.postMessage('end');
        await exited;
        expect(errors.map((error) => error.message)).toEqual(how === 'throw' ? ['the thread crashed'] : []);
        // Reaped, not merely dead: a zombie would still have a /proc entry, with this process as parent.
        await waitUntil(() => !hasProcessEntry(pids.worker), 1000, 'the worker is reaped');
        await waitUntil(() => !isAlive(pids.grandchild), 1000, "the worker's child is gone");
        expect(zombieChildren()).toEqual([]);
      });
    }
  });
});

// Only over the ring: zeromq.js aborts the process when a thread is terminated with a socket
// open (zeromq.js#411), so over ZeroMQ a thread must stop its nodes before it is terminated.
describe('over local, the owner is a worker_thread', () => {
  it('when it is a worker_thread terminated while its worker answers a stream of calls: the owner lives, the worker is killed and reaped', async () => {
    for (let round = 0; round < 3; round++) {
      const thread = new Worker(path.join(root, 'test/fixtures/thread-owner.js'), {
        workerData: { how: 'stream', executable: binary('testbed'), transport: 'local' },
        stdout: true,
        stderr: true,
      });
      const [pids] = (await once(thread, 'message')) as [Pids];
      await new Promise((resolve) => setTimeout(resolve, 20)); // replies keep arriving meanwhile
      await thread.terminate();
      // Reaped too (addon/teardown.cc): no JavaScript of the thread runs at a terminate().
      await waitUntil(() => !hasProcessEntry(pids.worker), 1000, 'the worker is reaped');
      await waitUntil(() => !isAlive(pids.grandchild), 1000, "the worker's child is gone");
    }
    expect(zombieChildren()).toEqual([]);
  });
});

// Once, not per transport: the worker's process group and its stop escalation are the launcher's
// and the C watchdog's, which no connection touches.
describe('a child of the worker that ignores SIGTERM', () => {
  it('ends with the worker on stop(), which still exits with code 0', async () => {
    const node = await CNode.start(workerOptions('testbed').options);
    const stubborn = (await node.call({ op: 'fork', ignoreTerm: true })) as number;
    expect(isAlive(stubborn)).toBe(true);
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, signal: null, stopped: true });
    await waitUntil(() => !isAlive(stubborn), 1000, 'the child that ignores SIGTERM is gone after stop()');
    expect(liveChildren()).toEqual([]);
  });

  it('ends with a worker that SIGTERM ends, which still reports SIGTERM', async () => {
    const node = await CNode.start(workerOptions('testbed').options);
    const stubborn = (await node.call({ op: 'fork', ignoreTerm: true })) as number;
    void node.send({ op: 'spin' }); // never reads the stop message: stop() goes on to SIGTERM
    const info = await node.stop({ timeout: GROUP_GRACE_MS + 1000 });
    expect(info).toMatchObject({ signal: 'SIGTERM', stopped: true });
    await waitUntil(() => !isAlive(stubborn), 1000, 'the child that ignores SIGTERM is gone after SIGTERM');
    expect(liveChildren()).toEqual([]);
  });
});

// Once, not per transport: the event emitter's listeners run above the session.
describe('listeners that throw', () => {
  it('become uncaught exceptions and break nothing: replies, exit and link go on', async () => {
    const script = path.join(root, 'test/fixtures/throwing-listeners.js');
    const result = execFileSync(process.execPath, [script, binary('testbed')], { encoding: 'utf8', timeout: 10_000 });
    expect(JSON.parse(result)).toEqual({
      notified: true,
      afterMessage: 'after',
      exited: 'SIGSEGV',
      linkErrors: ['ERR_CNODE_EXITED'],
      uncaught: ['message listener', 'exit listener'],
    });
  });

  it('leaves no child of the test process behind', () => {
    expect(liveChildren()).toEqual([]);
  });
});
