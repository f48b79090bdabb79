import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CNode, CNodeError } from '../src/index.js';
import {
  binary,
  commandLine,
  environment,
  expectNothingLeft,
  isAlive,
  processGroup,
  rejection,
  root,
  startedNodes,
  workerOptions,
} from './helpers.js';

const nodes = startedNodes({ after: () => expectNothingLeft() });
const start = (...args: Parameters<typeof workerOptions>) => nodes.start(workerOptions(...args).options);

/** Expects start() to fail with `code` and leave no process behind. */
async function expectStartFailure(options: Parameters<typeof CNode.start>[0], code: string) {
  const error = await rejection(CNode.start(options));
  expect(error).toBeInstanceOf(CNodeError);
  expect(error.code).toBe(code);
  await expectNothingLeft();
  return error;
}

describe('start', () => {
  it('launches the worker with host, alive name, node name and creation, and exposes them', async () => {
    const node = await start('echo', { name: 'alpha', host: 'localhost', args: ['one', 'two'] });
    expect(node.name).toBe('alpha@localhost');
    expect(node.alive).toBe('alpha');
    expect(node.host).toBe('localhost');
    expect(node.creation).toBeGreaterThanOrEqual(1);
    expect(isAlive(node.pid)).toBe(true);
    expect(node.endpoint).toBe('local'); // the default transport on Linux: the ring
    const info = await node.call({ op: 'info' });
    expect(info).toEqual({
      name: 'alpha@localhost',
      alive: 'alpha',
      host: 'localhost',
      creation: node.creation,
      args: ['one', 'two'],
    });
  });

  it('defaults to a unique alive name on this host and counts creations per alive name', async () => {
    const a = await start('echo');
    const b = await start('echo');
    expect(a.alive).not.toBe(b.alive);
    expect(a.host).toBe(os.hostname());
    expect(a.name).toBe(`${a.alive}@${os.hostname()}`);
    const first = await start('echo', { name: 'again' });
    await first.stop();
    const second = await start('echo', { name: 'again' });
    expect(second.creation).toBe(first.creation + 1);
  });

  it('passes the cookie in the launch line on stdin, never argv nor the environment', async () => {
    const node = await start('testbed', { name: 'secret', args: ['x'] });
    const argv = commandLine(node.pid);
    expect(argv.slice(1)).toEqual([node.host, 'secret', node.name, String(node.creation), 'x']);
    expect(argv.join(' ')).not.toMatch(/[0-9a-f]{64}/);
    expect(environment(node.pid).CNODE_COOKIE).toBeUndefined(); // not even in what it was exec'd with
    await expect(node.call({ op: 'getenv', name: 'CNODE_COOKIE' })).resolves.toBeNull(); // its children never see it
  });

  it('runs the worker in its own process group', async () => {
    const node = await start('echo');
    expect(processGroup(node.pid)).toBe(node.pid);
  });

  // These two are each about one transport's endpoint, so they stay out of the conformance loop.
  it('binds ipc in a fresh 0700 directory, removed once connected', async () => {
    const node = await start('echo', { transport: 'ipc' });
    const directory = node.endpoint.slice('ipc://'.length, -'/socket'.length);
    expect(fs.existsSync(directory)).toBe(false); // the worker unlinked it after the handshake
    await expect(node.call('still fine')).resolves.toBe('still fine');
  });

  it('uses tcp on loopback when asked', async () => {
    const node = await start('echo', { transport: 'tcp' });
    expect(node.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    await expect(node.call({ op: 'add', a: 2, b: 3 })).resolves.toBe(5);
  });

  it('passes env and cwd as child_process does', async () => {
    const directory = fs.mkdtempSync(`${os.tmpdir()}/cwd-`);
    try {
      const node = await start('testbed', { env: { ...process.env, GREETING: 'hi there' }, cwd: directory });
      await expect(node.call({ op: 'getenv', name: 'GREETING' })).resolves.toBe('hi there');
      await expect(node.call({ op: 'cwd' })).resolves.toBe(fs.realpathSync(directory));
    } finally {
      await nodes.stopAll();
      fs.rmSync(directory, { recursive: true });
    }
  });

  it('cuts lines longer than maxLineLength and keeps the lines after them whole', async () => {
    const { options, stdout, stderr } = workerOptions('testbed', { maxLineLength: 100 });
    const node = await nodes.start(options);
    await node.call({ op: 'print', stdout: 'x'.repeat(1000), stderr: 'é'.repeat(30) });
    await node.call({ op: 'print', stdout: 'short', stderr: 'short too' });
    await expect.poll(() => stdout).toEqual([`${'x'.repeat(100)} [line truncated]`, 'short']);
    await expect.poll(() => stderr).toEqual(['é'.repeat(30), 'short too']); // 60 bytes: under the cap
  });

  it('sends stdout lines other than ready, and stderr lines, to onStdout and onStderr', async () => {
    const { options, stdout, stderr } = workerOptions('testbed');
    const node = await nodes.start(options);
    await node.call({ op: 'print', stdout: 'to out\r', stderr: 'to err' });
    await expect.poll(() => stdout).toContain('to out');
    await expect.poll(() => stderr).toContain('to err');
    expect(stdout.some((line) => line.startsWith('ready'))).toBe(false);
  });
});

describe('start failures leave nothing behind', () => {
  it('refuses a missing executable with ERR_CNODE_SPAWN', async () => {
    const error = await expectStartFailure({ executable: '/nonexistent/worker' }, 'ERR_CNODE_SPAWN');
    expect(error.message).toContain('/nonexistent/worker');
    expect(error.message).toContain('does not exist');
  });

  it('refuses, before spawning, an ipc directory the launch line cannot carry (TMPDIR with a space)', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode start '));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const error = await expectStartFailure(workerOptions('echo', { transport: 'ipc' }).options, 'ERR_CNODE_SPAWN');
      expect(error.message).toMatch(/launch setting CNODE_IPC_DIR ".*cnode start .*" holds a space/);
      expect(fs.readdirSync(tmp)).toEqual([]); // its directory removed
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('refuses a directory and a file that is not executable with ERR_CNODE_SPAWN', async () => {
    await expectStartFailure({ executable: os.tmpdir() }, 'ERR_CNODE_SPAWN');
    const error = await expectStartFailure({ executable: `${root}/package.json` }, 'ERR_CNODE_SPAWN');
    expect(error.message).toContain('is not executable');
  });

  it('reports a name not found in PATH with ERR_CNODE_SPAWN', async () => {
    const error = await expectStartFailure({ executable: 'no-such-cnode-worker-anywhere' }, 'ERR_CNODE_SPAWN');
    expect(error.message).toContain('was not found in PATH');
  });

  it('finds a bare name where spawn looks: the PATH of the worker env, relative entries from cwd', async () => {
    const binDir = path.dirname(binary('echo'));
    for (const extra of [
      { env: { PATH: binDir } },
      { env: { PATH: 'bin' }, cwd: path.dirname(binDir) },
      { env: { PATH: `/nonexistent:${binDir}` } },
    ]) {
      const node = await nodes.start({ ...workerOptions('echo').options, executable: 'echo', ...extra });
      await expect(node.call('found')).resolves.toBe('found');
    }
  });

  it('says that a bare name found only as a directory in PATH is a directory, not EACCES', async () => {
    for (const executable of ['.', '..']) {
      const error = await expectStartFailure({ executable }, 'ERR_CNODE_SPAWN');
      expect(error.message).toContain('names a directory, not a program');
      expect(error.message).not.toContain('EACCES');
    }
  });

  it('kills a worker that prints no ready line in time: ERR_CNODE_READY_TIMEOUT', async () => {
    const { options, stdout } = workerOptions('testbed', { args: ['no-ready'], readyTimeout: 300 });
    const started = Date.now();
    const error = await expectStartFailure(options, 'ERR_CNODE_READY_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).toContain('300 ms');
    expect(stdout).toContain('starting'); // lines before ready still reach onStdout
  });

  it('reports an exit before ready with the code and the stderr tail: ERR_CNODE_EXITED', async () => {
    const error = await expectStartFailure(
      workerOptions('testbed', { args: ['exit-early'] }).options,
      'ERR_CNODE_EXITED',
    );
    expect(error.exitCode).toBe(3);
    expect(error.signal).toBeNull();
    expect(error.stderr).toContain('about to fail');
    expect(error.message).toContain('about to fail');
  });

  it('reports a crash before ready with the signal', async () => {
    const error = await expectStartFailure(
      workerOptions('testbed', { args: ['crash-early'] }).options,
      'ERR_CNODE_EXITED',
    );
    expect(error.signal).toBe('SIGSEGV');
    expect(error.exitCode).toBeNull();
  });

  it('rejects a ready line it cannot parse: ERR_CNODE_PROTOCOL', async () => {
    const error = await expectStartFailure(
      workerOptions('testbed', { args: ['bad-ready'] }).options,
      'ERR_CNODE_PROTOCOL',
    );
    expect(error.message).toContain('not-an-endpoint');
  });

  it('kills a worker that never answers the handshake: ERR_CNODE_CONNECT', async () => {
    const error = await expectStartFailure(
      workerOptions('testbed', { args: ['no-handshake'], readyTimeout: 300 }).options,
      'ERR_CNODE_CONNECT',
    );
    expect(error.message).toContain('handshake within 300 ms');
  });

  it('refuses bad options before any process starts, naming the option and the value', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ executable: '' }, '`executable`'],
      [
        { executable: binary('echo'), readyTimeout: -1 },
        '`readyTimeout` option to be a positive integer of milliseconds, got `-1` (number)',
      ],
      [{ executable: binary('echo'), callTimeout: 'soon' }, '`callTimeout`'],
      [{ executable: binary('echo'), name: 'has space' }, '`name`'],
      [{ executable: binary('echo'), transport: 'udp' }, "'ipc' or 'tcp', got `\"udp\"` (string)"],
      [{ executable: binary('echo'), args: [1] }, '`args`'],
      [{ executable: binary('echo'), maxPending: 0 }, '`maxPending`'],
      [
        { executable: binary('echo'), maxMessageSize: 10 },
        '`maxMessageSize` option to be an integer from 1024 to 2147483647, got `10` (number)',
      ],
      [
        { executable: binary('echo'), heartbeat: 1000 },
        '`heartbeat` option to be an object { interval, timeout }, got `1000` (number)',
      ],
      [
        { executable: binary('echo'), heartbeat: { interval: -5 } },
        '`heartbeat.interval` option to be a positive integer of milliseconds, got `-5` (number)',
      ],
      [
        { executable: binary('echo'), heartbeat: { interval: 500, timeout: 100 } },
        '`heartbeat.timeout` option to be at least heartbeat.interval (500), got `100` (number)',
      ],
      [{ executable: binary('echo'), curve: 'yes' }, '`curve` option to be a boolean, got `"yes"` (string)'],
      [
        { executable: binary('echo'), curve: true },
        "`curve` option to be left out with transport 'local' (CurveZMQ encrypts tcp only), got `true` (boolean)",
      ],
      [{ executable: binary('echo'), transport: 'ipc', curve: true }, "left out with transport 'ipc'"],
      [{ executable: binary('echo'), readyTimout: 100 }, 'Unknown option `readyTimout`; did you mean `readyTimeout`?'],
      [
        { executable: binary('echo'), heartbeat: { intervall: 100 } },
        'Unknown option `heartbeat.intervall`; did you mean `heartbeat.interval`?',
      ],
      [{ executable: binary('echo'), zzz: 1 }, 'Unknown option `zzz`; the options are `executable`, `args`'],
      [null as never, 'Expected an options object, got `null` (null)'],
    ];
    for (const [options, message] of cases) {
      const error = await expectStartFailure(options as never, 'ERR_CNODE_INVALID_OPTION');
      expect(error.message).toContain(message);
    }
  });
});
