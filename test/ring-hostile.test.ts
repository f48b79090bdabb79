// Fault model: a worker on the ring transport (`transport: 'local'`, docs/protocol.md section 10)
// that breaks the ring's format, sends descriptors it should not, or abuses the memory it
// shares, against the owner's end (addon/ring.cc, src/connection/ring.ts). The worker is
// test/workers/ring_vandal.c, a real process with a ring transport of its own, built on ring.c,
// that does the handshake and then misbehaves as its mode says. The owner must refuse it all:
// fail the call at once with ERR_CNODE_PROTOCOL saying what was wrong, kill the worker and report
// its exit, never take a signal or block itself, and leave no process, ring or descriptor behind.
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { CNode, type CNodeError, type CNodeOptions, type ExitInfo } from '../src/index.js';
import {
  binary,
  expectNothingLeft,
  isAlive,
  liveChildren,
  memfdDescriptors,
  openDescriptors,
  rejection,
  startedNodes,
  waitUntil,
} from './helpers.js';

/** How many vandals of each mode run, at once: a race in the owner shows in some of them. */
const ROUNDS = 3;

/** Far longer than refusing a worker may take: a failure that waits for it is wrong. */
const callTimeout = 5000;

/** Options for the vandal in `mode` (then its variants), with its stderr collected. */
function vandal(mode: string, variants: string[] = [], extra: Partial<CNodeOptions> = {}) {
  const stderr: string[] = [];
  const options: CNodeOptions = {
    executable: binary('ring_vandal'),
    transport: 'local',
    args: [mode, ...variants],
    callTimeout,
    stopTimeout: 1000, // a vandal ignores STOP while it waits to be killed
    onStderr: (line) => stderr.push(line),
    ...extra,
  };
  return { options, stderr };
}

/** Runs `check` ROUNDS times at once. */
async function rounds(check: () => Promise<void>, times = ROUNDS): Promise<void> {
  await Promise.all(Array.from({ length: times }, check));
}

/** `promise`, or a failure naming `what` when it takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Blocks this thread, as a busy owner would be. */
const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

let descriptors = 0;
beforeAll(async () => {
  // descriptorBaseline('local') starts build/bin/echo over the ring, which cannot work before
  // the worker's ring transport (cnode/src/transport_ring.c) is in; the vandal's echo mode, a
  // correct worker, warms up instead (the addon loaded, its first ring made and closed).
  const node = await CNode.start(vandal('echo').options);
  await expect(node.call('warm')).resolves.toBe('warm');
  await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, signal: null, stopped: true, fault: null });
  await waitUntil(() => liveChildren().length === 0, 1000, 'the warm-up vandal is gone');
  descriptors = openDescriptors();
});

// Every node is stopped after its test; then nothing may be left: no process, no ring memfd or
// mapping, no descriptor over the baseline (pipes and sockets close a moment after an exit).
const nodes = startedNodes({ after: () => expectNothingLeft({ descriptors, withinMs: 2000 }) });

interface Violation {
  /** What the message says was wrong. */
  says: RegExp;
  /** Done after the first call is sent, to make the owner find the fault. */
  provoke?: (node: CNode) => Promise<void>;
  /** Frames counted as dropped (default 1); null: not checked. */
  dropped?: number | null;
}

/**
 * Starts a vandal, makes a call, and checks what the owner makes of what it then does: the call
 * fails at once with one ERR_CNODE_PROTOCOL that says what was wrong, the worker is killed and
 * its 'exit' reported once with that fault, later calls fail the same way, nothing was delivered.
 */
async function expectViolation(
  { options }: ReturnType<typeof vandal>,
  { says, provoke, dropped = 1 }: Violation,
): Promise<void> {
  const node = await nodes.start(options);
  const exits: ExitInfo[] = [];
  const messages: unknown[] = [];
  node.on('exit', (info) => exits.push(info));
  node.on('message', (message) => messages.push(message));
  const started = Date.now();
  const call = rejection(node.call('go'));
  await provoke?.(node);
  const error: CNodeError = await call;
  expect(Date.now() - started).toBeLessThan(1000); // not callTimeout
  expect(error.code).toBe('ERR_CNODE_PROTOCOL');
  expect(error.node).toBe(node.name);
  expect(error.message).toContain(`cnode ${node.name} broke the protocol`);
  expect(error.message).toMatch(says);
  expect(error.message).toContain('it was killed');
  const info = await within(node.exited, 2000, 'the exit of the killed worker');
  expect(info).toMatchObject({ node: node.name, exitCode: null, signal: 'SIGKILL', stopped: false });
  expect(info.fault).toBe(error);
  expect(exits).toEqual([info]);
  expect(isAlive(node.pid)).toBe(false);
  expect(await rejection(node.call('later'))).toBe(error);
  expect(messages).toEqual([]);
  if (dropped !== null) expect(node.droppedFrames).toBe(dropped);
}

/** What the owner says of random bytes as a record: whichever check of ring.c's reader (cnode_ring_peek) they fail first. */
const OUT_OF_FORMAT =
  /it sent (a record|an inline part|a part neither|more parts by descriptor|a wrap mark|two wrap marks)/;

describe('a worker that breaks the ring: killed, and the call fails at once with ERR_CNODE_PROTOCOL', () => {
  it('garbage: random bytes published as a record', async () => {
    await rounds(() => expectViolation(vandal('garbage'), { says: OUT_OF_FORMAT }));
  });

  it('garbage-frames: a well-formed record whose frames are random bytes', async () => {
    const says = /it sent a message of 64 bytes that (cannot be decoded|holds something other than frames)/;
    await rounds(() => expectViolation(vandal('garbage-frames'), { says }));
  });

  it('backwards: head run back below what the owner has read', async () => {
    await rounds(() => expectViolation(vandal('backwards'), { says: /it sent a head that ran backwards/ }));
  });

  it('beyond: head more than a ring ahead of the tail', async () => {
    await rounds(() => expectViolation(vandal('beyond'), { says: /it sent a head more than a ring ahead/ }));
  });

  // Each reaches a different check of cnode_ring_peek (ring_vandal.c says which), and the owner
  // names it.
  it.each([
    ['short', 'less than a record header published', 'a record shorter than its header'],
    ['bad-wrap', 'a wrap mark with nothing after it', 'a wrap mark with no record after it'],
    ['overrun', 'a record longer than what is published', 'a record longer than what was published'],
    ['too-big', 'a record over a quarter of the ring', 'a record over a quarter of the ring'],
    ['straddle', "a record across the data's end, after a ring of PONGs", "a record across the ring's end"],
    ['zero-parts', 'a record of no parts', 'a record of no parts or over 65'],
    ['many-parts', 'a record of 66 parts', 'a record of no parts or over 65'],
    ['many-fds', 'a record of 82 descriptors', 'a record of over 81 descriptors'],
    ['bad-how', 'a part neither inline nor by descriptor', 'a part neither inline nor by descriptor'],
    ['part-overflow', 'an inline part longer than its record', "an inline part past its record's end"],
    ['fd-uncounted', 'a part by descriptor in a record of none', 'more parts by descriptor than descriptors'],
    [
      'misaligned',
      'a size no multiple of 8, whose padding runs past the record',
      "an inline part past its record's end",
    ],
  ])('bad-record %s: %s', async (variant, _what, says) => {
    const options = { ringSize: 16384 }; // straddle fills the ring first
    await rounds(() =>
      expectViolation(vandal('bad-record', [variant], options), { says: new RegExp(`it sent ${says};`) }),
    );
  });

  // The owner reads the tail of its own ring only when it looks full: calls of 3000 bytes in
  // turns of their own fill a 16 KiB ring that the vandal stopped reading.
  const fillOwnersRing = async (node: CNode) => {
    await turn();
    for (let i = 0; i < 12; i++) {
      node.call('y'.repeat(3000)).catch(() => {}); // each fails with the fault
      await turn();
    }
  };

  it("tail-backwards: the owner's ring's tail moved back once the owner waits for room", async () => {
    const violation = {
      says: /it sent a ring index out of bounds \(a tail that ran backwards\)/,
      provoke: fillOwnersRing,
    };
    await rounds(() => expectViolation(vandal('tail-backwards', [], { ringSize: 16384 }), violation));
  });

  it("tail-beyond: the owner's ring's tail past anything the owner wrote", async () => {
    const violation = { says: /it sent a ring index out of bounds \(a tail past the head\)/, provoke: fillOwnersRing };
    await rounds(() => expectViolation(vandal('tail-beyond', [], { ringSize: 16384 }), violation));
  });

  it('shrink-segment: the worker can neither shrink, grow nor reseal the segment', async () => {
    await rounds(async () => {
      const node = await nodes.start(vandal('shrink-segment').options);
      await expect(node.call('go')).resolves.toBe('EPERM EPERM EPERM');
      await expect(node.call({ still: 'there' })).resolves.toEqual({ still: 'there' });
      await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
    });
  });
});

describe('a worker that sends descriptors the owner must refuse: killed, never mapped', () => {
  // Were the part mapped, the owner's first touch after the worker cut it would be a SIGBUS.
  const UNMAPPABLE = /it sent a part whose memory cannot be taken safely/;

  it('unsealed: a part in an unsealed memfd, cut to 0 bytes 20 ms later', async () => {
    await rounds(() => expectViolation(vandal('unsealed'), { says: UNMAPPABLE }));
  });

  it('shrink-after: a part sealed against growing only, cut to 0 bytes 20 ms later', async () => {
    await rounds(() => expectViolation(vandal('shrink-after'), { says: UNMAPPABLE }));
  });

  it('short-part: a sealed memfd of 100 bytes for a part said to be 40000', async () => {
    await rounds(() => expectViolation(vandal('short-part'), { says: UNMAPPABLE }));
  });

  it('missing-fds: a record naming 3 descriptors it never sent', async () => {
    const says = /it sent a record naming 3 descriptors it did not send/;
    await rounds(() => expectViolation(vandal('missing-fds'), { says }));
  });

  it('fd-flood: 1053 descriptors on the lifeline that no record names are never taken', async () => {
    await rounds(async () => {
      const node = await nodes.start(vandal('fd-flood').options);
      await expect(node.call('go')).resolves.toBe('flooded');
      expect(openDescriptors()).toBeLessThan(descriptors + 100); // 1053 would show
      await expect(node.call([1, 2])).resolves.toEqual([1, 2]);
      await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
    });
  });

  it('fd-burst: 200 descriptors in one lifeline message, more than a record may have', async () => {
    const says = /it sent a message on its lifeline of no descriptors or more than 81/;
    await rounds(() => expectViolation(vandal('fd-burst'), { says }));
  });

  it('fd-none: a lifeline message without descriptors', async () => {
    const says = /it sent a message on its lifeline of no descriptors or more than 81/;
    await rounds(() => expectViolation(vandal('fd-none'), { says }));
  });

  it('oversize: a part by descriptor one byte over maxMessageSize', async () => {
    const says = /it sent a part of 1025 bytes, over maxMessageSize \(1024 bytes\)/;
    await rounds(() => expectViolation(vandal('oversize', [], { maxMessageSize: 1024 }), { says }));
  });

  it('oversize-inline: an inline REPLY over maxMessageSize', async () => {
    const says = /it sent a part of \d+ bytes, over maxMessageSize \(1024 bytes\)/;
    const options = { maxMessageSize: 1024, ringSize: 16384 };
    await rounds(() => expectViolation(vandal('oversize-inline', [], options), { says }));
  });

  it('extra-fds: descriptors beside a record that no part uses are closed, and the reply delivered', async () => {
    await rounds(async () => {
      const node = await nodes.start(vandal('extra-fds').options);
      await expect(node.call('go')).resolves.toBe('extra');
      await expect(node.call([1, 2])).resolves.toEqual([1, 2]);
      await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
    });
  });

  it('empty-parts: two side parts of 0 bytes by descriptor', async () => {
    await rounds(async () => {
      const node = await nodes.start(vandal('empty-parts').options);
      await expect(node.call('go')).resolves.toEqual([Buffer.alloc(0), Buffer.alloc(0)]);
      await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
    });
  });
});

describe('a worker that ends in the middle, or misbehaves after a valid reply', () => {
  it('half: half a record written, head never published, then SIGKILL: nothing is delivered', async () => {
    await rounds(async () => {
      const node = await nodes.start(vandal('half').options);
      const messages: unknown[] = [];
      node.on('message', (message) => messages.push(message));
      const error = await rejection(node.call('go'));
      expect(error.code).toBe('ERR_CNODE_EXITED');
      expect(error.message).toContain('was killed by SIGKILL with a call in flight');
      const info = await node.exited;
      expect(info).toMatchObject({ exitCode: null, signal: 'SIGKILL', stopped: false, fault: null });
      expect(messages).toEqual([]);
      expect(node.droppedFrames).toBe(0);
    });
  });

  it('reply-then-exit: a reply written just before the worker exits resolves the call', async () => {
    await rounds(async () => {
      const node = await nodes.start(vandal('reply-then-exit').options);
      await expect(node.call('go')).resolves.toBe('bye');
      await expect(node.exited).resolves.toMatchObject({ exitCode: 0, signal: null, stopped: false, fault: null });
    }, 5);
  });

  /** The vandal answers the call, then breaks the ring: the answer counts, the rest does not. */
  async function expectReplyThenViolation(variant: string[], says: RegExp): Promise<void> {
    const node = await nodes.start(vandal('valid-then-garbage', variant).options);
    await expect(node.call('go')).resolves.toBe('valid');
    const info = await within(node.exited, 2000, 'the exit of the killed worker');
    expect(info).toMatchObject({ exitCode: null, signal: 'SIGKILL', stopped: false });
    expect(info.fault?.code).toBe('ERR_CNODE_PROTOCOL');
    expect(info.fault?.message).toMatch(says);
    expect(await rejection(node.call('later'))).toBe(info.fault);
  }

  it('valid-then-garbage apart: a reply, then garbage after the owner has taken it', async () => {
    await rounds(() => expectReplyThenViolation(['apart'], OUT_OF_FORMAT));
  });

  // Ring::Deliver hands over the records before a refused one, then reports the violation.
  it('valid-then-garbage: a reply, then garbage, both taken in one wake: the reply still resolves', async () => {
    await expectReplyThenViolation([], OUT_OF_FORMAT);
  });

  it('valid-then-garbage refused: a reply, then a record the owner refuses, in one wake', async () => {
    await expectReplyThenViolation(['refused'], /it sent a record naming 3 descriptors it did not send/);
  });
});

describe('a worker that tries to stall, starve or exhaust the owner', () => {
  it("wake-flood: 300 ms of writes to the owner's eventfd do not starve its event loop", async () => {
    const node = await nodes.start(vandal('wake-flood').options);
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    try {
      await expect(node.call('go')).resolves.toBe('woken');
    } finally {
      clearInterval(ticker);
      delay.disable();
    }
    expect(ticks).toBeGreaterThanOrEqual(10); // of about 30
    expect(delay.max / 1e6).toBeLessThan(200);
    await expect(node.call('after')).resolves.toBe('after');
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
  });

  it('map-flood: 1100 x 64 parts by descriptor that nothing refers to, more mappings than vm.max_map_count', async () => {
    // The owner maps each part and unmaps it when its Buffer is collected: it must keep up.
    const node = await nodes.start(vandal('map-flood', ['1100'], { callTimeout: 20_000 }).options);
    await expect(node.call('go')).resolves.toBe('flooded');
    await expect(node.call('after')).resolves.toBe('after');
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
  });

  // The last close of a TCP socket set to linger, with data it cannot send, blocks for the linger
  // time: the owner turns lingering off before it closes a descriptor the worker sent
  // (cnode_ring_close_sent).
  it('linger-socket: a lingering TCP socket sent beside a reply does not block the owner', async () => {
    const node = await nodes.start(vandal('linger-socket', ['1']).options);
    const started = Date.now();
    await expect(node.call('go')).resolves.toBe('lingered');
    expect(Date.now() - started).toBeLessThan(250);
  });

  // The owner takes descriptors off the lifeline only as records name them: a correct worker that
  // sends many big binaries while the owner is busy (its listener blocks for 300 ms as the burst
  // starts) is not taken for a flood.
  it('legit-burst: 40 messages of 64 binaries by descriptor from a correct worker, to a busy owner', async () => {
    const node = await nodes.start(vandal('legit-burst', ['40', '64'], { ringSize: 65536 }).options);
    const messages: unknown[] = [];
    node.on('message', (message) => {
      if (messages.push(message) === 1) block(300);
    });
    await expect(node.call('go')).resolves.toBe('sent 40');
    expect(messages).toHaveLength(1 + 40);
  });

  // A part the worker could still write (not frozen: cnode_ring_freeze) is copied, so that a
  // Buffer the owner hands on never changes under it (src/connection/connection.ts).
  it('mutate-after: a binary the owner has received does not change when the worker writes its memfd', async () => {
    const node = await nodes.start(vandal('mutate-after').options);
    const reply = (await node.call('go')) as Buffer;
    expect(reply.subarray(0, 4).toString()).toBe('aaaa');
    await new Promise((resolve) => setTimeout(resolve, 150)); // the vandal writes it after 50 ms
    expect(reply.subarray(0, 4).toString()).toBe('aaaa');
  });
});

// The ring keeps an answered call's memfd to carry the next binary of its size to the same
// worker (addon/staged.cc); a worker that has sealed it against writing since must not make
// that next call fail: the owner sees the seal, drops the memfd, and makes a fresh one.
it('seal-parts: a worker that seals the memfds of answered calls gets each next binary in a fresh one', async () => {
  const node = await nodes.start(vandal('seal-parts').options);
  const heldParts = () =>
    memfdDescriptors('self', 'cnode-part').map(
      (held) => fs.statSync(`/proc/self/fd/${held.split(' ')[1].replace(':', '')}`).ino,
    );
  const seen = new Set<number>();
  for (let i = 0; i < 3; i++) {
    await expect(node.call({ i, big: Buffer.alloc(1 << 20, i) })).resolves.toBe('sealed');
    const [kept, ...more] = heldParts(); // this call's memfd, kept as a spare
    expect(kept).toBeDefined();
    expect(more).toEqual([]);
    expect(seen.has(kept)).toBe(false); // not the one sealed after the last call
    seen.add(kept);
    await new Promise((resolve) => setTimeout(resolve, 100)); // it seals 20 ms after answering
  }
  await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
});

it('after all of it, the owner still starts workers and calls them over fresh rings', async () => {
  await rounds(async () => {
    const node = await nodes.start(vandal('echo').options);
    const calls = Array.from({ length: 100 }, (_, i) => node.call({ i }));
    await expect(Promise.all(calls)).resolves.toEqual(Array.from({ length: 100 }, (_, i) => ({ i })));
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true, fault: null });
  });
});
