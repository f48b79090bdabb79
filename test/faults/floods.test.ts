// Fault model: a worker that floods its output. The owner always drains both pipes (a full pipe
// would block the worker's writes, which looks like a hang), keeps lines capped and the stderr
// tail bounded, so its memory does not grow with what the worker writes.
import { afterAll, describe, expect, it } from 'vitest';

import { CNode } from '../../src/index.js';
import { expectNothingLeft, heldMemory, workerOptions } from '../helpers.js';

const MiB = 1024 * 1024;

/**
 * Runs `work` and returns its result and how much more memory the owner holds afterwards, both
 * measured after a full garbage collection: what the owner keeps, not the garbage in between.
 */
async function retainedGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = await heldMemory();
  const result = await work();
  return { result, growth: (await heldMemory()) - before };
}

afterAll(() => expectNothingLeft());

describe('a flooding worker', () => {
  it('writes 100 MiB to stdout with no newline: it is never blocked, the line is cut, the owner stays small', async () => {
    const { options, stdout } = workerOptions('testbed', { maxLineLength: 4096, callTimeout: 20_000 });
    const node = await CNode.start(options);
    const { result, growth } = await retainedGrowth(() => node.call({ op: 'flood-stdout', bytes: 100 * MiB }));
    expect(result).toBe(100 * MiB); // every write returned: the pipe never stayed full
    await node.stop(); // the last chunk may still be in the pipe until exit
    expect(stdout).toHaveLength(1);
    expect(stdout[0]).toBe(`${'x'.repeat(4096)} [line truncated]`);
    expect(growth).toBeLessThan(8 * MiB); // holding the line would take 100 MiB
  });

  it('writes many lines per millisecond to stderr: every line arrives, the tail stays bounded', async () => {
    const lines = 200_000;
    let count = 0;
    let last = '';
    const onStderr = (line: string) => {
      count++; // counted, not kept: the test must not hold what the owner is asked not to
      last = line;
    };
    const { options } = workerOptions('testbed', { callTimeout: 20_000, onStderr });
    const node = await CNode.start(options);
    const started = Date.now();
    const { result, growth } = await retainedGrowth(() => node.call({ op: 'flood-stderr', lines }));
    expect(result).toBe(lines);
    expect(lines / Math.max(1, Date.now() - started)).toBeGreaterThan(1); // lines per ms, as promised
    await node.send({ op: 'crash' }); // the exit information carries the tail
    const info = await node.exited;
    expect(count).toBe(lines);
    expect(last).toBe(`flood line ${lines}`);
    const tail = info.stderr.split('\n');
    expect(tail.length).toBeLessThanOrEqual(20);
    expect(tail.at(-1)).toBe(`flood line ${lines}`);
    expect(growth).toBeLessThan(8 * MiB); // the lines are passed on, not kept
  });
});
