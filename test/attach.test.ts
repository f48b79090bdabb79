// CNode.attach: a worker started by something else (here the test, as systemd would) in serve
// mode, CNODE_SERVE on the loopback with its CurveZMQ secret key in a 0600 file and the owners'
// public keys in an authorized-keys file; the owner holds no process of it. Real processes and
// sockets; test/remote.test.ts does the same across network namespaces.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { curveKeyPair } from 'zeromq';
import { type AttachOptions, CNode, type ExitInfo, SharedBuffer } from '../src/index.js';
import { binary, expectNothingLeft, isAlive, rejection, root, waitUntil } from './helpers.js';

interface KeyPair {
  publicKey: string;
  secretKey: string;
}

interface Served {
  child: ChildProcess;
  endpoint: string;
  serverKey: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: string[];
}

let dir: string;
const served: Served[] = [];
const nodes: CNode[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-attach-test-'));
});

afterEach(async () => {
  // Settled, not awaited one by one: a stop that rejects (a test that failed midway) must still
  // leave no served worker and no key files behind.
  await Promise.allSettled(nodes.splice(0).map((node) => node.stop()));
  for (const { child } of served) child.kill('SIGKILL');
  await Promise.all(served.splice(0).map(({ exited }) => exited));
  fs.rmSync(dir, { recursive: true, force: true });
  await expectNothingLeft();
});

/** Starts testbed serving on the loopback, admitting `owners`; resolves once its ready line names its endpoint. */
async function serve(
  owners: readonly KeyPair[],
  server: KeyPair = curveKeyPair(),
  worker: 'testbed' | 'loop' = 'testbed',
): Promise<Served> {
  const secretFile = path.join(dir, 'secret.key');
  fs.writeFileSync(secretFile, `${server.secretKey}\n`, { mode: 0o600 });
  const authorized = path.join(dir, 'authorized_keys');
  fs.writeFileSync(authorized, `# owners of this worker\n\n${owners.map((key) => key.publicKey).join('\n')}\n`, {
    mode: 0o644,
  });
  const child = spawn(binary(worker), [], {
    env: {
      ...process.env,
      CNODE_SERVE: 'tcp://127.0.0.1:*',
      CNODE_SECRET_KEY_FILE: secretFile,
      CNODE_AUTHORIZED_KEYS: authorized,
      CNODE_NAME: 'served',
      CNODE_HEARTBEAT: '200,500',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^ready (tcp:\/\/\S+)$/m.exec(out);
      if (ready) resolve(ready[1]);
    });
    void exited.then(() => reject(new Error(`the served worker exited: ${stderr.join('')}`)));
    setTimeout(() => reject(new Error('the served worker printed no ready line within 5 s')), 5000).unref();
  });
  const entry = { child, endpoint, serverKey: server.publicKey, exited, stderr };
  served.push(entry);
  return entry;
}

/** Attaches to `worker` as `owner`, recorded to be let go after the test. */
async function attach(worker: Served, owner: KeyPair, extra: Partial<AttachOptions> = {}): Promise<CNode> {
  const node = await CNode.attach({ endpoint: worker.endpoint, serverKey: worker.serverKey, ...owner, ...extra });
  nodes.push(node);
  return node;
}

describe('CNode.attach', () => {
  it('calls, sends and hears from a served worker, named by its handshake, with no process of its own', async () => {
    const owner = curveKeyPair();
    const worker = await serve([owner]);
    const node = await attach(worker, owner);
    expect(node.name).toBe(`served@${os.hostname()}`);
    expect(node.alive).toBe('served');
    expect(node.host).toBe(os.hostname());
    expect(node.creation).toBe(1);
    expect(node.pid).toBe(0);
    expect(node.workerPid).toBe(worker.child.pid);
    expect(node.endpoint).toBe(worker.endpoint);
    expect(await node.call({ op: 'echo', value: { a: [1, 2, 3] } })).toEqual({ a: [1, 2, 3] });
    const heard = new Promise((resolve) => node.once('message', resolve));
    await node.send({ op: 'notify', value: 'from afar' });
    expect(await heard).toBe('from afar');
    using shared = SharedBuffer.create(4096);
    const refused = await rejection(node.call({ op: 'echo', value: shared }));
    expect(refused.code).toBe('ERR_CNODE_BAD_MESSAGE');
    expect(refused.message).toContain('a SharedBuffer cannot cross hosts');
  });

  it('detaches on stop(), leaving the worker serving, and admits a second owner then', async () => {
    const first = curveKeyPair();
    const second = curveKeyPair();
    const worker = await serve([first, second]);
    const node = await attach(worker, first);
    expect(await node.call('first')).toBe('first');
    const exits: ExitInfo[] = [];
    node.on('exit', (info) => exits.push(info));
    const info = await node.stop();
    expect(info).toMatchObject({ node: node.name, exitCode: null, signal: null, stopped: true, fault: null });
    expect(exits).toEqual([info]);
    expect((await rejection(node.call('after'))).code).toBe('ERR_CNODE_STOPPED');
    expect(isAlive(worker.child.pid!)).toBe(true);
    const again = await attach(worker, second);
    expect(again.name).toBe(node.name);
    expect(await again.call('second')).toBe('second');
  });

  it("never gives one owner what another's session posted: cnode_post is refused while nobody is attached", async () => {
    const first = curveKeyPair();
    const second = curveKeyPair();
    const worker = await serve([first, second], curveKeyPair(), 'loop');
    const one = await attach(worker, first);
    const toFirst: unknown[] = [];
    one.on('message', (message) => toFirst.push(message));
    const threads = () =>
      Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${worker.child.pid}/status`, 'utf8'))![1]);
    const idle = threads();
    await one.call({ op: 'post', threads: 1, count: 1_000_000 }); // a thread posting [0, seq], seq 0, 1, ...
    // Until some arrive, not a fixed time: on a loaded machine the first may take a while.
    await waitUntil(() => toFirst.length > 0, 3000, 'the first owner hears the posting thread');
    expect(threads()).toBe(idle + 1);
    await one.stop(); // detached while the thread posts
    // Its next post after the owner went fails (ENOTCONN), which ends the thread: a job still
    // posting when the next owner comes would be that owner's, so wait until it is gone.
    await waitUntil(() => threads() === idle, 3000, "the posting thread ended on the owner's going");
    const two = await attach(worker, second);
    const toSecond: unknown[] = [];
    two.on('message', (message) => toSecond.push(message));
    await expect(two.call({ op: 'runs' })).resolves.toEqual(expect.any(Number)); // attached and answered
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Nothing queued during the first session reached the second owner.
    expect(toSecond).toEqual([]);
  });

  it('admits one owner at a time: another is not answered while one is attached', async () => {
    const first = curveKeyPair();
    const second = curveKeyPair();
    const worker = await serve([first, second]);
    const node = await attach(worker, first);
    const error = await rejection(attach(worker, second, { readyTimeout: 500 }));
    expect(error.code).toBe('ERR_CNODE_CONNECT');
    expect(error.message).toContain(`cnode ${worker.endpoint} did not answer the handshake within 500 ms`);
    expect(await node.call('still mine')).toBe('still mine');
  });

  it('refuses an owner whose key the worker does not list, and a wrong server key', async () => {
    const listed = curveKeyPair();
    const worker = await serve([listed]);
    const stranger = await rejection(attach(worker, curveKeyPair(), { readyTimeout: 500 }));
    expect(stranger.code).toBe('ERR_CNODE_CONNECT');
    expect(stranger.message).toContain('is publicKey among its CNODE_AUTHORIZED_KEYS');
    const wrongServer = await rejection(
      attach(worker, listed, { readyTimeout: 500, serverKey: curveKeyPair().publicKey }),
    );
    expect(wrongServer.code).toBe('ERR_CNODE_CONNECT');
    const node = await attach(worker, listed);
    expect(await node.call('admitted')).toBe('admitted');
  });

  it('terminates the worker on stop({ terminate: true })', async () => {
    const owner = curveKeyPair();
    const worker = await serve([owner]);
    const node = await attach(worker, owner);
    const info = await node.stop({ terminate: true });
    expect(info).toMatchObject({ exitCode: 0, signal: null, stopped: true, fault: null });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  });

  it('rejects the calls in flight with ERR_CNODE_DISCONNECTED when the served worker is killed, and replays nothing', async () => {
    const owner = curveKeyPair();
    const worker = await serve([owner]);
    const node = await attach(worker, owner, { heartbeat: { interval: 200, timeout: 1000 } });
    const exits: ExitInfo[] = [];
    node.on('exit', (info) => exits.push(info));
    const inFlight = [1, 2, 3].map(() => node.call({ op: 'sleep', ms: 10_000 }, { timeout: 20_000 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const began = performance.now();
    worker.child.kill('SIGKILL');
    for (const call of inFlight) {
      const error = await rejection(call);
      expect(error.code).toBe('ERR_CNODE_DISCONNECTED');
      expect(error.message).toBe(`cnode ${node.name} lost its connection`);
    }
    expect(performance.now() - began).toBeLessThan(1000);
    const info = await node.exited;
    expect(info).toMatchObject({ exitCode: null, signal: null, stopped: false });
    expect(info.fault?.code).toBe('ERR_CNODE_DISCONNECTED');
    expect((await rejection(node.call('after'))).code).toBe('ERR_CNODE_DISCONNECTED');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exits).toEqual([info]);
  });

  it('finds a stopped served worker by its heartbeat: ERR_CNODE_DISCONNECTED within the timeout', async () => {
    const owner = curveKeyPair();
    const worker = await serve([owner]);
    const heartbeat = { interval: 200, timeout: 1000 };
    const node = await attach(worker, owner, { heartbeat });
    expect(await node.call('before')).toBe('before');
    worker.child.kill('SIGSTOP');
    const began = performance.now();
    const error = await rejection(node.call('in flight', { timeout: 10_000 }));
    expect(error.code).toBe('ERR_CNODE_DISCONNECTED');
    expect(performance.now() - began).toBeLessThan(heartbeat.timeout + heartbeat.interval);
    worker.child.kill('SIGCONT');
  });

  it('refuses bad options, naming the option and the value, and never echoes a secret key', async () => {
    const owner = curveKeyPair();
    const good = { endpoint: 'tcp://127.0.0.1:5555', serverKey: curveKeyPair().publicKey, ...owner };
    const refused = async (options: Record<string, unknown>) => {
      const error = await rejection(CNode.attach({ ...good, ...options } as AttachOptions));
      expect(error.code).toBe('ERR_CNODE_INVALID_OPTION');
      return error.message;
    };
    expect(await refused({ endpoint: 'ipc:///tmp/x' })).toBe(
      'Expected the `endpoint` option to be `tcp://<host>:<port>`, got `"ipc:///tmp/x"` (string)',
    );
    expect(await refused({ endpoint: 'tcp://127.0.0.1' })).toContain('got `"tcp://127.0.0.1"` (string)');
    expect(await refused({ endpoint: 'tcp://*:5555' })).toContain('got `"tcp://*:5555"` (string)');
    expect(await refused({ serverKey: 'short' })).toBe(
      'Expected the `serverKey` option to be a CurveZMQ key in Z85, 40 characters (`npx cnode keygen`), got `"short"` (string)',
    );
    expect(await refused({ publicKey: undefined })).toContain('Expected the `publicKey` option to be a CurveZMQ key');
    const secret = `${owner.secretKey.slice(0, 39)}~`;
    const message = await refused({ secretKey: secret });
    expect(message).toBe(
      'Expected the `secretKey` option to be a CurveZMQ key in Z85, 40 characters (`npx cnode keygen`), got a string of 40 characters (not shown)',
    );
    expect(message).not.toContain(secret.slice(0, 10));
    expect(await refused({ publicKey: good.serverKey })).toContain("this owner's own key, not the worker's");
    expect(await refused({ executable: '/bin/true' })).toContain('Unknown option `executable`');
    expect(await refused({ heartbeat: { interval: 0 } })).toContain('`heartbeat.interval`');
  });
});

describe('npx cnode keygen', () => {
  it('prints a fresh CurveZMQ key pair as one line of JSON, which a served worker and its owner can use', async () => {
    const run = () => promisify(execFile)(process.execPath, [path.join(root, 'bin', 'cnode.js'), 'keygen']);
    const { stdout } = await run();
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const server = JSON.parse(stdout) as KeyPair;
    expect(Object.keys(server)).toEqual(['publicKey', 'secretKey']);
    for (const key of Object.values(server)) expect(key).toMatch(/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/);
    const owner = JSON.parse((await run()).stdout) as KeyPair;
    expect(owner.publicKey).not.toBe(server.publicKey);
    const worker = await serve([owner], server);
    const node = await attach(worker, owner);
    expect(await node.call('keyed')).toBe('keyed');
    for (const args of [['--help'], ['keygen', '--help']]) {
      const help = await promisify(execFile)(process.execPath, [path.join(root, 'bin', 'cnode.js'), ...args]);
      expect(help.stdout).toContain('cnode keygen');
      expect(help.stdout).toContain('{"publicKey":"...","secretKey":"..."}');
    }
  });
});
