// piscina: the same job in C workers and in worker_threads. The SHA-256 of a Buffer of 1 KiB,
// 64 KiB or 1 MiB (random bytes, the same Buffer every call), by a CNodePool of 2 workers
// (bench/workers/sha256.c: libcrypto's SHA-256) and by piscina with 2 threads
// (bench/workers/piscina_sha256.js: node:crypto's, the same libcrypto). Passed as a new user
// would: the Buffer is the message (pool.call(buffer), piscina.run(buffer)), no transfer, so
// each side copies it (piscina by structured clone, cnode into the ring or a memfd of its own).
// Beside them, shared memory, nothing copied: a view of a SharedBuffer to the pool (only its
// handle travels) and a Uint8Array over a SharedArrayBuffer to piscina, at 64 KiB and 1 MiB.
// 8 calls in flight (each pool queues what its workers are not given); the rate is the bytes
// hashed per second, the median of the rounds; both sides' CPU per call (piscina's threads are
// in the owner, so its owner CPU includes its hashing). A full garbage collection runs before
// each round, outside it: the copies one contender leaves behind (external memory, freed by
// finalizers) would otherwise be freed in the next one's round. Each contender's first answer
// in each case is checked against node:crypto's digest.
// Target (issue 11): the CNodePool at least as fast as piscina at 64 KiB and 1 MiB, copied.
import { createHash, randomFillSync } from 'node:crypto';
import { SharedBuffer } from '../../dist/index.js';
import { PiscinaPool, Pool, sha256Worker } from '../contenders/pool.js';
import { CpuTally, otherLoad } from '../cpu.js';
import { collectGarbage, interleave, pipelined, startAll, stopAll } from '../rounds.js';
import { compareTo, judge, makeRow } from '../rows.js';
import { median } from '../stats.js';

const ROUNDS = 10;
const IN_FLIGHT = 8;
const KiB = 1024;
const MiB = 1024 * KiB;
const CASES = [
  { label: '1 KiB', bytes: KiB, calls: 4000 },
  { label: '64 KiB', bytes: 64 * KiB, calls: 1000, target: true, variants: true },
  { label: '1 MiB', bytes: MiB, calls: 100, target: true, variants: true },
  { label: '64 KiB shared', bytes: 64 * KiB, calls: 1000, shared: true },
  { label: '1 MiB shared', bytes: MiB, calls: 100, shared: true },
];
const REFERENCE = 'CNodePool ×2';
// In the copied 64 KiB and 1 MiB cases, the same pool with one option changed, to show what
// costs time: rings big enough (a record holds a quarter of the ring, 4 MiB) that no binary is
// staged in a memfd of its own; and room at the workers for every call in flight.
const BIG_RING = 16 * MiB;
const VARIANTS = [
  { name: 'CNodePool ×2, ringSize 16 MiB', ringSize: BIG_RING },
  { name: `CNodePool ×2, concurrency ${IN_FLIGHT / 2}`, concurrency: IN_FLIGHT / 2 },
];

/** The payload each contender is given in a case: a Buffer, or a view of shared memory of its kind. */
function payloads(kase, sharedBuffer) {
  if (!kase.shared) {
    const buffer = randomFillSync(Buffer.allocUnsafe(kase.bytes));
    return { pool: buffer, piscina: buffer, bytes: buffer };
  }
  const pool = sharedBuffer.bytes().subarray(0, kase.bytes);
  randomFillSync(pool);
  const piscina = new Uint8Array(new SharedArrayBuffer(kase.bytes));
  piscina.set(pool);
  return { pool, piscina, bytes: pool };
}

/** One call whose digest is compared with node:crypto's. */
async function checkedCall(contender, payload, expected) {
  const answer = await contender.call(payload);
  if (!Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength).equals(expected))
    throw new Error(`${contender.name}: the SHA-256 differs from node:crypto's`);
}

export default {
  name: 'piscina',
  summary: `SHA-256 of ${CASES.map((c) => c.label).join(', ')} buffers, ${IN_FLIGHT} in flight: a CNodePool of 2 C workers (libcrypto) against piscina with 2 worker_threads (node:crypto), ${ROUNDS} rounds of ${CASES.map((c) => c.calls).join('/')} calls`,
  async run() {
    const executable = sha256Worker();
    const contenders = await startAll([
      () => new Pool({ executable, size: 2 }),
      () => new PiscinaPool({ threads: 2 }),
      ...VARIANTS.map((options) => () => new Pool({ executable, size: 2, ...options })),
    ]);
    const sharedBuffer = SharedBuffer.create(Math.max(...CASES.map((c) => c.bytes)));
    try {
      const rows = [];
      for (const kase of CASES) {
        const payload = payloads(kase, sharedBuffer);
        const expected = createHash('sha256').update(payload.bytes).digest();
        const inCase = kase.variants ? contenders : contenders.slice(0, 2);
        const of = (c) => (c instanceof PiscinaPool ? payload.piscina : payload.pool);
        const rate = async (c, calls) => {
          const ms = await pipelined(() => c.call(of(c)), calls, IN_FLIGHT);
          return (kase.bytes * calls) / (ms / 1000) / 1e6;
        };
        const cpu = new CpuTally();
        const load = otherLoad(inCase.flatMap((c) => c.pids));
        const results = await interleave(inCase, {
          rounds: ROUNDS,
          warmup: async (c) => {
            await checkedCall(c, of(c), expected);
            await rate(c, Math.ceil(kase.calls / 5));
          },
          measure: async (c) => {
            await collectGarbage(); // the last round's big binaries are not this one's to free
            return cpu.measure(c, kase.calls, () => rate(c, kase.calls));
          },
        });
        const caseRows = inCase.map((c) =>
          makeRow('piscina', `SHA-256 ${kase.label}`, c.name, {
            rate: median(results.get(c.name)),
            rateUnit: 'MB/s',
            ...cpu.perCall(c.name),
            rounds: results.get(c.name),
          }),
        );
        compareTo(caseRows, 'rate', REFERENCE);
        const piscina = caseRows.find((r) => r.contender.startsWith('piscina'));
        const ref = caseRows.find((r) => r.contender === REFERENCE);
        const total = (r) => (r.cpuOwner ?? 0) + (r.cpuOther ?? 0);
        piscina.note = `both sides' CPU per call: ${total(piscina).toFixed(0)} µs (all in the owner: piscina's threads) against the pool's ${total(ref).toFixed(0)} µs (owner and workers)`;
        ref.note = load();
        if (kase.target)
          judge(piscina, {
            goal: `the CNodePool hashes ${kase.label} buffers at least as fast as piscina (MB/s)`,
            value: piscina.ratio,
            op: '>=',
            threshold: 1,
            unit: '×',
          });
        rows.push(...caseRows);
      }
      return { rows };
    } finally {
      sharedBuffer.release();
      await stopAll(contenders);
    }
  },
};
