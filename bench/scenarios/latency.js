// latency: one call at a time, a 64-byte string each way; every round trip is a sample.
// Target: the bridge's median round trip at most 1.15× the raw zeromq.js floor's.
import { Bridge } from '../contenders/bridge.js';
import { Ipc } from '../contenders/ipc.js';
import { Pipe } from '../contenders/pipe.js';
import { ZeromqRaw } from '../contenders/zeromq-raw.js';
import { interleave, startAll, stopAll } from '../rounds.js';
import { compareToBridge, judge, makeRow } from '../rows.js';
import { summarize } from '../stats.js';

const ROUNDS = 30;
const CALLS_PER_ROUND = 3000;
const WARMUP_CALLS = 500;
const PAYLOAD = 'The quick brown fox jumps over the lazy dog; 64 bytes of UTF-8!!';

/** `count` sequential round trips; returns each one's time in µs. */
async function roundTrips(contender, count) {
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const answer = await contender.call(PAYLOAD);
    times[i] = (performance.now() - start) * 1000;
    if (answer !== PAYLOAD) throw new Error(`${contender.name} answered ${JSON.stringify(answer)}`);
  }
  return Array.from(times);
}

export default {
  name: 'latency',
  summary: `sequential round trips of a ${Buffer.byteLength(PAYLOAD)}-byte string: ${ROUNDS} rounds of ${CALLS_PER_ROUND} per contender`,
  async run() {
    const contenders = await startAll([() => new Bridge(), () => new ZeromqRaw(), () => new Ipc(), () => new Pipe()]);
    try {
      const results = await interleave(contenders, {
        rounds: ROUNDS,
        warmup: (c) => roundTrips(c, WARMUP_CALLS),
        measure: (c) => roundTrips(c, CALLS_PER_ROUND),
      });
      const rows = contenders.map((c) =>
        makeRow('latency', '64 B string', c.name, { unit: 'µs', ...summarize(results.get(c.name).flat()) }),
      );
      compareToBridge(rows, 'median');
      const floor = rows.find((r) => r.contender === 'zeromq-raw');
      judge(floor, {
        goal: 'bridge median ≤ 1.15× zeromq-raw',
        value: floor.ratio,
        op: '<=',
        threshold: 1.15,
        unit: '×',
      });
      return { rows };
    } finally {
      await stopAll(contenders);
    }
  },
};
