// dispatch: what a pool adds to a call. pool.call() on a CNodePool of 1 worker against
// node.call() on one bare CNode, both over 'local' to build/bin/echo, a 64-byte string each
// way, interleaved in rounds:
//   sequential   one call at a time; every round trip is a sample (median, p99)
//   ×256         256 calls kept in flight; calls/s of each round (the median). What a pool
//                call costs is judged on the pool with room at its worker for all 256
//                (concurrency 256); the pool with its default concurrency gives its worker 4
//                at a time and queues the rest, a policy for compute calls, shown beside
// and both sides' CPU per call.
// Target (issue 11): a pool call costs at most 1.1× a node call: the default pool's sequential
// median ≤ 1.1× the node's, and the wide pool's pipelined calls/s ≥ 1/1.1 (0.91×) the node's.
import { Node, Pool } from '../contenders/pool.js';
import { CpuTally, otherLoad } from '../cpu.js';
import { bin } from '../paths.js';
import { interleave, PAYLOAD, pipelined, roundTrips, startAll, stopAll } from '../rounds.js';
import { compareTo, judge, makeRow } from '../rows.js';
import { median, summarize } from '../stats.js';

const SEQUENTIAL = { rounds: 20, calls: 3000, warmup: 500 };
const PIPELINED = { rounds: 20, calls: 20_000, warmup: 2000, inFlight: 256 };
const REFERENCE = 'CNodePool ×1';
// The same pool with room at its worker for every call in flight: what a pool call costs
// beside what its default concurrency holds back.
const WIDE = `CNodePool ×1, concurrency ${PIPELINED.inFlight}`;

async function rate(contender, calls) {
  const ms = await pipelined(() => contender.call(PAYLOAD), calls, PIPELINED.inFlight);
  return calls / (ms / 1000);
}

export default {
  name: 'dispatch',
  summary: `pool.call on a CNodePool of 1 against node.call on a CNode, 64 B echo: ${SEQUENTIAL.rounds} rounds of ${SEQUENTIAL.calls} sequential calls, then ${PIPELINED.rounds} of ${PIPELINED.calls} with ${PIPELINED.inFlight} in flight`,
  async run() {
    const executable = bin('echo');
    const contenders = await startAll([
      () => new Pool({ executable, size: 1 }),
      () => new Node({ executable }),
      () => new Pool({ executable, size: 1, concurrency: PIPELINED.inFlight, name: WIDE }),
    ]);
    try {
      const rows = [];
      const pids = contenders.flatMap((c) => c.pids);
      let cpu = new CpuTally();
      let load = otherLoad(pids);
      const sequential = await interleave(contenders, {
        rounds: SEQUENTIAL.rounds,
        warmup: (c) => roundTrips(c, SEQUENTIAL.warmup, PAYLOAD),
        measure: (c) => cpu.measure(c, SEQUENTIAL.calls, () => roundTrips(c, SEQUENTIAL.calls, PAYLOAD)),
      });
      const sequentialRows = contenders.map((c) =>
        makeRow('dispatch', '64 B sequential', c.name, {
          unit: 'µs',
          ...summarize(sequential.get(c.name).flat()),
          ...cpu.perCall(c.name),
        }),
      );
      compareTo(sequentialRows, 'median', REFERENCE);
      sequentialRows[0].note = load();
      const node = sequentialRows.find((r) => r.contender === 'CNode');
      judge(node, {
        goal: 'a pool call’s sequential median ≤ 1.1× a node call’s',
        value: node.ratio,
        op: '<=',
        threshold: 1.1,
        unit: '×',
      });
      rows.push(...sequentialRows);

      cpu = new CpuTally();
      load = otherLoad(pids);
      const pipelinedRates = await interleave(contenders, {
        rounds: PIPELINED.rounds,
        warmup: (c) => rate(c, PIPELINED.warmup),
        measure: (c) => cpu.measure(c, PIPELINED.calls, () => rate(c, PIPELINED.calls)),
      });
      const pipelinedRows = contenders.map((c) =>
        makeRow('dispatch', `64 B ×${PIPELINED.inFlight} in flight`, c.name, {
          rate: median(pipelinedRates.get(c.name)),
          rateUnit: 'calls/s',
          ...cpu.perCall(c.name),
          rounds: pipelinedRates.get(c.name),
        }),
      );
      compareTo(pipelinedRows, 'rate', WIDE);
      pipelinedRows[0].note = load();
      const nodePipelined = pipelinedRows.find((r) => r.contender === 'CNode');
      judge(nodePipelined, {
        goal: 'a pool’s pipelined calls/s (with room for them at its worker) ≥ 0.91× (1/1.1) a node’s',
        value: nodePipelined.ratio,
        op: '>=',
        threshold: 0.91,
        unit: '×',
      });
      const wide = pipelinedRows.find((r) => r.contender === WIDE);
      wide.note = `against the CNode: ${(wide.rate / nodePipelined.rate).toFixed(2)}× its calls/s, ${(wide.cpuOwner / nodePipelined.cpuOwner).toFixed(2)}× its owner CPU per call`;
      const narrow = pipelinedRows.find((r) => r.contender === REFERENCE);
      narrow.note = `${narrow.note}; with its default concurrency (4 calls at a time at its worker, the rest queued) it makes ${(narrow.rate / nodePipelined.rate).toFixed(2)}× the CNode's calls/s: give many tiny calls a bigger concurrency`;
      rows.push(...pipelinedRows);
      return { rows };
    } finally {
      await stopAll(contenders);
    }
  },
};
