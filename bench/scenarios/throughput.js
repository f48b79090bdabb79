// throughput: 256 calls kept in flight, a 64-byte string each; calls per second per round.
// Target: the bridge at least 3× child_process IPC.
import { Bridge } from '../contenders/bridge.js';
import { Ipc } from '../contenders/ipc.js';
import { Pipe } from '../contenders/pipe.js';
import { ZeromqRaw } from '../contenders/zeromq-raw.js';
import { interleave, pipelined, startAll, stopAll } from '../rounds.js';
import { compareToBridge, judge, makeRow } from '../rows.js';
import { median } from '../stats.js';

const ROUNDS = 25;
const CALLS_PER_ROUND = 20_000;
const IN_FLIGHT = 256;
const PAYLOAD = 'The quick brown fox jumps over the lazy dog; 64 bytes of UTF-8!!';

async function rate(contender, calls) {
  const ms = await pipelined(() => contender.call(PAYLOAD), calls, IN_FLIGHT);
  return calls / (ms / 1000);
}

export default {
  name: 'throughput',
  summary: `${IN_FLIGHT} calls in flight, ${Buffer.byteLength(PAYLOAD)}-byte strings: ${ROUNDS} rounds of ${CALLS_PER_ROUND} calls per contender`,
  async run() {
    const contenders = await startAll([() => new Bridge(), () => new ZeromqRaw(), () => new Ipc(), () => new Pipe()]);
    try {
      const results = await interleave(contenders, {
        rounds: ROUNDS,
        warmup: (c) => rate(c, 2000),
        measure: (c) => rate(c, CALLS_PER_ROUND),
      });
      const rows = contenders.map((c) => {
        const rates = results.get(c.name);
        return makeRow('throughput', `64 B ×${IN_FLIGHT} in flight`, c.name, {
          rate: median(rates),
          rateUnit: 'calls/s',
          rounds: rates,
        });
      });
      compareToBridge(rows, 'rate');
      const ipc = rows.find((r) => r.contender === 'ipc');
      judge(ipc, { goal: 'bridge calls/s ≥ 3× ipc', value: ipc.ratio, op: '>=', threshold: 3, unit: '×' });
      return { rows };
    } finally {
      await stopAll(contenders);
    }
  },
};
