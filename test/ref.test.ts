// unref() and ref(): whether an idle node keeps its owner's event loop alive. Each case runs a
// real owner process that has nothing to do but hold its node.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { binary, isAlive, liveChildren, root, waitUntil } from './helpers.js';

/** Starts test/fixtures/unref-owner.js; resolves with its worker's pid, its lines, and its exit. */
async function startOwner(how: string, transport: 'ipc' | 'tcp' = 'ipc') {
  const owner = spawn(
    process.execPath,
    [path.join(root, 'test/fixtures/unref-owner.js'), how, binary('echo'), transport],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: unknown[] = [];
  const reader = readline.createInterface({ input: owner.stdout! });
  reader.on('line', (line) => lines.push(JSON.parse(line)));
  const exit = once(owner, 'exit') as Promise<[number | null, string | null]>;
  await waitUntil(() => lines.length > 0, 5000, 'the owner printed its worker');
  const { worker } = lines[0] as { worker: number };
  return { owner, worker, lines, exit };
}

/** Whether `exit` settles within `ms`. */
const exitsWithin = (exit: Promise<unknown>, ms: number) =>
  Promise.race([exit.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false))]);

describe('unref()', () => {
  for (const transport of ['ipc', 'tcp'] as const) {
    it(`lets an owner with nothing else to do exit, and its worker goes with it (${transport})`, async () => {
      const { worker, exit } = await startOwner('unref', transport);
      expect(await exitsWithin(exit, 2000)).toBe(true);
      expect((await exit)[0]).toBe(0);
      await waitUntil(() => !isAlive(worker), 1000, 'the worker is gone');
    });
  }

  // zeromq.js aborts the process when the loop ends before a closing monitor has closed.
  for (const [how, line] of [
    ['unref-stop', { stopped: true }],
    ['unref-kill', { signal: 'SIGKILL' }],
    ['unref-crash', undefined],
  ] as const) {
    it(`then ${how.slice(6)}: the owner exits cleanly, every time`, async () => {
      for (let round = 0; round < 5; round++) {
        const { lines, exit } = await startOwner(how);
        expect(await exitsWithin(exit, 3000)).toBe(true);
        expect(await exit).toEqual([0, null]);
        if (line) expect(lines[1]).toEqual(line);
      }
    });
  }

  it('in a worker_thread that stops the node and ends: the process lives on', async () => {
    const thread = new Worker(path.join(root, 'test/fixtures/unref-thread.js'), {
      workerData: { executable: binary('echo') },
    });
    const [stopped] = (await once(thread, 'message')) as [boolean];
    expect(stopped).toBe(true);
    await once(thread, 'exit');
  });

  it('still holds the owner while a call waits for its answer', async () => {
    const { worker, lines, exit } = await startOwner('unref-call');
    expect(await exitsWithin(exit, 3000)).toBe(true);
    expect(lines[1]).toEqual({ answer: 300 });
    await waitUntil(() => !isAlive(worker), 1000, 'the worker is gone');
  });
});

describe('ref()', () => {
  for (const how of ['none', 'unref-ref']) {
    it(`${how === 'none' ? 'by default' : 'after unref(), ref()'}: the node keeps its owner alive`, async () => {
      const { owner, worker, exit } = await startOwner(how);
      expect(await exitsWithin(exit, 1000)).toBe(false);
      expect(isAlive(worker)).toBe(true);
      owner.kill('SIGKILL');
      await exit;
      await waitUntil(() => !isAlive(worker), 1000, 'the worker is gone after its owner');
    });
  }

  it('leaves no child of the test process behind', () => {
    expect(liveChildren()).toEqual([]);
  });
});
