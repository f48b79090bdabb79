// startup: from the CNode.start() call until it resolves (ready line, connect, handshake), over
// 'local' (the bridge) and 'ipc' (bridge (zmq)), against spawning build/bin/echo by hand, with
// the argv and environment the library gives it for 'ipc', until its first stdout line (its
// "ready"): the process's own start-up, which every transport pays. Teardown is not timed.
// Target: the bridge's median at most 1.5× the bare spawn's.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CNode } from '../../dist/index.js';
import { BRIDGES } from '../contenders/bridge.js';
import { firstLine } from '../contenders/child.js';
import { bin } from '../paths.js';
import { interleave } from '../rounds.js';
import { compareToBridge, judge, makeRow } from '../rows.js';
import { summarize } from '../stats.js';

const ROUNDS = 50;
const WARMUP = 3;

const bridges = BRIDGES.map(({ name, transport }) => ({
  name,
  async once() {
    const start = performance.now();
    const node = await CNode.start({ executable: bin('echo'), transport });
    const ms = performance.now() - start;
    await node.stop();
    return ms;
  },
}));

let spawned = 0;

// What src/launch/local.ts does up to the ready line, and nothing more: a fresh 0700 socket
// directory, a cookie, the four standard arguments, the launch line on stdin, a process group.
const bareSpawn = {
  name: 'bare spawn',
  async once() {
    const start = performance.now();
    const host = os.hostname();
    const alive = `bench_${process.pid}_${++spawned}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cnode-bench-${process.pid}-`));
    const child = spawn(bin('echo'), [host, alive, `${alive}@${host}`, '1'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const settings = {
      CNODE_COOKIE: randomBytes(32).toString('hex'),
      CNODE_TRANSPORT: 'ipc',
      CNODE_OWNER_PID: String(process.pid),
      CNODE_MAX_MESSAGE_SIZE: String(64 * 1024 * 1024),
      CNODE_IPC_DIR: dir,
    };
    child.stdin.write(
      `${Object.entries(settings)
        .map(([name, value]) => `${name}=${value}`)
        .join(' ')}\n`,
    );
    try {
      const line = await firstLine(child, 5000);
      const ms = performance.now() - start;
      if (!line.startsWith('ready ')) throw new Error(`build/bin/echo printed ${JSON.stringify(line)}`);
      return ms;
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default {
  name: 'startup',
  summary: `CNode.start() until resolved, over 'local' and 'ipc', vs spawning build/bin/echo until its ready line, ${ROUNDS} each, interleaved`,
  async run() {
    const contenders = [...bridges, bareSpawn];
    const results = await interleave(contenders, {
      rounds: ROUNDS,
      warmup: async (c) => {
        for (let i = 0; i < WARMUP; i++) await c.once();
      },
      measure: (c) => c.once(),
    });
    const rows = contenders.map((c) =>
      makeRow('startup', 'to ready', c.name, { unit: 'ms', ...summarize(results.get(c.name)) }),
    );
    compareToBridge(rows, 'median');
    const bare = rows.find((r) => r.contender === bareSpawn.name);
    judge(bare, {
      goal: 'bridge median ≤ 1.5× bare spawn',
      value: bare.ratio,
      op: '<=',
      threshold: 1.5,
      unit: '×',
    });
    return { rows };
  },
};
