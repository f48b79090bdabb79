// Soak: many lifecycles and many calls with faults injected at random. Processes, descriptors,
// socket files and the owner's heap are measured before and after: nothing may grow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode, CNodeError } from '../../src/index.js';
import { descriptorBaseline, expectNothingLeft, workerOptions } from '../helpers.js';

declare function gc(): void; // vitest.config.ts runs the tests with --expose-gc

function heap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** A small seeded generator, so a failing run can be repeated with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

let descriptors = 0;
let heapBefore = 0;

beforeAll(async () => {
  descriptors = await descriptorBaseline(); // zeromq opens its context once
  heapBefore = heap();
});

afterAll(async () => {
  await expectNothingLeft({ descriptors });
  expect(heap() - heapBefore).toBeLessThan(4 * 1024 * 1024);
});

describe('soak', () => {
  it('1,000 start/stop cycles', async () => {
    for (let i = 0; i < 1000; i++) {
      const node = await CNode.start(workerOptions('echo').options);
      if (i % 4 === 0) await node.call(i);
      const info = await node.stop();
      expect(info.stopped).toBe(true);
    }
    // The last node's sockets may take a moment to close; a leak would be one per cycle, or more.
    await expectNothingLeft({ descriptors });
  }, 120_000);

  it('10,000 calls with faults injected at random: every call settles, with its answer or a coded error', async () => {
    const seed = Number(process.env.CNODE_SOAK_SEED ?? Date.now() % 2 ** 31);
    const next = random(seed);
    const faults = [{ op: 'crash' }, { op: 'abort' }, { op: 'exit', code: 3 }, { op: 'kill-self', signal: 9 }];
    const outcomes = new Map<string, number>();
    const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
    let alive = false;
    const start = async () => {
      const started = await CNode.start(workerOptions('testbed').options);
      alive = true;
      started.once('exit', () => (alive = false));
      return started;
    };
    let node = await start();
    let restarts = 0;
    for (let sent = 0; sent < 10_000; sent += 100) {
      if (!alive) {
        node = await start();
        restarts++;
      }
      const batch = Array.from({ length: 100 }, (_, i) => {
        const roll = next();
        const value = sent + i;
        const call =
          roll < 0.003
            ? node.call(faults[Math.floor(next() * faults.length)]) // the worker dies
            : roll < 0.01
              ? node.call({ op: 'sleep', ms: 50 }, { timeout: 5 }) // times out
              : roll < 0.015
                ? node.call(value, { signal: AbortSignal.abort() }) // aborted
                : node.call(value).then((answer) => expect(answer).toBe(value));
        return call.then(
          () => count('answered'),
          (error: unknown) => {
            expect(error, `seed ${seed}`).toBeInstanceOf(CNodeError);
            count((error as CNodeError).code);
          },
        );
      });
      await Promise.all(batch);
    }
    await node.stop();
    const settled = [...outcomes.values()].reduce((a, b) => a + b, 0);
    expect(settled, `seed ${seed}: ${JSON.stringify([...outcomes])}`).toBe(10_000);
    expect(outcomes.get('answered')).toBeGreaterThan(5000); // a death fails the rest of its batch
    expect([...outcomes.keys()].sort()).toEqual(
      expect.arrayContaining(['ERR_CNODE_ABORTED', 'ERR_CNODE_CALL_TIMEOUT', 'ERR_CNODE_EXITED', 'answered']),
    );
    expect(restarts).toBeGreaterThan(0);
  }, 120_000);
});
