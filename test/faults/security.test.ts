// Fault model: a stranger on the same machine, who can read the endpoint and reach the socket,
// against a real C worker (docs/protocol.md sections 1 and 3). The ipc directory is 0700 and gone
// once the owner is connected or the start failed; tcp listens on loopback only; on plain tcp the
// cookie keeps strangers out, and with CurveZMQ (tcp's default) the worker's ZAP handler turns away
// every key but the owner's before a frame is read. The secrets never show in argv, output or
// errors, never travel in the environment (the launch line on stdin carries them), and the worker
// wipes the line once read. The tests that must know the secrets launch the worker by hand with a
// launch line of their own (test/by-hand.ts), and play its owner with a raw Dealer.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { curveKeyPair, Dealer } from 'zeromq';
import { CNode, type CNodeOptions } from '../../src/index.js';
import { COOKIE_LEN, FrameKind, PROTOCOL_VERSION } from '../../src/protocol.js';
import { freshCookie, HandOwner, launchByHand, launchLine } from '../by-hand.js';
import {
  commandLine,
  environment,
  expectNothingLeft,
  isAlive,
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
/** What a stranger tries once connected: the handshake with the right cookie, a cast, a call. */
const intrusion = (cookie: string) => [
  [HELLO, VERSION, cookie],
  [CAST, HACK],
  [CALL, 1, { op: 'get' }],
];

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

interface ByHand {
  endpoint: string;
  cookie: string;
  name: string;
  pid: number;
  /** Everything the worker printed so far, stdout and stderr. */
  output: () => string;
}

/**
 * The control case: a worker (echo unless `name` says) launched by hand on tcp, as the owner would
 * launch it, with a cookie (and curve keys) this test chose in a launch line it wrote, and no owner
 * connected. `use` gets what it needs to be that owner; the worker ends when its stdin closes, as
 * when its owner dies.
 */
async function byHand(
  curve: { server: KeyPair; client: KeyPair } | undefined,
  use: (worker: ByHand) => Promise<void>,
  name: 'echo' | 'testbed' = 'echo',
) {
  const cookie = freshCookie();
  const [host, alive] = ['localhost', `by_hand_${process.pid}`];
  const node = `${alive}@${host}`;
  const worker = launchByHand(name, {
    argv: [host, alive, node, '1'],
    line: launchLine({
      CNODE_COOKIE: cookie,
      CNODE_TRANSPORT: 'tcp',
      CNODE_OWNER_PID: String(process.pid),
      ...(curve && { CNODE_CURVE_SECRET: curve.server.secretKey, CNODE_CURVE_CLIENT: curve.client.publicKey }),
    }),
  });
  try {
    const endpoint = await worker.ready;
    await use({ endpoint, cookie, name: node, pid: worker.pid, output: () => worker.stdout() + worker.stderr() });
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\nthe worker launched by hand: exit ${worker.child.exitCode} ${worker.child.signalCode}, stderr: ${worker.stderr()}`,
    );
  } finally {
    worker.child.stdin!.end();
    await waitUntil(() => !isAlive(worker.pid), 2000, 'the worker launched by hand ends with its stdin');
    await worker.exited;
  }
}

/**
 * A worker launched by hand whose owner (a Dealer played by hand, with the client keys of
 * `curve`) is admitted and stored 'owner'. `use` lets strangers at it.
 */
async function owned(
  curve: { server: KeyPair; client: KeyPair } | undefined,
  use: (target: ByHand & { owner: HandOwner }) => Promise<void>,
) {
  await byHand(curve, async (worker) => {
    const owner = new HandOwner(worker.endpoint, curve && { serverKey: curve.server.publicKey, ...curve.client });
    try {
      await expect(owner.hello(worker.cookie, VERSION)).resolves.toEqual([WELCOME, VERSION, worker.name, worker.pid]);
      await expect(owner.call({ op: 'set', value: 'owner' })).resolves.toBe(true);
      await use({ ...worker, owner });
    } finally {
      owner.close();
    }
  });
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
  /** Lets strangers loose on the worker, each with its `frames`, while its owner calls it; then checks nothing changed. */
  async function expectShutOut(target: ByHand & { owner: HandOwner }, ...strangers: (Buffer | unknown[])[][]) {
    const [sum, ...results] = await Promise.all([
      target.owner.call({ op: 'add', a: 1, b: 2 }),
      ...strangers.map((frames) => stranger(target.endpoint, frames, /^handshake$/)), // ZeroMQ let it in: its frames reached the worker
    ]);
    for (const { answers } of results as Stranger[]) expect(answers).toEqual([]);
    expect(sum).toBe(3);
    await expect(target.owner.call({ op: 'get' })).resolves.toBe('owner');
  }

  it('(control) with no owner yet, a peer with the right cookie is welcomed and answered', async () => {
    await byHand(undefined, async ({ endpoint, cookie, name, pid }) => {
      const first = await stranger(
        endpoint,
        [
          [HELLO, VERSION, cookie],
          [CALL, 1, { op: 'add', a: 1, b: 2 }],
        ],
        /^handshake$/,
      );
      expect(first.answers).toEqual([
        [WELCOME, VERSION, name, pid],
        [REPLY, 1, name, 3],
      ]);
    });
  });

  it('(control) one message of several frames is handled frame by frame; bytes that are no frame end the message, not the worker', async () => {
    await byHand(undefined, async ({ endpoint, cookie, name, pid }) => {
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
        [WELCOME, VERSION, name, pid],
        [REPLY, 1, name, 3],
        [REPLY, 2, name, 'batched'],
        [REPLY, 4, name, 'batched'],
      ]);
    });
  });

  it('(a) random bytes get no answer', async () => {
    await owned(undefined, (target) =>
      expectShutOut(target, [randomBytes(1), randomBytes(64), randomBytes(4096), [CALL, 1, { op: 'get' }]]),
    );
  });

  it('(b) a HELLO with a wrong cookie gets no WELCOME, and what follows is dropped', async () => {
    await owned(undefined, async (target) => {
      const { cookie } = target;
      const nearly = `${cookie.slice(0, -1)}${cookie.at(-1) === '0' ? '1' : '0'}`; // only the last character wrong
      await expectShutOut(
        target,
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
  });

  it('(c) a replayed CALL and a CAST without a HELLO are dropped', async () => {
    await owned(undefined, (target) =>
      expectShutOut(target, [
        [CALL, 7, HACK],
        [CAST, HACK],
        [CALL, 8, { op: 'get' }],
      ]),
    );
  });

  it('(d) a HELLO with the right cookie, after the owner connected, gets no WELCOME', async () => {
    await owned(undefined, async (target) => {
      await expectShutOut(target, [
        [HELLO, VERSION, target.cookie],
        [CAST, HACK],
        [CALL, 7, HACK],
        [CALL, 8, { op: 'get' }],
      ]);
      await expect(target.owner.call({ op: 'set', value: 'still the owner' })).resolves.toBe(true);
      await expect(target.owner.call({ op: 'get' })).resolves.toBe('still the owner');
    });
  });
});

describe('a stranger on tcp with CurveZMQ (the default)', () => {
  const keys = () => ({ server: curveKeyPair(), client: curveKeyPair() });

  it('(control) only the client key in CNODE_CURVE_CLIENT gets through, and then the cookie still counts', async () => {
    const [server, client, other] = [curveKeyPair(), curveKeyPair(), curveKeyPair()];
    await byHand({ server, client }, async ({ endpoint, cookie, name, pid }) => {
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
        [WELCOME, VERSION, name, pid],
        [REPLY, 1, name, 3],
      ]);
    });
  });

  it('(a) a plain stranger fails the ZeroMQ handshake and changes nothing, even with the right cookie', async () => {
    await owned(keys(), async ({ endpoint, cookie, owner }) => {
      const [{ answers, events }, sum] = await Promise.all([
        stranger(endpoint, intrusion(cookie), /^handshake:error:/),
        owner.call({ op: 'add', a: 1, b: 2 }),
      ]);
      expect(events).not.toContain('handshake');
      expect(answers).toEqual([]);
      expect(sum).toBe(3);
      await expect(owner.call({ op: 'get' })).resolves.toBe('owner');
    });
  });

  it("(b) a curve stranger with the server's key and the right cookie, but its own key pair, is refused by the ZAP handler", async () => {
    const own = curveKeyPair();
    const pair = keys();
    await owned(pair, async ({ endpoint, cookie, owner }) => {
      // 'handshake:error:auth' is the ZAP handler's refusal (status 400); a wrong server key would
      // fail the handshake before ZAP is asked, as 'handshake:error:other'.
      const [{ answers, events }, sum] = await Promise.all([
        stranger(endpoint, intrusion(cookie), /^handshake:error:auth$/, { serverKey: pair.server.publicKey, ...own }),
        owner.call({ op: 'add', a: 1, b: 2 }),
      ]);
      expect(events).not.toContain('handshake');
      expect(answers).toEqual([]);
      expect(sum).toBe(3);
      await expect(owner.call({ op: 'get' })).resolves.toBe('owner');
    });
  });

  it('(c) the owner, with its keys, calls and sends as usual', async () => {
    const node = await start('echo', { transport: 'tcp' });
    await node.send({ op: 'set', value: 'sent over curve' });
    await expect(node.call({ op: 'get' })).resolves.toBe('sent over curve');
    const big = randomBytes(100_000);
    const echoed = (await node.call({ op: 'echo', value: big })) as Uint8Array;
    expect(Buffer.compare(echoed, big)).toBe(0); // not toEqual: it compares 100 000 bytes one by one, slowly
  });
});

/**
 * Which of `needles` the memory of process `pid` holds, in its writable mappings: /proc/PID/mem,
 * which its parent may read. Mappings over 256 MiB are the sanitizer's shadow memory, reserved and
 * not used: skipped.
 */
function memoryHolds(pid: number, needles: string[]): string[] {
  const found = new Set<string>();
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const [range, perms] = line.split(/\s+/);
      if (!range || !perms.startsWith('rw')) continue;
      const [start, end] = range.split('-').map((hex) => Number.parseInt(hex, 16));
      if (end - start > 256 << 20) continue;
      const bytes = Buffer.alloc(end - start);
      try {
        fs.readSync(fd, bytes, 0, bytes.length, start);
      } catch {
        continue; // a guard page, or gone meanwhile
      }
      for (const needle of needles) if (bytes.includes(needle)) found.add(needle);
    }
  } finally {
    fs.closeSync(fd);
  }
  return [...found];
}

describe('the secrets stay out of sight', () => {
  const HEX_COOKIE = new RegExp(`[0-9a-fA-F]{${COOKIE_LEN}}`); // anything that could be a cookie
  const SECRET_NAMES = ['CNODE_COOKIE', 'CNODE_CURVE_SECRET', 'CNODE_CURVE_CLIENT', 'CNODE_RING_FDS'];

  it('never in the environment: the launch line carries them, whatever the transport', async () => {
    for (const transport of TRANSPORTS) {
      const node = await start('testbed', { transport });
      const given = environment(node.pid); // what it was exec'd with: /proc keeps it
      for (const name of SECRET_NAMES) expect(given[name], `${transport} ${name}`).toBeUndefined();
      expect(Object.values(given).join('\0')).not.toMatch(HEX_COOKIE);
      await expect(node.call({ op: 'getenv', name: 'CNODE_TRANSPORT' })).resolves.toBeNull(); // nor any other setting
      await expect(node.call({ op: 'getenv', name: 'PATH' })).resolves.toBe(process.env.PATH); // getenv works
    }
  });

  it('never in argv or the environment of a worker launched by hand, and the line is wiped once read', async () => {
    const curve = { server: curveKeyPair(), client: curveKeyPair() };
    await byHand(
      curve,
      async ({ endpoint, cookie, pid }) => {
        const owner = new HandOwner(endpoint, { serverKey: curve.server.publicKey, ...curve.client });
        try {
          await owner.hello(cookie, VERSION);
          expect(commandLine(pid).slice(1)).toEqual([
            'localhost',
            `by_hand_${process.pid}`,
            `by_hand_${process.pid}@localhost`,
            '1',
          ]);
          const everything = [...commandLine(pid), ...Object.entries(environment(pid)).flat()].join('\0');
          for (const secret of [cookie, curve.server.secretKey]) expect(everything).not.toContain(secret);
          // The control: the cookie itself stays, to check HELLOs against, so the scan finds what is there.
          const held = memoryHolds(pid, [cookie, `CNODE_COOKIE=${cookie}`, curve.server.secretKey]);
          expect(held).toEqual([cookie]); // not the line, not the secret key's text
        } finally {
          owner.close();
        }
      },
      'testbed',
    );
  });

  it('never in argv', async () => {
    for (const transport of TRANSPORTS) {
      const node = await start('testbed', { transport, args: ['x'] });
      expect(commandLine(node.pid).slice(1)).toEqual([node.host, node.alive, node.name, String(node.creation), 'x']);
      const argv = commandLine(node.pid).join('\0');
      expect(argv).not.toMatch(HEX_COOKIE);
      expect(argv).not.toContain('CNODE_');
    }
  });

  it('never in an error of a failed start', async () => {
    // no-handshake reads its launch line and prints an ipc ready line: over ipc the owner waits for
    // a WELCOME that never comes; over tcp it refuses the line.
    const failures = [
      { transport: 'ipc', code: 'ERR_CNODE_CONNECT' },
      { transport: 'tcp', code: 'ERR_CNODE_PROTOCOL' },
    ] as const;
    for (const { transport, code } of failures) {
      const error = await rejection(
        CNode.start(options('testbed', { transport, args: ['no-handshake'], readyTimeout: 300 })),
      );
      expect(error.code).toBe(code);
      const everything = JSON.stringify({
        ...error,
        message: error.message,
        stack: error.stack,
        cause: String(error.cause),
      });
      expect(everything).not.toMatch(HEX_COOKIE);
      for (const name of SECRET_NAMES) expect(everything).not.toContain(`${name}=`);
    }
    // One that exits at once, with its stderr in the error.
    const error = await rejection(CNode.start(options('testbed', { transport: 'tcp', args: ['exit-early'] })));
    expect(error.code).toBe('ERR_CNODE_EXITED');
    expect(error.message).toContain('about to fail');
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toMatch(HEX_COOKIE);
  });

  it('never in a line the worker printed, running, crashing or failing to start', async () => {
    for (const transport of TRANSPORTS) {
      const node = await start('testbed', { transport });
      await node.call({ op: 'print', stdout: 'to stdout', stderr: 'to stderr' });
      await rejection(node.call({ op: 'crash' }));
      await node.exited;
    }
    await rejection(CNode.start(options('testbed', { args: ['exit-early'] })));
    expect(output).toContain('to stdout');
    expect(output).toContain('to stderr');
    expect(output).toContain('about to fail');
    expect(output.join('\n')).not.toMatch(HEX_COOKIE);
    // By hand, knowing the secrets: a worker that prints and crashes shows neither.
    const curve = { server: curveKeyPair(), client: curveKeyPair() };
    await byHand(
      curve,
      async ({ endpoint, cookie, output: printed }) => {
        const owner = new HandOwner(endpoint, { serverKey: curve.server.publicKey, ...curve.client });
        try {
          await owner.hello(cookie, VERSION);
          await owner.call({ op: 'print', stdout: 'by hand out', stderr: 'by hand err' });
          await owner.send([CALL, 99, { op: 'crash' }]);
          await waitUntil(() => printed().includes('by hand err'), 2000, 'the worker printed');
          for (const secret of [cookie, curve.server.secretKey]) expect(printed()).not.toContain(secret);
        } finally {
          owner.close();
        }
      },
      'testbed',
    );
  });
});
