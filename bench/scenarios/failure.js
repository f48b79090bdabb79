// failure: how fast each side learns that the other is gone, over 'local' (the bridge, which
// the targets judge) and 'ipc' (bridge (zmq), reported).
//  (a) worker killed: 1,000 calls in flight to a bridge node, then SIGKILL to the worker; timed
//      from process.kill() until the last of the calls has rejected. Target: p99 ≤ 20 ms.
//  (b) owner killed: a Node owner (bench/workers/owner.js) with a connected worker is SIGKILLed;
//      timed until the worker has ended (its /proc entry gone, or a zombie: PID 1 here reaps
//      orphans only every 1–2 s). Target: p99 ≤ 100 ms.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { CNode } from '../../dist/index.js';
import { BRIDGES } from '../contenders/bridge.js';
import { firstLine } from '../contenders/child.js';
import { benchDir, bin } from '../paths.js';
import { PAYLOAD } from '../rounds.js';
import { judge, makeRow } from '../rows.js';
import { summarize } from '../stats.js';

const KILL_REPEATS = 30;
const IN_FLIGHT = 1000;
const OWNER_REPEATS = 20;
const GIVE_UP_MS = 5000;

/** ms from SIGKILL of the worker until the last of IN_FLIGHT calls rejected, and how many resolved. */
async function killWithCallsInFlight(transport) {
  const node = await CNode.start({ executable: bin('echo'), transport });
  let resolved = 0;
  let lastRejection = 0;
  const calls = [];
  for (let i = 0; i < IN_FLIGHT; i++) {
    calls.push(
      node.call(PAYLOAD).then(
        () => resolved++,
        () => (lastRejection = performance.now()),
      ),
    );
  }
  const start = performance.now();
  process.kill(node.pid, 'SIGKILL');
  await Promise.all(calls);
  await node.stop(); // already exited: resolves with its exit information
  return { ms: lastRejection - start, resolved };
}

/** The state letter of a process (R, S, Z, ...), or undefined once it is gone. */
function processState(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}

const tick = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms) => Atomics.wait(tick, 0, 0, ms);

/** ms from SIGKILL of an owner until its worker has ended (polled every 1 ms). */
async function killOwner(transport) {
  const owner = spawn(process.execPath, [path.join(benchDir, 'workers', 'owner.js'), transport], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ownerExited = once(owner, 'exit');
  const workerPid = Number(await firstLine(owner, 10_000));
  if (!Number.isInteger(workerPid) || workerPid <= 0) throw new Error(`owner.js printed no pid`);
  const start = performance.now();
  owner.kill('SIGKILL');
  let ms;
  for (;;) {
    const state = processState(workerPid);
    ms = performance.now() - start;
    if (state === undefined || state === 'Z') break;
    if (ms > GIVE_UP_MS) {
      process.kill(-workerPid, 'SIGKILL'); // leave nothing behind, and report the miss
      break;
    }
    sleepMs(1);
  }
  await ownerExited;
  return ms;
}

/** Both measures for one transport: (a) and (b)'s rows, the bridge's judged. */
async function measure({ name, transport }) {
  await killWithCallsInFlight(transport); // warm-up
  const killed = [];
  let resolvedCalls = 0;
  for (let i = 0; i < KILL_REPEATS; i++) {
    const { ms, resolved } = await killWithCallsInFlight(transport);
    killed.push(ms);
    resolvedCalls += resolved;
  }
  const rowA = makeRow('failure', `worker SIGKILLed, ${IN_FLIGHT} calls in flight: all rejected`, name, {
    unit: 'ms',
    ...summarize(killed),
    note: `${resolvedCalls} of ${KILL_REPEATS * IN_FLIGHT} calls were answered before the worker died`,
  });
  const orphaned = [];
  for (let i = 0; i < OWNER_REPEATS; i++) orphaned.push(await killOwner(transport));
  const rowB = makeRow('failure', 'owner SIGKILLed: its worker gone', name, { unit: 'ms', ...summarize(orphaned) });
  if (name === 'bridge') {
    judge(rowA, {
      goal: 'p99 ≤ 20 ms from SIGKILL to the last rejection',
      value: rowA.p99,
      op: '<=',
      threshold: 20,
      unit: ' ms',
    });
    judge(rowB, {
      goal: 'p99 ≤ 100 ms from the owner’s SIGKILL to the worker gone',
      value: rowB.p99,
      op: '<=',
      threshold: 100,
      unit: ' ms',
    });
  }
  return [rowA, rowB];
}

export default {
  name: 'failure',
  summary: `(a) SIGKILL a bridge worker with ${IN_FLIGHT} calls in flight, ${KILL_REPEATS}×; (b) SIGKILL the owner of a worker, ${OWNER_REPEATS}×; over 'local' and 'ipc'`,
  async run() {
    const rows = [];
    for (const bridge of BRIDGES) rows.push(...(await measure(bridge)));
    return { rows };
  },
};
