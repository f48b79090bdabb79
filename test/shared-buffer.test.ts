import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CNodeError } from '../src/index.js';
import { native } from '../src/native.js';
import { MAX_SHARED_BYTES, SharedBuffer, sharedStats } from '../src/shared-buffer.js';
import { binary, openDescriptors, root, sharedMappings, waitUntil } from './helpers.js';

declare function gc(): void; // vitest.config.ts runs the tests with --expose-gc

/** Runs test/workers/shared_probe, a separate process that maps the buffer with cnode_shared_map. */
function probe(
  mode: 'scale' | 'stale' | 'lru',
  shared?: { fd: number; inode: number; byteLength: number },
  ...rest: number[]
) {
  const args = shared ? [mode, process.pid, shared.fd, shared.inode, shared.byteLength, ...rest].map(String) : [mode];
  const result = spawnSync(binary('shared_probe'), args, { encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

/** The inodes of the cnode memfds mapped in this process. */
const mappedInodes = () => sharedMappings('self');

/** sharedStats() once the finalizers already posted to the event loop (released buffers') have run. */
async function settledStats(): Promise<{ mapped: number; records: number }> {
  await new Promise((resolve) => setImmediate(resolve));
  return sharedStats();
}

/** True while `fd` is open on the memfd with this inode. */
function holdsFile(fd: number, inode: number): boolean {
  try {
    return fs.fstatSync(fd).ino === inode;
  } catch {
    return false;
  }
}

describe('SharedBuffer', () => {
  it('lets a worker process change the owner’s memory in place', () => {
    const shared = SharedBuffer.create(1 << 20);
    const values = shared.float64();
    for (let i = 0; i < values.length; i++) values[i] = i;
    expect(probe('scale', shared, 3)).toEqual({ status: 0, stdout: 'ok', stderr: '' });
    expect(values[1]).toBe(3);
    expect(values[values.length - 1]).toBe((values.length - 1) * 3);
    expect(shared.bytes().byteLength).toBe(1 << 20);
    shared.release();
  });

  it('is refused with ESTALE when the descriptor names another file', () => {
    const shared = SharedBuffer.create(4096);
    expect(probe('stale', shared)).toEqual({ status: 0, stdout: 'ESTALE', stderr: '' });
    shared.release();
  });

  it('is cached by the worker, at most 64 at once, the least recently used unmapped first', () => {
    expect(probe('lru')).toEqual({ status: 0, stdout: 'ok', stderr: '' });
  });

  it('cannot be shrunk or grown by whoever holds a descriptor (a worker could SIGBUS the owner)', () => {
    const shared = SharedBuffer.create(8192);
    expect(() => fs.ftruncateSync(shared.fd, 0)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(() => fs.ftruncateSync(shared.fd, 1 << 20)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    shared.release();
  });

  it('release() detaches the views, unmaps and closes the descriptor at once; again does nothing', async () => {
    const before = openDescriptors();
    const shared = SharedBuffer.create(64 * 1024);
    const { fd, inode } = shared;
    const view = shared.float64();
    view[0] = 1.5;
    expect(openDescriptors()).toBe(before + 1);
    expect(mappedInodes().has(inode)).toBe(true);
    const released: number[] = [];
    shared.onRelease((i) => released.push(i));

    shared.release();
    expect(shared.released).toBe(true);
    expect(view.length).toBe(0);
    expect(shared.buffer.byteLength).toBe(0);
    expect(mappedInodes().has(inode)).toBe(false);
    expect(holdsFile(fd, inode)).toBe(false);
    expect(openDescriptors()).toBe(before);
    expect(released).toEqual([inode]);
    expect(() => shared.bytes()).toThrow(TypeError);
    expect(() => shared.retain()).toThrow(expect.objectContaining({ code: 'ERR_CNODE_BAD_MESSAGE' }));

    shared.release();
    shared[Symbol.dispose]();
    expect(released).toEqual([inode]);
    const late: number[] = [];
    shared.onRelease((i) => late.push(i));
    await Promise.resolve();
    expect(late).toEqual([inode]); // a listener added afterwards still hears of it, on a microtask
    expect(openDescriptors()).toBe(before);
  });

  it('frees the native record on the next turn of the event loop after a release, once', async () => {
    const start = await settledStats();
    const shared = SharedBuffer.create(4096);
    expect(sharedStats()).toEqual({ mapped: start.mapped + 1, records: start.records + 1 });
    shared.release();
    // Node 20 posts an external ArrayBuffer's finalizer to the loop when it is detached: the
    // pages are gone already, the record that says so goes with the finalizer.
    expect(sharedStats()).toEqual({ mapped: start.mapped, records: start.records + 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(sharedStats()).toEqual(start);
  });

  it('keeps the descriptor open while retained, for a worker that has yet to open it', () => {
    const before = openDescriptors();
    const shared = SharedBuffer.create(4096);
    const { fd, inode } = shared;
    const released: number[] = [];
    const removed: number[] = [];
    shared.onRelease((i) => released.push(i));
    shared.onRelease((i) => removed.push(i))();
    const first = shared.retain();
    const second = shared.retain();

    shared.release();
    expect(shared.buffer.byteLength).toBe(0); // the owner's views are gone at once...
    expect(mappedInodes().has(inode)).toBe(false);
    expect(holdsFile(fd, inode)).toBe(true); // ...its descriptor is not
    expect(probe('scale', { fd, inode, byteLength: 4096 }, 2)).toMatchObject({ status: 0, stdout: 'ok' });

    first();
    first(); // a second call of the same hold does nothing
    expect(holdsFile(fd, inode)).toBe(true);
    expect(released).toEqual([]);
    second();
    expect(holdsFile(fd, inode)).toBe(false);
    expect(openDescriptors()).toBe(before);
    expect(released).toEqual([inode]);
    expect(removed).toEqual([]);
  });

  it('is unmapped and closed by garbage collection when never released', async () => {
    const start = await settledStats();
    const before = openDescriptors();
    const released: number[] = [];
    const inode = ((): number => {
      const shared = SharedBuffer.create(4 << 20);
      shared.bytes().fill(7);
      shared.onRelease((i) => released.push(i));
      return shared.inode;
    })();
    expect(mappedInodes().has(inode)).toBe(true);
    expect(openDescriptors()).toBe(before + 1);
    await waitUntil(
      () => {
        gc();
        return !mappedInodes().has(inode) && openDescriptors() === before && released.length === 1;
      },
      5000,
      'the collected buffer is unmapped, its descriptor closed and its listener called',
    );
    expect(released).toEqual([inode]);
    expect(sharedStats()).toEqual(start);
  });

  it('brings collections on by its size: dropped buffers do not pile up', async () => {
    const start = await settledStats();
    let most = 0;
    for (let i = 0; i < 400; i++) {
      SharedBuffer.create(64 << 20).bytes()[0] = 1; // 25 GiB in all, one page of each touched
      most = Math.max(most, sharedStats().mapped - start.mapped);
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve)); // finalizers run on the loop
    }
    expect(most).toBeLessThan(400);
    await waitUntil(
      () => {
        gc();
        return sharedStats().mapped === start.mapped;
      },
      5000,
      'every dropped buffer is unmapped',
    );
  });

  it('is unmapped and closed when the worker_thread that made it ends', async () => {
    const start = await settledStats();
    const before = openDescriptors();
    const thread = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const addon = require(${JSON.stringify(`${root}/build/addon/cnode.node`)});
       globalThis.kept = [addon.sharedCreate(1 << 20), addon.sharedCreate(1 << 20)];
       addon.sharedRelease(addon.sharedCreate(4096).buffer); // its finalizer is still pending at exit
       parentPort.postMessage(addon.sharedStats());`,
      { eval: true },
    );
    const [inThread] = await new Promise<unknown[]>((resolve) => thread.once('message', (...args) => resolve(args)));
    expect(inThread).toEqual({ mapped: start.mapped + 2, records: start.records + 3 });
    await new Promise((resolve) => thread.once('exit', resolve));
    await waitUntil(() => openDescriptors() === before, 5000, "the thread's descriptors are closed");
    expect(sharedStats()).toEqual(start);
  });

  it('refuses a bad byteLength, naming it and the value', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, MAX_SHARED_BYTES + 1, 2 ** 40 + 1, '8', null]) {
      let error: unknown;
      try {
        SharedBuffer.create(bad as number);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(CNodeError);
      expect(error).toMatchObject({ code: 'ERR_CNODE_INVALID_OPTION' });
      expect((error as Error).message).toContain('`byteLength`');
      expect((error as Error).message).toContain(`\`${typeof bad === 'string' ? JSON.stringify(bad) : String(bad)}\``);
    }
  });

  it('is refused by the addon too, with a RangeError naming the value', () => {
    const addon = native() as unknown as {
      sharedCreate(size: unknown): unknown;
      sharedRelease(buffer: unknown): unknown;
    };
    for (const bad of [0, -4096, 0.5, 2 ** 40 + 1]) {
      expect(() => addon.sharedCreate(bad)).toThrow(
        new RangeError(`sharedCreate(byteLength): byteLength must be an integer from 1 to 2^40, got ${bad}`),
      );
    }
    expect(() => addon.sharedCreate('8')).toThrow(TypeError);
    expect(() => addon.sharedRelease(new ArrayBuffer(8))).toThrow(TypeError);
    // Node 20 cannot make an ArrayBuffer over 2^32 bytes; the refusal leaves nothing behind.
    const start = sharedStats();
    const descriptors = openDescriptors();
    if (MAX_SHARED_BYTES < 2 ** 40) expect(() => addon.sharedCreate(MAX_SHARED_BYTES + 1)).toThrow();
    expect(sharedStats()).toEqual(start);
    expect(openDescriptors()).toBe(descriptors);
  });
});
