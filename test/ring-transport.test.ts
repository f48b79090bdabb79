// What only the ring transport (`transport: 'local'`, docs/protocol.md section 10) does, beyond
// the conformance suite every transport passes: SharedBuffers by descriptor, sent once and kept
// by the worker until released (no /proc/<owner>/fd), and big binaries in memfds that are
// frozen before the owner maps them, so that an echo costs no copy on either side and no
// Buffer the owner hands on can change.
import { describe, expect, it } from 'vitest';
import { type CNode, SharedBuffer } from '../src/index.js';
import { memfdDescriptors, memfdMappings, sharedMappings, startedNodes, waitUntil, workerOptions } from './helpers.js';

declare function gc(): void; // vitest.config.ts runs the tests with --expose-gc

const nodes = startedNodes();
const echo = () => nodes.start(workerOptions('echo', { transport: 'local' }).options);

const scale = (data: unknown, factor: number) => ({ op: 'scale', factor, data, answer: 'count' });

describe('SharedBuffers over the ring', () => {
  it("are sent by descriptor with the first call only; the worker keeps it until the buffer's release", async () => {
    const node: CNode = await echo();
    const shared = SharedBuffer.create(1 << 20);
    const values = shared.float64().fill(1);
    for (let i = 0; i < 5; i++) expect(await node.call(scale(values, 2))).toBe(values.length);
    expect(values[0]).toBe(32);
    expect(memfdDescriptors(node.pid, 'cnode-shared')).toHaveLength(1); // one kept, not five
    expect(sharedMappings(node.pid).size).toBe(1);
    shared.release();
    await waitUntil(
      () => memfdDescriptors(node.pid, 'cnode-shared').length === 0 && sharedMappings(node.pid).size === 0,
      2000,
      'the worker closes and unmaps the released buffer',
    );
  });

  it('still map from the kept descriptor once the worker has evicted their mapping', async () => {
    const node = await echo();
    using first = SharedBuffer.create(4096);
    first.float64().fill(1);
    expect(await node.call(scale(first, 3))).toBe(512);
    // 64 more evict the first from the worker's cache of 64 mappings (cnode/src/shared.h).
    const others = Array.from({ length: 64 }, () => SharedBuffer.create(4096));
    for (const other of others) await node.call(scale(other, 1));
    expect(sharedMappings(node.pid).has(first.inode)).toBe(false);
    expect(await node.call(scale(first, 3))).toBe(512);
    expect(first.float64()[0]).toBe(9);
    for (const other of others) other.release();
  });
});

describe('big binaries over the ring', () => {
  it('come back from an echo as a private view of the memfd the worker froze: no copy, and never changed after', async () => {
    const node = await echo();
    const sent = Buffer.alloc(16 << 20, 7);
    const reply = (await node.call(sent)) as Buffer;
    expect(reply.equals(sent)).toBe(true);
    // The worker sent back the very memfd the owner made: 16 MiB, mapped private (p) and writable.
    // The call's own copy (staged straight into a memfd: addon/staged.cc) goes with a collection.
    const views = () =>
      memfdMappings('self', 'cnode-part')
        .filter((line) => /^[0-9a-f]+-[0-9a-f]+ rw-p /.test(line))
        .map((line) => line.split(' ')[0].split('-'))
        .filter(([start, end]) => Number.parseInt(end, 16) - Number.parseInt(start, 16) === 16 << 20);
    await waitUntil(
      () => {
        gc();
        return views().length <= 1;
      },
      2000,
      "the call's staged copy is collected",
    );
    expect(views()).toHaveLength(1);
    reply[0] = 1; // the owner's own copy-on-write page: the worker's memfd is frozen
    expect(reply[0]).toBe(1);
    expect(memfdDescriptors('self', 'cnode-part')).toEqual([]); // the mapping alone holds it
  });
});
