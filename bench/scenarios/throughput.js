// throughput: 256 calls kept in flight, a 64-byte string each; calls per second per round, and
// both sides' CPU time over the rounds, per call.
// Targets (issue 10): the bridge (over 'local') at least 2.5× child_process IPC, with the
// owner's CPU time under 1.5 µs per call.
import { bridge, bridgeZmq } from '../contenders/bridge.js';
import { Ipc } from '../contenders/ipc.js';
import { Pipe } from '../contenders/pipe.js';
import { ZeromqRaw } from '../contenders/zeromq-raw.js';
import { CpuTally } from '../cpu.js';
import { interleave, PAYLOAD, pipelined, startAll, stopAll } from '../rounds.js';
import { compareToBridge, judge, makeRow } from '../rows.js';
import { median } from '../stats.js';

const ROUNDS = 25;
const CALLS_PER_ROUND = 20_000;
const IN_FLIGHT = 256;

async function rate(contender, calls) {
  const ms = await pipelined(() => contender.call(PAYLOAD), calls, IN_FLIGHT);
  return calls / (ms / 1000);
}

export default {
  name: 'throughput',
  summary: `${IN_FLIGHT} calls in flight, ${Buffer.byteLength(PAYLOAD)}-byte strings: ${ROUNDS} rounds of ${CALLS_PER_ROUND} calls per contender`,
  async run() {
    const contenders = await startAll([bridge, bridgeZmq, () => new ZeromqRaw(), () => new Ipc(), () => new Pipe()]);
    const cpu = new CpuTally();
    try {
      const results = await interleave(contenders, {
        rounds: ROUNDS,
        warmup: (c) => rate(c, 2000),
        measure: (c) => cpu.measure(c, CALLS_PER_ROUND, () => rate(c, CALLS_PER_ROUND)),
      });
      const rows = contenders.map((c) => {
        const rates = results.get(c.name);
        return makeRow('throughput', `64 B ×${IN_FLIGHT} in flight`, c.name, {
          rate: median(rates),
          rateUnit: 'calls/s',
          ...cpu.perCall(c.name),
          rounds: rates,
        });
      });
      compareToBridge(rows, 'rate');
      const ipc = rows.find((r) => r.contender === 'ipc');
      judge(ipc, { goal: 'bridge calls/s ≥ 2.5× ipc', value: ipc.ratio, op: '>=', threshold: 2.5, unit: '×' });
      const own = rows.find((r) => r.contender === 'bridge');
      judge(own, {
        goal: 'the owner’s CPU per pipelined bridge call < 1.5 µs',
        value: own.cpuOwner,
        op: '<',
        threshold: 1.5,
        unit: ' µs',
      });
      return { rows };
    } finally {
      await stopAll(contenders);
    }
  },
};
