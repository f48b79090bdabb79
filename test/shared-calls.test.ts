// SharedBuffers in calls (docs/protocol.md section 5): a call names the bytes, the worker maps
// them and works on the owner's own memory. These tests check that both sides see the same bytes,
// that the worker's mapping goes when the owner releases the buffer (or drops it), and that a
// worker's death leaves the owner's buffer whole.
import { describe, expect, it } from 'vitest';
import { type CNode, SharedBuffer } from '../src/index.js';
import { openDescriptors, rejection, sharedMappings, startedNodes, waitUntil, workerOptions } from './helpers.js';

declare function gc(): void; // vitest.config.ts runs the tests with --expose-gc

const nodes = startedNodes();
const echo = () => nodes.start(workerOptions('echo').options);

/** How many shared buffers the worker has mapped. */
function workerMappings(node: CNode): number {
  return sharedMappings(node.pid).size;
}

const scale = (data: unknown, factor: number) => ({ op: 'scale', factor, data, answer: 'count' });

describe('a SharedBuffer in a call', () => {
  it("is the owner's memory: the worker scales it in place and the owner sees it, with no copy either way", async () => {
    const node = await echo();
    using shared = SharedBuffer.create(8 << 20);
    const values = shared.float64();
    for (let i = 0; i < values.length; i++) values[i] = i;
    expect(await node.call(scale(values, 3))).toBe(values.length);
    expect(values.every((x, i) => x === 3 * i)).toBe(true);
    // The SharedBuffer itself names all of it; listed in `transfer`, it is left as it is.
    expect(await node.call(scale(shared, 0.5), { transfer: [shared.buffer] })).toBe(values.length);
    expect(values[values.length - 1]).toBe(1.5 * (values.length - 1));
  });

  it('takes an empty view, at any offset, as an empty binary', async () => {
    const node = await echo();
    using shared = SharedBuffer.create(4096);
    expect(await node.call(scale(shared.float64().subarray(0, 0), 2))).toBe(0);
    expect(await node.call(scale(shared.float64().subarray(512, 512), 2))).toBe(0);
  });

  it('names only the bytes of a view: the rest is untouched', async () => {
    const node = await echo();
    using shared = SharedBuffer.create(1 << 16);
    const values = shared.float64().fill(1);
    expect(await node.call(scale(values.subarray(100, 200), 7))).toBe(100);
    expect(values.slice(99, 201)).toEqual(Float64Array.from({ length: 102 }, (_, i) => (i === 0 || i === 101 ? 1 : 7)));
  });

  it('is mapped by the worker once, and unmapped there when the owner releases it', async () => {
    const node = await echo();
    const shared = SharedBuffer.create(1 << 20);
    for (let i = 0; i < 5; i++) await node.call(scale(shared, 1));
    expect(workerMappings(node)).toBe(1);
    shared.release();
    await waitUntil(() => workerMappings(node) === 0, 2000, 'the worker unmaps the released buffer');
    await expect(node.call('still here')).resolves.toBe('still here');
  });

  it('is unmapped by the worker when the owner drops it unreleased and it is collected', async () => {
    const node = await echo();
    await (async () => {
      const dropped = SharedBuffer.create(1 << 20);
      await node.call(scale(dropped, 1));
    })();
    expect(workerMappings(node)).toBe(1);
    await waitUntil(
      () => {
        gc();
        return workerMappings(node) === 0;
      },
      5000,
      'the worker unmaps the collected buffer',
    );
  });

  it('keeps its descriptor open while a call that names it is in flight, even if released meanwhile', async () => {
    const node = await echo();
    const before = openDescriptors();
    const shared = SharedBuffer.create(4096);
    const call = node.call({ op: 'sleep', ms: 100, data: shared });
    shared.release(); // the worker has yet to open it through /proc
    expect(openDescriptors()).toBe(before + 1);
    await expect(call).resolves.toBe(100);
    expect(openDescriptors()).toBe(before);
  });

  it("survives the worker's death: the owner's bytes are whole, usable and its own", async () => {
    const node = await echo();
    using shared = SharedBuffer.create(1 << 20);
    const values = shared.float64().fill(2);
    await node.call(scale(values, 2));
    const calls = [node.call(scale(values, 2)), node.call({ op: 'crash' })];
    await Promise.allSettled(calls);
    await node.exited;
    expect(values.every((x) => x === 4 || x === 8)).toBe(true); // scaled by the worker or not, never torn
    values.fill(5);
    expect(values.every((x) => x === 5)).toBe(true);
  });

  it('is refused, with nothing sent, in send(), when released, and past 16 in one message', async () => {
    const node = await echo();
    using shared = SharedBuffer.create(4096);
    await expect(node.send(scale(shared, 1))).rejects.toMatchObject({
      code: 'ERR_CNODE_BAD_MESSAGE',
      message: expect.stringContaining('call() only'),
    });
    const released = SharedBuffer.create(4096);
    const view = released.float64();
    released.release();
    expect((await rejection(node.call(scale(view, 1)))).message).toMatch(
      /a released SharedBuffer \(inode \d+\) at \$\.data/,
    );
    const many = Array.from({ length: 17 }, () => SharedBuffer.create(4096));
    expect(await rejection(node.call({ op: 'echo', value: 1, many }))).toMatchObject({
      code: 'ERR_CNODE_BAD_MESSAGE',
      message: expect.stringContaining('more than 16 SharedBuffer references'),
    });
    for (const buffer of many) buffer.release();
    // References count, not buffers: the worker could not take 17 views of one either.
    const views = Array.from({ length: 17 }, (_, i) => shared.bytes().subarray(i, i + 1));
    expect(await rejection(node.call({ op: 'echo', value: 1, views }))).toMatchObject({
      code: 'ERR_CNODE_BAD_MESSAGE',
      message: expect.stringContaining('more than 16 SharedBuffer references'),
    });
    expect(workerMappings(node)).toBe(0); // none of it reached the worker
    // A view a C handler's 32-bit BIN size cannot hold (the memfd is sparse: nothing is touched).
    const huge = SharedBuffer.create(2 ** 32);
    expect(await rejection(node.call({ op: 'echo', value: 1, data: huge }))).toMatchObject({
      code: 'ERR_CNODE_BAD_MESSAGE',
      message: expect.stringContaining('a SharedBuffer view of 4294967296 bytes'),
    });
    await expect(node.call({ op: 'echo', value: 1, data: huge.bytes().subarray(0, 2 ** 32 - 1) })).resolves.toBe(1);
    huge.release();
    await waitUntil(() => workerMappings(node) === 0, 2000, 'the worker unmaps the 4 GiB view once released');
  });
});
