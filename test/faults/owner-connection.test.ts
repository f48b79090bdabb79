// The owner's connection closing while the owner lives on (its socket closed, its stdin still
// open): the worker's socket monitor is the watch that sees it. In a file of its own: run after
// the tests of test/faults/owner-death.test.ts in the same process (they end worker_threads that
// used zeromq.js, among other things), the Dealer closed here was never seen to disconnect, with
// the worker built before and after it changed how it polls its monitor. Not explained yet.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../src/protocol.js';
import { freshCookie, HandOwner, launchByHand, launchLine } from '../by-hand.js';
import { isAlive, waitUntil } from '../helpers.js';

describe("the owner's connection", () => {
  it('closing ends the worker though its stdin stays open: the socket monitor sees it', async () => {
    // Launched by hand, as the owner would, so that this test keeps the worker's stdin open.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-test-'));
    fs.chmodSync(dir, 0o700);
    const cookie = freshCookie();
    const worker = launchByHand('echo', {
      line: launchLine({
        CNODE_COOKIE: cookie,
        CNODE_TRANSPORT: 'ipc',
        CNODE_IPC_DIR: dir,
        CNODE_OWNER_PID: String(process.pid),
      }),
    });
    try {
      const owner = new HandOwner(await worker.ready);
      await expect(owner.hello(cookie, PROTOCOL_VERSION)).resolves.toEqual([
        2,
        PROTOCOL_VERSION,
        'by_hand@localhost',
        worker.pid,
      ]);
      owner.close();
      await waitUntil(() => !isAlive(worker.pid), 1000, 'the worker ends when its owner closes the connection');
      expect(worker.child.stdin!.writableEnded).toBe(false); // not by stdin's EOF
    } finally {
      await worker.end();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
