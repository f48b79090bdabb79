// The command line as a user runs it: `cnode doctor`, `cnode call` and every command's --help,
// through bin/cnode.js (dist/) in a process of its own.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { binary, expectNothingLeft, root, waitUntil } from './helpers.js';

const bin = path.join(root, 'bin', 'cnode.js');
const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-cli-empty-'));
afterAll(() => fs.rmSync(empty, { recursive: true, force: true }));
afterEach(async () => {
  await expectNothingLeft();
});

function cnode(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** doctor's line for `name`: `ok` or `MISSING`, then the name, then what it found. */
function line(stdout: string, name: string): string {
  const found = stdout.split('\n').find((text) => new RegExp(`^(ok|MISSING)\\s+${name}\\s`).test(text));
  expect(found, `a ${name} line in\n${stdout}`).toBeDefined();
  return found!;
}

describe('cnode doctor', () => {
  it('finds everything on this machine, and builds, starts and calls a probe worker', () => {
    const { status, stdout } = cnode(['doctor']);
    expect(status, stdout).toBe(0);
    for (const name of ['compiler', 'pkg-config', 'libzmq', 'CURVE', 'msgpack-c', 'cmake', 'libcnode', 'probe'])
      expect(line(stdout, name)).toMatch(/^ok /);
    expect(line(stdout, 'libzmq')).toMatch(/\d+\.\d+\.\d+ \(pkg-config libzmq\)/);
    expect(line(stdout, 'msgpack-c')).toMatch(/\d+\.\d+\.\d+ \(pkg-config msgpack(-c)?\)/);
    expect(line(stdout, 'CURVE')).toContain('zmq_has("curve")');
    expect(line(stdout, 'probe')).toMatch(/built with cnode cc, started and called in \d+ ms/);
    expect(stdout).toContain('Everything cnode needs is here.');
  });

  it('reports a missing compiler and pkg-config, with their Debian packages, when PATH holds neither', () => {
    const { status, stdout } = cnode(['doctor'], { PATH: empty, CC: '' });
    expect(status).toBe(1);
    expect(line(stdout, 'compiler')).toMatch(/^MISSING .*cc was not found on PATH.*apt-get install build-essential/);
    expect(line(stdout, 'pkg-config')).toMatch(
      /^MISSING .*pkg-config was not found on PATH.*apt-get install pkg-config/,
    );
    expect(line(stdout, 'libzmq')).toMatch(/^MISSING .*not checked: pkg-config is missing/);
    expect(line(stdout, 'probe')).toMatch(/^MISSING .*not run/);
    expect(stdout).toMatch(/sudo apt-get install build-essential pkg-config libzmq3-dev libmsgpack-dev/);
  });

  it('names the compiler $CC gives when it is not there', () => {
    const { status, stdout } = cnode(['doctor'], { CC: path.join(empty, 'my-cc') });
    expect(status).toBe(1);
    expect(line(stdout, 'compiler')).toContain(`${path.join(empty, 'my-cc')} was not found`);
  });

  it('reports libzmq and msgpack-c missing when pkg-config looks where nothing is', () => {
    const { status, stdout } = cnode(['doctor'], { PKG_CONFIG_PATH: empty, PKG_CONFIG_LIBDIR: empty });
    expect(status).toBe(1);
    expect(line(stdout, 'compiler')).toMatch(/^ok /);
    expect(line(stdout, 'pkg-config')).toMatch(/^ok /);
    expect(line(stdout, 'libzmq')).toMatch(/^MISSING .*pkg-config finds no libzmq.*apt-get install libzmq3-dev/);
    expect(line(stdout, 'msgpack-c')).toMatch(
      /^MISSING .*neither msgpack-c nor msgpack.*apt-get install libmsgpack-dev/,
    );
    // Both name where pkg-config looked, for a user whose packages are installed but hidden.
    const searched = `searching with PKG_CONFIG_PATH=${JSON.stringify(empty)}, PKG_CONFIG_LIBDIR=${JSON.stringify(empty)}`;
    expect(line(stdout, 'libzmq')).toContain(searched);
    expect(line(stdout, 'msgpack-c')).toContain(searched);
    expect(stdout).toMatch(/Missing: libzmq, msgpack-c\./);
    expect(stdout).toMatch(/sudo apt-get install libzmq3-dev libmsgpack-dev\n/);
  });

  it('removes its folder when interrupted (Ctrl-C) while it checks', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-cli-tmp-'));
    try {
      const doctor = spawn(process.execPath, [bin, 'doctor'], {
        env: { ...process.env, TMPDIR: tmp },
        stdio: 'ignore',
      });
      const exited = once(doctor, 'exit');
      await waitUntil(() => fs.readdirSync(tmp).some((f) => f.startsWith('cnode-doctor-')), 10_000, 'its folder made');
      doctor.kill('SIGINT');
      expect(await exited).toEqual([130, null]);
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('refuses arguments', () => {
    const { status, stderr } = cnode(['doctor', 'now']);
    expect(status).toBe(2);
    expect(stderr).toContain('cnode doctor takes no arguments, got ["now"]');
  });
});

describe('cnode call', () => {
  it('prints the answer as JSON, binaries as {"$bin": base64} and big integers as strings', () => {
    const message = {
      op: 'echo',
      value: { list: [1, 'two', null, true], bin: { $bin: 'AAEC/w==' }, big: { $int: '18446744073709551615' } },
    };
    const { status, stdout, stderr } = cnode(['call', binary('testbed'), JSON.stringify(message)]);
    expect(status, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      list: [1, 'two', null, true],
      bin: { $bin: 'AAEC/w==' },
      big: '18446744073709551615',
    });
  });

  it("passes the worker's arguments after --, and sends its stdout to stderr, keeping stdout the answer's", () => {
    const args = cnode(['call', binary('testbed'), '{"op":"args"}', '--', 'one', 'two words']);
    expect(args.status, args.stderr).toBe(0);
    expect(JSON.parse(args.stdout)).toEqual(['one', 'two words']);
    const printed = cnode(['call', binary('testbed'), '{"op":"print","stdout":"from the worker"}']);
    expect(printed.status, printed.stderr).toBe(0);
    expect(printed.stderr).toContain('from the worker');
    expect(JSON.parse(printed.stdout)).toBe(true);
  });

  it("prints a failed call's code and message and exits with 1", () => {
    const { status, stdout, stderr } = cnode([
      'call',
      binary('testbed'),
      '{"op":"fail","reason":"the disk is on fire"}',
    ]);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^ERR_CNODE_REMOTE.*: cnode \S+ failed the call: .*the disk is on fire/);
  });

  it('times the call out after --timeout', () => {
    const began = performance.now();
    const { status, stderr } = cnode(['call', binary('testbed'), '{"op":"sleep","ms":5000}', '--timeout', '100']);
    expect(status).toBe(1);
    expect(stderr).toMatch(/^ERR_CNODE_CALL_TIMEOUT: .*within 100 ms/);
    expect(performance.now() - began).toBeLessThan(4000);
  });

  it('reports a worker that cannot start', () => {
    const { status, stderr } = cnode(['call', path.join(empty, 'no-such-worker'), '1']);
    expect(status).toBe(1);
    expect(stderr).toMatch(/^ERR_CNODE_SPAWN: .*no-such-worker/);
  });

  it('refuses bad arguments with exit code 2, naming them', () => {
    const notJson = cnode(['call', binary('echo'), '{nope']);
    expect(notJson.status).toBe(2);
    expect(notJson.stderr).toContain('the message is not JSON');
    const timeout = cnode(['call', binary('echo'), '1', '--timeout', '-3']);
    expect(timeout.status).toBe(2);
    expect(timeout.stderr).toContain(
      'Expected --timeout to be an integer of milliseconds from 1 to 2147483647, got "-3"',
    );
    const missing = cnode(['call', binary('echo')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('Expected a worker and one JSON message, got one argument');
    const unknown = cnode(['call', binary('echo'), '1', '--verbose']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown option "--verbose"');
  });
});

describe('--help', () => {
  it.each(['cc', 'c++', 'gen', 'cflags', 'libs', 'keygen', 'doctor', 'call'])(
    'cnode %s --help prints the usage and exits with 0',
    (command) => {
      const { status, stdout } = cnode([command, '--help']);
      expect(status).toBe(0);
      expect(stdout).toMatch(/^Usage/);
      expect(stdout).toContain(`cnode ${command}`);
    },
  );

  it('gives --help to the compiler when cnode cc has other arguments', () => {
    const { status, stdout } = cnode(['cc', '--help', '-v']);
    expect(status).toBe(0);
    expect(stdout).not.toMatch(/^Usage:\n {2}cnode cc/);
    expect(stdout).toMatch(/^Usage: \S*cc|Options:/m); // gcc's or clang's own
  });
});
