// latency: one call at a time, a 64-byte string each way; every round trip is a sample, and
// both sides' CPU time over the rounds, per call.
// Targets (issue 10): the bridge (over 'local') at most 0.2× child_process IPC's median round
// trip and at most 0.25× the stdio pipe's.
import { bridge, bridgeZmq } from '../contenders/bridge.js';
import { Ipc } from '../contenders/ipc.js';
import { Pipe } from '../contenders/pipe.js';
import { ZeromqRaw } from '../contenders/zeromq-raw.js';
import { CpuTally } from '../cpu.js';
import { interleave, PAYLOAD, roundTrips, startAll, stopAll } from '../rounds.js';
import { compareToBridge, judge, makeRow } from '../rows.js';
import { summarize } from '../stats.js';

const ROUNDS = 20;
const CALLS_PER_ROUND = 3000;
const WARMUP_CALLS = 500;

export default {
  name: 'latency',
  summary: `sequential round trips of a ${Buffer.byteLength(PAYLOAD)}-byte string: ${ROUNDS} rounds of ${CALLS_PER_ROUND} per contender`,
  async run() {
    const contenders = await startAll([bridge, bridgeZmq, () => new ZeromqRaw(), () => new Ipc(), () => new Pipe()]);
    const cpu = new CpuTally();
    try {
      const results = await interleave(contenders, {
        rounds: ROUNDS,
        warmup: (c) => roundTrips(c, WARMUP_CALLS, PAYLOAD),
        measure: (c) => cpu.measure(c, CALLS_PER_ROUND, () => roundTrips(c, CALLS_PER_ROUND, PAYLOAD)),
      });
      const rows = contenders.map((c) =>
        makeRow('latency', '64 B string', c.name, {
          unit: 'µs',
          ...summarize(results.get(c.name).flat()),
          ...cpu.perCall(c.name),
        }),
      );
      compareToBridge(rows, 'median');
      const row = (name) => rows.find((r) => r.contender === name);
      const ipc = row('ipc');
      judge(ipc, { goal: 'bridge median ≤ 0.2× ipc', value: ipc.ratio, op: '<=', threshold: 0.2, unit: '×' });
      const pipe = row('pipe');
      judge(pipe, { goal: 'bridge median ≤ 0.25× pipe', value: pipe.ratio, op: '<=', threshold: 0.25, unit: '×' });
      const raw = row('zeromq-raw');
      raw.note = `bridge (zmq) ÷ this: ${(row('bridge (zmq)').median / raw.median).toFixed(2)}× (the ZeroMQ bridge's own target was ≤ 1.15×)`;
      return { rows };
    } finally {
      await stopAll(contenders);
    }
  },
};
