import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CNodePool, type PoolOptions } from '../src/index.js';
import {
  binary,
  descriptorBaseline,
  expectNothingLeft,
  heldMemory,
  liveChildren,
  rejection,
  TRANSPORTS,
  waitUntil,
} from './helpers.js';

/** Every pool a test starts, stopped after it. */
const pools: CNodePool[] = [];
async function startPool(options: Partial<PoolOptions> = {}): Promise<CNodePool> {
  const pool = await CNodePool.start({ executable: binary('testbed'), onStderr: () => {}, ...options });
  pools.push(pool);
  return pool;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.stop()));
  await expectNothingLeft();
});

/** Tries `attempt` every 20 ms until it resolves; rejects with its last error after `timeoutMs`. */
async function retryUntil<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const pid = (pool: CNodePool) => pool.call({ op: 'pid' }) as Promise<number>;
const sleep = (pool: CNodePool, ms: number) => pool.call({ op: 'sleep', ms });

describe('CNodePool', () => {
  it('starts size workers, answers calls and gives each call to the least busy worker', async () => {
    const pool = await startPool({ size: 2, concurrency: 1 });
    expect(pool.stats().workers).toBe(2);
    expect(await pool.call({ op: 'echo', value: 'hello' })).toBe('hello');
    const [a, b] = await Promise.all([pid(pool), pid(pool)]);
    expect(a).not.toBe(b);
    // While one worker sleeps, every call goes to the other.
    const sleeping = sleep(pool, 100);
    const pids = await Promise.all([pid(pool), pid(pool), pid(pool)]);
    expect(new Set(pids).size).toBe(1);
    expect(await sleeping).toBe(100);
  });

  it('queues calls beyond size × concurrency and answers every one, in order per worker', async () => {
    const pool = await startPool({ size: 1, concurrency: 1 });
    const calls = Array.from({ length: 20 }, (_, i) => pool.call({ op: 'echo', value: i }));
    expect(pool.queued).toBe(19);
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const stats = pool.stats();
    expect(stats).toMatchObject({ workers: 1, busy: 0, queued: 0, completed: 20, failed: 0, restarts: 0 });
    expect(stats.runTime.count).toBe(20);
    expect(stats.waitTime.count).toBe(20);
    expect(stats.waitTime.max).toBeGreaterThan(stats.waitTime.p50);
    expect(stats.utilization).toBeGreaterThan(0);
    expect(stats.utilization).toBeLessThanOrEqual(1);
  });

  it('refuses a call beyond maxQueue with ERR_CNODE_OVERLOADED and loses nothing queued', async () => {
    const pool = await startPool({ size: 1, concurrency: 1, maxQueue: 3 });
    const running = sleep(pool, 50);
    const queued = [1, 2, 3].map((value) => pool.call({ op: 'echo', value }));
    const error = await rejection(pool.call({ op: 'echo', value: 4 }));
    expect(error.code).toBe('ERR_CNODE_OVERLOADED');
    expect(error.message).toMatch(/3 calls queued \(the maxQueue option\)/);
    expect(await Promise.all([running, ...queued])).toEqual([50, 1, 2, 3]);
  });

  it('refuses bad options by name, with the bad value, before starting a process', async () => {
    const cases: [Partial<PoolOptions> & Record<string, unknown>, RegExp][] = [
      [{ size: 0 }, /`size` option to be a positive integer, or \{ min, max \}, got `0`/],
      [{ size: { min: 3, max: 2 } }, /`size.max` option to be at least size.min \(3\), got `2`/],
      [{ size: { minn: 1 } as never }, /Unknown option `size.minn`; did you mean `size.min`\?/],
      [{ concurrency: 1.5 }, /`concurrency` option to be a positive integer, got `1.5`/],
      [{ concurency: 2 }, /Unknown option `concurency`; did you mean `concurrency`\?/],
      [{ maxQueue: -1 }, /`maxQueue` option to be a non-negative integer, got `-1`/],
      [{ retries: '1' as never }, /`retries` option to be a non-negative integer, got `"1"` \(string\)/],
      [{ killOnAbort: 1 as never }, /`killOnAbort` option to be a boolean/],
      [{ maxCallsPerWorker: 0 }, /`maxCallsPerWorker` option to be a positive integer or Infinity, got `0`/],
      [{ maxWorkerRss: -5 }, /`maxWorkerRss` option/],
      [{ idleTimeout: 0 }, /`idleTimeout` option to be a positive integer of milliseconds/],
      [{ callTimeout: -1 }, /`callTimeout` option/],
      [{ name: 'x'.repeat(57) }, /`name` option to be at most 56 characters in a pool/],
    ];
    for (const [options, message] of cases) {
      const error = await rejection(CNodePool.start({ executable: binary('testbed'), ...options } as PoolOptions));
      expect(error.code, JSON.stringify(options)).toBe('ERR_CNODE_INVALID_OPTION');
      expect(error.message).toMatch(message);
    }
    expect(liveChildren()).toEqual([]);
    const pool = await startPool({ size: 1 });
    const error = await rejection(pool.call('x', { timeout: 0 }));
    expect(error.message).toMatch(/^cnode pool \S+ call\(\): Expected the `timeout` option/);
    expect((await rejection(pool.send('x', { signal: 1 } as never))).message).toMatch(
      /send\(\): Unknown option `signal`/,
    );
  });

  it('rejects only the calls a dead worker ran, with its exit, name and creation; queued calls go on; it is replaced', async () => {
    const pool = await startPool({ size: 1, concurrency: 2 });
    const first = await pid(pool);
    const crash = pool.call({ op: 'crash' });
    const neighbour = sleep(pool, 20); // on the same worker: it dies with it
    const queued = Array.from({ length: 5 }, (_, value) => pool.call({ op: 'echo', value }));
    const error = await rejection(crash);
    expect(error).toMatchObject({ code: 'ERR_CNODE_EXITED', signal: 'SIGSEGV', exitCode: null, creation: 1 });
    expect(error.node).toMatch(/_0@/);
    expect((await rejection(neighbour)).code).toBe('ERR_CNODE_EXITED');
    expect(await Promise.all(queued)).toEqual([0, 1, 2, 3, 4]);
    expect(await pid(pool)).not.toBe(first);
    expect(pool.stats()).toMatchObject({ workers: 1, restarts: 1, failed: 2 });
  });

  it("carries the worker's stderr tail and identity in 'exit' and 'message' events", async () => {
    const pool = await startPool({ size: 2 });
    const messages: [unknown, string, number][] = [];
    pool.on('message', (message, worker) => messages.push([message, worker.name, worker.creation]));
    await pool.broadcast({ op: 'notify', value: 'config' });
    await waitUntil(() => messages.length === 2, 2000, 'both workers answered the broadcast');
    expect(new Set(messages.map(([, name]) => name)).size).toBe(2);
    expect(messages.every(([message, , creation]) => message === 'config' && creation === 1)).toBe(true);
    const exited = once(pool, 'exit');
    await rejection(pool.call({ op: 'print', stderr: 'last words' }).then(() => pool.call({ op: 'exit', code: 7 })));
    const [info, worker] = await exited;
    expect(info).toMatchObject({ exitCode: 7, stopped: false, stderr: expect.stringContaining('last words') });
    expect(info.node).toBe(worker.name);
  });

  it('dispatches a call again when its worker dies under it, but never one its handler failed', async () => {
    const pool = await startPool({ size: 2, concurrency: 2, retries: 1 });
    const crash = rejection(pool.call({ op: 'crash' }));
    const innocent = sleep(pool, 30); // shares the crashing worker at first
    const failed = await rejection(pool.call({ op: 'fail', reason: 'no' }));
    expect(failed.code).toBe('ERR_CNODE_REMOTE');
    expect(await innocent).toBe(30);
    const poison = await crash;
    // The call that crashed two workers is named poison and not tried on a third.
    expect(poison.code).toBe('ERR_CNODE_POISON');
    expect(poison.message).toMatch(/the two workers that ran it died .*SIGSEGV/);
    expect((poison.cause as { code: string }).code).toBe('ERR_CNODE_EXITED');
    await waitUntil(() => pool.stats().workers === 2, 2000, 'both workers are replaced');
    expect(pool.stats().restarts).toBe(2);
  });

  it('passes transfer on when it dispatches a call, and never retries such a call: its buffers are gone', async () => {
    const pool = await startPool({ size: 1, concurrency: 1, retries: 1 });
    const value = new Uint8Array(1 << 20).fill(5);
    const answer = (await pool.call({ op: 'echo', value }, { transfer: [value.buffer] })) as Buffer;
    expect(value.byteLength).toBe(0); // detached: the pool handed it to the node
    expect(answer.length === 1 << 20 && answer.every((byte) => byte === 5)).toBe(true);
    const pad = new Uint8Array(1 << 16);
    const error = await rejection(pool.call({ op: 'crash', pad }, { transfer: [pad.buffer] }));
    expect(error.code).toBe('ERR_CNODE_EXITED'); // not retried, so not poison either
    expect(pool.stats().restarts).toBe(1);
  });

  it('counts a worker the heartbeat killed as a death: a call that hangs two workers is poison', async () => {
    const pool = await startPool({ size: 1, retries: 1, heartbeat: { interval: 50, timeout: 200 } });
    const error = await rejection(pool.call({ op: 'spin' }));
    expect(error.code).toBe('ERR_CNODE_POISON');
    expect((error.cause as { code: string }).code).toBe('ERR_CNODE_UNRESPONSIVE');
    // Its calls fail as the kill is sent; the exit, counted as a restart, follows.
    await waitUntil(() => pool.stats().restarts === 2, 3000, 'the second worker has exited');
    expect(await pool.call({ op: 'echo', value: 'alive' })).toBe('alive');
    expect(pool.stats().restarts).toBe(2);
  });

  it('under a crash every few calls, finishes every call that does not crash', async () => {
    const pool = await startPool({ size: 2, concurrency: 2, retries: 1 });
    const calls = Array.from({ length: 120 }, (_, i) =>
      pool.call(i % 15 === 7 ? { op: 'crash' } : { op: 'echo', value: i }).then(
        (value) => ({ ok: value }),
        (error) => ({ code: error.code }),
      ),
    );
    const results = await Promise.all(calls);
    results.forEach((result, i) => {
      expect(result, `call ${i}`).toEqual(i % 15 === 7 ? { code: 'ERR_CNODE_POISON' } : { ok: i });
    });
    expect(pool.stats().restarts).toBe(16); // two deaths for each of the 8 crashing calls, no more
  });

  it('rejects a queued call at its timeout or its abort, and the worker never runs it', async () => {
    const pool = await startPool({ size: 1, concurrency: 1 });
    const busy = sleep(pool, 150);
    const began = performance.now();
    const late = await rejection(pool.call({ op: 'notify', value: 'late' }, { timeout: 40 }));
    expect(late.code).toBe('ERR_CNODE_CALL_TIMEOUT');
    expect(late.message).toMatch(/had a call wait in its queue for its whole timeout \(40 ms\)/);
    expect(performance.now() - began).toBeLessThan(140);
    const controller = new AbortController();
    const aborted = pool.call({ op: 'notify', value: 'aborted' }, { signal: controller.signal });
    controller.abort('changed my mind');
    const error = await rejection(aborted);
    expect(error).toMatchObject({ code: 'ERR_CNODE_ABORTED', cause: 'changed my mind' });
    const heard: unknown[] = [];
    pool.on('message', (message) => heard.push(message));
    expect(await busy).toBe(150);
    expect(await pool.call({ op: 'echo', value: 'after' })).toBe('after');
    expect(heard).toEqual([]);
    expect(pool.stats()).toMatchObject({ queued: 0, failed: 2 });
  });

  it('with killOnAbort, a call that times out or is aborted while it runs kills its worker, which is replaced', async () => {
    const pool = await startPool({ size: 1, killOnAbort: true });
    const first = await pid(pool);
    const began = performance.now();
    expect((await rejection(pool.call({ op: 'spin' }, { timeout: 100 }))).code).toBe('ERR_CNODE_CALL_TIMEOUT');
    expect(performance.now() - began).toBeLessThan(1000);
    const second = await pid(pool);
    expect(second).not.toBe(first);
    const controller = new AbortController();
    const spinning = pool.call({ op: 'spin' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    expect((await rejection(spinning)).code).toBe('ERR_CNODE_ABORTED');
    expect(await pid(pool)).not.toBe(second);
    // The replacement starts as soon as its predecessor is killed, and may answer before the
    // killed worker's exit is seen: that exit is what counts a restart.
    await waitUntil(() => pool.stats().restarts === 2, 2000, 'both killed workers counted as restarts');
  });

  it('without killOnAbort, the worker finishes the call that timed out and stays', async () => {
    const pool = await startPool({ size: 1 });
    const first = await pid(pool);
    const late = await rejection(pool.call({ op: 'sleep', ms: 100 }, { timeout: 20 }));
    expect(late.code).toBe('ERR_CNODE_CALL_TIMEOUT');
    expect(await pid(pool)).toBe(first); // answered once the sleep was over
  });

  it('recycles a worker after maxCallsPerWorker calls, gracefully: no call fails', async () => {
    const pool = await startPool({ size: 1, concurrency: 2, maxCallsPerWorker: 3 });
    const pids = await Promise.all(Array.from({ length: 9 }, () => pid(pool)));
    expect(new Set(pids).size).toBe(3);
    expect(pids.slice(0, 3).every((p) => p === pids[0])).toBe(true);
    expect(pool.stats()).toMatchObject({ failed: 0, restarts: 0 });
  });

  it('recycles a worker whose resident memory is over maxWorkerRss', async () => {
    const pool = await startPool({ size: 1, maxWorkerRss: 1024 * 1024 }); // any worker holds more
    const first = await pid(pool);
    const exits: boolean[] = [];
    pool.on('exit', (info) => exits.push(info.stopped));
    await waitUntil(() => exits.length > 0, 3000, 'the worker is replaced');
    expect(exits[0]).toBe(true); // stopped, not crashed
    expect(await pid(pool)).not.toBe(first);
    expect(pool.stats()).toMatchObject({ failed: 0, restarts: 0 });
  });

  it("says needsDrain while a round of calls waits, and emits 'drain' when it no longer does", async () => {
    const pool = await startPool({ size: 1, concurrency: 1 });
    const calls = [sleep(pool, 30)]; // runs: nothing waits
    expect(pool.needsDrain).toBe(false);
    calls.push(pool.call(1)); // waits, and a round of this pool is one call
    expect(pool.needsDrain).toBe(true);
    await once(pool, 'drain');
    expect(pool.needsDrain).toBe(false);
    expect(await Promise.all(calls)).toEqual([30, 1]);
  });

  it('grows to size.max while calls wait, and shrinks back to size.min after idleTimeout', async () => {
    const pool = await startPool({ size: { min: 1, max: 2 }, concurrency: 1, idleTimeout: 100 });
    expect(pool.stats().workers).toBe(1);
    const calls = Array.from({ length: 6 }, () => sleep(pool, 40));
    await waitUntil(() => pool.stats().workers === 2, 2000, 'a second worker started');
    await Promise.all(calls);
    await waitUntil(() => pool.stats().workers === 1, 3000, 'the idle worker stopped');
    expect(pool.stats()).toMatchObject({ failed: 0, restarts: 0 });
  });

  it('fails calls at once while no worker can start, backs off, and recovers once one can', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-pool-test-'));
    const flag = path.join(dir, 'allowed');
    const script = path.join(dir, 'worker.sh');
    fs.writeFileSync(flag, '');
    fs.writeFileSync(
      script,
      `#!/bin/sh\n[ -e '${flag}' ] && exec '${binary('testbed')}' "$@"\necho refused >&2\nexit 3\n`,
      {
        mode: 0o755,
      },
    );
    try {
      const pool = await startPool({ executable: script, size: 1 });
      fs.rmSync(flag);
      await rejection(pool.call({ op: 'exit', code: 1 }));
      await waitUntil(() => pool.stats().workers === 0, 2000, 'the worker is gone');
      const error = await rejection(pool.call('x'));
      expect(error.code).toBe('ERR_CNODE_EXITED');
      expect(error.message).toMatch(/has no worker: the last start failed: .*exited with code 3 before it was ready/);
      expect(error.message).toMatch(/refused/);
      fs.writeFileSync(flag, '');
      // The next try comes after a delay that grows; once a start succeeds, calls are answered.
      expect(await retryUntil(() => pool.call('back'), 5000)).toBe('back');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with exec a function of the slot, a host that cannot start workers backs off alone', async () => {
    // Two "hosts" as two command prefixes: A always starts workers, B only while the flag exists.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-pool-test-'));
    const flag = path.join(dir, 'b-is-up');
    const tries = path.join(dir, 'b-tries');
    fs.writeFileSync(flag, '');
    const hostB = `echo >> '${tries}'; [ -e '${flag}' ] && exec env CNODE_TEST_HOST=B "$@"; echo host B is down >&2; exit 3`;
    const host = (pool: CNodePool) => pool.call({ op: 'getenv', name: 'CNODE_TEST_HOST' });
    try {
      const pool = await startPool({
        size: 2,
        concurrency: 1,
        bind: '127.0.0.1',
        exec: (slot) => (slot % 2 === 0 ? ['env', 'CNODE_TEST_HOST=A'] : ['sh', '-c', hostB, 'sh']),
      });
      expect((await Promise.all([host(pool), host(pool)])).sort()).toEqual(['A', 'B']);
      fs.rmSync(flag);
      fs.writeFileSync(tries, '');
      const exits: string[] = [];
      pool.on('exit', (_info, worker) => exits.push(worker.name.split('@')[0].split('_').at(-1)!));
      for (const worker of await Promise.all([pid(pool), pid(pool)])) process.kill(worker, 'SIGKILL');
      // B's slot fails and backs off (100, 200, 400, 800 ms...) while A's is replaced at once.
      await waitUntil(() => exits.length === 2, 2000, 'both workers exited');
      await waitUntil(() => fs.readFileSync(tries, 'utf8').length >= 5, 4000, 'slot 1 tried five times');
      expect(await host(pool)).toBe('A');
      // Now B's next try is at least 1.2 s away: A's replacement must not wait for it.
      const killedAt = performance.now();
      process.kill(await pid(pool), 'SIGKILL');
      await waitUntil(() => exits.length === 3, 2000, 'A exited');
      expect(await retryUntil(() => host(pool), 1000)).toBe('A');
      expect(performance.now() - killedAt).toBeLessThan(1000);
      const triesSoFar = fs.readFileSync(tries, 'utf8').length;
      expect(triesSoFar).toBeLessThanOrEqual(7); // backed off, not spinning
      fs.writeFileSync(flag, '');
      // B comes back within its current delay (at most 10 s; here about 3 s), on slot 1.
      await waitUntil(() => pool.stats().workers === 2, 8000, 'B is back');
      expect((await Promise.all([host(pool), host(pool)])).sort()).toEqual(['A', 'B']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects start() with the first start error and leaves nothing', async () => {
    const error = await rejection(
      CNodePool.start({ executable: binary('testbed'), args: ['exit-early'], size: 2, onStderr: () => {} }),
    );
    expect(error.code).toBe('ERR_CNODE_EXITED');
    expect(liveChildren()).toEqual([]);
  });

  it('stop() finishes what is queued and running, then stops every worker; later calls are refused', async () => {
    const pool = await startPool({ size: 2, concurrency: 1 });
    const calls = Array.from({ length: 6 }, (_, i) => pool.call({ op: 'sleep', ms: 10 + i }));
    const stopped = pool.stop();
    expect((await rejection(pool.call('late'))).code).toBe('ERR_CNODE_STOPPED');
    expect(await Promise.all(calls)).toEqual([10, 11, 12, 13, 14, 15]);
    await stopped;
    expect(pool.stats().workers).toBe(0);
    expect(liveChildren()).toEqual([]);
    expect(pool.stop()).toBe(stopped);
  });

  it("stop()'s timeout fails what is still queued with ERR_CNODE_STOPPED", async () => {
    const pool = await startPool({ size: 1, concurrency: 1 });
    const running = sleep(pool, 200);
    const queued = rejection(sleep(pool, 200));
    await pool.stop({ timeout: 50 });
    expect(await running).toBe(200);
    expect((await queued).code).toBe('ERR_CNODE_STOPPED');
  });

  it("a call that stop()'s timeout ends is not poison, though its first worker died under it", async () => {
    const pool = await startPool({ size: 1, concurrency: 2, retries: 1, stopTimeout: 300 });
    const crash = rejection(pool.call({ op: 'crash' }));
    const sleeping = rejection(pool.call({ op: 'sleep', ms: 3000 })); // at the crash, then alone
    await once(pool, 'exit');
    await waitUntil(() => pool.stats().busy === 1, 3000, 'the sleep runs again, on the new worker');
    await pool.stop({ timeout: 50 });
    expect((await sleeping).code).toBe('ERR_CNODE_EXITED'); // the pool's stop ended it, not the call
    expect((await crash).code).toBe('ERR_CNODE_STOPPED'); // waiting to be tried again
  });

  it('stop() returns once a queued call gave up and the start under way ended, not at its timeout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-pool-test-'));
    const script = path.join(dir, 'slow.sh');
    fs.writeFileSync(
      script,
      `#!/bin/sh\n[ -e '${dir}/started' ] && sleep 0.4\ntouch '${dir}/started'\nexec '${binary('testbed')}' "$@"\n`,
      {
        mode: 0o755,
      },
    );
    try {
      const pool = await startPool({ executable: script, size: 1 });
      const exited = once(pool, 'exit'); // its replacement then takes 0.4 s to start
      await rejection(pool.call({ op: 'crash' }));
      await exited;
      const late = rejection(pool.call('x', { timeout: 20 }));
      const began = performance.now();
      await pool.stop({ timeout: 5000 });
      expect((await late).code).toBe('ERR_CNODE_CALL_TIMEOUT');
      expect(performance.now() - began).toBeLessThan(2000); // the start's wait, not stop's 5 s
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('broadcasts to the workers that take calls, not to one being recycled', async () => {
    const pool = await startPool({ size: 2, maxCallsPerWorker: 1 });
    const heard: string[] = [];
    pool.on('message', (_message, worker) => heard.push(worker.name));
    await pool.call('x'); // its worker retires now
    await pool.broadcast({ op: 'notify', value: 'config' });
    await waitUntil(() => heard.length >= 1, 2000, 'a worker heard the broadcast');
    expect(pool.stats().failed).toBe(0);
  });

  it('works with await using', async () => {
    let seen = 0;
    {
      await using pool = await CNodePool.start({ executable: binary('testbed'), size: 1 });
      seen = await pid(pool);
    }
    expect(seen).toBeGreaterThan(0);
    expect(liveChildren()).toEqual([]);
  });
});

describe.each(TRANSPORTS)('CNodePool over %s', (transport) => {
  it('spreads calls, and replaces a worker that crashed without losing what was queued', async () => {
    const pool = await startPool({ transport, size: 2, concurrency: 1 });
    const [a, b] = await Promise.all([pid(pool), pid(pool)]);
    expect(a).not.toBe(b);
    const crash = rejection(pool.call({ op: 'crash' }));
    const queued = Array.from({ length: 10 }, (_, value) => pool.call({ op: 'echo', value }));
    expect((await crash).signal).toBe('SIGSEGV');
    expect(await Promise.all(queued)).toEqual(Array.from({ length: 10 }, (_, value) => value));
    await waitUntil(() => pool.stats().workers === 2, 3000, 'the crashed worker is replaced');
  });
});

describe('CNodePool, many restarts', () => {
  let descriptors = 0;
  beforeAll(async () => {
    descriptors = await descriptorBaseline();
  });

  it('300 worker deaths leave no process, descriptor or socket file behind, and the heap flat', async () => {
    const pool = await startPool({ size: 2, concurrency: 1 });
    const crashRound = () =>
      Promise.all(Array.from({ length: 10 }, () => pool.call({ op: 'exit', code: 1 }).catch(() => {})));
    for (let i = 0; i < 5; i++) await crashRound();
    const before = await heldMemory();
    for (let i = 0; i < 25; i++) await crashRound();
    await waitUntil(() => pool.stats().workers === 2, 3000, 'the pool is whole again');
    const after = await heldMemory();
    expect(pool.stats().restarts).toBe(300);
    expect(after - before).toBeLessThan(2 * 1024 * 1024);
    await pool.stop();
    await expectNothingLeft({ descriptors });
  });
});
