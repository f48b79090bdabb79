import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode } from '../src/index.js';
import { rejection, workerOptions } from './helpers.js';

// What a C handler can get wrong, and what the owner sees of it.
let node: CNode;
let stderr: string[];
beforeAll(async () => {
  const worker = workerOptions('testbed');
  stderr = worker.stderr;
  node = await CNode.start(worker.options);
});
afterAll(async () => {
  await node.stop();
});

describe('a handler that', () => {
  it('packs nothing answers nil', async () => {
    await expect(node.call({ op: 'pack-none' })).resolves.toBeNull();
  });

  for (const [op, reason] of [
    ['pack-two', 'handler packed 2 objects'],
    ['pack-partial', 'handler packed an incomplete object'],
    ['pack-ext', 'handler packed a MessagePack ext value'],
  ]) {
    it(`${op.replace('pack-', 'packs ')} fails the call: "${reason}"`, async () => {
      const error = await rejection(node.call({ op }));
      expect(error.code).toBe('ERR_CNODE_REMOTE');
      expect(error.message).toContain(reason);
    });
  }

  it('returns non-zero without cnode_fail fails the call with the value', async () => {
    const error = await rejection(node.call({ op: 'return', code: 5 }));
    expect(error.code).toBe('ERR_CNODE_REMOTE');
    expect(error.message).toContain('handler returned 5');
  });

  it('fails a cast is reported on stderr, and the node goes on', async () => {
    await node.send({ op: 'fail', reason: 'cast went wrong' });
    await expect(node.call('still serving')).resolves.toBe('still serving');
    await expect.poll(() => stderr.some((line) => line.includes('cast failed: cast went wrong'))).toBe(true);
  });
});
