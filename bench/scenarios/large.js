// large: binaries of 64 KiB, 1 MiB and 16 MiB echoed, one at a time. Bandwidth counts the bytes
// moved both ways over the median round trip; both sides' CPU time is summed over the rounds.
// IPC uses serialization 'advanced' (structured clone), which carries a Buffer as bytes; JSON
// would need base64. A 1 MiB Float64Array through the bridge is reported beside the 1 MiB Buffer
// (the library sends a typed array's bytes).
// Target (issue 10): a 16 MiB echo by a worker that packs its answer with plain
// msgpack_pack_object (bridge (plain msgpack)) at least 1.5× the stdio pipe's bandwidth.
import { randomFillSync } from 'node:crypto';
import { bridgePlain, bridgeZmq, bridge as localBridge } from '../contenders/bridge.js';
import { Ipc } from '../contenders/ipc.js';
import { Pipe } from '../contenders/pipe.js';
import { ZeromqRaw } from '../contenders/zeromq-raw.js';
import { CpuTally } from '../cpu.js';
import { interleave, startAll, stopAll } from '../rounds.js';
import { compareToBridge, judge, makeRow } from '../rows.js';
import { summarize } from '../stats.js';

const ROUNDS = 20;
const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [
  { label: '64 KiB', bytes: 64 * KiB, calls: 200 },
  { label: '1 MiB', bytes: MiB, calls: 40 },
  { label: '16 MiB', bytes: 16 * MiB, calls: 5 },
];

/** `count` sequential echoes of `payload`; returns each one's time in ms. */
async function echoes(contender, payload, count) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const answer = await contender.call(payload);
    times.push(performance.now() - start);
    if (answer.length !== payload.byteLength)
      throw new Error(`${contender.name} answered ${answer.length} bytes for ${payload.byteLength}`);
  }
  return times;
}

/** One echo whose answer is compared byte for byte: each contender must really echo. */
async function checkedEcho(contender, payload) {
  const answer = await contender.call(payload);
  const sent = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (!sent.equals(Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength))) {
    throw new Error(`${contender.name} did not echo ${payload.byteLength} bytes faithfully`);
  }
}

function bandwidthRow(kase, name, bytes, times, cpu) {
  const stats = summarize(times);
  return makeRow('large', kase, name, {
    unit: 'ms',
    ...stats,
    rate: (2 * bytes) / (stats.median / 1000) / 1e6,
    rateUnit: 'MB/s',
    ...cpu.perCall(name),
  });
}

export default {
  name: 'large',
  summary: `binaries of ${SIZES.map((s) => s.label).join(', ')} echoed one at a time, ${ROUNDS} rounds of ${SIZES.map((s) => s.calls).join('/')} calls; plus a 1 MiB Float64Array through the bridge`,
  async run() {
    const contenders = await startAll([
      localBridge,
      bridgeZmq,
      bridgePlain,
      () => new ZeromqRaw(),
      () => new Pipe(),
      () => new Ipc({ serialization: 'advanced' }),
    ]);
    const bridge = contenders[0];
    const floats = new Float64Array(MiB / 8).map((_, i) => i * 0.5);
    // The Float64Array measured in the same rounds as the 1 MiB Buffers, as if a contender.
    const bridgeFloats = {
      name: 'bridge Float64Array',
      call: () => bridge.call(floats),
      get pid() {
        return bridge.pid;
      },
    };
    const rows = [];
    try {
      for (const size of SIZES) {
        const payload = randomFillSync(Buffer.allocUnsafe(size.bytes));
        const inCase = size.bytes === MiB ? [...contenders, bridgeFloats] : contenders;
        const cpu = new CpuTally();
        const results = await interleave(inCase, {
          rounds: ROUNDS,
          warmup: (c) => (c === bridgeFloats ? checkedEcho(bridge, floats) : checkedEcho(c, payload)),
          measure: (c) =>
            cpu.measure(c, size.calls, () => echoes(c, c === bridgeFloats ? floats : payload, size.calls)),
        });
        const caseRows = contenders.map((c) =>
          bandwidthRow(size.label, c.name, size.bytes, results.get(c.name).flat(), cpu),
        );
        compareToBridge(caseRows, 'rate');
        rows.push(...caseRows);
        if (size.bytes === MiB) {
          const times = results.get(bridgeFloats.name).flat();
          rows.push(bandwidthRow('1 MiB', bridgeFloats.name, floats.byteLength, times, cpu));
        }
        if (size.bytes === 16 * MiB) {
          const row = (name) => caseRows.find((r) => r.contender === name);
          const plain = row('bridge (plain msgpack)');
          judge(plain, {
            goal: 'bridge (plain msgpack) 16 MiB MB/s ≥ 1.5× pipe',
            value: plain.rate / row('pipe').rate,
            op: '>=',
            threshold: 1.5,
            unit: '×',
          });
        }
      }
      return { rows };
    } finally {
      await stopAll(contenders);
    }
  },
};
