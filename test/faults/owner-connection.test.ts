// The owner's connection closing while the owner lives on (its socket closed, its stdin still
// open): the worker's socket monitor is the watch that sees it. In a file of its own: run after
// the tests of test/faults/owner-death.test.ts in the same process (they end worker_threads that
// used zeromq.js, among other things), the Dealer closed here was never seen to disconnect, with
// the worker built before and after it changed how it polls its monitor. Not explained yet.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { Dealer } from 'zeromq';
import { binary, isAlive, waitUntil } from '../helpers.js';

describe("the owner's connection", () => {
  it('closing ends the worker though its stdin stays open: the socket monitor sees it', async () => {
    // Launched by hand, as the owner would, so that this test keeps the worker's stdin open.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-test-'));
    fs.chmodSync(dir, 0o700);
    const cookie = randomBytes(32).toString('hex');
    const child = spawn(binary('echo'), ['localhost', 'by_hand', 'by_hand@localhost', '1'], {
      env: {
        ...process.env,
        CNODE_COOKIE: cookie,
        CNODE_TRANSPORT: 'ipc',
        CNODE_IPC_DIR: dir,
        CNODE_OWNER_PID: String(process.pid),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(readline.createInterface({ input: child.stdout! }), 'line')) as [string];
      const socket = new Dealer({ linger: 0, receiveTimeout: 2000 });
      socket.connect(line.replace(/^ready /, ''));
      const packr = new Packr({ useRecords: false });
      await socket.send(packr.pack([1, 2, cookie])); // HELLO, docs/protocol.md
      expect(packr.unpack((await socket.receive())[0])).toEqual([2, 2, 'by_hand@localhost']);
      socket.close();
      await waitUntil(() => !isAlive(child.pid!), 1000, 'the worker ends when its owner closes the connection');
      expect(child.stdin!.writableEnded).toBe(false); // not by stdin's EOF
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
