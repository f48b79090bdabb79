// scaling: CPU-bound C tasks spread over a pool's workers. Each task is {op: 'work', rounds}
// to bench/workers/sha256.c: `rounds` chained SHA-256s of a 4 KiB buffer the worker holds, sized
// at the start of the run (from the worker's own CPU clock) to take about 100 µs and about 1 ms.
// 8 tasks are kept in flight (the pools queue what their workers are not given); the rate is
// tasks per second, the median of the rounds; both sides' CPU per task over the rounds.
// Contenders, interleaved: a CNodePool of 2 workers on these 2 cores, a CNodePool of 1, and one
// bare CNode given all 8 tasks at once.
// Target (issue 11): the pool of 2 at least 1.8× the pool of 1 for the 1 ms tasks.
import { createHash } from 'node:crypto';
import { Node, Pool, sha256Worker } from '../contenders/pool.js';
import { CpuTally, otherLoad } from '../cpu.js';
import { interleave, startAll, stopAll } from '../rounds.js';
import { compareTo, judge, makeRow } from '../rows.js';
import { median } from '../stats.js';

const ROUNDS = 10;
const IN_FLIGHT = 8;
const WORK_BYTES = 4096;
const TASKS = [
  { label: '100 µs tasks', us: 100, perRound: 2000 },
  { label: '1 ms tasks', us: 1000, perRound: 200 },
];
const REFERENCE = 'CNodePool ×2';

/** The digest of `rounds` chained SHA-256s of the worker's buffer, by node:crypto. */
function expectedDigest(rounds) {
  const input = Buffer.alloc(WORK_BYTES);
  for (let i = 0; i < WORK_BYTES; i++) input[i] = i & 0xff;
  let digest;
  for (let i = 0; i < rounds; i++) {
    digest = createHash('sha256').update(input).digest();
    digest.copy(input, 0);
  }
  return digest;
}

/** ns of worker CPU per round, from the handler's own clock: the median of a few 400-round tasks. */
async function nsPerRound(node) {
  const answer = await node.call({ op: 'work', rounds: 3 });
  if (!Buffer.from(answer.digest).equals(expectedDigest(3)))
    throw new Error('sha256 worker: the digest of 3 rounds differs from node:crypto’s');
  const samples = [];
  for (let i = 0; i < 15; i++) samples.push((await node.call({ op: 'work', rounds: 400 })).ns / 400);
  return median(samples);
}

/** `total` tasks, IN_FLIGHT at a time; resolves with tasks/s and the handlers' CPU ns summed. */
function tasks(contender, message, total) {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let answered = 0;
    let ns = 0;
    const start = performance.now();
    const next = () => {
      if (issued === total) return;
      issued++;
      contender.call(message).then((answer) => {
        ns += answer.ns;
        if (++answered === total) resolve({ rate: total / ((performance.now() - start) / 1000), ns });
        else next();
      }, reject);
    };
    for (let i = 0; i < Math.min(IN_FLIGHT, total); i++) next();
  });
}

export default {
  name: 'scaling',
  summary: `CPU-bound C tasks (chained SHA-256 in the worker) of about ${TASKS.map((t) => t.label.replace(' tasks', '')).join(' and ')}, ${IN_FLIGHT} in flight: a CNodePool of 2 and of 1, and a bare CNode, ${ROUNDS} rounds of ${TASKS.map((t) => t.perRound).join('/')} tasks`,
  async run() {
    const executable = sha256Worker();
    const contenders = await startAll([
      () => new Pool({ executable, size: 2 }),
      () => new Pool({ executable, size: 1 }),
      () => new Node({ executable }),
    ]);
    try {
      const perRound = await nsPerRound(contenders[2]);
      const rows = [];
      for (const task of TASKS) {
        const rounds = Math.max(1, Math.round((task.us * 1000) / perRound));
        const message = { op: 'work', rounds };
        const cpu = new CpuTally();
        const handlerNs = new Map(contenders.map((c) => [c.name, 0]));
        const load = otherLoad(contenders.flatMap((c) => c.pids));
        const results = await interleave(contenders, {
          rounds: ROUNDS,
          warmup: (c) => tasks(c, message, Math.ceil(task.perRound / 10)),
          measure: (c) =>
            cpu.measure(c, task.perRound, async () => {
              const { rate, ns } = await tasks(c, message, task.perRound);
              handlerNs.set(c.name, handlerNs.get(c.name) + ns);
              return rate;
            }),
        });
        const caseRows = contenders.map((c) =>
          makeRow('scaling', task.label, c.name, {
            rate: median(results.get(c.name)),
            rateUnit: 'tasks/s',
            ...cpu.perCall(c.name),
            rounds: results.get(c.name),
          }),
        );
        compareTo(caseRows, 'rate', REFERENCE);
        const ref = caseRows.find((r) => r.contender === REFERENCE);
        const taskUs = handlerNs.get(REFERENCE) / 1000 / (ROUNDS * task.perRound);
        ref.note =
          `a task is ${rounds} chained SHA-256s of 4 KiB, ${taskUs.toFixed(0)} µs of the handler's CPU (its own clock); ` +
          `the workers' CPU beyond that, their loop and the messages: ${(ref.cpuOther - taskUs).toFixed(1)} µs a task; ${load()}`;
        if (task.us === 1000) {
          const one = caseRows.find((r) => r.contender === 'CNodePool ×1');
          judge(one, {
            goal: 'a CNodePool of 2 workers on 2 cores ≥ 1.8× the tasks/s of a pool of 1, for 1 ms tasks',
            value: one.ratio,
            op: '>=',
            threshold: 1.8,
            unit: '×',
          });
        }
        rows.push(...caseRows);
      }
      return { rows };
    } finally {
      await stopAll(contenders);
    }
  },
};
