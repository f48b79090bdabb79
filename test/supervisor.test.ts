// Supervisor: real children, real crashes. Starting in order and stopping in reverse, the three
// strategies (seen in creation numbers), restart policies, health checks, backoff measured from
// 'restart' events, intensity, calls during restarts, and 1,000 restarts that leave nothing.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChildHandle,
  type ChildSpec,
  type CNodeError,
  type ExitInfo,
  isAbnormal,
  type RestartEvent,
  type StartErrorEvent,
  Supervisor,
  type SupervisorOptions,
} from '../src/index.js';
import {
  binary,
  descriptorBaseline,
  expectNothingLeft,
  heldMemory,
  isAlive,
  liveChildren,
  rejection,
  root,
  waitUntil,
  workerOptions,
} from './helpers.js';

/** A testbed child, its output collected rather than printed. */
const testbed = (id: string, extra: Partial<ChildSpec> = {}): ChildSpec => ({
  id,
  ...workerOptions('testbed').options,
  ...extra,
});

/** Backoff small enough for tests, without jitter unless a test wants it. */
const FAST = { initial: 5, max: 50, factor: 2, jitter: 0 };

const supervisors: Supervisor[] = [];

/** Starts a supervisor that is stopped after the test, whatever happens in it. */
async function supervise(options: SupervisorOptions): Promise<Supervisor> {
  const supervisor = await Supervisor.start(options);
  supervisors.push(supervisor);
  return supervisor;
}

/** The 'restart' events a supervisor emits, as they come. */
function restartsOf(supervisor: Supervisor): RestartEvent[] {
  const events: RestartEvent[] = [];
  supervisor.on('restart', (event) => events.push(event));
  return events;
}

/** Makes the child's current incarnation crash (SIGSEGV); resolves with what the call got. */
const crash = (child: ChildHandle) => rejection(child.call({ op: 'crash' }));

/** Resolves once the child runs an incarnation newer than `creation`. */
const restarted = (child: ChildHandle, creation: number) =>
  waitUntil(() => child.state === 'running' && child.creation > creation, 5000, `${child.id} is restarted`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let descriptors = 0;

beforeAll(async () => {
  descriptors = await descriptorBaseline();
});

afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((supervisor) => supervisor.stop()));
  expect(liveChildren()).toEqual([]);
});

afterAll(() => expectNothingLeft({ descriptors }));

describe('Supervisor.start() and stop()', () => {
  it('starts the children in order, named after their ids, and stops them in reverse order', async () => {
    const supervisor = await supervise({ children: [testbed('first'), testbed('second'), testbed('my db.1')] });
    const [first, second, third] = supervisor.children;
    expect(supervisor.child('second')).toBe(second);
    expect(first.name).toBe(`first@${os.hostname()}`);
    expect(second.name).toBe(`second@${os.hostname()}`);
    // An id that is no valid alive name gives one derived from it, with a hash of the whole id.
    expect(third.name).toMatch(/^my_db_1_[0-9a-f]{8}@/);
    for (const child of supervisor.children) {
      expect(child.state).toBe('running');
      expect(await child.call({ op: 'pid' })).toBe(child.pid);
    }
    // One after the other: each pid was handed out after the previous one's (pids only grow, short of a wrap).
    expect(first.pid).toBeLessThan(second.pid);
    expect(second.pid).toBeLessThan(third.pid);

    const exits: [string, ExitInfo][] = [];
    for (const child of supervisor.children) child.on('exit', (info) => exits.push([child.id, info]));
    const stopping = supervisor.stop();
    expect(supervisor.stop()).toBe(stopping);
    await stopping;
    expect(exits.map(([id]) => id)).toEqual(['my db.1', 'second', 'first']);
    expect(exits.every(([, info]) => info.stopped && info.exitCode === 0)).toBe(true);
    expect(supervisor.children.map((child) => child.state)).toEqual(['stopped', 'stopped', 'stopped']);
    expect((await rejection(first.call('late'))).code).toBe('ERR_CNODE_STOPPED');
    expect((await rejection(first.send('late'))).code).toBe('ERR_CNODE_STOPPED');
    expect([first.pid, second.pid, third.pid].some(isAlive)).toBe(false);
  });

  it('works with await using, and names the ids it has when asked for one it has not', async () => {
    let pid = 0;
    {
      await using supervisor = await Supervisor.start({ children: [testbed('db'), testbed('cache')] });
      pid = supervisor.child('db').pid;
      const error = (() => {
        try {
          supervisor.child('dbb');
        } catch (thrown) {
          return thrown as CNodeError;
        }
      })();
      expect(error?.code).toBe('ERR_CNODE_INVALID_OPTION');
      expect(error?.message).toBe('Supervisor.child(): no child has the id "dbb"; the ids are "db", "cache"');
    }
    expect(isAlive(pid)).toBe(false);
  });

  it('rejects with the error of a child that fails to start, after stopping those it started', async () => {
    const missing = await rejection(
      Supervisor.start({
        children: [testbed('up'), testbed('missing', { executable: '/nonexistent/worker' }), testbed('never')],
      }),
    );
    expect(missing.code).toBe('ERR_CNODE_SPAWN');
    expect(missing.message).toContain('missing@');
    expect(liveChildren()).toEqual([]); // 'up' was stopped, 'never' never started
    const late = await rejection(
      Supervisor.start({
        children: [testbed('one'), testbed('two'), testbed('silent', { args: ['no-ready'], readyTimeout: 100 })],
      }),
    );
    expect(late.code).toBe('ERR_CNODE_READY_TIMEOUT');
    expect(liveChildren()).toEqual([]);
  });

  it('refuses bad options before it starts any process, naming the option and the child', async () => {
    const ok = testbed('ok');
    const cases: [unknown, string][] = [
      [
        { strategy: 'one-for-one', children: [ok] },
        "Expected the `strategy` option to be 'one_for_one', 'one_for_all' or 'rest_for_one', got `\"one-for-one\"` (string)",
      ],
      [{ maxRestart: 3, children: [ok] }, 'Unknown option `maxRestart`; did you mean `maxRestarts`?'],
      [
        { maxRestarts: 1.5, children: [ok] },
        'Expected the `maxRestarts` option to be a non-negative integer, got `1.5`',
      ],
      [{ period: 0, children: [ok] }, 'Expected the `period` option to be a positive integer of milliseconds, got `0`'],
      [{ backoff: { initial: 5, jiter: 0.1 }, children: [ok] }, 'did you mean `backoff.jitter`?'],
      [
        { backoff: { initial: 100, max: 50 }, children: [ok] },
        'Expected the `backoff.max` option to be at least backoff.initial (100), got `50` (number)',
      ],
      [
        { backoff: { factor: 0.5 }, children: [ok] },
        'Expected the `backoff.factor` option to be a number of at least 1',
      ],
      [{ backoff: { jitter: 2 }, children: [ok] }, 'Expected the `backoff.jitter` option to be a number from 0 to 1'],
      [{ children: ok }, 'Expected the `children` option to be an array of child specs'],
      [{}, 'Expected the `children` option to be an array of child specs, got `undefined`'],
      [
        { children: [ok, { executable: binary('testbed') }] },
        'children[1]: Expected the `id` option to be a non-empty string, got `undefined` (undefined)',
      ],
      [
        { children: [ok, { ...testbed('b'), restrat: 'temporary' }] },
        'child "b" (children[1]): Unknown option `restrat`; did you mean `restart`?',
      ],
      [
        { children: [ok, testbed('b', { restart: 'always' as 'permanent' })] },
        "child \"b\" (children[1]): Expected the `restart` option to be 'permanent', 'transient' or 'temporary'",
      ],
      [
        { children: [ok, testbed('b', { callTimeout: -5 })] },
        'child "b" (children[1]): Expected the `callTimeout` option to be a positive integer of milliseconds, got `-5`',
      ],
      [
        { children: [ok, testbed('b', { heartbeat: { intervall: 5 } as object })] },
        'child "b" (children[1]): Unknown option `heartbeat.intervall`; did you mean `heartbeat.interval`?',
      ],
      [
        { children: [ok, testbed('ok')] },
        'Expected each child\'s `id` to be unique, got "ok" for children[0] and children[1]',
      ],
      [
        { children: [testbed('a', { name: 'same' }), testbed('b', { name: 'same' })] },
        'child "b" (children[1]): Expected the `name` option to differ from every other child\'s, got "same", also children[0]\'s',
      ],
      [
        { children: [ok, testbed('b', { healthCheck: { interval: 100 } as unknown as { message: unknown } })] },
        'child "b" (children[1]): Expected the `healthCheck.message` option to be the message to call the child with',
      ],
      [
        { children: [ok, testbed('b', { healthCheck: { message: 1, timout: 5 } as { message: unknown } })] },
        'child "b" (children[1]): Unknown option `healthCheck.timout`; did you mean `healthCheck.timeout`?',
      ],
    ];
    for (const [options, message] of cases) {
      const error = await rejection(Supervisor.start(options as SupervisorOptions));
      expect(error.code, message).toBe('ERR_CNODE_INVALID_OPTION');
      expect(error.message).toContain(message);
      expect(liveChildren()).toEqual([]);
    }
  });

  it('stop() cancels a restart waiting out its delay; calls waiting for it reject with ERR_CNODE_STOPPED', async () => {
    const supervisor = await supervise({
      backoff: { initial: 5000, jitter: 0 },
      children: [testbed('slow'), testbed('other')],
    });
    const events = restartsOf(supervisor);
    const slow = supervisor.child('slow');
    await crash(slow);
    expect(events.map((event) => event.delay)).toEqual([5000]);
    expect(slow.state).toBe('restarting');
    const waiting = rejection(slow.call({ op: 'pid' }, { timeout: 10_000 }));
    const started = Date.now();
    await supervisor.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    const error = await waiting;
    expect(error.code).toBe('ERR_CNODE_STOPPED');
    expect(error.message).toBe(`cnode ${slow.name} was stopped: its supervisor stopped`);
    expect(slow.state).toBe('stopped');
    expect((await rejection(slow.call('after', { timeout: 100 }))).code).toBe('ERR_CNODE_STOPPED');
    await sleep(50);
    expect(liveChildren()).toEqual([]);
    expect(events).toHaveLength(1);
  });
});

describe('stop() during a restart', () => {
  it('waits for a start under way, stops what it started, and fails the waiting calls at once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-test-'));
    const executable = path.join(dir, 'testbed');
    fs.copyFileSync(binary('testbed'), executable);
    try {
      const supervisor = await supervise({ backoff: FAST, children: [testbed('slow', { executable })] });
      const slow = supervisor.child('slow');
      // From now on the child takes 300 ms to start: a script that sleeps, then becomes the worker.
      fs.rmSync(executable);
      fs.writeFileSync(executable, `#!/bin/sh\nsleep 0.3\nexec ${binary('testbed')} "$@"\n`, { mode: 0o755 });
      await crash(slow);
      const waiting = rejection(slow.call({ op: 'pid' }));
      await sleep(100); // the start is under way
      const starting = liveChildren();
      expect(starting).toHaveLength(1);
      const stopped = supervisor.stop();
      expect((await waiting).code).toBe('ERR_CNODE_STOPPED');
      await stopped;
      expect(slow.state).toBe('stopped');
      expect(isAlive(starting[0])).toBe(false);
      expect(liveChildren()).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('strategies', () => {
  it('one_for_one restarts the child that exited, and no other', async () => {
    const supervisor = await supervise({ backoff: FAST, children: [testbed('a'), testbed('b'), testbed('c')] });
    const events = restartsOf(supervisor);
    const [a, b, c] = supervisor.children;
    const before = supervisor.children.map((child) => [child.creation, child.pid]);
    const error = await crash(b);
    expect(error).toMatchObject({ code: 'ERR_CNODE_EXITED', signal: 'SIGSEGV', creation: before[1][0] });
    await restarted(b, before[1][0]);
    expect(supervisor.children.map((child) => child.creation)).toEqual([before[0][0], before[1][0] + 1, before[2][0]]);
    expect([a.pid, c.pid]).toEqual([before[0][1], before[2][1]]);
    expect(b.pid).not.toBe(before[1][1]);
    expect(await b.call({ op: 'pid' })).toBe(b.pid);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: 'b', trigger: 'b', delay: 5 });
    expect(events[0].info).toMatchObject({
      node: b.name,
      creation: before[1][0],
      signal: 'SIGSEGV',
      stopped: false,
      fault: null,
    });
  });

  it('one_for_all restarts every child, stopping the others in reverse order', async () => {
    const supervisor = await supervise({
      strategy: 'one_for_all',
      backoff: FAST,
      children: [testbed('a'), testbed('b'), testbed('c')],
    });
    const events = restartsOf(supervisor);
    const [a, b, c] = supervisor.children;
    const before = supervisor.children.map((child) => child.creation);
    await crash(b);
    for (const [i, child] of [a, b, c].entries()) await restarted(child, before[i]);
    expect(supervisor.children.map((child) => child.creation)).toEqual(before.map((creation) => creation + 1));
    expect(events.map((event) => [event.id, event.trigger])).toEqual([
      ['b', 'b'],
      ['c', 'b'],
      ['a', 'b'],
    ]);
    expect(events[0].info.signal).toBe('SIGSEGV');
    for (const sibling of events.slice(1)) expect(sibling.info).toMatchObject({ stopped: true, exitCode: 0 });
    for (const child of [a, b, c]) expect(await child.call({ op: 'pid' })).toBe(child.pid);
  });

  it('rest_for_one restarts the child that exited and those started after it', async () => {
    const supervisor = await supervise({
      strategy: 'rest_for_one',
      backoff: FAST,
      children: [testbed('a'), testbed('b'), testbed('c')],
    });
    const events = restartsOf(supervisor);
    const [a, b, c] = supervisor.children;
    const start = supervisor.children.map((child) => child.creation);
    await crash(b);
    await restarted(c, start[2]);
    await restarted(b, start[1]);
    expect(supervisor.children.map((child) => child.creation)).toEqual([start[0], start[1] + 1, start[2] + 1]);
    expect(events.map((event) => event.id)).toEqual(['b', 'c']);
    await crash(a);
    for (const [i, child] of [a, b, c].entries()) await restarted(child, start[i] + (i === 0 ? 0 : 1));
    expect(supervisor.children.map((child) => child.creation)).toEqual([start[0] + 1, start[1] + 2, start[2] + 2]);
    await crash(c);
    await restarted(c, start[2] + 2);
    expect(supervisor.children.map((child) => child.creation)).toEqual([start[0] + 1, start[1] + 2, start[2] + 3]);
    expect(events.map((event) => event.id)).toEqual(['b', 'c', 'a', 'c', 'b', 'c']);
  });
});

describe('restarts that meet', () => {
  it("a restart takes over a sibling's restart that waits: each child is started once", async () => {
    const supervisor = await supervise({
      strategy: 'rest_for_one',
      backoff: { initial: 150, max: 150, factor: 1, jitter: 0 },
      children: [testbed('a'), testbed('b'), testbed('c')],
    });
    const events = restartsOf(supervisor);
    const [a, b, c] = supervisor.children;
    const start = supervisor.children.map((child) => child.creation);
    await crash(c); // c waits 150 ms
    await sleep(50);
    await crash(a); // takes c into its own restart, 150 ms from now
    expect(supervisor.children.map((child) => child.state)).toEqual(['restarting', 'restarting', 'restarting']);
    const crashed = performance.now();
    expect(await c.call({ op: 'pid' })).toBe(c.pid);
    expect(performance.now() - crashed).toBeGreaterThanOrEqual(140); // not at c's own time, 100 ms from the crash of a
    for (const [i, child] of [a, b, c].entries()) await restarted(child, start[i]);
    await sleep(200); // c's own restart would have come by now
    expect(supervisor.children.map((child) => child.creation)).toEqual(start.map((creation) => creation + 1));
    expect(events.map((event) => [event.id, event.trigger])).toEqual([
      ['c', 'c'],
      ['a', 'a'],
      ['b', 'a'],
    ]);
  });

  it('a start that fails during a one_for_all restart restarts the whole group again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-test-'));
    const executable = path.join(dir, 'testbed');
    fs.copyFileSync(binary('testbed'), executable);
    try {
      const supervisor = await supervise({
        strategy: 'one_for_all',
        backoff: { initial: 10, max: 100, factor: 2, jitter: 0 },
        children: [testbed('first'), testbed('fragile', { executable }), testbed('last')],
      });
      const events = restartsOf(supervisor);
      const failures: StartErrorEvent[] = [];
      supervisor.on('startError', (event) => {
        failures.push(event);
        fs.renameSync(`${executable}.away`, executable);
      });
      const [first, fragile, last] = supervisor.children;
      const start = supervisor.children.map((child) => child.creation);
      fs.renameSync(executable, `${executable}.away`);
      await crash(first);
      expect(await last.call({ op: 'pid' })).toBe(last.pid);
      await restarted(fragile, start[1]);
      expect(failures.map((failure) => [failure.id, failure.error.code])).toEqual([['fragile', 'ERR_CNODE_SPAWN']]);
      // first was started, then stopped again with the group; fragile's failed start took a creation.
      expect(supervisor.children.map((child) => child.creation)).toEqual([start[0] + 2, start[1] + 2, start[2] + 1]);
      expect(events.map((event) => [event.id, event.trigger, event.info.stopped])).toEqual([
        ['first', 'first', false],
        ['last', 'first', true],
        ['fragile', 'first', true],
        ['first', 'fragile', true],
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('restart policies', () => {
  it('transient: restarted after an abnormal exit only; temporary: never', async () => {
    const supervisor = await supervise({
      backoff: FAST,
      children: [
        testbed('done', { restart: 'transient' }),
        testbed('failing', { restart: 'transient' }),
        testbed('once', { restart: 'temporary' }),
      ],
    });
    const events = restartsOf(supervisor);
    const [done, failing, once] = supervisor.children;
    const exits: ExitInfo[] = [];
    done.on('exit', (info) => exits.push(info));

    await rejection(done.call({ op: 'exit', code: 0 }));
    await waitUntil(() => done.state === 'ended', 1000, 'the transient child has ended');
    expect(exits).toMatchObject([{ exitCode: 0, stopped: false }]);
    const refused = await rejection(done.call('anyone?'));
    expect(refused.code).toBe('ERR_CNODE_EXITED');
    expect(refused.message).toContain('a transient child is restarted only after an abnormal exit');
    expect(isAlive(done.pid)).toBe(false);

    const creation = failing.creation;
    await rejection(failing.call({ op: 'exit', code: 3 }));
    await restarted(failing, creation);
    expect(events.map((event) => [event.id, event.info.exitCode])).toEqual([['failing', 3]]);

    await crash(once);
    await waitUntil(() => once.state === 'ended', 1000, 'the temporary child has ended');
    expect((await rejection(once.call('anyone?'))).message).toContain('a temporary child is never restarted');
    await sleep(30); // more than its backoff delay: nothing comes back
    expect(once.state).toBe('ended');
    expect(events).toHaveLength(1);
  });

  it('a temporary child is stopped with its siblings under one_for_all, and not started again', async () => {
    const supervisor = await supervise({
      strategy: 'one_for_all',
      backoff: FAST,
      children: [testbed('main'), testbed('helper', { restart: 'temporary' })],
    });
    const [main, helper] = supervisor.children;
    const pid = helper.pid;
    const creation = main.creation;
    await crash(main);
    await restarted(main, creation);
    expect(helper.state).toBe('ended');
    expect(isAlive(pid)).toBe(false);
    expect((await rejection(helper.call('x'))).code).toBe('ERR_CNODE_STOPPED'); // it was stopped, not crashed
  });
});

describe('health checks', () => {
  it('kill a child that answers late; the exit counts as abnormal, so a transient child is restarted', async () => {
    const supervisor = await supervise({
      backoff: FAST,
      children: [
        testbed('sidecar', {
          restart: 'transient',
          healthCheck: { message: { op: 'echo', value: 'ok' }, interval: 20, timeout: 250 },
        }),
      ],
    });
    const events = restartsOf(supervisor);
    const sidecar = supervisor.child('sidecar');
    const creation = sidecar.creation;
    await sleep(150); // several checks, all answered in time
    expect(events).toEqual([]);
    await sidecar.send({ op: 'sleep', ms: 3000 }); // the worker stops answering
    const inFlight = rejection(sidecar.call({ op: 'echo', value: 'behind the sleep' }));
    await restarted(sidecar, creation);
    expect(await inFlight).toMatchObject({ code: 'ERR_CNODE_EXITED', signal: 'SIGKILL' });
    expect(events).toHaveLength(1);
    const { info } = events[0];
    expect(info).toMatchObject({ creation, signal: 'SIGKILL', stopped: false });
    expect(isAbnormal(info)).toBe(true);
    expect(info.fault?.code).toBe('ERR_CNODE_UNRESPONSIVE');
    expect(info.fault?.message).toBe(
      `cnode ${sidecar.name} did not answer its health check within 250 ms; the supervisor killed it`,
    );
    expect(info.fault?.cause).toMatchObject({ code: 'ERR_CNODE_CALL_TIMEOUT' });
    expect(await sidecar.call({ op: 'echo', value: 'back' })).toBe('back');
  });

  it('kill a child whose check fails; a child that keeps failing it trips the intensity', async () => {
    const supervisor = await supervise({
      maxRestarts: 1,
      backoff: FAST,
      children: [testbed('sick', { healthCheck: { message: { op: 'fail', reason: 'out of disk' }, interval: 10 } })],
    });
    const events = restartsOf(supervisor);
    const [error] = (await once(supervisor, 'error')) as [CNodeError];
    expect(events).toHaveLength(1);
    expect(events[0].info.fault).toMatchObject({ code: 'ERR_CNODE_REMOTE' });
    expect(events[0].info.fault?.message).toBe(
      `cnode ${supervisor.child('sick').name} failed its health check (failed the call: out of disk); the supervisor killed it`,
    );
    expect(error.code).toBe('ERR_CNODE_TOO_MANY_RESTARTS');
    expect((error.cause as CNodeError).message).toContain('out of disk');
    expect(supervisor.child('sick').state).toBe('stopped');
    expect(liveChildren()).toEqual([]);
  });
});

describe('backoff and intensity', () => {
  it('restart delays grow by the factor, within their jitter, and are waited out', async () => {
    const backoff = { initial: 20, max: 160, factor: 2, jitter: 0.5 };
    const supervisor = await supervise({ maxRestarts: 100, backoff, children: [testbed('flaky')] });
    const flaky = supervisor.child('flaky');
    let event: RestartEvent | undefined;
    let eventAt = 0;
    supervisor.on('restart', (restart) => {
      event = restart;
      eventAt = performance.now();
    });
    const bases = [20, 40, 80, 160, 160, 160];
    const delays: number[] = [];
    for (const base of bases) {
      await rejection(flaky.call({ op: 'exit', code: 1 }));
      await flaky.call('up again'); // waits for the next incarnation
      const waited = performance.now() - eventAt;
      expect(event!.delay).toBeGreaterThanOrEqual(base * (1 - backoff.jitter));
      expect(event!.delay).toBeLessThanOrEqual(base);
      expect(waited).toBeGreaterThanOrEqual(event!.delay - 1);
      delays.push(event!.delay);
    }
    // Grown: each base doubles, so even a delay cut by all of its jitter is at least the first base.
    expect(delays.slice(3).every((delay) => delay >= 80)).toBe(true);
  });

  it('restart delays start again from initial once a child has run stably, for the period', async () => {
    const supervisor = await supervise({
      maxRestarts: 10,
      period: 300,
      backoff: { initial: 10, max: 1000, factor: 4, jitter: 0 },
      children: [testbed('flaky')],
    });
    const events = restartsOf(supervisor);
    const flaky = supervisor.child('flaky');
    for (let i = 0; i < 3; i++) {
      await rejection(flaky.call({ op: 'exit', code: 1 }));
      await flaky.call('up again');
    }
    await sleep(320); // runs stably
    await rejection(flaky.call({ op: 'exit', code: 1 }));
    await flaky.call('up again');
    await rejection(flaky.call({ op: 'exit', code: 1 })); // at once: growing again
    await flaky.call('up again');
    expect(events.map((event) => event.delay)).toEqual([10, 40, 160, 10, 40]);
  });

  it('gives up on a crash loop that backoff slows, stops every child, and emits ERR_CNODE_TOO_MANY_RESTARTS', async () => {
    // Delays of 50, 100 and 200 ms: on the wall clock the fourth crash would come 350 ms after
    // the first, out of a 300 ms window; the children's clock leaves the delays out.
    const supervisor = await supervise({
      maxRestarts: 3,
      period: 300,
      backoff: { initial: 50, max: 1000, factor: 2, jitter: 0 },
      children: [testbed('steady'), testbed('looping')],
    });
    const events = restartsOf(supervisor);
    const [steady, looping] = supervisor.children;
    const steadyExit = once(steady, 'exit') as Promise<[ExitInfo]>;
    const gaveUp = once(supervisor, 'error') as Promise<[CNodeError]>;
    const pids = [steady.pid];
    const started = performance.now();
    let last: CNodeError;
    for (;;) {
      pids.push(looping.pid);
      last = await rejection(looping.call({ op: 'exit', code: 7 }));
      if (last.code !== 'ERR_CNODE_EXITED') break;
    }
    const [error] = await gaveUp;
    expect(performance.now() - started).toBeGreaterThan(350);
    expect(events.map((event) => event.delay)).toEqual([50, 100, 200]);
    expect(last).toBe(error); // the call that waited for a fifth incarnation
    expect(error.code).toBe('ERR_CNODE_TOO_MANY_RESTARTS');
    expect(error.message).toBe(
      `supervisor: more than 3 restarts within 300 ms (backoff delays not counted), the last of child "looping": ${looping.name} exited with code 7; every child was stopped`,
    );
    expect(error).toMatchObject({ node: looping.name, exitCode: 7, creation: looping.creation });
    expect((await steadyExit)[0]).toMatchObject({ stopped: true, exitCode: 0 });
    expect([steady.state, looping.state]).toEqual(['stopped', 'stopped']);
    expect(pids.some(isAlive)).toBe(false);
    expect(liveChildren()).toEqual([]);
    await supervisor.stop(); // resolves: it is stopped already
  });

  it('retries a restart whose start fails, with growing delays, until the executable is back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-test-'));
    const executable = path.join(dir, 'testbed');
    fs.copyFileSync(binary('testbed'), executable);
    fs.chmodSync(executable, 0o755);
    try {
      const supervisor = await supervise({
        maxRestarts: 20,
        backoff: { initial: 10, max: 1000, factor: 2, jitter: 0 },
        children: [testbed('moved', { executable })],
      });
      const moved = supervisor.child('moved');
      const failures: StartErrorEvent[] = [];
      supervisor.on('startError', (event) => {
        failures.push(event);
        if (failures.length === 3) fs.renameSync(`${executable}.away`, executable);
      });
      const creation = moved.creation;
      fs.renameSync(executable, `${executable}.away`);
      await crash(moved);
      const answer = await moved.call({ op: 'pid' }); // waits through the failed starts
      expect(answer).toBe(moved.pid);
      expect(failures.map((failure) => [failure.id, failure.error.code, failure.delay])).toEqual([
        ['moved', 'ERR_CNODE_SPAWN', 20],
        ['moved', 'ERR_CNODE_SPAWN', 40],
        ['moved', 'ERR_CNODE_SPAWN', 80],
      ]);
      // Each start takes a creation, the failed ones too.
      expect(moved.creation).toBe(creation + 4);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Runs test/fixtures/supervisor-owner.js to its end; resolves with its exit code, stderr and workers' pids. */
  async function runOwner(how: 'unhandled' | 'exit') {
    const owner = spawn(
      process.execPath,
      [path.join(root, 'test/fixtures/supervisor-owner.js'), binary('testbed'), how],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    owner.stderr!.on('data', (data) => (stderr += data));
    const pids: number[] = [];
    readline
      .createInterface({ input: owner.stdout! })
      .on('line', (line) => pids.push(...(JSON.parse(line) as number[])));
    const killer = setTimeout(() => owner.kill('SIGKILL'), 10_000); // a hung owner must not outlive the test
    const [code] = (await once(owner, 'exit')) as [number | null];
    clearTimeout(killer);
    return { code, stderr, pids };
  }

  it('brings the owner down when nobody handles its error, and leaves no worker behind', async () => {
    const { code, stderr, pids } = await runOwner('unhandled');
    expect(code).toBe(1);
    expect(stderr).toContain('ERR_CNODE_TOO_MANY_RESTARTS');
    expect(pids.length).toBeGreaterThan(2);
    expect(pids.some(isAlive)).toBe(false);
  });

  it('leaves no worker behind when the owner exits while a restart waits out its delay', async () => {
    const { code, pids } = await runOwner('exit');
    expect(code).toBe(0);
    expect(pids).toHaveLength(2);
    await waitUntil(() => !pids.some(isAlive), 2000, "the owner's workers are gone");
  });
});

describe('calls during restarts', () => {
  it('wait for the next incarnation and reach it; sends too; its messages come with its creation', async () => {
    const supervisor = await supervise({ backoff: { ...FAST, initial: 100, max: 100 }, children: [testbed('svc')] });
    const svc = supervisor.child('svc');
    const messages: [unknown, number][] = [];
    svc.on('message', (message, creation) => messages.push([message, creation]));
    await svc.call({ op: 'notify', value: 'before' });
    const creation = svc.creation;
    await crash(svc);
    expect(svc.state).toBe('restarting');
    const sent = svc.send({ op: 'notify', value: 'sent while restarting' });
    const answer = svc.call({ op: 'pid' });
    const failFast = rejection(svc.call({ op: 'pid' }, { failFast: true }));
    expect(await failFast).toMatchObject({ code: 'ERR_CNODE_EXITED', signal: 'SIGSEGV', creation });
    expect((await failFast).message).toContain('and is restarting (the call had failFast)');
    await sent;
    expect(await answer).toBe(svc.pid);
    expect(svc.creation).toBe(creation + 1);
    await waitUntil(() => messages.length === 2, 1000, 'both messages came');
    expect(messages).toEqual([
      ['before', creation],
      ['sent while restarting', creation + 1],
    ]);
  });

  it('time out, or are aborted, while they wait; their options are checked as the node checks them', async () => {
    const supervisor = await supervise({ backoff: { ...FAST, initial: 300, max: 300 }, children: [testbed('svc')] });
    const svc = supervisor.child('svc');
    await crash(svc);
    const started = performance.now();
    const call = await rejection(svc.call('x', { timeout: 40 }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
    expect(call.code).toBe('ERR_CNODE_CALL_TIMEOUT');
    expect(call.message).toBe(`cnode ${svc.name} did not answer a call within 40 ms: it was restarting`);
    expect((await rejection(svc.send('x', { timeout: 20 }))).code).toBe('ERR_CNODE_SEND_TIMEOUT');
    const controller = new AbortController();
    const aborted = rejection(svc.call('x', { signal: controller.signal }));
    controller.abort('changed my mind');
    expect(await aborted).toMatchObject({ code: 'ERR_CNODE_ABORTED', cause: 'changed my mind' });
    const typo = await rejection(svc.call('x', { failfast: true } as object));
    expect(typo.code).toBe('ERR_CNODE_INVALID_OPTION');
    expect(typo.message).toBe(`cnode ${svc.name} call(): Unknown option \`failfast\`; did you mean \`failFast\`?`);
    expect((await rejection(svc.send('x', { failFast: 'yes' } as object))).message).toContain(
      'Expected the `failFast` option to be a boolean',
    );
    expect(svc.state).toBe('restarting');
  });

  it('in flight when the incarnation dies reject with ERR_CNODE_EXITED and are not made again', async () => {
    const supervisor = await supervise({ backoff: FAST, children: [testbed('svc')] });
    const svc = supervisor.child('svc');
    const inFlight = rejection(svc.call({ op: 'sleep', ms: 500 }));
    await sleep(20);
    process.kill(svc.pid, 'SIGKILL');
    expect(await inFlight).toMatchObject({ code: 'ERR_CNODE_EXITED', signal: 'SIGKILL' });
    const started = performance.now();
    expect(await svc.call({ op: 'echo', value: 'next' })).toBe('next');
    // The new incarnation answered at once: the sleep was not made again in front of it.
    expect(performance.now() - started).toBeLessThan(400);
  });
});

describe('a sidecar', () => {
  it('sending on its own timer (cnode/examples/ticker.c) reports through the handle across a restart', async () => {
    const supervisor = await supervise({
      backoff: FAST,
      children: [
        {
          id: 'ticker',
          executable: binary('ticker'),
          args: ['20'],
          healthCheck: { message: 'ping', interval: 50, timeout: 1000 },
        },
      ],
    });
    const ticker = supervisor.child('ticker');
    const ticks: [unknown, number][] = [];
    ticker.on('message', (tick, creation) => ticks.push([tick, creation]));
    const first = ticker.creation;
    await waitUntil(() => ticks.length >= 2, 2000, 'two ticks');
    process.kill(ticker.pid, 'SIGKILL');
    await restarted(ticker, first);
    await waitUntil(
      () => ticks.some(([, creation]) => creation === first + 1),
      2000,
      'a tick from the next incarnation',
    );
    // Each incarnation counts its own ticks, and says which it is, as the handle does.
    const mine = ticks.filter(([, creation]) => creation === first).map(([tick]) => tick);
    expect(mine.slice(0, 2)).toEqual([
      { tick: 1, creation: first },
      { tick: 2, creation: first },
    ]);
    expect(ticks.find(([, creation]) => creation === first + 1)?.[0]).toEqual({ tick: 1, creation: first + 1 });
    expect(await ticker.call({ op: 'status' })).toMatchObject({ interval: 20, creation: first + 1 });
  });
});

describe('leaving nothing behind', () => {
  it('1,000 restarts: no process, descriptor or socket file left, and the heap flat', async () => {
    const supervisor = await supervise({
      maxRestarts: 1000,
      period: 1, // forgotten at once: this loop is not to trip the intensity
      backoff: { initial: 0, max: 0 },
      children: [testbed('phoenix')],
    });
    const phoenix = supervisor.child('phoenix');
    const cycle = async () => {
      expect((await rejection(phoenix.call({ op: 'exit', code: 1 }))).code).toBe('ERR_CNODE_EXITED');
      await phoenix.call('again');
    };
    for (let i = 0; i < 50; i++) await cycle(); // warm
    const creation = phoenix.creation;
    const before = await heldMemory();
    for (let i = 0; i < 1000; i++) await cycle();
    const grown = (await heldMemory()) - before;
    expect(phoenix.creation).toBe(creation + 1000);
    expect(grown).toBeLessThan(2 * 1024 * 1024);
    await supervisor.stop();
    await expectNothingLeft({ descriptors });
  }, 60_000);
});
