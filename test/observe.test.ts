// Observability: node.stats() and the pool's, checked against real calls; the diagnostics
// channels; NODE_DEBUG=cnode in a child owner's stderr.
import { spawnSync } from 'node:child_process';
import diagnostics_channel from 'node:diagnostics_channel';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../src/codec.js';
import { CNode, type CNodeError, CNodePool, type ExitInfo } from '../src/index.js';
import type { CallMessage, NodeExitMessage, NodeStartMessage } from '../src/observe/channels.js';
import { FrameKind, SIDE_MIN } from '../src/protocol.js';
import { binary, expectNothingLeft, rejection, root, TRANSPORTS, workerOptions } from './helpers.js';

const nodes: CNode[] = [];
async function start(transport: (typeof TRANSPORTS)[number] = 'local'): Promise<CNode> {
  const node = await CNode.start(workerOptions('echo', { transport }).options);
  nodes.push(node);
  return node;
}
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.stop()));
  await expectNothingLeft();
});

describe('node.stats()', () => {
  it('counts calls made, answered, failed by code and in flight', async () => {
    const node = await start();
    expect(node.stats().calls).toEqual({ made: 0, answered: 0, failed: 0, inFlight: 0 });
    await Promise.all([node.call('a'), node.call('b'), node.call(1)]);
    await rejection(node.call({ op: 'fail', reason: 'no' })); // ERR_CNODE_REMOTE
    await rejection(node.call({ op: 'sleep', ms: 200 }, { timeout: 20 })); // ERR_CNODE_CALL_TIMEOUT
    await rejection(node.call(() => 1)); // ERR_CNODE_BAD_MESSAGE, refused at once
    const slow = node.call({ op: 'sleep', ms: 100 });
    const during = node.stats();
    expect(during.calls).toEqual({ made: 7, answered: 3, failed: 3, inFlight: 1 });
    expect(during.errors).toEqual({ ERR_CNODE_REMOTE: 1, ERR_CNODE_CALL_TIMEOUT: 1, ERR_CNODE_BAD_MESSAGE: 1 });
    await slow;
    const after = node.stats();
    expect(after.calls).toEqual({ made: 7, answered: 4, failed: 3, inFlight: 0 });
    expect(after.latency.count).toBe(4);
    // The 100 ms sleep is the slowest answered call: it is the max, and the others are far below it.
    expect(after.latency.max).toBeGreaterThanOrEqual(95);
    expect(after.latency.max).toBeLessThan(1000);
    expect(after.latency.p50).toBeLessThan(50);
    expect(after.latency.mean).toBeGreaterThan(after.latency.p50);
  });

  it('counts the calls that fail as the worker exits, and keeps the counts after it', async () => {
    const node = await start();
    const calls = [node.call({ op: 'sleep', ms: 5000 }), node.call('queued')];
    await new Promise((resolve) => setTimeout(resolve, 50));
    void node.kill();
    for (const call of calls) await rejection(call);
    await node.exited;
    const { calls: counted, errors } = node.stats();
    expect(counted).toEqual({ made: 2, answered: 0, failed: 2, inFlight: 0 });
    expect(Object.values(errors).reduce((a, b) => a + b, 0)).toBe(2);
    await rejection(node.call('after the exit'));
    expect(node.stats().calls.failed).toBe(3);
  });

  it('records latency in milliseconds, from a real sleep', async () => {
    const node = await start();
    for (let i = 0; i < 3; i++) await node.call({ op: 'sleep', ms: 30 });
    const { latency } = node.stats();
    expect(latency.count).toBe(3);
    expect(latency.p50).toBeGreaterThanOrEqual(29);
    expect(latency.p50).toBeLessThan(300);
    expect(latency.p99).toBeGreaterThanOrEqual(latency.p50);
    expect(latency.p999).toBeGreaterThanOrEqual(latency.p99);
    expect(latency.max).toBeGreaterThanOrEqual(latency.p999);
  });

  describe.each(TRANSPORTS)('bytes over %s', (transport) => {
    it('counts the frames and side parts each way, byte for byte', async () => {
      const node = await start(transport);
      const atStart = node.stats().bytes;
      expect(atStart.sent).toBeGreaterThan(0); // the HELLO
      expect(atStart.received).toBeGreaterThan(0); // the WELCOME
      await node.call('hello');
      const one = node.stats().bytes;
      expect(one.sent - atStart.sent).toBe(encodeFrame([FrameKind.Call, 1, 'hello']).length);
      expect(one.received - atStart.received).toBe(encodeFrame([FrameKind.Reply, 1, node.name, 'hello']).length);
      // A binary this big travels beside its frame, both ways: its bytes are counted once each way.
      const big = Buffer.alloc(SIDE_MIN * 2, 7);
      const echoed = (await node.call(big)) as Buffer;
      expect(echoed.length).toBe(big.length);
      const two = node.stats().bytes;
      expect(two.sent - one.sent).toBeGreaterThan(big.length);
      expect(two.sent - one.sent).toBeLessThan(big.length + 64);
      expect(two.received - one.received).toBeGreaterThan(big.length);
      expect(two.received - one.received).toBeLessThan(big.length + 64 + node.name.length);
    });
  });
});

describe("the pool's stats()", () => {
  it('counts errors by code and sums the bytes of its workers, those gone included', async () => {
    const pool = await CNodePool.start({ executable: binary('testbed'), size: 2, onStderr: () => {} });
    try {
      await Promise.all([pool.call('a'), pool.call('b'), pool.call('c')]);
      await rejection(pool.call({ op: 'fail', reason: 'no' }));
      await rejection(pool.call({ op: 'sleep', ms: 300 }, { timeout: 30 }));
      const before = pool.stats();
      expect(before.errors).toEqual({ ERR_CNODE_REMOTE: 1, ERR_CNODE_CALL_TIMEOUT: 1 });
      expect(before.failed).toBe(2);
      expect(before.bytes.sent).toBeGreaterThan(0);
      expect(before.bytes.received).toBeGreaterThan(0);
      // A worker that crashes takes its node with it: its bytes stay in the pool's sum.
      const crash = await rejection(pool.call({ op: 'crash' }));
      expect(crash.code).toBe('ERR_CNODE_EXITED');
      const after = pool.stats();
      expect(after.errors.ERR_CNODE_EXITED).toBe(1);
      expect(after.failed).toBe(3);
      expect(after.bytes.sent).toBeGreaterThan(before.bytes.sent);
      expect(after.bytes.received).toBeGreaterThanOrEqual(before.bytes.received);
    } finally {
      await pool.stop();
    }
  });

  it('counts the calls it refused at once: overloaded, a bad option, stopped', async () => {
    const pool = await CNodePool.start({
      executable: binary('testbed'),
      size: 1,
      concurrency: 1,
      maxQueue: 1,
      onStderr: () => {},
    });
    const running = pool.call({ op: 'sleep', ms: 200 });
    const queued = pool.call('q');
    expect((await rejection(pool.call('over'))).code).toBe('ERR_CNODE_OVERLOADED');
    expect((await rejection(pool.call('x', { timout: 1 } as never))).code).toBe('ERR_CNODE_INVALID_OPTION');
    await Promise.all([running, queued]);
    await pool.stop();
    expect((await rejection(pool.call('late'))).code).toBe('ERR_CNODE_STOPPED');
    expect(pool.stats()).toMatchObject({
      completed: 2,
      failed: 3,
      errors: { ERR_CNODE_OVERLOADED: 1, ERR_CNODE_INVALID_OPTION: 1, ERR_CNODE_STOPPED: 1 },
    });
  });
});

describe('diagnostics channels', () => {
  it('publishes cnode:node:start and cnode:node:exit with the node and its exit information', async () => {
    const starts: NodeStartMessage[] = [];
    const exits: NodeExitMessage[] = [];
    const onStart = (message: unknown) => starts.push(message as NodeStartMessage);
    const onExit = (message: unknown) => exits.push(message as NodeExitMessage);
    diagnostics_channel.subscribe('cnode:node:start', onStart);
    diagnostics_channel.subscribe('cnode:node:exit', onExit);
    try {
      const node = await CNode.start(workerOptions('echo').options);
      expect(starts.map((m) => m.node)).toEqual([node]);
      const info: ExitInfo = await node.stop();
      expect(exits).toHaveLength(1);
      expect(exits[0].node).toBe(node);
      expect(exits[0].info).toBe(info);
      expect(exits[0].info.stopped).toBe(true);
    } finally {
      diagnostics_channel.unsubscribe('cnode:node:start', onStart);
      diagnostics_channel.unsubscribe('cnode:node:exit', onExit);
    }
  });

  it('traces each call on the cnode:call TracingChannel: start, end, asyncStart, asyncEnd, error', async () => {
    const node = await start();
    const seen: [string, CallMessage][] = [];
    const handlers = {
      start: (m: CallMessage) => seen.push(['start', { ...m }]),
      end: (m: CallMessage) => seen.push(['end', { ...m }]),
      asyncStart: (m: CallMessage) => seen.push(['asyncStart', { ...m }]),
      asyncEnd: (m: CallMessage) => seen.push(['asyncEnd', { ...m }]),
      error: (m: CallMessage) => seen.push(['error', { ...m }]),
    };
    const channel = diagnostics_channel.tracingChannel<unknown, CallMessage>('cnode:call');
    channel.subscribe(handlers);
    try {
      expect(await node.call('traced')).toBe('traced');
      expect(seen.map(([event]) => event)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
      expect(seen[0][1]).toEqual({ node: node.name, message: 'traced' });
      expect(seen[3][1]).toEqual({ node: node.name, message: 'traced', result: 'traced' });
      seen.length = 0;
      const error = await rejection(node.call({ op: 'fail', reason: 'traced failure' }));
      expect(seen.map(([event]) => event)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
      expect((seen[2][1].error as CNodeError).code).toBe('ERR_CNODE_REMOTE');
      expect(seen[2][1].error).toBe(error);
    } finally {
      channel.unsubscribe(handlers);
    }
    // A tool may subscribe to one event by its channel's name alone.
    const ends: CallMessage[] = [];
    const onEnd = (m: unknown) => ends.push(m as CallMessage);
    diagnostics_channel.subscribe('tracing:cnode:call:asyncEnd', onEnd);
    try {
      await node.call('by name');
      expect(ends).toEqual([{ node: node.name, message: 'by name', result: 'by name' }]);
    } finally {
      diagnostics_channel.unsubscribe('tracing:cnode:call:asyncEnd', onEnd);
    }
    seen.length = 0;
    await node.call('untraced');
    expect(seen).toEqual([]); // and with nobody subscribed, nothing is built
    expect(channel.hasSubscribers).toBe(false);
  });
});

describe('NODE_DEBUG=cnode', () => {
  it("logs start, ready, the handshake, a kill and the exit's cause to stderr, and no secret", () => {
    const script = `
      import { CNode, CNodePool, Supervisor } from ${JSON.stringify(path.join(root, 'dist', 'index.js'))};
      const node = await CNode.start({ executable: ${JSON.stringify(binary('testbed'))}, name: 'dbg', onStderr: () => {} });
      await node.call({ op: 'sleep', ms: 1 });
      await node.kill('SIGTERM');
      const again = await CNode.start({ executable: ${JSON.stringify(binary('testbed'))}, name: 'dbg2', onStderr: () => {} });
      await again.call({ op: 'crash' }).catch(() => {});
      await again.exited;
      const pool = await CNodePool.start({ executable: ${JSON.stringify(binary('testbed'))}, name: 'dbgpool', size: 1, onStderr: () => {} });
      await pool.call({ op: 'crash' }).catch(() => {});
      await pool.stop();
      const sup = await Supervisor.start({ children: [{ id: 'dbgchild', executable: ${JSON.stringify(binary('testbed'))}, onStderr: () => {} }] });
      const restarted = new Promise((resolve) => sup.once('restart', resolve));
      await sup.child('dbgchild').call({ op: 'crash' }).catch(() => {});
      await restarted;
      await sup.stop();
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_DEBUG: 'cnode' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stderr.split('\n').filter((line) => line.startsWith('CNODE '));
    const has = (pattern: RegExp) =>
      expect(
        lines.some((line) => pattern.test(line)),
        `${pattern} in\n${lines.join('\n')}`,
      ).toBe(true);
    has(/^CNODE \d+: dbg@\S+ start: .*testbed over local$/);
    has(/^CNODE \d+: dbg@\S+ ready: pid \d+ at /);
    has(/^CNODE \d+: dbg@\S+ handshake done: worker pid \d+$/);
    has(/^CNODE \d+: dbg@\S+ kill\(SIGTERM\) asked$/);
    has(/^CNODE \d+: dbg@\S+ exit: was killed by SIGTERM \(stopped\)$/);
    has(/^CNODE \d+: dbg2@\S+ exit: was killed by SIGSEGV \(by itself\)$/);
    has(/^CNODE \d+: pool dbgpool: worker dbgpool_0@\S+ was killed by SIGSEGV; it is replaced$/);
    has(/^CNODE \d+: pool dbgpool: worker dbgpool_0@\S+ started in slot 0$/);
    has(/^CNODE \d+: supervisor: child dbgchild was killed by SIGSEGV; restarting it in \d+ ms$/);
    // The cookie is 32 hex digits in the worker's launch line: never logged.
    expect(run.stderr).not.toMatch(/[0-9a-f]{32}/);
    expect(run.stderr).not.toMatch(/cookie/i);
  });

  it('logs nothing without NODE_DEBUG', () => {
    const script = `
      import { CNode } from ${JSON.stringify(path.join(root, 'dist', 'index.js'))};
      const node = await CNode.start({ executable: ${JSON.stringify(binary('echo'))} });
      await node.stop();
    `;
    const env = { ...process.env };
    delete env.NODE_DEBUG;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
  });
});
