// Serve mode (docs/protocol.md section 11), the worker's side of CNode.attach, against the C
// library with raw zeromq.js Dealers for owners: a worker started with CNODE_SERVE and its key
// files, no launch line and stdin /dev/null, admits only the authorized CURVE keys, one owner at a
// time, forgets an owner that goes and admits the next, with the handler's state intact, and ends
// on STOP. Its key files are refused, one stderr line each, when they are not safe or not keys.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { curveKeyPair } from 'zeromq';
import { COOKIE_LEN, FrameKind, PROTOCOL_VERSION } from '../src/protocol.js';
import { type CurveKeys, failure, HandOwner, type HandWorker, launchByHand, packr } from './by-hand.js';
import { expectNothingLeft, waitUntil } from './helpers.js';
import { startRelay } from './netns/relay.js';

const ZEROS = '0'.repeat(COOKIE_LEN); // an attaching owner's cookie: not checked when served
const server = curveKeyPair();
const owners = [curveKeyPair(), curveKeyPair()];
const stranger = curveKeyPair();
let dir = '';
let keyFile = '';
let authorized = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-serve-test-'));
  keyFile = path.join(dir, 'secret.key');
  fs.writeFileSync(keyFile, `  ${server.secretKey}\n`, { mode: 0o600 });
  authorized = path.join(dir, 'authorized');
  fs.writeFileSync(authorized, `# the owners\n\n${owners[0].publicKey}\n  ${owners[1].publicKey}  \n`, { mode: 0o644 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const workers: HandWorker[] = [];
const hands: HandOwner[] = [];
afterEach(async () => {
  for (const hand of hands.splice(0)) hand.close();
  await Promise.all(
    workers.splice(0).map(async (worker) => {
      worker.child.kill('SIGTERM'); // nothing else ends a served worker but STOP
      await worker.exited;
    }),
  );
  await expectNothingLeft();
});

function serve(env: Record<string, string> = {}, args: string[] = []): HandWorker {
  const worker = launchByHand('echo', {
    argv: args,
    stdin: 'ignore',
    env: {
      CNODE_SERVE: 'tcp://127.0.0.1:*',
      CNODE_SECRET_KEY_FILE: keyFile,
      CNODE_AUTHORIZED_KEYS: authorized,
      ...env,
    },
  });
  workers.push(worker);
  return worker;
}

function attach(endpoint: string, keys: { publicKey: string; secretKey: string }): HandOwner {
  const curve: CurveKeys = { serverKey: server.publicKey, ...keys };
  const hand = new HandOwner(endpoint, curve);
  hands.push(hand);
  return hand;
}

/** Socket events of `hand` as they come, e.g. 'handshake' or 'handshake:error:auth'. */
function events(hand: HandOwner): string[] {
  const seen: string[] = [];
  void (async () => {
    try {
      for await (const event of hand.socket.events) seen.push(event.type);
    } catch {
      // closed
    }
  })();
  return seen;
}

/** What arrives within `ms` (nothing, for a peer the worker ignores). */
async function quiet(hand: HandOwner, ms = 300): Promise<unknown[]> {
  const got: unknown[] = [];
  hand.socket.receiveTimeout = ms;
  try {
    for (;;) got.push(...packr.unpackMultiple((await hand.socket.receive())[0]));
  } catch (error) {
    if ((error as { code?: string }).code !== 'EAGAIN') throw error;
  }
  return got;
}

const node = `cnode@${os.hostname()}`;

describe('serve mode', () => {
  it('serves the authorized keys over CURVE, with no launch line and stdin /dev/null', async () => {
    const worker = serve({}, ['one', 'two']);
    const endpoint = await worker.ready;
    expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const hand = attach(endpoint, owners[1]); // the second key of the file
    await expect(hand.hello(ZEROS, PROTOCOL_VERSION)).resolves.toEqual([
      FrameKind.Welcome,
      PROTOCOL_VERSION,
      node,
      worker.pid,
    ]);
    await expect(hand.call({ op: 'info' })).resolves.toEqual({
      name: node,
      alive: 'cnode',
      host: os.hostname(),
      creation: 1,
      args: ['one', 'two'], // argv[1..]: every argument is the user's
    });
  });

  it('CNODE_NAME names the node; CNODE_SERVE binds the port it gives', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const worker = serve({ CNODE_NAME: 'served_1', CNODE_SERVE: `tcp://127.0.0.1:${port}` });
    await expect(worker.ready).resolves.toBe(`tcp://127.0.0.1:${port}`);
    const hand = attach(`tcp://127.0.0.1:${port}`, owners[0]);
    await expect(hand.hello(ZEROS, PROTOCOL_VERSION)).resolves.toEqual([
      2,
      PROTOCOL_VERSION,
      `served_1@${os.hostname()}`,
      worker.pid,
    ]);
  });

  it('a key not in the file never reaches the handler; the owner is not disturbed', async () => {
    const worker = serve();
    const endpoint = await worker.ready;
    const hand = attach(endpoint, owners[0]);
    await hand.hello(ZEROS, PROTOCOL_VERSION);
    await expect(hand.call({ op: 'set', value: 'owner' })).resolves.toBe(true);
    const other = attach(endpoint, stranger);
    const seen = events(other);
    await other.send([FrameKind.Hello, PROTOCOL_VERSION, ZEROS]);
    await other.send([FrameKind.Cast, { op: 'set', value: 'hacked' }]).catch(() => {});
    await waitUntil(() => seen.includes('handshake:error:auth'), 2000, "the ZAP handler refuses the stranger's key");
    expect(seen).not.toContain('handshake');
    expect(await quiet(other)).toEqual([]);
    await expect(hand.call({ op: 'get' })).resolves.toBe('owner');
  });

  it('one owner at a time: a second HELLO goes unanswered until the first owner goes; the state survives', async () => {
    const worker = serve();
    const endpoint = await worker.ready;
    const first = attach(endpoint, owners[0]);
    await first.hello(ZEROS, PROTOCOL_VERSION);
    await expect(first.call({ op: 'set', value: 'kept' })).resolves.toBe(true);
    const second = attach(endpoint, owners[1]);
    await second.send([FrameKind.Hello, PROTOCOL_VERSION, ZEROS]);
    await second.send([FrameKind.Call, 1, { op: 'get' }]);
    expect(await quiet(second)).toEqual([]); // not the owner: dropped
    first.close();
    // The worker forgets the first owner's session once its connection goes, and admits the next.
    const third = attach(endpoint, owners[1]);
    let welcome: unknown[] = [];
    for (let tries = 0; welcome.length === 0 && tries < 20; tries++) {
      await third.send([FrameKind.Hello, PROTOCOL_VERSION, ZEROS]);
      welcome = await quiet(third, 150);
    }
    expect(welcome).toEqual([[2, PROTOCOL_VERSION, node, worker.pid]]);
    third.socket.receiveTimeout = 2000;
    await expect(third.call({ op: 'get' })).resolves.toBe('kept'); // the handler's state, not the session's
    expect(worker.child.exitCode).toBeNull();
  });

  it('a HELLO of another version is answered with this one and locks nobody out', async () => {
    const worker = serve();
    const endpoint = await worker.ready;
    const old = attach(endpoint, owners[0]);
    await expect(old.hello(ZEROS, PROTOCOL_VERSION - 1)).resolves.toEqual([2, PROTOCOL_VERSION, node, worker.pid]);
    await old.send([FrameKind.Call, 1, 'x']);
    expect(await quiet(old)).toEqual([]);
    old.close();
    const current = attach(endpoint, owners[1]);
    await expect(current.hello(ZEROS, PROTOCOL_VERSION)).resolves.toEqual([2, PROTOCOL_VERSION, node, worker.pid]);
  });

  it('STOP ends it, status 0', async () => {
    const worker = serve();
    const hand = attach(await worker.ready, owners[0]);
    await hand.hello(ZEROS, PROTOCOL_VERSION);
    await hand.send([FrameKind.Stop]);
    await expect(worker.exited).resolves.toEqual({ code: 0, signal: null });
  });

  it('a cut owner connection (silent, not closed) is forgotten within CNODE_HEARTBEAT', async () => {
    const worker = serve({ CNODE_HEARTBEAT: '100,400' });
    const endpoint = await worker.ready;
    const target = { host: '127.0.0.1', port: Number(endpoint.split(':').at(-1)) };
    const relay = await startRelay({ listen: { host: '127.0.0.1' }, target, delayMs: 0 });
    try {
      const first = attach(`tcp://${relay.endpoint}`, owners[0]);
      await first.hello(ZEROS, PROTOCOL_VERSION);
      relay.silence();
      await new Promise((resolve) => setTimeout(resolve, 800)); // past the timeout
      const next = attach(endpoint, owners[1]);
      await expect(next.hello(ZEROS, PROTOCOL_VERSION)).resolves.toEqual([2, PROTOCOL_VERSION, node, worker.pid]);
    } finally {
      await relay.close();
    }
  });
});

describe('serve mode refuses', () => {
  async function expectRefused(env: Record<string, string>, message: string) {
    const worker = serve(env);
    const { code, lines } = await failure(worker);
    expect(code).toBe(1);
    expect(lines).toEqual([`cnode_init: ${message}`]);
    expect(worker.stdout()).toBe('');
  }

  it('a secret key file readable by group or others', async () => {
    const open = path.join(dir, 'open.key');
    fs.writeFileSync(open, server.secretKey, { mode: 0o644 });
    fs.chmodSync(open, 0o644);
    await expectRefused(
      { CNODE_SECRET_KEY_FILE: open },
      `CNODE_SECRET_KEY_FILE "${open}" is readable by group or others (mode 0644): chmod 600 ${open}`,
    );
  });

  it('a secret key file missing, or not a key, never showing what it holds', async () => {
    const missing = path.join(dir, 'missing.key');
    await expectRefused(
      { CNODE_SECRET_KEY_FILE: missing },
      `CNODE_SECRET_KEY_FILE "${missing}" cannot be read: No such file or directory`,
    );
    const bad = path.join(dir, 'bad.key');
    fs.writeFileSync(bad, `${server.secretKey.slice(0, 39)}\n`, { mode: 0o600 });
    await expectRefused(
      { CNODE_SECRET_KEY_FILE: bad },
      `CNODE_SECRET_KEY_FILE "${bad}" does not hold a CurveZMQ secret key in Z85 (40 characters)`,
    );
    await expectRefused(
      { CNODE_SECRET_KEY_FILE: '' },
      "CNODE_SECRET_KEY_FILE is not set: serve mode needs the file of the worker's CurveZMQ secret key",
    );
  });

  it('an authorized keys file with a bad line, naming the line, or with no key', async () => {
    const bad = path.join(dir, 'bad-authorized');
    fs.writeFileSync(bad, `# ok\n${owners[0].publicKey}\nnot a key\n`, { mode: 0o644 });
    await expectRefused(
      { CNODE_AUTHORIZED_KEYS: bad },
      `CNODE_AUTHORIZED_KEYS "${bad}" line 3 is not a CurveZMQ public key in Z85 (40 characters)`,
    );
    const none = path.join(dir, 'no-keys');
    fs.writeFileSync(none, '# nobody yet\n\n', { mode: 0o644 });
    await expectRefused(
      { CNODE_AUTHORIZED_KEYS: none },
      `CNODE_AUTHORIZED_KEYS "${none}" holds no key: it needs one owner public key a line`,
    );
  });

  it('an authorized keys file that group or others may write: they could admit themselves', async () => {
    const open = path.join(dir, 'open-authorized');
    fs.writeFileSync(open, `${owners[0].publicKey}\n`);
    for (const mode of [0o666, 0o620]) {
      fs.chmodSync(open, mode); // chmod: the umask would hide the mode from writeFileSync
      await expectRefused(
        { CNODE_AUTHORIZED_KEYS: open },
        `CNODE_AUTHORIZED_KEYS "${open}" is writable by group or others (mode 0${mode.toString(8)}), who could admit themselves: chmod 644 ${open}`,
      );
    }
  });

  it('a CNODE_SERVE that is not a tcp endpoint, a bad CNODE_NAME', async () => {
    for (const serve of ['ipc:///tmp/x', 'tcp://127.0.0.1', 'tcp://0.0.0.0:99999']) {
      await expectRefused(
        { CNODE_SERVE: serve },
        `CNODE_SERVE "${serve}" is not tcp://<address>:<port> (a port from 1 to 65535, or *)`,
      );
    }
    await expectRefused({ CNODE_NAME: 'a@b' }, `CNODE_NAME "a@b" is not letters, digits, '_' and '-'`);
  });
});
