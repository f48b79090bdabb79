// Deadlines on their own, with real timers: what expires, when, in what order, and what a
// cancellation leaves behind.
import { describe, expect, it } from 'vitest';
import { Deadlines, type Timed } from '../../src/session/deadlines.js';

interface Item extends Timed {
  name: string;
}

const item = (name: string, timeout: number): Item => ({ name, timeout, at: Number.POSITIVE_INFINITY, waiting: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Deadlines that record, in order, the names of what expired. */
function recording() {
  const expired: string[] = [];
  const deadlines = new Deadlines<Item>((expiring) => {
    expect(expiring.waiting).toBe(false); // no longer waiting once it expires
    expired.push(expiring.name);
  });
  return { deadlines, expired };
}

describe('Deadlines', () => {
  it('expires what is not cancelled, after its timeout, once, in deadline order across timeouts', async () => {
    const { deadlines, expired } = recording();
    const started = performance.now();
    const items = [item('c', 80), item('a', 15), item('kept', 50), item('b', 50), item('d', 80)];
    for (const added of items) deadlines.add(added);
    expect(items.every((added) => added.waiting && added.at >= started + added.timeout)).toBe(true);
    deadlines.cancel(items[2]);
    deadlines.cancel(items[2]); // twice is once
    await sleep(30);
    expect(expired).toEqual(['a']);
    await sleep(80);
    expect(expired).toEqual(['a', 'b', 'c', 'd']);
    deadlines.cancel(items[0]); // after it expired: nothing happens
    await sleep(20);
    expect(expired).toEqual(['a', 'b', 'c', 'd']);
  });

  it('sweeps out thousands cancelled behind a head that waits, and still expires the rest', async () => {
    const { deadlines, expired } = recording();
    const head = item('head', 40);
    deadlines.add(head);
    const behind = Array.from({ length: 5000 }, (_, i) => item(`${i}`, 40));
    for (const added of behind) deadlines.add(added);
    for (const [i, added] of behind.entries()) if (i % 1000 !== 999) deadlines.cancel(added);
    await sleep(80);
    expect(expired).toEqual(['head', '999', '1999', '2999', '3999', '4999']);
  });

  it('drops a cancelled head at once, with the cancelled ones behind it, and works on after emptying', async () => {
    const { deadlines, expired } = recording();
    for (let round = 0; round < 3; round++) {
      const batch = Array.from({ length: 100 }, (_, i) => item(`${round}.${i}`, 20));
      for (const added of batch) deadlines.add(added);
      for (const added of batch.slice(1, 50)) deadlines.cancel(added); // behind the head
      deadlines.cancel(batch[0]); // the head: the 49 behind it go too
      for (const added of batch.slice(50, 99)) deadlines.cancel(added);
    }
    await sleep(50);
    expect(expired).toEqual(['0.99', '1.99', '2.99']);
    const late = item('late', 10);
    deadlines.add(late);
    await sleep(40);
    expect(expired).toEqual(['0.99', '1.99', '2.99', 'late']);
  });

  it('lets expire add and cancel: what it adds waits its own timeout', async () => {
    const expired: string[] = [];
    const other = item('other', 35);
    const follow = item('follow', 20);
    const deadlines: Deadlines<Item> = new Deadlines<Item>((expiring) => {
      expired.push(expiring.name);
      if (expiring.name === 'first') {
        deadlines.cancel(other);
        deadlines.add(follow);
      }
    });
    deadlines.add(item('first', 10));
    deadlines.add(other);
    await sleep(60);
    expect(expired).toEqual(['first', 'follow']);
  });

  it('clear() forgets everything: nothing expires, and each item says it no longer waits', async () => {
    const { deadlines, expired } = recording();
    const items = [item('a', 10), item('b', 20), item('c', 10)];
    for (const added of items) deadlines.add(added);
    deadlines.clear();
    expect(items.map((cleared) => cleared.waiting)).toEqual([false, false, false]);
    await sleep(40);
    expect(expired).toEqual([]);
  });
});
