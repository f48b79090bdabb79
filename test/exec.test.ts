// Workers started through a command prefix (the `exec` option), with local prefixes so that no
// root or second host is needed: `env` runs the worker in place (its pid is the exec process's),
// `setsid -w` runs it as a child in a session of its own, outside the owner's process group, as
// ssh does, and `sh -c '"$@"; sleep'` keeps the exec process alive after the worker is gone, as an
// ssh whose far side vanished does. test/remote.test.ts does the same across network namespaces.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CNode, type CNodeOptions, type ExitInfo, SharedBuffer } from '../src/index.js';
import {
  commandLine,
  environment,
  expectNothingLeft,
  freePort,
  isAlive,
  processGroup,
  rejection,
  waitUntil,
  workerOptions,
} from './helpers.js';

/** Heartbeats short enough that a lost connection shows within a second. */
const HEARTBEAT = { interval: 200, timeout: 1000 };

/** Keeps the exec process (sh) alive for a minute after the worker it runs has gone. */
const OUTLIVING = ['sh', '-c', '"$@"; exec sleep 60', 'sh'];

const nodes: CNode[] = [];
const farPids: number[] = [];

async function start(exec: readonly string[], extra: Partial<CNodeOptions> = {}) {
  const { options, stderr } = workerOptions('testbed', { exec, ...extra });
  const node = await CNode.start(options);
  nodes.push(node);
  farPids.push(node.workerPid);
  return { node, stderr };
}

afterEach(async () => {
  // Settled: a stop that rejects (a test that failed midway) must not skip the checks below.
  await Promise.allSettled(nodes.splice(0).map((node) => node.stop({ timeout: 1000 })));
  // A far worker is no child of this process: ask after it by its own pid, and end it if a
  // failed test left it, so that one failure does not leave a process behind.
  try {
    await waitUntil(() => farPids.every((pid) => !isAlive(pid)), 3000, 'every far worker is gone');
  } finally {
    for (const pid of farPids.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  await expectNothingLeft();
});

describe('exec', () => {
  it('calls, sends and hears from a worker through a prefix, over tcp on every interface by default', async () => {
    const { node } = await start(['env']);
    // Every interface: the ready line names the worker's host name.
    expect(node.endpoint).toMatch(/^tcp:\/\/[A-Za-z0-9.-]+:\d+$/);
    expect(node.endpoint).not.toMatch(/^tcp:\/\/(0\.0\.0\.0|\*)/);
    expect(await node.call({ op: 'echo', value: [1, 'two', { three: 3 }] })).toEqual([1, 'two', { three: 3 }]);
    const heard = new Promise((resolve) => node.once('message', resolve));
    await node.send({ op: 'notify', value: 'hello' });
    expect(await heard).toEqual('hello');
    // `env` execs the worker: the exec process is the worker.
    expect(node.workerPid).toBe(node.pid);
    expect(await node.call({ op: 'pid' })).toBe(node.workerPid);
  });

  it('passes no secret in the environment or argv: the cookie and keys go in the launch line', async () => {
    const { node } = await start(['env']);
    const env = environment(node.workerPid);
    // None but what the test runner itself sets (CNODE_BUILD_DIR, CNODE_NETNS), which the worker inherits.
    expect(Object.keys(env).filter((name) => name.startsWith('CNODE_') && !(name in process.env))).toEqual([]);
    expect(Object.values(env).join(' ')).not.toMatch(/[0-9a-f]{64}/); // no cookie
    const argv = commandLine(node.workerPid);
    expect(argv.slice(-4)).toEqual([node.host, node.alive, node.name, String(node.creation)]);
    expect(argv.join(' ')).not.toMatch(/[0-9a-f]{64}/); // no cookie
  });

  it('writes one launch line: tcp on every interface, ZMTP heartbeats, CurveZMQ keys, and no owner pid', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-exec-test-'));
    try {
      const copy = path.join(dir, 'line');
      // A prefix that keeps a copy of the line, then hands the worker the line and the rest of stdin.
      const tee = [
        'sh',
        '-c',
        'IFS= read -r line; printf "%s\\n" "$line" > "$COPY"; { printf "%s\\n" "$line"; exec cat; } | "$@"',
        'sh',
      ];
      const { node } = await start(tee, { env: { ...process.env, COPY: copy } });
      expect(await node.call('through a tee')).toBe('through a tee');
      const text = fs.readFileSync(copy, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(text.trimEnd().split('\n')).toHaveLength(1);
      const settings = Object.fromEntries(
        text
          .trimEnd()
          .split(' ')
          .map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]), // Z85 has '='
      );
      expect(Object.keys(settings).sort()).toEqual([
        'CNODE_BIND',
        'CNODE_COOKIE',
        'CNODE_CURVE_CLIENT',
        'CNODE_CURVE_SECRET',
        'CNODE_HEARTBEAT',
        'CNODE_MAX_MESSAGE_SIZE',
        'CNODE_TRANSPORT',
      ]);
      expect(settings).toMatchObject({
        CNODE_TRANSPORT: 'tcp',
        CNODE_BIND: '0.0.0.0',
        CNODE_HEARTBEAT: '1000,2500',
        CNODE_MAX_MESSAGE_SIZE: String(64 * 1024 * 1024),
      });
      expect(settings.CNODE_COOKIE).toMatch(/^[0-9a-f]{64}$/);
      expect(settings.CNODE_CURVE_SECRET).toHaveLength(40);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hides the launch line a terminal in the prefix echoes (ssh -t): its secrets never reach onStdout', async () => {
    // script(1) runs the worker on a pseudo-terminal, which echoes its input, as ssh -t does.
    const lines: string[] = [];
    const { node } = await start(['sh', '-c', 'exec script -qfec "$*" /dev/null', 'sh'], {
      bind: '127.0.0.1',
      onStdout: (line) => lines.push(line),
      stopTimeout: 300,
    });
    await expect(node.call({ op: 'echo', value: 'through a terminal' })).resolves.toBe('through a terminal');
    expect(lines).toEqual([expect.stringContaining('echoed by a terminal in the exec prefix: not shown')]);
    expect(lines.join('\n')).not.toMatch(/CNODE_|[0-9a-f]{64}/);
  });

  it('reports the far pid from the handshake: outside the owner process group under setsid -w', async () => {
    const { node } = await start(['setsid', '-w']);
    expect(node.workerPid).not.toBe(node.pid);
    expect(await node.call({ op: 'pid' })).toBe(node.workerPid);
    expect(processGroup(node.workerPid)).not.toBe(processGroup(node.pid));
    const info = await node.stop();
    expect(info).toMatchObject({ exitCode: 0, signal: null, stopped: true, fault: null });
    await waitUntil(() => !isAlive(node.workerPid), 2000, 'the far worker is gone');
  });

  it('binds and advertises what it is told', async () => {
    const port = await freePort();
    const { node } = await start(['env'], { bind: `127.0.0.1:${port}` });
    expect(node.endpoint).toBe(`tcp://127.0.0.1:${port}`);
    expect(await node.call('bound')).toBe('bound');
    const advertised = await start(['env'], { bind: '127.0.0.1', advertise: 'localhost' });
    expect(advertised.node.endpoint).toMatch(/^tcp:\/\/localhost:\d+$/);
    expect(await advertised.node.call('advertised')).toBe('advertised');
  });

  it('binds and advertises a local tcp worker too, with or without CurveZMQ on the loopback', async () => {
    const { options } = workerOptions('testbed', { transport: 'tcp', bind: '127.0.0.1', curve: false });
    const node = await CNode.start(options);
    nodes.push(node);
    expect(node.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(await node.call('plain')).toBe('plain');
    expect(node.workerPid).toBe(node.pid);
  });

  it('refuses a SharedBuffer in a call: it cannot cross hosts', async () => {
    const { node } = await start(['env']);
    using shared = SharedBuffer.create(4096);
    const error = await rejection(node.call({ op: 'echo', value: shared }));
    expect(error.code).toBe('ERR_CNODE_BAD_MESSAGE');
    expect(error.message).toContain('a SharedBuffer cannot cross hosts');
    expect(error.message).toContain('carries no shared memory');
    expect(await node.call('still fine')).toBe('still fine'); // nothing was sent
  });

  it('stops with the stop message, then stdin closed, SIGTERM and SIGKILL, each bounded, leaving nothing', async () => {
    const { node } = await start(['env']);
    await node.call({ op: 'ignore-sigterm' });
    // A handler that never returns reads neither the stop message nor stdin, and SIGTERM is
    // ignored: only SIGKILL, after three steps of 200 ms, ends it.
    const stuck = node.call({ op: 'spin' }, { timeout: 10_000 });
    const began = performance.now();
    const info = await node.stop({ timeout: 200 });
    const took = performance.now() - began;
    expect(info).toMatchObject({ signal: 'SIGKILL', stopped: true });
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(2000);
    expect((await rejection(stuck)).code).toBe('ERR_CNODE_EXITED');
  });

  it('reports a worker that exits by itself as an exit, not a lost connection', async () => {
    const { node } = await start(['setsid', '-w'], { heartbeat: HEARTBEAT });
    const exits: ExitInfo[] = [];
    node.on('exit', (info) => exits.push(info));
    const error = await rejection(node.call({ op: 'exit', code: 3 }));
    expect(error.code).toBe('ERR_CNODE_EXITED');
    const info = await node.exited;
    expect(info).toMatchObject({ exitCode: 3, stopped: false, fault: null });
    expect(exits).toHaveLength(1);
  });

  it('rejects calls with ERR_CNODE_DISCONNECTED within the heartbeat timeout when the far worker stops answering', async () => {
    const { node } = await start(['env'], { heartbeat: HEARTBEAT });
    const exits: ExitInfo[] = [];
    node.on('exit', (info) => exits.push(info));
    expect(await node.call('before')).toBe('before');
    // SIGSTOP stops libzmq's I/O thread too: the ZMTP heartbeat goes unanswered.
    process.kill(node.workerPid, 'SIGSTOP');
    const began = performance.now();
    const error = await rejection(node.call('in flight', { timeout: 10_000 }));
    const took = performance.now() - began;
    expect(error.code).toBe('ERR_CNODE_DISCONNECTED');
    expect(error.message).toContain('lost its connection');
    expect(took).toBeLessThan(HEARTBEAT.timeout);
    const info = await node.exited;
    expect(info.fault?.code).toBe('ERR_CNODE_DISCONNECTED');
    expect(info.stopped).toBe(false);
    expect((await rejection(node.call('after'))).code).toBe('ERR_CNODE_DISCONNECTED');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exits).toEqual([info]);
  });

  it('rejects calls with ERR_CNODE_DISCONNECTED when the far worker dies while its exec process lives, and ends that process', async () => {
    const { node } = await start(OUTLIVING, { heartbeat: HEARTBEAT });
    expect(node.workerPid).not.toBe(node.pid);
    const exits: ExitInfo[] = [];
    node.on('exit', (info) => exits.push(info));
    const inFlight = node.call({ op: 'sleep', ms: 10_000 }, { timeout: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const began = performance.now();
    process.kill(node.workerPid, 'SIGKILL');
    const error = await rejection(inFlight);
    expect(performance.now() - began).toBeLessThan(HEARTBEAT.timeout);
    expect(error.code).toBe('ERR_CNODE_DISCONNECTED');
    const info = await node.exited;
    expect(info.fault?.code).toBe('ERR_CNODE_DISCONNECTED');
    expect(isAlive(node.pid)).toBe(false); // sh, and its sleep, were ended
    expect(exits).toEqual([info]);
  });

  it('refuses bad exec, bind, advertise and curve options, naming the option and the value', async () => {
    const executable = workerOptions('testbed').options.executable;
    const refused = async (options: Partial<CNodeOptions>) => {
      const error = await rejection(CNode.start({ executable, ...options }));
      expect(error.code).toBe('ERR_CNODE_INVALID_OPTION');
      return error.message;
    };
    expect(await refused({ exec: 'ssh host' as never })).toBe(
      "Expected the `exec` option to be a non-empty array of non-empty strings (a command prefix, such as ['ssh', 'user@host']), got `\"ssh host\"` (string)",
    );
    expect(await refused({ exec: [] })).toMatch(
      /^Expected the `exec` option to be a non-empty array .*, got `` \(object\)$/,
    );
    expect(await refused({ exec: ['ssh', ''] })).toContain('Expected the `exec` option to be a non-empty array');
    expect(await refused({ exec: ['env'], transport: 'local' })).toBe(
      'Expected the `transport` option to be \'tcp\' (or left out) with `exec`: a worker on another host is reached over tcp, got `"local"` (string)',
    );
    expect(await refused({ exec: ['env'], transport: 'ipc' })).toContain('got `"ipc"` (string)');
    expect(await refused({ exec: ['env'], curve: false })).toBe(
      'Expected the `curve` option to be true with `exec` (CurveZMQ is mandatory for a worker on another host), got `false` (boolean)',
    );
    expect(await refused({ transport: 'tcp', bind: '0.0.0.0', curve: false })).toBe(
      'Expected the `curve` option to be true with `bind` "0.0.0.0", which is not the loopback (CurveZMQ is mandatory off the loopback), got `false` (boolean)',
    );
    // Bound to the loopback, but named as elsewhere (a port forward): plain tcp would leave the host.
    expect(await refused({ transport: 'tcp', advertise: 'far:7000', curve: false })).toBe(
      'Expected the `curve` option to be true with `advertise` "far:7000", which is not the loopback (CurveZMQ is mandatory off the loopback), got `false` (boolean)',
    );
    expect(await refused({ transport: 'tcp', bind: 'not a host' })).toBe(
      'Expected the `bind` option to be a string `<address>` or `<address>:<port>` (an IPv4 address or host name, port 1-65535), got `"not a host"` (string)',
    );
    expect(await refused({ transport: 'tcp', bind: '127.0.0.1:65536' })).toContain('got `"127.0.0.1:65536"` (string)');
    expect(await refused({ transport: 'tcp', bind: '127.0.0.1:0' })).toContain('got `"127.0.0.1:0"` (string)');
    expect(await refused({ transport: 'tcp', bind: 5555 as never })).toContain('got `5555` (number)');
    expect(await refused({ transport: 'ipc', bind: '127.0.0.1' })).toBe(
      'Expected the `bind` option to be left out with transport \'ipc\' (it is for tcp), got `"127.0.0.1"` (string)',
    );
    expect(await refused({ transport: 'local', advertise: 'far' })).toBe(
      'Expected the `advertise` option to be left out with transport \'local\' (it is for tcp), got `"far"` (string)',
    );
    expect(await refused({ exec: ['env'], advertise: '*' })).toBe(
      'Expected the `advertise` option to be a string `<host>` or `<host>:<port>` (an IPv4 address or host name, port 1-65535), got `"*"` (string)',
    );
    expect(await refused({ exec: ['env'], advertise: 'far:x' })).toContain('got `"far:x"` (string)');
    expect(await refused({ exec: ['env'], heartbeat: true as never })).toBe(
      'Expected the `heartbeat` option to be an object { interval, timeout }, got `true` (boolean)',
    );
    // A cut link is found by ZMTP within interval + timeout / 2: the timeout must leave room to tell it.
    expect(await refused({ exec: ['env'], heartbeat: { interval: 500, timeout: 1000 } })).toBe(
      'Expected the `heartbeat.timeout` option to be at least 2 × heartbeat.interval + 400 (1400) for a worker elsewhere, so that a cut link is told apart from a hung worker within it, got `1000` (number)',
    );
  });

  it('explains an exec command that is not in PATH', async () => {
    const { options } = workerOptions('testbed', { exec: ['no-such-prefix-command', 'far'] });
    const error = await rejection(CNode.start(options));
    expect(error.code).toBe('ERR_CNODE_SPAWN');
    expect(error.message).toContain('the `exec[0]` option "no-such-prefix-command" was not found in PATH');
  });

  it('runs without a heartbeat when told, and refuses stop({ terminate: false }) for a node it started', async () => {
    const { node } = await start(['env'], { heartbeat: false });
    expect(await node.call('quiet')).toBe('quiet');
    const error = await rejection(node.stop({ terminate: false }));
    expect(error.code).toBe('ERR_CNODE_INVALID_OPTION');
    expect(error.message).toBe(
      `cnode ${node.name} stop(): Expected the \`terminate\` option to be left out or true for a node this owner started (only an attached node can be left running), got \`false\` (boolean)`,
    );
    expect(await node.call('still running')).toBe('still running');
  });
});
