// remote: what the network path and CurveZMQ cost a call (issue 12). A worker in a Linux network
// namespace, reached across a veth pair (test/netns/netns.js: 10.213.N.1 here, 10.213.N.2
// there), launched with `exec: ['ip', 'netns', 'exec', ns]` over tcp with CurveZMQ (mandatory
// off the loopback), beside the same worker over tcp with and without CurveZMQ on the loopback
// and the local call over the shared-memory rings. The library refuses plain tcp across the
// veth by design, so the raw network cost comes from zeromq-raw (plain libzmq, no cnode, no
// MessagePack) across the same veth, plain and with CurveZMQ. Sequential 64-byte calls (latency)
// and 256 in flight (throughput), interleaved, CPU per call on both sides.
// Needs root (ip netns add); without it, it says so in one line and gives no rows.
import * as netns from '../../test/netns/netns.js';
import { Bridge } from '../contenders/bridge.js';
import { ZeromqRaw } from '../contenders/zeromq-raw.js';
import { CpuTally } from '../cpu.js';
import { interleave, PAYLOAD, pipelined, roundTrips, startAll, stopAll } from '../rounds.js';
import { compareToBridge, makeRow } from '../rows.js';
import { median, summarize } from '../stats.js';

const LATENCY_ROUNDS = 15;
const LATENCY_CALLS = 2000;
const THROUGHPUT_ROUNDS = 15;
const THROUGHPUT_CALLS = 10_000;
const IN_FLIGHT = 256;

const LOOPBACK_PLAIN = 'tcp (loopback)';
const LOOPBACK_CURVE = 'tcp+curve (loopback)';
const VETH_CURVE = 'tcp+curve (veth)';
const RAW_PLAIN = 'zeromq-raw tcp (veth)';
const RAW_CURVE = 'zeromq-raw tcp+curve (veth)';

function contendersFor(ns) {
  return [
    () => new Bridge(),
    () => new Bridge({ name: LOOPBACK_PLAIN, transport: 'tcp', curve: false }),
    () => new Bridge({ name: LOOPBACK_CURVE, transport: 'tcp' }),
    // `ip netns exec` becomes the worker: its pid is the worker's, for the CPU column.
    () => new Bridge({ name: VETH_CURVE, transport: 'tcp', exec: ns.exec, bind: ns.farAddress }),
    () => new ZeromqRaw({ name: RAW_PLAIN, exec: ns.exec, endpoint: `tcp://${ns.farAddress}:*` }),
    () => new ZeromqRaw({ name: RAW_CURVE, exec: ns.exec, endpoint: `tcp://${ns.farAddress}:*`, curve: true }),
  ];
}

async function rate(contender, calls) {
  const ms = await pipelined(() => contender.call(PAYLOAD), calls, IN_FLIGHT);
  return calls / (ms / 1000);
}

/**
 * The notes that turn the rows into the costs asked about: CurveZMQ (on the loopback, and across
 * the veth without the library), the network path, and what the library adds over raw libzmq.
 * Each is one row's figure ÷ another's, median (latency) or calls/s (throughput).
 */
function annotate(rows, by) {
  const row = (name) => rows.find((r) => r.contender === name);
  const what = by === 'median' ? 'median' : 'calls/s';
  const of = (a, b) => `${what} ${(row(a)[by] / row(b)[by]).toFixed(2)}× ${b}'s`;
  row(LOOPBACK_CURVE).note = `${of(LOOPBACK_CURVE, LOOPBACK_PLAIN)} (CurveZMQ)`;
  row(VETH_CURVE).note =
    `${of(VETH_CURVE, LOOPBACK_CURVE)} (the network path); ${of(VETH_CURVE, RAW_CURVE)} (the library over raw libzmq` +
    (by === 'median'
      ? ')'
      : `: it batches calls into frames, zeromq-raw sends one message per frame and awaits each send)`);
  row(RAW_CURVE).note = `${of(RAW_CURVE, RAW_PLAIN)} (CurveZMQ across the veth, no library)`;
  return rows;
}

export default {
  name: 'remote',
  summary: `a worker across a veth pair (ip netns exec, tcp+CurveZMQ) beside tcp with and without CurveZMQ on the loopback and a local call: ${Buffer.byteLength(PAYLOAD)}-byte strings, ${LATENCY_ROUNDS} rounds of ${LATENCY_CALLS} sequential calls and ${THROUGHPUT_ROUNDS} rounds of ${THROUGHPUT_CALLS} with ${IN_FLIGHT} in flight`,
  async run() {
    const why = netns.unavailable();
    if (why !== undefined) {
      console.log(`  remote skipped: ${why} (the scenario needs root and ip(8) to make a network namespace)`);
      return { rows: [] };
    }
    const ns = netns.create();
    try {
      const contenders = await startAll(contendersFor(ns));
      const cpu = { latency: new CpuTally(), throughput: new CpuTally() };
      try {
        const latencies = await interleave(contenders, {
          rounds: LATENCY_ROUNDS,
          warmup: (c) => roundTrips(c, 300, PAYLOAD),
          measure: (c) => cpu.latency.measure(c, LATENCY_CALLS, () => roundTrips(c, LATENCY_CALLS, PAYLOAD)),
        });
        const rates = await interleave(contenders, {
          rounds: THROUGHPUT_ROUNDS,
          warmup: (c) => rate(c, 2000),
          measure: (c) => cpu.throughput.measure(c, THROUGHPUT_CALLS, () => rate(c, THROUGHPUT_CALLS)),
        });
        const latencyRows = contenders.map((c) =>
          makeRow('remote', 'latency, 64 B', c.name, {
            unit: 'µs',
            ...summarize(latencies.get(c.name).flat()),
            ...cpu.latency.perCall(c.name),
          }),
        );
        const throughputRows = contenders.map((c) =>
          makeRow('remote', `64 B ×${IN_FLIGHT} in flight`, c.name, {
            rate: median(rates.get(c.name)),
            rateUnit: 'calls/s',
            ...cpu.throughput.perCall(c.name),
            rounds: rates.get(c.name),
          }),
        );
        compareToBridge(latencyRows, 'median');
        compareToBridge(throughputRows, 'rate');
        return { rows: [...annotate(latencyRows, 'median'), ...annotate(throughputRows, 'rate')] };
      } finally {
        await stopAll(contenders);
      }
    } finally {
      netns.remove(ns);
    }
  },
};
