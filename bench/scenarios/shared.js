// shared: what a SharedBuffer saves. One bridge node (over 'local'), four kinds of call
// measured in the same interleaved rounds, one at a time, with both sides' CPU time per call:
//   64 B call                         {op: 'echo', value: <64-byte string>}: the baseline
//   256 MiB shared, handle only       {op: 'echo', value: 1, data: <256 MiB SharedBuffer>}: only
//                                     its 28-byte handle travels; the worker maps it (once, in
//                                     the warm-up) and the echo op leaves it untouched
//   256 MiB shared, scaled in place   {op: 'scale', factor: 1, data: <its Float64Array view>,
//                                     answer: 'count'}: the worker multiplies all 256 MiB where
//                                     they lie and answers how many values
//   16 MiB copied, scaled             {op: 'scale', factor: 1, data: <a plain 16 MiB
//                                     Float64Array>}: the bytes go to the worker and come back
// Rates are the array's bytes scaled per second of the median call, so that the two scaled
// rows compare per byte. Target (the scenario 4): passing the 256 MiB buffer costs the
// same per call as passing a few bytes: the handle-only median ≤ 2× the 64 B call's.
import { SharedBuffer } from '../../dist/index.js';
import { Bridge } from '../contenders/bridge.js';
import { CpuTally } from '../cpu.js';
import { interleave, PAYLOAD, startAll, stopAll } from '../rounds.js';
import { judge, makeRow } from '../rows.js';
import { summarize } from '../stats.js';

const ROUNDS = 25;
const MiB = 1024 * 1024;
const SHARED_BYTES = 256 * MiB;
const COPIED_BYTES = 16 * MiB;
const SMALL_CALLS = 2000; // per round, for the 64 B call and the handle-only call each
const SCALED_CALLS = 5;
const COPIED_CALLS = 4;
const WARMUP_CALLS = 300;

const GB = 1e9;

/** `count` sequential calls of `message`, each answer checked by `expect`; returns each call's time in `unit`. */
async function calls(bridge, message, count, expect, unit) {
  const scale = unit === 'µs' ? 1000 : 1;
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const answer = await bridge.call(message);
    times.push((performance.now() - start) * scale);
    if (!expect(answer)) throw new Error(`the bridge answered ${describe(answer)} to ${message.op}`);
  }
  return times;
}

const describe = (answer) => (ArrayBuffer.isView(answer) ? `${answer.byteLength} bytes` : JSON.stringify(answer));

/**
 * The warm-up of a scaled kind: one scale by 2 of known values, checked, so that the worker is
 * seen to scale the owner's own bytes (shared) or to send the scaled copy back (copied).
 */
async function checkedScale(bridge, data, shared) {
  const last = data.length - 1;
  data[0] = 1.5;
  data[last] = -3;
  const answer = await bridge.call({ op: 'scale', factor: 2, data, ...(shared ? { answer: 'count' } : {}) });
  let scaled = data;
  if (!shared) {
    if (!ArrayBuffer.isView(answer) || answer.byteLength !== data.byteLength)
      throw new Error(`the bridge answered ${describe(answer)} to a copied scale`);
    scaled = new Float64Array(answer.buffer.slice(answer.byteOffset, answer.byteOffset + answer.byteLength));
  } else if (answer !== data.length) {
    throw new Error(`the bridge answered ${describe(answer)} to a shared scale of ${data.length} values`);
  }
  if (scaled[0] !== 3 || scaled[last] !== -6)
    throw new Error(
      `the worker did not scale the ${shared ? 'shared' : 'copied'} values: ${scaled[0]}, ${scaled[last]}`,
    );
  data[0] = 0;
  data[last] = 0;
}

export default {
  name: 'shared',
  summary: `a 256 MiB SharedBuffer passed (handle only) and scaled in place, against a 64 B call and 16 MiB copied and scaled: ${ROUNDS} rounds of ${SMALL_CALLS}/${SMALL_CALLS}/${SCALED_CALLS}/${COPIED_CALLS} calls`,
  async run() {
    const [bridge] = await startAll([() => new Bridge()]);
    let shared;
    try {
      shared = SharedBuffer.create(SHARED_BYTES);
      const floats = shared.float64();
      const plain = new Float64Array(COPIED_BYTES / 8);
      const small = { op: 'echo', value: PAYLOAD };
      const handle = { op: 'echo', value: 1, data: shared };
      const inPlace = { op: 'scale', factor: 1, data: floats, answer: 'count' };
      const copied = { op: 'scale', factor: 1, data: plain };
      const sequence = (message, unit, expect) => (n) => calls(bridge, message, n, expect, unit);
      // Each kind of call a contender of interleave(), all through the one bridge node.
      const kinds = [
        { name: '64 B call', unit: 'µs', count: SMALL_CALLS, run: sequence(small, 'µs', (a) => a === PAYLOAD) },
        {
          name: '256 MiB shared, handle only',
          unit: 'µs',
          count: SMALL_CALLS,
          run: sequence(handle, 'µs', (a) => a === 1),
        },
        {
          name: '256 MiB shared, scaled in place',
          unit: 'ms',
          count: SCALED_CALLS,
          run: sequence(inPlace, 'ms', (a) => a === floats.length),
          warmup: () => checkedScale(bridge, floats, true),
        },
        {
          name: '16 MiB copied, scaled',
          unit: 'ms',
          count: COPIED_CALLS,
          run: sequence(copied, 'ms', (a) => a?.byteLength === COPIED_BYTES),
          warmup: () => checkedScale(bridge, plain, false),
        },
      ];
      for (const kind of kinds) Object.defineProperty(kind, 'pid', { get: () => bridge.pid }); // for cpu
      const cpu = new CpuTally();
      const results = await interleave(kinds, {
        rounds: ROUNDS,
        warmup: (k) => (k.warmup ? k.warmup() : k.run(WARMUP_CALLS)), // the first handle-only call maps the buffer
        measure: (k) => cpu.measure(k, k.count, () => k.run(k.count)),
      });
      const row = (k) =>
        makeRow('shared', k.name, 'bridge', {
          unit: k.unit,
          ...summarize(results.get(k.name).flat()),
          ...cpu.perCall(k.name),
        });
      const [smallRow, handleRow] = kinds.slice(0, 2).map(row);
      const overhead = handleRow.median / smallRow.median;
      judge(handleRow, {
        goal: 'passing a 256 MiB SharedBuffer: handle-only median ≤ 2× the 64 B call’s',
        value: overhead,
        op: '<=',
        threshold: 2,
        unit: '×',
      });

      const scaledRow = row(kinds[2]);
      scaledRow.rate = SHARED_BYTES / (scaledRow.median / 1000) / GB;
      scaledRow.rateUnit = 'GB/s';
      const compute = scaledRow.median - handleRow.median / 1000;
      scaledRow.note = `the compute (this median less the handle-only one) is ${compute.toFixed(1)} ms, ${((100 * compute) / scaledRow.median).toFixed(1)}% of the call; the rate is the bytes scaled per second (each is read and written)`;

      const copiedRow = row(kinds[3]);
      copiedRow.rate = COPIED_BYTES / (copiedRow.median / 1000) / GB;
      copiedRow.rateUnit = 'GB/s';
      const perMiB = (r, bytes) => r.median / (bytes / MiB);
      copiedRow.note = `the bytes go to the worker and come back; ${perMiB(copiedRow, COPIED_BYTES).toFixed(2)} ms per MiB scaled, against ${perMiB(scaledRow, SHARED_BYTES).toFixed(3)} ms shared: ${(perMiB(copiedRow, COPIED_BYTES) / perMiB(scaledRow, SHARED_BYTES)).toFixed(0)}× as much`;
      return { rows: [smallRow, handleRow, scaledRow, copiedRow] };
    } finally {
      shared?.release();
      await stopAll([bridge]);
    }
  },
};
