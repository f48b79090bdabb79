// The worker's side of the launch (docs/protocol.md section 1), against the C library with no
// CNode in between: the launch line on stdin and what cnode_init makes of it. Each refusal is
// one line on stderr that names the bad setting and never shows a secret, and exit status 1;
// the tcp settings (CNODE_BIND, CNODE_ADVERTISE, CNODE_HEARTBEAT) show in the ready line and on
// the wire.
import net from 'node:net';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { curveKeyPair } from 'zeromq';
import { PROTOCOL_VERSION } from '../src/protocol.js';
import { failure, freshCookie, HandOwner, type HandWorker, launchByHand, launchLine } from './by-hand.js';
import { expectNothingLeft, freePort, socketDirectories, waitUntil } from './helpers.js';
import { startRelay } from './netns/relay.js';

const NOT_LAUNCHED =
  'this program is a cnode worker, started by the cnode Node.js library (or served: set CNODE_SERVE)';

const workers: HandWorker[] = [];
const owners: HandOwner[] = [];
const launch = (...args: Parameters<typeof launchByHand>) => {
  const worker = launchByHand(...args);
  workers.push(worker);
  return worker;
};
const owner = (...args: ConstructorParameters<typeof HandOwner>) => {
  const made = new HandOwner(...args);
  owners.push(made);
  return made;
};

afterEach(async () => {
  for (const made of owners.splice(0)) made.close();
  await Promise.all(workers.splice(0).map((worker) => worker.end()));
  await expectNothingLeft();
});

/** Launches echo with `line` and expects it to refuse: exit 1 and exactly the one stderr line `message`. */
async function expectRefused(
  line: string | undefined,
  message: string,
  options: Parameters<typeof launchByHand>[1] = {},
) {
  const worker = launch('echo', { line, ...options });
  const { code, lines } = await failure(worker);
  expect(code).toBe(1);
  expect(lines).toEqual([`cnode_init: ${message}`]);
  expect(worker.stdout()).toBe(''); // no ready line
  return lines[0];
}

describe('the launch line: refusals', () => {
  const cookie = freshCookie();

  it('an unknown name, a repeated one, an empty value, a word that is not NAME=VALUE', async () => {
    await expectRefused(
      launchLine({ CNODE_COOKIE: cookie, CNODE_TRANSPROT: 'tcp' }),
      'the launch line sets CNODE_TRANSPROT, which is not a launch setting',
    );
    await expectRefused(
      `CNODE_COOKIE=${cookie} CNODE_TRANSPORT=tcp CNODE_TRANSPORT=ipc\n`,
      'the launch line sets CNODE_TRANSPORT twice',
    );
    await expectRefused(
      `CNODE_COOKIE=${cookie} CNODE_TRANSPORT=\n`,
      'the launch line sets CNODE_TRANSPORT to an empty value',
    );
    await expectRefused(
      `CNODE_COOKIE=${cookie}  CNODE_TRANSPORT=tcp\n`,
      "the launch line's word 2 is empty: words are NAME=VALUE, separated by single spaces",
    );
    // A word with no name could be a secret pasted in the wrong place: it is counted, not shown.
    const line = await expectRefused(`${cookie}\n`, "the launch line's word 1 is not NAME=VALUE");
    expect(line).not.toContain(cookie);
  });

  it('a line over 4096 bytes; one of exactly 4096 with its newline is taken', async () => {
    // CNODE_RING_FDS is read for the local transport only: over tcp it pads the line unread.
    const base = `CNODE_COOKIE=${cookie} CNODE_TRANSPORT=tcp CNODE_RING_FDS=`;
    const padded = (bytes: number) => `${base}${'x'.repeat(bytes - base.length - 1)}\n`;
    expect(Buffer.byteLength(padded(4096))).toBe(4096);
    await expectRefused(padded(4097), 'the launch line on stdin is over 4096 bytes');
    const worker = launch('echo', { line: padded(4096) });
    await expect(worker.ready).resolves.toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
  });

  it('stdin ending before the line, or in its middle; a NUL byte in it', async () => {
    await expectRefused('', `stdin ended without a launch line: ${NOT_LAUNCHED}`, { stdin: 'ignore' });
    const worker = launch('echo', { line: `CNODE_COOKIE=${cookie}` });
    worker.child.stdin!.end();
    const { code, lines } = await failure(worker);
    expect(code).toBe(1);
    expect(lines).toEqual([
      `cnode_init: stdin ended in the middle of the launch line (${13 + cookie.length} bytes, no newline)`,
    ]);
    await expectRefused(`CNODE_COOKIE=${cookie}\0 CNODE_TRANSPORT=tcp\n`, 'the launch line on stdin holds a NUL byte');
  });

  it('no line within 10 s: the worker ends by itself, saying what it is', async () => {
    const started = Date.now();
    const worker = launch('echo');
    const { code, lines } = await failure(worker, 12_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);
    expect(code).toBe(1);
    expect(lines).toEqual([`cnode_init: no launch line on stdin within 10 s: ${NOT_LAUNCHED}`]);
  }, 20_000);

  it('no cookie, or a bad one, whatever the environment says; a bad curve key, never shown', async () => {
    // The environment is not read any more: a cookie there does not count.
    await expectRefused(launchLine({ CNODE_TRANSPORT: 'tcp' }), 'the launch line has no CNODE_COOKIE', {
      env: { CNODE_COOKIE: cookie },
    });
    const bad = `${cookie.slice(0, -1)}g`;
    const line = await expectRefused(launchLine({ CNODE_COOKIE: bad }), 'CNODE_COOKIE is not 64 hex characters');
    expect(line).not.toContain(bad);
    const { secretKey } = curveKeyPair();
    const wrong = `${secretKey.slice(0, -1)}~`; // '~' is no Z85 digit
    const curveLine = await expectRefused(
      launchLine({
        CNODE_COOKIE: cookie,
        CNODE_TRANSPORT: 'tcp',
        CNODE_CURVE_SECRET: wrong,
        CNODE_CURVE_CLIENT: secretKey,
      }),
      'CNODE_CURVE_SECRET is not a Z85 key of 40 characters',
    );
    expect(curveLine).not.toContain(wrong.slice(0, 20));
    await expectRefused(
      launchLine({ CNODE_COOKIE: cookie, CNODE_TRANSPORT: 'tcp', CNODE_CURVE_SECRET: secretKey }),
      'CNODE_CURVE_SECRET is set without CNODE_CURVE_CLIENT: the owner sets both or neither',
    );
  });

  it('CurveZMQ is mandatory off the loopback', async () => {
    for (const bind of ['0.0.0.0', '*:7000', '10.1.2.3']) {
      await expectRefused(
        launchLine({ CNODE_COOKIE: cookie, CNODE_TRANSPORT: 'tcp', CNODE_BIND: bind }),
        `CNODE_BIND "${bind}" is not the loopback: CurveZMQ keys (CNODE_CURVE_SECRET and CNODE_CURVE_CLIENT) are required off the loopback`,
      );
    }
  });

  it('bad tcp settings, each named with its value', async () => {
    const tcp = { CNODE_COOKIE: cookie, CNODE_TRANSPORT: 'tcp' };
    for (const bind of ['127.0.0.1:0', '127.0.0.1:70000', '[::1', '127.0.0.1:x', 'ho$t']) {
      await expectRefused(
        launchLine({ ...tcp, CNODE_BIND: bind }),
        `CNODE_BIND "${bind}" is not <address> or <address>:<port> (a port from 1 to 65535, or *)`,
      );
    }
    await expectRefused(
      launchLine({ ...tcp, CNODE_ADVERTISE: 'host:*' }),
      'CNODE_ADVERTISE "host:*" is not <host> or <host>:<port> (a port from 1 to 65535)',
    );
    for (const heartbeat of ['1000', '0,100', '100,7000000', '100,']) {
      await expectRefused(
        launchLine({ ...tcp, CNODE_HEARTBEAT: heartbeat }),
        `CNODE_HEARTBEAT "${heartbeat}" is not <interval_ms>,<timeout_ms> (positive integers, the timeout at most 6553599)`,
      );
    }
    await expectRefused(
      launchLine({ CNODE_COOKIE: cookie, CNODE_TRANSPORT: 'udp' }),
      'CNODE_TRANSPORT is "udp", expected local, ipc or tcp',
    );
    await expectRefused(
      launchLine({ CNODE_COOKIE: cookie, CNODE_TRANSPORT: 'ipc' }),
      'the launch line has no CNODE_IPC_DIR (the ipc transport needs it)',
    );
    expect(socketDirectories()).toEqual([]);
  });
});

describe('the launch line: tcp settings', () => {
  const cookie = freshCookie();
  const name = 'by_hand@localhost';

  /** Launches echo over tcp with `extra` settings, and becomes its owner by hand. */
  async function served(extra: Record<string, string>, connectTo?: (endpoint: string) => string) {
    const worker = launch('echo', { line: launchLine({ CNODE_COOKIE: cookie, CNODE_TRANSPORT: 'tcp', ...extra }) });
    const endpoint = await worker.ready;
    const hand = owner(connectTo ? connectTo(endpoint) : endpoint);
    await expect(hand.hello(cookie, PROTOCOL_VERSION)).resolves.toEqual([2, PROTOCOL_VERSION, name, worker.pid]);
    await expect(hand.call({ op: 'add', a: 2, b: 3 })).resolves.toBe(5);
    return { worker, endpoint, hand };
  }

  it('CNODE_BIND with a fixed port binds it, and the ready line names it', async () => {
    const port = await freePort();
    const { endpoint } = await served({ CNODE_BIND: `127.0.0.1:${port}` });
    expect(endpoint).toBe(`tcp://127.0.0.1:${port}`);
  });

  it('CNODE_BIND of a port taken: refused, naming the address', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as net.AddressInfo;
      await expectRefused(
        launchLine({ CNODE_COOKIE: cookie, CNODE_TRANSPORT: 'tcp', CNODE_BIND: `127.0.0.1:${port}` }),
        `cannot bind tcp://127.0.0.1:${port}: Address already in use`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('CNODE_BIND of localhost, or of ::1, is the loopback: no keys needed', async () => {
    expect((await served({ CNODE_BIND: 'localhost' })).endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect((await served({ CNODE_BIND: '[::1]' })).endpoint).toMatch(/^tcp:\/\/\[::1\]:\d+$/);
  });

  it('CNODE_ADVERTISE names a host, or a host and a port, in the ready line', async () => {
    const host = await served({ CNODE_ADVERTISE: 'localhost' }, (endpoint) => endpoint);
    expect(host.endpoint).toMatch(/^tcp:\/\/localhost:\d+$/); // the bound port
    const port = await freePort();
    const bound = await freePort();
    const worker = launch('echo', {
      line: launchLine({
        CNODE_COOKIE: cookie,
        CNODE_TRANSPORT: 'tcp',
        CNODE_BIND: `127.0.0.1:${bound}`,
        CNODE_ADVERTISE: `far.example:${port}`,
      }),
    });
    // A relay, a NAT or a tunnel stands between: the worker names what the owner must dial.
    await expect(worker.ready).resolves.toBe(`tcp://far.example:${port}`);
  });

  it('a wildcard bind (curve on) advertises this host by name', async () => {
    const [server, client] = [curveKeyPair(), curveKeyPair()];
    const worker = launch('echo', {
      line: launchLine({
        CNODE_COOKIE: cookie,
        CNODE_TRANSPORT: 'tcp',
        CNODE_BIND: '0.0.0.0',
        CNODE_CURVE_SECRET: server.secretKey,
        CNODE_CURVE_CLIENT: client.publicKey,
      }),
    });
    const endpoint = await worker.ready;
    expect(endpoint).toMatch(new RegExp(`^tcp://${os.hostname().replace(/\./g, '\\.')}:\\d+$`));
    const hand = owner(`tcp://127.0.0.1:${endpoint.split(':').at(-1)}`, { serverKey: server.publicKey, ...client });
    await expect(hand.hello(cookie, PROTOCOL_VERSION)).resolves.toEqual([2, PROTOCOL_VERSION, name, worker.pid]);
  });

  it('CNODE_HEARTBEAT: a connection gone silent ends the worker, its stdin still open', async () => {
    // The owner reaches the worker through a relay that, once cut, forwards nothing either way
    // and closes nothing: only the ZMTP heartbeat can tell. The owner's Dealer sends no pings.
    const worker = launch('echo', {
      line: launchLine({ CNODE_COOKIE: cookie, CNODE_TRANSPORT: 'tcp', CNODE_HEARTBEAT: '100,400' }),
    });
    const target = { host: '127.0.0.1', port: Number((await worker.ready).split(':').at(-1)) };
    const relay = await startRelay({ listen: { host: '127.0.0.1' }, target, delayMs: 0 });
    try {
      const hand = owner(`tcp://${relay.endpoint}`);
      await expect(hand.hello(cookie, PROTOCOL_VERSION)).resolves.toEqual([2, PROTOCOL_VERSION, name, worker.pid]);
      await new Promise((resolve) => setTimeout(resolve, 600)); // the heartbeat flows: alive past its timeout
      await expect(hand.call('still here')).resolves.toBe('still here');
      relay.silence();
      const since = Date.now();
      await waitUntil(() => worker.child.exitCode !== null, 3000, 'the worker ends once its heartbeat times out');
      expect(Date.now() - since).toBeLessThan(2000);
      expect(worker.child.exitCode).toBe(0); // the owner is gone: a clean end
      expect(worker.child.stdin!.writableEnded).toBe(false); // not by stdin's EOF
    } finally {
      await relay.close();
    }
  });
});
