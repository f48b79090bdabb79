// idle: what a node costs while it is mostly idle. One call (a 64-byte string) every 100 ms:
//  - for 1 s, 5 rounds per node, the nodes interleaved (only one calls at a time, so the owner's
//    CPU in a round is that node's): the worker's CPU time over the second (median and worst
//    round), both sides' CPU per call (everything over the median second ÷ its 10 calls);
//  - for 5 s, once, both nodes at the same time: the worker's CPU per second and per call, to
//    show that nothing grows over a longer quiet (the owner's CPU is shared, so not given).
// Over 'local' (the bridge: its worker spins up to 50 µs after a message, adaptively, before it
// sleeps) and 'ipc' (bridge (zmq)); beside them, in the 1 s rounds, the driver alone (calls that
// answer at once, no node): the owner's CPU that is the bench's and not a node's.
// Target: the bridge's worker spends under 2 ms of CPU over the second, the cost of its 10 calls
// and not of spinning (bench/README.md says why 2 ms).
import { setTimeout as sleep } from 'node:timers/promises';
import { bridge, bridgeZmq } from '../contenders/bridge.js';
import { ownerCpuUs, processCpuUs } from '../cpu.js';
import { interleave, PAYLOAD, startAll, stopAll } from '../rounds.js';
import { judge, makeRow } from '../rows.js';
import { median } from '../stats.js';

const ROUNDS = 4;
const WARMUP_MS = 300;
const PERIOD_MS = 100;
const SHORT_MS = 1000;
const LONG_MS = 5000;

/** The driver alone: a call answered at once, no process behind it. */
const driverAlone = { name: 'driver alone (no node)', pid: undefined, call: async (payload) => payload };

/**
 * One call to each of `contenders` every PERIOD_MS for `ms`, the first at once; resolves after
 * `ms` with the number of calls made to each.
 */
async function sparseCalls(contenders, ms) {
  const start = performance.now();
  let calls = 0;
  for (let due = 0; due < ms; due += PERIOD_MS) {
    const wait = start + due - performance.now();
    if (wait > 0) await sleep(wait);
    const answers = await Promise.all(contenders.map((c) => c.call(PAYLOAD)));
    if (answers.some((a) => a !== PAYLOAD)) throw new Error(`a node answered ${JSON.stringify(answers)}`);
    calls++;
  }
  const rest = start + ms - performance.now();
  if (rest > 0) await sleep(rest);
  return calls;
}

/** Both sides' CPU time in µs over `work()`, for each contender's worker and for the owner. */
async function cpuOver(contenders, work) {
  const before = contenders.map((c) => processCpuUs(c.pid));
  const owner0 = ownerCpuUs();
  const result = await work();
  const owner = ownerCpuUs() - owner0;
  return { result, owner, workers: contenders.map((c, i) => processCpuUs(c.pid) - before[i]) };
}

export default {
  name: 'idle',
  summary: `one call every ${PERIOD_MS} ms: ${ROUNDS} rounds of ${SHORT_MS / 1000} s per node, interleaved, then ${LONG_MS / 1000} s with both nodes at once; the workers' CPU time`,
  async run() {
    const contenders = await startAll([bridge, bridgeZmq]);
    try {
      const short = await interleave([...contenders, driverAlone], {
        rounds: ROUNDS,
        warmup: (c) => sparseCalls([c], WARMUP_MS), // the spin's budget settles as in a quiet life
        measure: async (c) => {
          const { result: calls, owner, workers } = await cpuOver([c], () => sparseCalls([c], SHORT_MS));
          return { calls, owner, worker: workers[0] };
        },
      });
      const long = await cpuOver(contenders, () => sparseCalls(contenders, LONG_MS));

      const rows = [...contenders, driverAlone].map((c) => {
        const rounds = short.get(c.name);
        // Per call: the median round's CPU ÷ the calls of a round (a stray GC of the owner's
        // heap in one quiet second would otherwise weigh as much as the rest together).
        const perCall = (key) => median(rounds.map((r) => r[key] / r.calls));
        const workerMs = rounds.map((r) => r.worker / 1000);
        const node = c !== driverAlone;
        return makeRow('idle', `${SHORT_MS / 1000} s, a call every ${PERIOD_MS} ms: worker CPU`, c.name, {
          unit: 'ms',
          median: node ? median(workerMs) : null,
          p99: node ? Math.max(...workerMs) : null,
          cpuOwner: perCall('owner'),
          cpuOther: node ? perCall('worker') : null,
          rounds: rounds.map((r) => ({ ...r })),
        });
      });
      rows[0].note = `the worker's CPU time over each second: the median of ${ROUNDS} rounds and, in the p99 column, the worst; CPU per call is the median second's ÷ its calls, everything over the second counted`;
      rows[2].note = `the owner's CPU of the bench's own timers and loop, with no node behind the calls: a node's own cost to the owner is its row's owner CPU less this`;
      const own = rows.find((r) => r.contender === 'bridge');
      judge(own, {
        goal: 'the bridge’s worker CPU over an idle second with 10 calls < 2 ms',
        value: own.median,
        op: '<',
        threshold: 2,
        unit: ' ms',
      });

      const seconds = LONG_MS / 1000;
      contenders.forEach((c, i) => {
        const perSecond = long.workers[i] / 1000 / seconds;
        rows.push(
          makeRow('idle', `${seconds} s, a call every ${PERIOD_MS} ms, both nodes at once: worker CPU per s`, c.name, {
            unit: 'ms',
            median: perSecond,
            cpuOther: long.workers[i] / long.result,
            note:
              i === 0
                ? `one ${seconds} s window (no p99); the owner's CPU, ${(long.owner / 1000).toFixed(1)} ms over it, is both nodes'`
                : null,
          }),
        );
      });
      return { rows };
    } finally {
      await stopAll(contenders);
    }
  },
};
