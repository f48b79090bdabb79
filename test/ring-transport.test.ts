// What only the ring transport (`transport: 'local'`, docs/protocol.md section 10) does, beyond
// the conformance suite every transport passes: SharedBuffers by descriptor, sent once and kept
// by the worker until released (no /proc/<owner>/fd), and big binaries in memfds that are
// frozen before the owner maps them, so that an echo costs no copy on either side and no
// Buffer the owner hands on can change; and the memfds of answered calls, kept to carry the
// next big binaries to the same worker.
import fs from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { type CNode, SharedBuffer } from '../src/index.js';
import {
  expectNothingLeft,
  memfdDescriptors,
  memfdMappings,
  rejection,
  sharedMappings,
  startedNodes,
  waitUntil,
  workerOptions,
} from './helpers.js';

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

/** The inodes of the part memfds this process holds descriptors of (the ring keeps its spares so). */
function partInodes(): number[] {
  const inodes: number[] = [];
  for (const held of memfdDescriptors('self', 'cnode-part')) {
    try {
      inodes.push(fs.statSync(`/proc/self/fd/${held.split(' ')[1].replace(':', '')}`).ino);
    } catch {} // closed meanwhile
  }
  return inodes.sort();
}

/** The inodes of the part memfds this process maps (a frozen reply's view, a staged copy not yet sent). */
const mappedPartInodes = () => memfdMappings('self', 'cnode-part').map((line) => Number(line.split(/\s+/)[4]));

/** Collects until no staged copy holds a memfd of its own: what is left is the ring's spares. */
async function collectStaged(expected: number): Promise<void> {
  await waitUntil(
    () => {
      gc();
      return partInodes().length <= expected;
    },
    2000,
    `the staged copies are collected, ${expected} memfds left`,
  );
}

describe('staged memfds over the ring', () => {
  const MiB = 1 << 20; // over a record of the default 512 KiB ring: staged, and sent by descriptor
  const big = (fill: number) => Buffer.alloc(MiB, fill);

  it("carry the next call's binary of their size once the worker has answered, with that call's bytes", async () => {
    const node = await echo();
    expect(await node.call({ op: 'echo', value: 1, data: big(1) })).toBe(1);
    const [spare, ...more] = partInodes(); // kept by the ring, with the staged copy's Buffer
    expect(more).toEqual([]);
    expect(await node.call({ op: 'echo', value: 2, data: big(2) })).toBe(2);
    expect(partInodes()).toEqual([spare]); // taken and given back: no second memfd
    // Reused again, for a binary the worker echoes: it comes back frozen, a view of that memfd,
    // with this call's bytes; frozen, it is not kept.
    const third = big(3);
    const reply = (await node.call({ op: 'echo', value: third })) as Buffer;
    expect(reply.equals(third)).toBe(true);
    expect(mappedPartInodes()).toContain(spare);
    await collectStaged(0);
    expect(partInodes()).toEqual([]);
    expect(await node.call({ op: 'echo', value: 4, data: big(4) })).toBe(4);
    expect(partInodes()).not.toContain(spare); // a fresh one: the frozen memfd was not reused
    expect(reply.equals(third)).toBe(true);
  });

  it("are kept for their own worker only: another worker's call makes a memfd of its own", async () => {
    const [a, b] = await Promise.all([echo(), echo()]);
    expect(await a.call({ op: 'echo', value: 1, data: big(1) })).toBe(1);
    const [spareOfA] = partInodes();
    expect(await b.call({ op: 'echo', value: 1, data: big(1) })).toBe(1);
    expect(partInodes()).toHaveLength(2);
    expect(partInodes()).toContain(spareOfA);
  });

  it('are not kept from a call that timed out (its handler may still read it), nor from a send', async () => {
    const node = await echo();
    const error = await rejection(node.call({ op: 'sleep', ms: 200, data: big(1) }, { timeout: 20 }));
    expect(error.code).toBe('ERR_CNODE_CALL_TIMEOUT');
    await collectStaged(0); // the call's copy collected, its memfd closed, not kept
    await node.send({ op: 'set', value: 0, data: big(2) });
    expect(await node.call({ op: 'echo', value: 1 })).toBe(1); // after the sleep and the send
    await collectStaged(0);
  });

  it('reuse their Buffers too: 300 calls of 1 MiB give V8 almost nothing to collect', async () => {
    const node = await echo();
    const data = big(5);
    expect(await node.call({ op: 'echo', value: 0, data })).toBe(0);
    let collections = 0;
    const observer = new PerformanceObserver((list) => {
      collections += list.getEntries().length;
    });
    observer.observe({ entryTypes: ['gc'] });
    for (let i = 1; i <= 300; i++) expect(await node.call({ op: 'echo', value: i, data })).toBe(i);
    await new Promise((resolve) => setTimeout(resolve, 50)); // gc entries arrive a turn late
    observer.disconnect();
    // A new external Buffer per call (300 MiB in all) had V8 collect every 30 calls or so
    // (measured: 67 collections in 2,000 calls, against 8 with the Buffers reused).
    expect(collections).toBeLessThanOrEqual(4);
    expect(partInodes()).toHaveLength(1);
  });

  it('close with their ring: nothing is left once the worker has stopped', async () => {
    const node = await echo();
    expect(await node.call({ op: 'echo', value: 1, data: big(1) })).toBe(1);
    expect(partInodes()).toHaveLength(1);
    await node.stop();
    await expectNothingLeft();
  });
});
