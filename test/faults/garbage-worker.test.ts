// Fault model: a worker that runs but sends garbage, against the owner's rules (docs/protocol.md
// section 2; src/channel.ts and src/cnode.ts). The worker is test/fixtures/fake-worker.js, a real
// process on a real ZeroMQ socket that breaks the protocol as its mode says. The owner must
// survive, fail what waits at once with ERR_CNODE_PROTOCOL (not at callTimeout), kill a worker it
// cannot trust, count what it dropped, and leave no process, directory or descriptor behind.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CNode, type CNodeError, type CNodeOptions } from '../../src/index.js';
import { MAX_SIDES, PROTOCOL_VERSION } from '../../src/protocol.js';
import { expectNothingLeft, isAlive, liveChildren, openDescriptors, rejection, root, waitUntil } from '../helpers.js';

const fakeWorker = path.join(root, 'test/fixtures/fake-worker.js');

/** Far longer than a garbage answer may take to fail a call: a failure that waits for it is wrong. */
const callTimeout = 5000;

/** Options for the fake worker in `mode`, with its output collected. */
function fake(mode: string, extra: Partial<CNodeOptions> & { variant?: string } = {}) {
  const { variant, ...rest } = extra;
  const stdout: string[] = [];
  const stderr: string[] = [];
  let readyAt = 0;
  const options: CNodeOptions = {
    executable: fakeWorker,
    transport: 'ipc', // it speaks ZeroMQ (zeromq.js)
    args: variant ? [mode, variant] : [mode],
    callTimeout,
    onStdout: (line) => {
      if (line.startsWith('pid ')) readyAt = Date.now();
      stdout.push(line);
    },
    onStderr: (line) => stderr.push(line),
    ...rest,
  };
  /** The fake worker's pid, from the `pid <n>` line it prints just before its ready line. */
  const pid = () => Number(stdout.find((line) => line.startsWith('pid '))?.slice(4));
  /** When the pid line came: the handshake starts at once after it. */
  const ready = () => readyAt;
  return { options, stdout, stderr, pid, ready };
}

/** Lets a pending process.emitWarning (it emits on the next tick) and late frames arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** `promise`, or a failure naming `what` when it takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

let descriptors = 0;
beforeAll(async () => {
  // Warm up: zeromq opens its context (and its descriptors) once, with the first socket.
  const node = await CNode.start(fake('echo').options);
  await expect(node.call({ hello: 'fake' })).resolves.toEqual({ hello: 'fake' });
  await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
  await waitUntil(() => liveChildren().length === 0, 1000, 'the warm-up worker is gone');
  descriptors = openDescriptors();
});

// Drop warnings, by test: none unless the test says otherwise (a violation is an error, a late
// reply is normal), and never more than one per node.
let warnings: Error[] = [];
let expectedWarnings = 0;
const onWarning = (warning: Error) => {
  if ((warning as Error & { code?: string }).code === 'CNODE_DROPPED_FRAME') warnings.push(warning);
};
beforeEach(() => {
  warnings = [];
  expectedWarnings = 0;
  process.on('warning', onWarning);
});

afterEach(async () => {
  await settle();
  process.off('warning', onWarning);
  expect(warnings).toHaveLength(expectedWarnings);
  // Sockets and pipes close a moment after the exit is reported; a leak never does.
  await expectNothingLeft({ descriptors, withinMs: 2000 });
});

afterAll(() => {
  expect(openDescriptors()).toBeLessThanOrEqual(descriptors);
});

describe('a worker that sends garbage during the handshake', () => {
  it('random bytes for WELCOME: start() fails with ERR_CNODE_PROTOCOL at once and leaves nothing', async () => {
    const { options, pid, ready } = fake('random-welcome', { readyTimeout: 5000 });
    const error = await rejection(CNode.start(options));
    expect(ready()).toBeGreaterThan(0);
    expect(Date.now() - ready()).toBeLessThan(1000); // not readyTimeout, which the handshake may also take
    expect(error.code).toBe('ERR_CNODE_PROTOCOL');
    expect(error.message).toMatch(
      /broke the protocol during the handshake: it sent a message of \d+ bytes that (cannot be decoded|holds something other than frames)/,
    );
    expect(pid()).toBeGreaterThan(0);
    expect(isAlive(pid())).toBe(false);
    await settle();
    expect(warnings).toEqual([]);
  });

  it('a WELCOME of an older protocol: start() fails saying which version it speaks', async () => {
    const { options, pid } = fake('version-2');
    const error = await rejection(CNode.start(options));
    expect(error.code).toBe('ERR_CNODE_PROTOCOL');
    expect(error.message).toContain(`speaks protocol version 2; this library speaks ${PROTOCOL_VERSION}`);
    expect(isAlive(pid())).toBe(false);
    await settle();
  });
});

/**
 * Starts the fake worker in `mode`, which answers its first call with a frame that breaks the
 * protocol and leaves the other calls unanswered, and checks what the owner makes of it: three
 * pending calls fail at once with one ERR_CNODE_PROTOCOL saying what was sent, the worker is
 * killed, later calls fail the same way, and one frame is counted as dropped.
 */
async function expectViolation(mode: string, says: RegExp, variant?: string): Promise<void> {
  const node = await CNode.start(fake(mode, { variant }).options);
  const started = Date.now();
  const errors = await Promise.all([
    rejection(node.call('first')),
    rejection(node.call('second')),
    rejection(node.call('third')),
  ]);
  expect(Date.now() - started, variant).toBeLessThan(1000); // not callTimeout
  const [error] = errors;
  expect(error.code, variant).toBe('ERR_CNODE_PROTOCOL');
  expect(error.message).toMatch(says);
  expect(error.message).toContain('it was killed');
  expect(
    errors.every((other) => other === error),
    variant,
  ).toBe(true); // pending calls all fail with the reason
  const info = await within(node.exited, 2000, 'the exit of the killed worker');
  expect(info, variant).toMatchObject({ node: node.name, exitCode: null, signal: 'SIGKILL', stopped: false });
  expect(info.fault, variant).toBe(error);
  expect(await rejection(node.call('later')), variant).toBe(error); // later calls too, without a worker to ask
  await expect(node.send('later'), variant).rejects.toBe(error);
  expect(node.droppedFrames, variant).toBe(1); // one frame, however many bytes or parts
  expect(isAlive(node.pid), variant).toBe(false);
  await expect(node.stop(), variant).resolves.toBe(info);
}

/** Valid MessagePack that is no frame a worker may send: the fake worker's NOT_FRAMES. */
const notFrames = [
  'map',
  'unknown-kind',
  'string-id',
  'short-reply',
  'fail-without-reason',
  'fail-code-number',
  'fail-code-control',
  'fail-code-too-long',
  'fail-code-empty',
  'call-from-worker',
];

describe('a worker that sends garbage after the handshake: killed, every call fails at once, one frame counted', () => {
  it('welcome-then-random: random bytes for a reply', async () => {
    await expectViolation(
      'welcome-then-random',
      new RegExp(
        String.raw`it sent a message of \d+ bytes that (cannot be decoded|holds something other than frames of protocol version ${PROTOCOL_VERSION})`,
      ),
    );
  });

  it('truncated: a reply cut in the middle', async () => {
    await expectViolation('truncated', /it sent a message of \d+ bytes that cannot be decoded/);
  });

  it(`not-a-frame: MessagePack that is no frame (${notFrames.join(', ')})`, async () => {
    const says = new RegExp(
      String.raw`it sent a message of \d+ bytes that holds something other than frames of protocol version ${PROTOCOL_VERSION}`,
    );
    await Promise.all(notFrames.map((variant) => expectViolation('not-a-frame', says, variant)));
  });

  it('multipart: a reply with more side parts than a message may have', async () => {
    const parts = 1 + MAX_SIDES + 1; // the frames, the most side parts, and one more
    await expectViolation(
      'multipart',
      new RegExp(
        String.raw`it sent a message of ${parts} parts \(\d+ bytes\); version ${PROTOCOL_VERSION} messages have at most ${parts - 1}`,
      ),
    );
  });

  it('bad-side: a reply referring to a side part the message does not have', async () => {
    await expectViolation(
      'bad-side',
      /it sent a message of \d+ bytes that cannot be decoded \(a side-part reference to part 2 of a message with 2 parts/,
    );
  });

  it('second-welcome: a WELCOME after the handshake', async () => {
    await expectViolation('second-welcome', /it sent a second WELCOME/);
  });

  it('oversize: a reply over maxMessageSize costs the worker its connection; it is killed after the grace', async () => {
    const node = await CNode.start(fake('oversize', { maxMessageSize: 1024 }).options);
    const started = Date.now();
    const errors = await Promise.all([rejection(node.call('big')), rejection(node.call('bigger'))]);
    expect(Date.now() - started).toBeLessThan(250 + 1000); // the disconnect grace, then at once
    const [error] = errors;
    expect(error.code).toBe('ERR_CNODE_PROTOCOL');
    expect(error.message).toContain('maxMessageSize (1024 bytes)');
    expect(errors[1]).toBe(error);
    const info = await within(node.exited, 2000, 'the exit of the killed worker');
    expect(info).toMatchObject({ exitCode: null, signal: 'SIGKILL', stopped: false });
    expect(info.fault).toBe(error);
    expect(await rejection(node.call('later'))).toBe(error);
    expect(node.droppedFrames).toBe(0); // libzmq refused the frame: it never reached the owner
    expect(isAlive(node.pid)).toBe(false);
  });
});

describe('a worker that sends frames the owner drops, and loses nothing else', () => {
  it("other-node: a reply signed with another node's name fails that call only", async () => {
    const node = await CNode.start(fake('other-node').options);
    const started = Date.now();
    const error: CNodeError = await rejection(node.call('first'));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.code).toBe('ERR_CNODE_PROTOCOL');
    expect(error.message).toContain('"someone@else"');
    await expect(node.call({ next: 1 })).resolves.toEqual({ next: 1 });
    await expect(Promise.all([node.call('a'), node.call('b')])).resolves.toEqual(['a', 'b']);
    expect(node.droppedFrames).toBe(0); // not dropped: it answered a pending call, wrongly
    expect(isAlive(node.pid)).toBe(true);
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
    await settle();
    expect(warnings).toEqual([]);
  });

  it('end-marks: the owner answers one end mark only, however many a worker sends', async () => {
    const node = await CNode.start(fake('end-marks').options);
    await expect(node.call('first')).resolves.toBe(0);
    // By now the first 500 end marks have come; one answer went back, before the next call.
    await expect(node.call('second')).resolves.toBe(1);
    await expect(node.call('third')).resolves.toBe(1);
    expect(isAlive(node.pid)).toBe(true);
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
    await settle();
    expect(warnings).toEqual([]);
  });

  it('unknown-id: a reply to no pending call is dropped and counted, without a warning; the right reply still resolves', async () => {
    const node = await CNode.start(fake('unknown-id').options);
    await expect(node.call('one')).resolves.toBe('one');
    await expect(node.call({ two: 2 })).resolves.toEqual({ two: 2 });
    await expect(Promise.all([node.call(3), node.call(4)])).resolves.toEqual([3, 4]);
    expect(node.droppedFrames).toBe(4); // one stray reply before each right one
    expect(isAlive(node.pid)).toBe(true);
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
    await settle();
    expect(warnings).toEqual([]);
  });

  it("info-spam: 100 messages signed with another node's name are dropped, counted, and reported once", async () => {
    const node = await CNode.start(fake('info-spam').options);
    const messages: unknown[] = [];
    node.on('message', (message) => messages.push(message));
    await expect(node.call('after the spam')).resolves.toBe('after the spam');
    expect(node.droppedFrames).toBe(100);
    await expect(node.call('and again')).resolves.toBe('and again');
    expectedWarnings = 1;
    await waitUntil(() => warnings.length > 0, 1000, 'the warning is emitted');
    await settle();
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain('"someone@else"');
    expect(messages).toEqual([]); // none reached the user
    expect(node.droppedFrames).toBe(100);
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
  });
});
