// Fault model: a stranger on the same machine, who can read the endpoint and reach the socket,
// against a real C worker (docs/protocol.md sections 1 and 3). The ipc directory is 0700 and gone
// once the owner is connected or the start failed; tcp listens on loopback only; on plain tcp the
// cookie keeps strangers out, and with CurveZMQ (tcp's default) the worker's ZAP handler turns away
// every key but the owner's before a frame is read. The secrets never show in argv, output or
// errors, and the worker takes them out of its environment.
import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { curveKeyPair, Dealer } from 'zeromq';
import { CNode, type CNodeOptions } from '../../src/index.js';
import { COOKIE_LEN, FrameKind, PROTOCOL_VERSION } from '../../src/protocol.js';
import {
  binary,
  commandLine,
  environment,
  expectNothingLeft,
  isAlive,
  liveChildren,
  rejection,
  socketDirectories,
  startedNodes,
  TRANSPORTS,
  waitUntil,
  workerOptions,
} from '../helpers.js';

// Frames built by hand, as docs/protocol.md has them.
const packr = new Packr({ useRecords: false });
const VERSION = PROTOCOL_VERSION;
const { Hello: HELLO, Call: CALL, Cast: CAST, Welcome: WELCOME, Reply: REPLY } = FrameKind;
const HACK = { op: 'set', value: 'hacked' };

/** Every line any worker of this file printed, for the check that no secret is among them. */
const output: string[] = [];

/** Options for a test worker whose output goes to `output`. */
function options(name: 'echo' | 'testbed', extra: Partial<CNodeOptions> = {}): CNodeOptions {
  const collect = (line: string) => void output.push(line);
  return { ...workerOptions(name, extra).options, onStdout: collect, onStderr: collect };
}

const nodes = startedNodes({
  after: async (infos) => {
    for (const info of infos) expect(info.fault).toBeNull();
    await expectNothingLeft();
  },
});
const start = (name: 'echo' | 'testbed', extra: Partial<CNodeOptions> = {}) => nodes.start(options(name, extra));

/** The pid of the one worker being started, once it runs the worker's program with the owner's environment. */
async function startingWorker(): Promise<number> {
  let pid = 0;
  await waitUntil(
    () => {
      pid = liveChildren()[0] ?? 0;
      try {
        return pid > 0 && environment(pid).CNODE_COOKIE !== undefined; // after exec, not the forked owner
      } catch {
        return false;
      }
    },
    2000,
    'the worker runs',
  );
  return pid;
}

// Z85 (ZeroMQ RFC 32), the text form of CurveZMQ keys: 4 bytes, big-endian, as 5 base-85 digits.
const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

function z85Decode(text: string): Buffer {
  const bytes = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (const char of text.slice(i, i + 5)) value = value * 85 + Z85.indexOf(char);
    bytes.writeUInt32BE(value, (i / 5) * 4);
  }
  return bytes;
}

function z85Encode(bytes: Buffer): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = bytes.readUInt32BE(i);
    let group = '';
    for (let j = 0; j < 5; j++, value = Math.floor(value / 85)) group = Z85[value % 85] + group;
    text += group;
  }
  return text;
}

/** The X25519 public key of a Z85 secret key, by node:crypto: a PKCS8 DER around the raw 32 bytes. */
function publicKeyOf(secretKey: string): string {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), z85Decode(secretKey)]);
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({
    format: 'der',
    type: 'spki',
  });
  return z85Encode(spki.subarray(-32));
}

interface Stranger {
  /** What the worker answered within 300 ms of the last frame. */
  answers: unknown[];
  /** The stranger's socket events, e.g. 'handshake' or 'handshake:error:auth'. */
  events: string[];
}

/**
 * Connects a stranger's Dealer to `endpoint`, sends `frames`, waits until its socket reports
 * an event that matches `until` (proof of how far the connection got) and collects what comes back within 300 ms.
 */
async function stranger(
  endpoint: string,
  frames: (Buffer | unknown[])[],
  until: RegExp,
  curve?: { serverKey: string; publicKey: string; secretKey: string },
): Promise<Stranger> {
  const socket = new Dealer({
    linger: 0,
    receiveTimeout: 300,
    sendTimeout: 300,
    ...(curve && { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
  });
  const events: string[] = [];
  const observer = socket.events;
  void (async () => {
    try {
      for await (const event of observer) events.push(event.type);
    } catch {
      // the socket closed while it waited
    }
  })();
  const answers: unknown[] = [];
  const isTimeout = (error: unknown) => (error as { code?: string }).code === 'EAGAIN';
  try {
    socket.connect(endpoint);
    for (const frame of frames) {
      // Queued before the connection is made: sent the moment ZeroMQ lets them through. A send
      // that times out sent nothing, which gets no answer either.
      await socket.send(Buffer.isBuffer(frame) ? frame : packr.pack(frame)).catch((error: unknown) => {
        if (!isTimeout(error)) throw error;
      });
    }
    await waitUntil(
      () => events.some((event) => until.test(event)),
      2000,
      `the stranger's socket reports ${until}`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; it reported ${JSON.stringify(events)}`);
    });
    try {
      for (;;) answers.push(...packr.unpackMultiple((await socket.receive())[0])); // replies may come in batches
    } catch (error) {
      if (!isTimeout(error)) throw error; // else the receive timed out: no more answers
    }
  } finally {
    socket.close();
  }
  return { answers, events };
}

type KeyPair = { publicKey: string; secretKey: string };

/**
 * The control case: an echo worker launched by hand on tcp, as the owner would launch it, with a
 * cookie (and curve keys) this test chose, and no owner connected. `use` gets what it needs to be
 * that owner; the worker ends when its stdin closes, as when its owner dies.
 */
async function byHand(
  curve: { server: KeyPair; client: KeyPair } | undefined,
  use: (worker: { endpoint: string; cookie: string; name: string }) => Promise<void>,
) {
  const cookie = randomBytes(COOKIE_LEN / 2).toString('hex');
  const [host, alive] = ['localhost', `by_hand_${process.pid}`];
  const name = `${alive}@${host}`;
  const child = spawn(binary('echo'), [host, alive, name, '1'], {
    env: {
      ...process.env,
      CNODE_COOKIE: cookie,
      CNODE_TRANSPORT: 'tcp',
      CNODE_OWNER_PID: String(process.pid),
      ...(curve && { CNODE_CURVE_SECRET: curve.server.secretKey, CNODE_CURVE_CLIENT: curve.client.publicKey }),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  try {
    await waitUntil(() => /^ready \S+\n/m.test(stdout), 2000, 'the worker launched by hand is ready');
    await use({ endpoint: /^ready (\S+)\n/m.exec(stdout)![1], cookie, name });
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\nthe worker launched by hand: exit ${child.exitCode} ${child.signalCode}, stderr: ${stderr}`,
    );
  } finally {
    child.stdin.end();
    await waitUntil(() => !isAlive(child.pid!), 2000, 'the worker launched by hand ends with its stdin');
  }
}

/** The socket's listeners on `port`, as the hex local addresses in /proc/net/tcp and tcp6. */
function listeners(port: number): string[] {
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== '0A') continue; // 0A: LISTEN
      const [address, hexPort] = local.split(':');
      if (parseInt(hexPort, 16) === port) found.push(address);
    }
  }
  return found;
}

describe('the ipc directory', () => {
  for (const mode of ['no-handshake', 'crash-early'] as const) {
    it(`is 0700 and the owner's while it exists, and removed when the start fails (${mode})`, async () => {
      const pending = rejection(CNode.start(options('testbed', { transport: 'ipc', args: [mode], readyTimeout: 300 })));
      const [directory] = socketDirectories(); // made before the spawn, synchronously
      const stat = fs.lstatSync(path.join(os.tmpdir(), directory));
      expect(stat.isDirectory()).toBe(true);
      expect(stat.mode & 0o777).toBe(0o700);
      expect(stat.uid).toBe(process.getuid!());
      const error = await pending;
      expect(error.code).toBe(mode === 'no-handshake' ? 'ERR_CNODE_CONNECT' : 'ERR_CNODE_EXITED');
      expect(socketDirectories()).toEqual([]);
    });
  }

  it('is gone once the owner is connected, and nothing is left after a crash mid-run', async () => {
    const node = await start('testbed', { transport: 'ipc' });
    const directory = path.dirname(node.endpoint.slice('ipc://'.length));
    expect(directory.startsWith(path.join(os.tmpdir(), `cnode-${process.pid}-`))).toBe(true);
    expect(fs.existsSync(directory)).toBe(false); // the worker removed it after the handshake
    const error = await rejection(node.call({ op: 'crash' }));
    expect(error.code).toBe('ERR_CNODE_EXITED');
    await expect(node.exited).resolves.toMatchObject({ signal: 'SIGSEGV' });
    expect(isAlive(node.pid)).toBe(false);
    expect(socketDirectories()).toEqual([]);
  });
});

describe('tcp', () => {
  for (const curve of [true, false]) {
    it(`listens on loopback only (curve ${curve})`, async () => {
      const node = await start('echo', { transport: 'tcp', curve });
      expect(node.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(node.endpoint.split(':')[2]);
      expect(listeners(port)).toEqual(['0100007F']); // 127.0.0.1, and no 0.0.0.0 or [::]
      await expect(node.call({ op: 'add', a: 2, b: 3 })).resolves.toBe(5);
    });
  }
});

describe('a stranger on plain tcp (curve: false): the cookie is the lock', () => {
  /** An echo worker on plain tcp whose owner stored 'owner', and the cookie it was started with. */
  async function target() {
    const node = await start('echo', { transport: 'tcp', curve: false });
    await expect(node.call({ op: 'set', value: 'owner' })).resolves.toBe(true);
    const cookie = environment(node.pid).CNODE_COOKIE;
    expect(cookie).toMatch(new RegExp(`^[0-9a-f]{${COOKIE_LEN}}$`));
    return { node, cookie };
  }

  /** Lets strangers loose on the node, each with its `frames`, while its owner calls it; then checks nothing changed. */
  async function expectShutOut(node: CNode, ...strangers: (Buffer | unknown[])[][]) {
    const [sum, ...results] = await Promise.all([
      node.call({ op: 'add', a: 1, b: 2 }),
      ...strangers.map((frames) => stranger(node.endpoint, frames, /^handshake$/)), // ZeroMQ let it in: its frames reached the worker
    ]);
    for (const { answers } of results as Stranger[]) expect(answers).toEqual([]);
    expect(sum).toBe(3);
    await expect(node.call({ op: 'get' })).resolves.toBe('owner');
  }

  it('(control) with no owner yet, a peer with the right cookie is welcomed and answered', async () => {
    await byHand(undefined, async ({ endpoint, cookie, name }) => {
      const first = await stranger(
        endpoint,
        [
          [HELLO, VERSION, cookie],
          [CALL, 1, { op: 'add', a: 1, b: 2 }],
        ],
        /^handshake$/,
      );
      expect(first.answers).toEqual([
        [WELCOME, VERSION, name],
        [REPLY, 1, name, 3],
      ]);
    });
  });

  it('(control) one message of several frames is handled frame by frame; bytes that are no frame end the message, not the worker', async () => {
    await byHand(undefined, async ({ endpoint, cookie, name }) => {
      const batch = Buffer.concat([
        packr.pack([CALL, 1, { op: 'add', a: 1, b: 2 }]),
        packr.pack([CAST, { op: 'set', value: 'batched' }]),
        packr.pack([CALL, 2, { op: 'get' }]),
        Buffer.from([0xc1]), // never used in MessagePack: where a next frame would start is unknown
        packr.pack([CALL, 3, { op: 'get' }]),
      ]);
      const owner = await stranger(
        endpoint,
        [[HELLO, VERSION, cookie], batch, [CALL, 4, { op: 'get' }]],
        /^handshake$/,
      );
      expect(owner.answers).toEqual([
        [WELCOME, VERSION, name],
        [REPLY, 1, name, 3],
        [REPLY, 2, name, 'batched'],
        [REPLY, 4, name, 'batched'],
      ]);
    });
  });

  it('(a) random bytes get no answer', async () => {
    const { node } = await target();
    await expectShutOut(node, [randomBytes(1), randomBytes(64), randomBytes(4096), [CALL, 1, { op: 'get' }]]);
  });

  it('(b) a HELLO with a wrong cookie gets no WELCOME, and what follows is dropped', async () => {
    const { node, cookie } = await target();
    const nearly = `${cookie.slice(0, -1)}${cookie.at(-1) === '0' ? '1' : '0'}`; // only the last character wrong
    await expectShutOut(
      node,
      [
        [HELLO, VERSION, nearly],
        [CAST, HACK],
        [CALL, 1, { op: 'get' }],
      ],
      [
        [HELLO, VERSION, '0'.repeat(COOKIE_LEN)],
        [CAST, HACK],
        [CALL, 2, HACK],
      ],
      [
        [HELLO, VERSION, cookie.slice(0, COOKIE_LEN / 2)],
        [HELLO, VERSION],
        [HELLO],
        [HELLO, VERSION, `${cookie}0`],
        [CAST, HACK],
      ],
    );
  });

  it('(c) a replayed CALL and a CAST without a HELLO are dropped', async () => {
    const { node } = await target();
    await expectShutOut(node, [
      [CALL, 7, HACK],
      [CAST, HACK],
      [CALL, 8, { op: 'get' }],
    ]);
  });

  it('(d) a HELLO with the right cookie, after the owner connected, gets no WELCOME', async () => {
    const { node, cookie } = await target();
    await expectShutOut(node, [
      [HELLO, VERSION, cookie],
      [CAST, HACK],
      [CALL, 7, HACK],
      [CALL, 8, { op: 'get' }],
    ]);
    await expect(node.call({ op: 'set', value: 'still the owner' })).resolves.toBe(true);
    await expect(node.call({ op: 'get' })).resolves.toBe('still the owner');
  });
});

describe('a stranger on tcp with CurveZMQ (the default)', () => {
  /** An echo worker on curve tcp whose owner stored 'owner', and its exec-time environment. */
  async function target() {
    const node = await start('echo', { transport: 'tcp' });
    await expect(node.call({ op: 'set', value: 'owner' })).resolves.toBe(true);
    const env = environment(node.pid);
    expect(env.CNODE_CURVE_SECRET).toHaveLength(40);
    expect(env.CNODE_CURVE_CLIENT).toHaveLength(40);
    return { node, env };
  }

  it('(control) only the client key in CNODE_CURVE_CLIENT gets through, and then the cookie still counts', async () => {
    const [server, client, other] = [curveKeyPair(), curveKeyPair(), curveKeyPair()];
    expect(publicKeyOf(server.secretKey)).toBe(server.publicKey); // publicKeyOf, used below, is right
    await byHand({ server, client }, async ({ endpoint, cookie, name }) => {
      const hello = [
        [HELLO, VERSION, cookie],
        [CALL, 1, { op: 'add', a: 1, b: 2 }],
      ];
      const [refused, wrongCookie] = await Promise.all([
        stranger(endpoint, hello, /^handshake:error:auth$/, { serverKey: server.publicKey, ...other }),
        stranger(
          endpoint,
          [
            [HELLO, VERSION, '0'.repeat(COOKIE_LEN)],
            [CALL, 1, 'x'],
          ],
          /^handshake$/,
          { serverKey: server.publicKey, ...client },
        ),
      ]);
      expect(refused.answers).toEqual([]);
      expect(wrongCookie.answers).toEqual([]);
      const owner = await stranger(endpoint, hello, /^handshake$/, { serverKey: server.publicKey, ...client });
      expect(owner.answers).toEqual([
        [WELCOME, VERSION, name],
        [REPLY, 1, name, 3],
      ]);
    });
  });

  it('(a) a plain stranger fails the ZeroMQ handshake and changes nothing, even with the right cookie', async () => {
    const { node, env } = await target();
    const [{ answers, events }, sum] = await Promise.all([
      stranger(
        node.endpoint,
        [
          [HELLO, VERSION, env.CNODE_COOKIE],
          [CAST, HACK],
          [CALL, 1, { op: 'get' }],
        ],
        /^handshake:error:/,
      ),
      node.call({ op: 'add', a: 1, b: 2 }),
    ]);
    expect(events).not.toContain('handshake');
    expect(answers).toEqual([]);
    expect(sum).toBe(3);
    await expect(node.call({ op: 'get' })).resolves.toBe('owner');
  });

  it("(b) a curve stranger with the server's key and the right cookie, but its own key pair, is refused by the ZAP handler", async () => {
    const own = curveKeyPair();
    expect(publicKeyOf(own.secretKey)).toBe(own.publicKey); // the key derivation below is right
    const { node, env } = await target();
    const serverKey = publicKeyOf(env.CNODE_CURVE_SECRET);
    expect(serverKey).not.toBe(env.CNODE_CURVE_CLIENT);
    // 'handshake:error:auth' is the ZAP handler's refusal (status 400); a wrong server key would
    // fail the handshake before ZAP is asked, as 'handshake:error:other'.
    const [{ answers, events }, sum] = await Promise.all([
      stranger(
        node.endpoint,
        [
          [HELLO, VERSION, env.CNODE_COOKIE],
          [CAST, HACK],
          [CALL, 1, { op: 'get' }],
        ],
        /^handshake:error:auth$/,
        { serverKey, ...own },
      ),
      node.call({ op: 'add', a: 1, b: 2 }),
    ]);
    expect(events).not.toContain('handshake');
    expect(answers).toEqual([]);
    expect(sum).toBe(3);
    await expect(node.call({ op: 'get' })).resolves.toBe('owner');
  });

  it('(c) the owner, with its keys, calls and sends as usual', async () => {
    const { node } = await target();
    await node.send({ op: 'set', value: 'sent over curve' });
    await expect(node.call({ op: 'get' })).resolves.toBe('sent over curve');
    const big = randomBytes(100_000);
    const echoed = (await node.call({ op: 'echo', value: big })) as Uint8Array;
    expect(Buffer.compare(echoed, big)).toBe(0); // not toEqual: it compares 100 000 bytes one by one, slowly
  });

  it('(d) the worker takes the cookie and both keys out of its environment', async () => {
    const node = await start('testbed', { transport: 'tcp' });
    const given = environment(node.pid); // what it was exec'd with
    for (const name of ['CNODE_COOKIE', 'CNODE_CURVE_SECRET', 'CNODE_CURVE_CLIENT']) {
      expect(given[name], name).toBeDefined();
      await expect(node.call({ op: 'getenv', name }), name).resolves.toBeNull();
    }
    await expect(node.call({ op: 'getenv', name: 'CNODE_TRANSPORT' })).resolves.toBe('tcp'); // getenv works
  });
});

describe('the secrets stay out of sight', () => {
  const HEX_COOKIE = new RegExp(`[0-9a-fA-F]{${COOKIE_LEN}}`); // anything that could be a cookie

  it('never in argv', async () => {
    for (const transport of TRANSPORTS) {
      const node = await start('testbed', { transport, args: ['x'] });
      const env = environment(node.pid);
      expect(commandLine(node.pid).slice(1)).toEqual([node.host, node.alive, node.name, String(node.creation), 'x']);
      const argv = commandLine(node.pid).join('\0');
      expect(argv).not.toContain(env.CNODE_COOKIE);
      expect(argv).not.toMatch(HEX_COOKIE);
      if (transport === 'tcp') expect(argv).not.toContain(env.CNODE_CURVE_SECRET);
    }
  });

  it('never in an error of a failed start', async () => {
    // no-handshake prints an ipc ready line: over ipc the owner waits for a WELCOME that never
    // comes; over tcp it refuses the line ("ipc://(null)/socket"). Either way the worker lives
    // long enough for its environment to be read.
    const failures = [
      { transport: 'ipc', code: 'ERR_CNODE_CONNECT' },
      { transport: 'tcp', code: 'ERR_CNODE_PROTOCOL' },
    ] as const;
    for (const { transport, code } of failures) {
      const pending = rejection(
        CNode.start(options('testbed', { transport, args: ['no-handshake'], readyTimeout: 300 })),
      );
      const env = environment(await startingWorker());
      const error = await pending;
      expect(error.code).toBe(code);
      const everything = JSON.stringify({
        ...error,
        message: error.message,
        stack: error.stack,
        cause: String(error.cause),
      });
      expect(everything).not.toContain(env.CNODE_COOKIE);
      expect(everything).not.toMatch(HEX_COOKIE);
      if (transport === 'tcp') expect(everything).not.toContain(env.CNODE_CURVE_SECRET);
    }
    // One that exits at once, with its stderr in the error: too quick to read, so nothing like a cookie at all.
    const error = await rejection(CNode.start(options('testbed', { transport: 'tcp', args: ['exit-early'] })));
    expect(error.code).toBe('ERR_CNODE_EXITED');
    expect(error.message).toContain('about to fail');
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toMatch(HEX_COOKIE);
  });

  it('never in a line the worker printed, running, crashing or failing to start', async () => {
    const cookies: string[] = [];
    for (const transport of TRANSPORTS) {
      const node = await start('testbed', { transport });
      cookies.push(environment(node.pid).CNODE_COOKIE);
      await node.call({ op: 'print', stdout: 'to stdout', stderr: 'to stderr' });
      await rejection(node.call({ op: 'crash' }));
      await node.exited;
    }
    await rejection(CNode.start(options('testbed', { args: ['exit-early'] })));
    expect(output).toContain('to stdout');
    expect(output).toContain('to stderr');
    expect(output).toContain('about to fail');
    for (const cookie of cookies) expect(output.join('\n')).not.toContain(cookie);
    expect(output.join('\n')).not.toMatch(HEX_COOKIE);
  });
});
