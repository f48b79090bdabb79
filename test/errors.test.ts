// Errors a user sees from a failed call: the worker's own code (cnode_fail_code) as remoteCode,
// through a node, a pool and a supervisor; and a stack that starts at the caller's call().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode, type CNodeError, CNodePool, Supervisor } from '../src/index.js';
import { binary, expectNothingLeft, rejection, TRANSPORTS, waitUntil } from './helpers.js';

const helpers = () => {
  const stderr: string[] = [];
  return { stderr, options: { executable: binary('helpers'), onStderr: (line: string) => stderr.push(line) } };
};

afterAll(async () => {
  await expectNothingLeft();
});

describe.each(TRANSPORTS)('remoteCode over %s', (transport) => {
  let node: CNode;
  let stderr: string[];
  beforeAll(async () => {
    const worker = helpers();
    stderr = worker.stderr;
    node = await CNode.start({ ...worker.options, transport });
  });
  afterAll(async () => {
    await node.stop();
  });

  it('carries the code cnode_fail_code gave, beside the reason in the message', async () => {
    const error = await rejection(node.call({ op: 'fail-code', code: 'SQLITE_CONSTRAINT', reason: 'UNIQUE failed' }));
    expect(error.code).toBe('ERR_CNODE_REMOTE');
    expect(error.remoteCode).toBe('SQLITE_CONSTRAINT');
    expect(error.message).toBe(`cnode ${node.name} failed the call: SQLITE_CONSTRAINT: UNIQUE failed`);
    expect(error.node).toBe(node.name);
  });

  it('is undefined when the worker gave none (cnode_fail, or cnode_fail_code with NULL)', async () => {
    for (const request of [
      { op: 'fail-code', code: null, reason: 'plain' },
      { op: 'fail-code', reason: 'plain' },
    ]) {
      const error = await rejection(node.call(request));
      expect(error.code).toBe('ERR_CNODE_REMOTE');
      expect('remoteCode' in error).toBe(true);
      expect(error.remoteCode).toBeUndefined();
      expect(error.message).toBe(`cnode ${node.name} failed the call: plain`);
    }
  });

  it('takes 64 bytes of printable ASCII; a longer or unprintable code is not sent, and the reason says why', async () => {
    const longest = 'A'.repeat(64);
    expect((await rejection(node.call({ op: 'fail-code', code: longest, reason: 'r' }))).remoteCode).toBe(longest);
    expect((await rejection(node.call({ op: 'fail-code', code: ' ~x', reason: 'r' }))).remoteCode).toBe(' ~x');
    for (const code of ['A'.repeat(65), '', 'TAB\there', 'é']) {
      const error = await rejection(node.call({ op: 'fail-code', code, reason: 'the reason' }));
      expect(error.code).toBe('ERR_CNODE_REMOTE');
      expect(error.remoteCode).toBeUndefined();
      expect(error.message).toBe(
        `cnode ${node.name} failed the call: the reason (cnode_fail_code: the code is not 1 to 64 bytes of printable ASCII, so none is sent)`,
      );
    }
  });

  it('a cast failed with a code says it on stderr; the worker goes on', async () => {
    await node.send({ op: 'cast-fail-code', code: 'E_CAST', reason: 'no good' });
    await waitUntil(() => stderr.some((line) => line.includes('cast failed: E_CAST: no good')), 2000, 'the cast line');
    expect(await rejection(node.call({ op: 'nope' }))).toMatchObject({ remoteCode: 'UNKNOWN_OP' });
  });
});

describe('remoteCode through the layers that rethrow the node error', () => {
  it('a pool rejects with the node error, remoteCode kept', async () => {
    const pool = await CNodePool.start({ ...helpers().options, size: 2 });
    try {
      const error = await rejection(pool.call({ op: 'fail-code', code: 'E_POOL', reason: 'from a pool worker' }));
      expect(error).toMatchObject({ code: 'ERR_CNODE_REMOTE', remoteCode: 'E_POOL' });
      expect(error.message).toContain('failed the call: E_POOL: from a pool worker');
    } finally {
      await pool.stop();
    }
  });

  it("a supervisor's child rejects with the node error, remoteCode kept, and is not restarted for it", async () => {
    const supervisor = await Supervisor.start({ children: [{ id: 'db', ...helpers().options }] });
    try {
      const child = supervisor.child('db');
      const creation = child.creation;
      const error = await rejection(child.call({ op: 'fail-code', code: 'E_CHILD', reason: 'from a child' }));
      expect(error).toMatchObject({ code: 'ERR_CNODE_REMOTE', remoteCode: 'E_CHILD' });
      // With options, the child's other path to its node.
      const timed = await rejection(child.call({ op: 'fail-code', code: 'E_CHILD2', reason: 'r' }, { timeout: 2000 }));
      expect(timed.remoteCode).toBe('E_CHILD2');
      expect(child.creation).toBe(creation);
    } finally {
      await supervisor.stop();
    }
  });
});

describe("a rejected call's stack", () => {
  let node: CNode;
  beforeAll(async () => {
    node = await CNode.start(helpers().options);
  });
  afterAll(async () => {
    await node.stop();
  });

  // Named, so that the stack can be searched for it.
  async function callThatTheWorkerFails(target: { call(message: unknown): Promise<unknown> }): Promise<CNodeError> {
    try {
      await target.call({ op: 'fail-code', code: 'E_STACK', reason: 'for the stack' });
    } catch (error) {
      return error as CNodeError;
    }
    throw new Error('expected a rejection');
  }

  /** The stack's first frame, past Node's own task queue (which runs the promise reactions). */
  function firstFrame(error: Error): string {
    return error
      .stack!.split('\n')
      .slice(1)
      .find((frame) => !/processTicksAndRejections|node:internal/.test(frame))!;
  }

  it("starts at the caller's call(), not in the frame handler", async () => {
    const error = await callThatTheWorkerFails(node);
    expect(error.stack!.split('\n')[0]).toBe(`CNodeError: ${error.message}`);
    expect(firstFrame(error)).toMatch(/^ {4}at (async )?callThatTheWorkerFails \(.*errors\.test\.ts:/);
    expect(error.stack).not.toMatch(/onFrame|session\.ts|call-table\.ts/);
  });

  it('a timeout, raised by a timer, starts there too', async () => {
    const slow = await CNode.start({ executable: binary('testbed'), onStderr: () => {} });
    async function callThatTimesOut(): Promise<CNodeError> {
      try {
        await slow.call({ op: 'sleep', ms: 300 }, { timeout: 20 });
      } catch (error) {
        return error as CNodeError;
      }
      throw new Error('expected a rejection');
    }
    try {
      const error = await callThatTimesOut();
      expect(error.code).toBe('ERR_CNODE_CALL_TIMEOUT');
      expect(firstFrame(error)).toMatch(/^ {4}at (async )?callThatTimesOut /);
      expect(error.stack).not.toMatch(/deadlines\.ts|call-table\.ts/);
    } finally {
      await slow.stop();
    }
  });

  it("through a pool: starts at the caller's pool.call()", async () => {
    const pool = await CNodePool.start({ ...helpers().options, size: 1 });
    try {
      const error = await callThatTheWorkerFails(pool);
      expect(error.remoteCode).toBe('E_STACK');
      expect(firstFrame(error)).toMatch(/^ {4}at (async )?callThatTheWorkerFails /);
      expect(error.stack).not.toMatch(/pool\.ts|onFrame|call-table\.ts/);
    } finally {
      await pool.stop();
    }
  });

  it('one error shared by every call in flight (an exit) keeps the first caller’s stack', async () => {
    const own = await CNode.start({ executable: binary('testbed'), onStderr: () => {} });
    async function firstCaller(): Promise<CNodeError> {
      try {
        await own.call({ op: 'sleep', ms: 5000 });
      } catch (error) {
        return error as CNodeError;
      }
      throw new Error('expected a rejection');
    }
    const first = firstCaller();
    const second = rejection(own.call({ op: 'sleep', ms: 5000 }));
    own.kill('SIGKILL');
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(a.code).toBe('ERR_CNODE_EXITED');
    expect(firstFrame(a)).toMatch(/^ {4}at (async )?firstCaller /);
    await own.exited;
  });
});
