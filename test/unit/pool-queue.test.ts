import { describe, expect, it } from 'vitest';
import { TaskQueue } from '../../src/pool/queue.js';
import { leastBusy, type PoolWorker } from '../../src/pool/worker.js';

const item = (n: number) => ({ n, queued: false });

describe('TaskQueue', () => {
  it('takes items oldest first; an item put at the front comes next', () => {
    const queue = new TaskQueue<ReturnType<typeof item>>();
    for (let n = 0; n < 40; n++) queue.add(item(n)); // past its first 16 slots
    queue.add(item(-1), true);
    expect(queue.size).toBe(41);
    const taken = queue.takeAll().map((x) => x.n);
    expect(taken).toEqual([-1, ...Array.from({ length: 40 }, (_, n) => n)]);
    expect(queue.size).toBe(0);
    expect(queue.take()).toBeUndefined();
  });

  it('skips items given up, wherever they are, and sweeps them out of a long ring', () => {
    const queue = new TaskQueue<ReturnType<typeof item>>();
    const items = Array.from({ length: 3000 }, (_, n) => item(n));
    for (const x of items) queue.add(x);
    // All but every tenth gives up, behind a head that waits on.
    for (const x of items) if (x.n % 10 !== 0) queue.giveUp(x);
    expect(queue.size).toBe(300);
    expect(queue.peek()?.n).toBe(0);
    const taken = queue.takeAll();
    expect(taken.map((x) => x.n)).toEqual(items.filter((x) => x.n % 10 === 0).map((x) => x.n));
    expect(taken.every((x) => !x.queued)).toBe(true);
  });
});

describe('leastBusy', () => {
  const worker = (running: number, extra: Partial<PoolWorker> = {}) =>
    ({ running, isolated: false, retiring: false, ...extra }) as PoolWorker;

  it('picks the least busy worker with room, the first among equals', () => {
    const workers = [worker(2), worker(1), worker(1), worker(3)];
    expect(leastBusy(workers, 4, false)).toBe(workers[1]);
    expect(leastBusy([worker(2), worker(2)], 2, false)).toBeUndefined();
  });

  it('gives nothing to isolated or retiring workers, and an alone call only to an idle worker', () => {
    const workers = [worker(0, { retiring: true }), worker(0, { isolated: true }), worker(1), worker(0)];
    expect(leastBusy(workers, 2, false)).toBe(workers[3]);
    expect(leastBusy(workers.slice(0, 3), 2, true)).toBeUndefined();
    expect(leastBusy(workers, 2, true)).toBe(workers[3]);
  });
});
