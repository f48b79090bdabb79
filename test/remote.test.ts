// Workers on "another host" (issue 12), across real Linux network namespaces: each far namespace
// is joined to this one by a veth pair (test/netns/netns.js), so its workers are reached over a
// real network path, 10.213.N.1 here to 10.213.N.2 there, which CurveZMQ must protect, which a
// link cut (ip link set down) breaks, and which a delaying TCP relay (test/netns/relay.js; these
// kernels have no tc netem) slows. Needs root and ip(8): without them it says so in one line and
// skips, unless CI (or CNODE_NETNS=required) is set, where it fails instead.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { curveKeyPair } from 'zeromq';
import { CNode, type CNodeOptions, CNodePool, type ExitInfo, SharedBuffer } from '../src/index.js';
import {
  binary,
  commandLine,
  descriptorBaseline,
  environment,
  expectNothingLeft,
  isAlive,
  processGroup,
  rejection,
  root,
  waitUntil,
  workerOptions,
} from './helpers.js';
import * as netns from './netns/netns.js';
import { type Relay, startRelay } from './netns/relay.js';

const unavailable = netns.unavailable();
if (unavailable !== undefined) {
  if (process.env.CI || process.env.CNODE_NETNS === 'required') {
    throw new Error(`test/remote.test.ts: ${unavailable}; CI runs these tests as root`);
  }
  console.log(`test/remote.test.ts skipped: ${unavailable} (they need root and ip(8) to make network namespaces)`);
}

/**
 * Heartbeats short enough that a cut link shows within about a second. ZMTP drops the link
 * within interval + timeout / 2 (900 ms) and the node's grace ends 250 ms later, well before
 * the session's own verdict at 1400 ms, which a loaded CI machine must not overtake.
 */
const HEARTBEAT = { interval: 200, timeout: 1400 };
/** A fixed port inside a far namespace: each has its own ports, so it is free. */
const FAR_PORT = 5555;

/**
 * An exec prefix that runs the worker inside `ns` as ssh would run it far away: in a session of
 * its own (setsid), so that the owner's signals to the exec process and its group never reach
 * it, with a stdin that stays open whatever the owner does (the launch line is forwarded by
 * `head -n 1`, then `sleep 30` holds the pipe). Only the worker's own ZMTP heartbeat, or the
 * connection closing, can end it.
 */
function detached(ns: netns.Namespace): string[] {
  return [...ns.exec, 'setsid', '-w', 'sh', '-c', '{ head -n 1; exec sleep 30; } | exec "$0" "$@"'];
}

/**
 * An exec prefix that stands for ssh over a link that can be cut: the local process (sh) lives
 * on until the owner closes stdin, as ssh does when its link is cut, so the owner learns of the
 * cut from the connection, not from a process exit it could not have seen over a real network.
 */
function sshLike(ns: netns.Namespace): string[] {
  return [...ns.exec, 'sh', '-c', 'cat | exec "$0" "$@"'];
}

/** Runs a command to its end; resolves with its stdout. */
function run(command: readonly string[], timeout = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command[0], command.slice(1), { timeout, cwd: root }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The first line of `child`'s stdout that matches `pattern`, within `timeoutMs`. */
function lineOf(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${text}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk;
      const line = text.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}

interface StrangerReport {
  events: string[];
  answers: unknown[];
}

/** Runs test/fixtures/stranger.js inside `ns` against `endpoint` ('plain', or its own keys and `serverKey`). */
async function stranger(ns: netns.Namespace, endpoint: string, serverKey: string | 'plain'): Promise<StrangerReport> {
  const script = path.join(root, 'test', 'fixtures', 'stranger.js');
  return JSON.parse(await run([...ns.exec, process.execPath, script, endpoint, serverKey]));
}

describe.skipIf(unavailable !== undefined)('workers across network namespaces', () => {
  let near: netns.Namespace;
  let far: netns.Namespace;
  let descriptors = 0;
  const relays: Relay[] = [];
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    near = netns.create();
    far = netns.create();
    descriptors = await descriptorBaseline('tcp');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    for (const relay of relays.splice(0)) await relay.close();
    netns.restore(near);
    netns.restore(far);
    // No worker is left in either namespace, however its test ended it...
    await waitUntil(() => workersLeft().length === 0, 2000, 'no worker is left in the namespaces').catch(
      (error: Error) => {
        throw new Error(`${error.message}: ${workersLeft().join(', ')}`);
      },
    );
    // ...and what else the test left there (the `sleep 30` holding a stdin in detached()) goes now.
    netns.killAll(near);
    netns.killAll(far);
    await waitUntil(() => netns.pids(near).length + netns.pids(far).length === 0, 2000, 'the namespaces are empty');
    await expectNothingLeft({ descriptors, withinMs: 2000 });
  });

  afterAll(() => netns.removeAll());

  /** The workers (echo, testbed) still running in the namespaces, as "<pid> <program>". */
  function workersLeft(): string[] {
    const programs = [binary('echo'), binary('testbed')];
    return [...netns.pids(near), ...netns.pids(far)].flatMap((pid) => {
      try {
        const [program] = commandLine(pid);
        return programs.includes(program) ? [`${pid} ${program}`] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
  }

  /** Starts a node, to be stopped after the test. */
  async function start(options: CNodeOptions): Promise<CNode> {
    const node = await CNode.start(options);
    cleanups.push(() => node.stop());
    return node;
  }

  it('runs a worker through `exec: ip netns exec`: calls, sends and messages over tcp with CurveZMQ', async () => {
    const { options, stderr } = workerOptions('echo', { exec: near.exec, bind: near.farAddress, heartbeat: HEARTBEAT });
    const node = await start(options);
    expect(node.endpoint).toMatch(new RegExp(`^tcp://${near.farAddress.replaceAll('.', '\\.')}:\\d+$`));
    // The local process is `ip netns exec`, which became the worker: the pid is in the namespace.
    expect(node.workerPid).toBe(node.pid);
    expect(netns.pids(near)).toEqual([node.workerPid]);
    // The secrets came on stdin, not in the environment that /proc keeps.
    const secrets = ['CNODE_COOKIE', 'CNODE_CURVE_SECRET', 'CNODE_CURVE_CLIENT'];
    expect(Object.keys(environment(node.workerPid)).filter((name) => secrets.includes(name))).toEqual([]);
    await expect(node.call({ op: 'add', a: 2, b: 3 })).resolves.toBe(5);
    await node.send({ op: 'set', value: 'across' });
    await expect(node.call({ op: 'get' })).resolves.toBe('across');
    const message = new Promise((resolve) => node.once('message', resolve));
    await expect(node.call({ op: 'notify', value: { from: 'far' } })).resolves.toBe(true);
    await expect(message).resolves.toEqual({ from: 'far' });
    const big = Buffer.alloc(300_000, 7);
    expect(Buffer.compare((await node.call({ op: 'echo', value: big })) as Uint8Array, big)).toBe(0);
    // A SharedBuffer cannot cross hosts.
    const shared = SharedBuffer.create(4096);
    try {
      const refused = await rejection(node.call({ op: 'echo', value: shared }));
      expect(refused.code).toBe('ERR_CNODE_BAD_MESSAGE');
    } finally {
      shared[Symbol.dispose]();
    }
    const info = await node.stop();
    expect(info).toMatchObject({ stopped: true, fault: null, exitCode: 0 });
    expect(stderr).toEqual([]);
    expect(netns.pids(near)).toEqual([]);
  });

  it('keeps a link with 20 ms of delay each way working, and its heartbeats quiet', async () => {
    const relay = await startRelay({
      listen: { host: '127.0.0.1' },
      target: { host: near.farAddress, port: FAR_PORT },
      delayMs: 20,
    });
    relays.push(relay);
    const { options, stderr } = workerOptions('echo', {
      exec: near.exec,
      bind: `${near.farAddress}:${FAR_PORT}`,
      advertise: relay.endpoint,
      heartbeat: HEARTBEAT,
    });
    const node = await start(options);
    expect(node.endpoint).toBe(`tcp://${relay.endpoint}`);
    const exits: ExitInfo[] = [];
    node.on('exit', (info) => exits.push(info));
    // Sequential calls over six heartbeat intervals: each pays the 40 ms round trip, none fails.
    const began = performance.now();
    const times: number[] = [];
    while (performance.now() - began < 6 * HEARTBEAT.interval) {
      const at = performance.now();
      await expect(node.call({ op: 'add', a: times.length, b: 1 })).resolves.toBe(times.length + 1);
      times.push(performance.now() - at);
    }
    expect(Math.min(...times)).toBeGreaterThanOrEqual(39);
    // And calls in flight together, a few heartbeats' worth.
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => node.call({ op: 'echo', value: i })));
    expect(answers).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(exits).toEqual([]);
    expect(relay.connections).toBe(1); // never reconnected
    const info = await node.stop();
    expect(info).toMatchObject({ stopped: true, fault: null });
    expect(exits).toHaveLength(1);
    expect(stderr).toEqual([]);
  });

  it('rejects calls with ERR_CNODE_DISCONNECTED within the heartbeat timeout when the link is cut, and the far worker ends by itself', async () => {
    const { options } = workerOptions('testbed', { exec: detached(far), bind: far.farAddress, heartbeat: HEARTBEAT });
    const node = await start(options);
    const worker = node.workerPid;
    expect(await node.call({ op: 'pid' })).toBe(worker);
    // Out of the owner's reach: another session and process group than the exec process's.
    expect(processGroup(worker)).not.toBe(processGroup(node.pid));
    expect(netns.pids(far)).toContain(worker);
    const exits: ExitInfo[] = [];
    node.on('exit', (info) => exits.push(info));
    // One call the worker is running as the link goes (its answer is lost), one sent after.
    const running = node.call({ op: 'sleep', ms: 300 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    netns.cut(far);
    const cutAt = performance.now();
    let goneMs = Number.NaN; // when the far worker vanished, polled from the cut on
    const poll = setInterval(() => {
      if (Number.isNaN(goneMs) && !isAlive(worker)) goneMs = performance.now() - cutAt;
    }, 5);
    cleanups.push(() => clearInterval(poll));
    const sent = node.call({ op: 'echo', value: 1 });
    const errors = await Promise.all([rejection(running), rejection(sent)]);
    const detectedMs = performance.now() - cutAt;
    expect(errors.map((error) => error.code)).toEqual(['ERR_CNODE_DISCONNECTED', 'ERR_CNODE_DISCONNECTED']);
    expect(detectedMs).toBeLessThan(HEARTBEAT.timeout + 300);
    const later = await rejection(node.call({ op: 'echo', value: 2 }));
    expect(later.code).toMatch(/^ERR_CNODE_(DISCONNECTED|EXITED)$/);
    const info = await node.exited;
    expect(info.fault?.code).toBe('ERR_CNODE_DISCONNECTED');
    expect(info.stopped).toBe(false);
    // The worker's own ZMTP heartbeat (CNODE_HEARTBEAT=200,700: a ping every 200 ms, 700 ms to
    // answer) ends it, the link still down: about 900 ms after the cut. Without a heartbeat it
    // would live on (nothing else can reach it: its stdin stays open, its session is its own).
    await waitUntil(() => !Number.isNaN(goneMs), 3000, 'the far worker has ended by itself');
    expect(goneMs).toBeLessThan(HEARTBEAT.interval + HEARTBEAT.timeout / 2 + 500);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(exits).toHaveLength(1);
  });

  it('leaves no far worker when the owner is SIGKILLed', async () => {
    const script = path.join(root, 'test', 'fixtures', 'remote-owner.js');
    // setsid -w: the worker is in a session of its own, beyond the owner's process group; only
    // its stdin's end (or the connection's) can end it.
    const exec = [...near.exec, 'setsid', '-w'];
    const owner = spawn(process.execPath, [script, binary('testbed'), JSON.stringify(exec), near.farAddress], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => {
      if (owner.exitCode === null && owner.signalCode === null) owner.kill('SIGKILL');
    });
    const pids = JSON.parse(await lineOf(owner, /^\{/, 10_000)) as { exec: number; far: number };
    expect(netns.pids(near)).toContain(pids.far);
    expect(processGroup(pids.far)).not.toBe(processGroup(pids.exec));
    const exited = new Promise((resolve) => owner.once('exit', resolve));
    owner.kill('SIGKILL');
    await exited;
    const killedAt = performance.now();
    await waitUntil(() => !isAlive(pids.far), 2000, 'the far worker has ended');
    await waitUntil(() => !isAlive(pids.exec), 2000, 'the exec process has ended');
    expect(performance.now() - killedAt).toBeLessThan(2000);
    expect(netns.pids(near)).toEqual([]);
  });

  it('refuses a stranger in the far namespace at the handshake, before the handler', async () => {
    const { options } = workerOptions('echo', { exec: near.exec, bind: near.farAddress, heartbeat: HEARTBEAT });
    const node = await start(options);
    await node.call({ op: 'set', value: 'owner' });
    // Without CURVE, and with CURVE and its own keys (it cannot know the worker's fresh key).
    const [plain, curve] = await Promise.all([
      stranger(near, node.endpoint, 'plain'),
      stranger(near, node.endpoint, curveKeyPair().publicKey),
    ]);
    for (const report of [plain, curve]) {
      expect(report.events).not.toContain('handshake');
      expect(report.events.some((event) => event.startsWith('handshake:error:'))).toBe(true);
      expect(report.answers).toEqual([]);
    }
    // The stranger's { op: 'set', value: 'hacked' } never reached the handler.
    await expect(node.call({ op: 'get' })).resolves.toBe('owner');
    await expect(node.call({ op: 'add', a: 1, b: 1 })).resolves.toBe(2);
  });

  describe('a served worker (CNODE_SERVE) in the far namespace', () => {
    const server = curveKeyPair();
    const first = curveKeyPair();
    const second = curveKeyPair();
    // A port of its own for each served worker: no bind can race the end of the one before.
    let port = FAR_PORT;
    const endpoint = () => `tcp://${near.farAddress}:${port}`;
    let served: ChildProcess;
    let dir: string;

    /** Starts the served echo worker in `near`; resolves once its ready line is out. */
    async function serve(): Promise<ChildProcess> {
      port++;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `cnode-serve-${process.pid}-`));
      const secretFile = path.join(dir, 'secret');
      const authorized = path.join(dir, 'authorized_keys');
      fs.writeFileSync(secretFile, `${server.secretKey}\n`, { mode: 0o600 });
      fs.writeFileSync(authorized, `# the two owners\n${first.publicKey}\n\n${second.publicKey}\n`, { mode: 0o644 });
      const child = spawn(
        near.exec[0],
        [
          ...near.exec.slice(1),
          'env',
          `CNODE_SERVE=${endpoint()}`,
          `CNODE_SECRET_KEY_FILE=${secretFile}`,
          `CNODE_AUTHORIZED_KEYS=${authorized}`,
          'CNODE_NAME=served',
          'CNODE_HEARTBEAT=200,1000',
          binary('echo'),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await new Promise((resolve) => child.once('exit', resolve));
        }
        fs.rmSync(dir, { recursive: true, force: true });
      });
      const ready = await lineOf(child, /^ready /, 5000).catch((error: Error) => {
        throw new Error(`${error.message}; stderr: ${stderr}`);
      });
      expect(ready).toBe(`ready ${endpoint()}`);
      return child;
    }

    const attach = (keys: { publicKey: string; secretKey: string }, extra = {}) =>
      CNode.attach({ endpoint: endpoint(), serverKey: server.publicKey, ...keys, heartbeat: HEARTBEAT, ...extra });

    it('attaches, detaches, and is re-attached by a second owner process, then by this one, and stops', async () => {
      served = await serve();
      const workerPid = served.pid!; // ip netns exec became env, which became the worker
      const one = await attach(first);
      expect(one.pid).toBe(0);
      expect(one.workerPid).toBe(workerPid);
      expect(one.name).toBe(`served@${os.hostname()}`);
      await one.call({ op: 'set', value: 'first' });
      // A second owner while the first is attached: its HELLO goes unanswered.
      const refused = await rejection(attach(second, { readyTimeout: 500 }));
      expect(refused.code).toMatch(/^ERR_CNODE_/);
      await expect(one.call({ op: 'get' })).resolves.toBe('first');
      const detached = await one.stop();
      expect(detached).toMatchObject({ stopped: true, fault: null });
      expect(isAlive(workerPid)).toBe(true); // it serves on
      // The second owner, another process.
      const report = JSON.parse(
        await run([
          process.execPath,
          path.join(root, 'test', 'fixtures', 'attach-owner.js'),
          JSON.stringify({ endpoint: endpoint(), serverKey: server.publicKey, ...second }),
        ]),
      );
      expect(report).toEqual({ name: `served@${os.hostname()}`, pid: 0, got: 'first', stopped: true });
      // And this process again, which ends it.
      const again = await attach(first);
      await expect(again.call({ op: 'get' })).resolves.toBe('second');
      const exited = new Promise<number | null>((resolve) => served.once('exit', (code) => resolve(code)));
      const info = await again.stop({ terminate: true });
      expect(info.stopped).toBe(true);
      await expect(exited).resolves.toBe(0);
    });

    it('rejects calls in flight when the link drops (nothing replayed), and takes the owner back once restored', async () => {
      served = await serve();
      const one = await attach(first);
      await one.call({ op: 'set', value: 'before' });
      const exits: ExitInfo[] = [];
      one.on('exit', (info) => exits.push(info));
      // One call running as the link goes, and one made after, that would change what get answers.
      const running = one.call({ op: 'sleep', ms: 300 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      netns.cut(near);
      const cutAt = performance.now();
      const after = one.call({ op: 'set', value: 'after the cut' });
      const errors = await Promise.all([rejection(running), rejection(after)]);
      expect(errors.map((error) => error.code)).toEqual(['ERR_CNODE_DISCONNECTED', 'ERR_CNODE_DISCONNECTED']);
      expect(performance.now() - cutAt).toBeLessThan(HEARTBEAT.timeout + 300);
      const info = await one.exited;
      expect(info.fault?.code).toBe('ERR_CNODE_DISCONNECTED');
      expect(exits).toHaveLength(1);
      netns.restore(near);
      // The worker's ZMTP heartbeat (CNODE_HEARTBEAT=200,1000) forgets the lost owner; then the
      // same owner is welcome again.
      const deadline = Date.now() + 5000;
      let again: CNode | undefined;
      while (again === undefined) {
        again = await attach(first, { readyTimeout: 700 }).catch((error: unknown) => {
          if (Date.now() > deadline) throw error;
          return undefined;
        });
      }
      expect(again.workerPid).toBe(served.pid);
      // The set made after the cut was not replayed on the new connection.
      await expect(again.call({ op: 'get' })).resolves.toBe('before');
      expect(isAlive(served.pid!)).toBe(true);
      await again.stop({ terminate: true });
    });

    it('refuses a stranger with its own keys in the ZAP handler, before the handler', async () => {
      served = await serve();
      const one = await attach(first);
      await one.call({ op: 'set', value: 'owner' });
      const [keyed, plain] = await Promise.all([
        stranger(near, endpoint(), server.publicKey),
        stranger(near, endpoint(), 'plain'),
      ]);
      expect(keyed.events).toContain('handshake:error:auth'); // ZAP's refusal (status 400)
      for (const report of [keyed, plain]) {
        expect(report.events).not.toContain('handshake');
        expect(report.answers).toEqual([]);
      }
      await expect(one.call({ op: 'get' })).resolves.toBe('owner');
      await one.stop({ terminate: true });
    });
  });

  describe('a pool across two namespaces', () => {
    /** Which namespace each pid is in. */
    const where = (pid: number) =>
      netns.pids(near).includes(pid) ? 'near' : netns.pids(far).includes(pid) ? 'far' : '?';
    /** The testbed workers running in `ns`. */
    const workersIn = (ns: netns.Namespace) =>
      netns.pids(ns).filter((pid) => {
        try {
          return commandLine(pid)[0] === binary('testbed');
        } catch {
          return false;
        }
      });

    it('spreads calls over both, replaces a killed worker in its namespace, and backs off a cut one alone', async () => {
      const pool = await CNodePool.start({
        executable: binary('testbed'),
        size: 4,
        // Each worker names its own namespace's address: on real hosts, its host name does.
        exec: (slot) => sshLike(slot % 2 === 0 ? near : far),
        advertise: (slot) => (slot % 2 === 0 ? near : far).farAddress,
        heartbeat: HEARTBEAT,
        readyTimeout: 1000,
        onStdout: () => {},
        onStderr: () => {},
      });
      cleanups.push(() => pool.stop());
      const exits: ExitInfo[] = [];
      pool.on('exit', (info) => exits.push(info));
      const pidsOfCalls = async (count: number) =>
        (await Promise.all(Array.from({ length: count }, () => pool.call({ op: 'pid' })))) as number[];
      const spread = new Set(await pidsOfCalls(40));
      expect(spread.size).toBe(4);
      expect([...spread].map(where).sort()).toEqual(['far', 'far', 'near', 'near']);

      // A worker killed in the near namespace is replaced there.
      const [victim] = [...spread].filter((pid) => where(pid) === 'near');
      process.kill(victim, 'SIGKILL');
      await waitUntil(() => exits.length === 1, 3000, 'the pool saw its worker go');
      await waitUntil(() => workersIn(near).length === 2, 5000, 'a replacement runs in the near namespace');
      let after = new Set<number>();
      const deadline = Date.now() + 5000;
      while (after.size < 4 && Date.now() < deadline) after = new Set(await pidsOfCalls(40)); // until it is connected
      expect(after.has(victim)).toBe(false);
      expect([...after].map(where).sort()).toEqual(['far', 'far', 'near', 'near']);
      expect(workersIn(far).sort()).toEqual([...spread].filter((pid) => where(pid) === 'far').sort()); // untouched

      // The far link cut: its workers are lost and their slots back off; the near workers serve on.
      const nearWorkers = [...after].filter((pid) => where(pid) === 'near');
      const lost = [...after].filter((pid) => where(pid) === 'far');
      netns.cut(far);
      // The far slots' tries meanwhile: workers that start there, and never connect.
      const tries = new Set<number>();
      let most = 0;
      const poll = setInterval(() => {
        const running = workersIn(far);
        most = Math.max(most, running.length);
        for (const pid of running) if (!lost.includes(pid)) tries.add(pid);
      }, 20);
      cleanups.push(() => clearInterval(poll));
      await waitUntil(() => exits.length >= 3, 3000, 'the far workers are lost');
      for (const info of exits.slice(1, 3)) expect(info.fault?.code).toBe('ERR_CNODE_DISCONNECTED');
      const during = new Set(await pidsOfCalls(40));
      expect([...during].sort()).toEqual(nearWorkers.sort());
      await new Promise((resolve) => setTimeout(resolve, 2000)); // a failed start or two in each far slot
      clearInterval(poll);
      expect(new Set(await pidsOfCalls(20))).toEqual(new Set(nearWorkers));
      expect(nearWorkers.every(isAlive)).toBe(true);
      expect(tries.size).toBeGreaterThanOrEqual(2); // each far slot tried again...
      expect(tries.size).toBeLessThanOrEqual(8); // ...and backed off (a start takes readyTimeout, 1 s, to fail)
      expect(most).toBeLessThanOrEqual(4); // one try at a time per slot (and the one before it, ending)
      expect(pool.stats().workers).toBe(2);

      // Restored, the far slots start again.
      netns.restore(far);
      await waitUntil(() => pool.stats().workers === 4, 10_000, 'the far slots have workers again');
      const restored = new Set(await pidsOfCalls(40));
      expect([...restored].map(where).sort()).toEqual(['far', 'far', 'near', 'near']);
      await pool.stop();
    });
  });
});
