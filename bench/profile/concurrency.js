// What a CNodePool's `concurrency` (calls given to each worker at once) changes, to choose its
// default (not part of npm run bench). Pools of 2 workers, one per concurrency, measured in
// interleaved rounds on three loads: 64 B echoes with 256 in flight (build/bin/echo), and
// CPU-bound tasks of about 100 µs and 1 ms with 8 in flight (bench/workers/sha256.c, sized as
// the scaling scenario sizes them). Prints each one's median rate and both sides' CPU per call.
//
//   node bench/profile/concurrency.js [rounds=6] [1,2,4,8,64]
import { Pool, sha256Worker } from '../contenders/pool.js';
import { CpuTally } from '../cpu.js';
import { bin } from '../paths.js';
import { interleave, PAYLOAD, pipelined, startAll, stopAll } from '../rounds.js';
import { median } from '../stats.js';

const [roundsArg = '6', levelsArg = '1,2,4,8,64'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const levels = levelsArg.split(',').map(Number);

async function load(executable, message, calls, inFlight, label, check) {
  const pools = await startAll(
    levels.map(
      (concurrency) => () => new Pool({ executable, size: 2, concurrency, name: `concurrency ${concurrency}` }),
    ),
  );
  try {
    const cpu = new CpuTally();
    const rate = async (pool, n) => {
      const ms = await pipelined(() => pool.call(message).then(check), n, inFlight);
      return n / (ms / 1000);
    };
    const results = await interleave(pools, {
      rounds,
      warmup: (pool) => rate(pool, Math.ceil(calls / 10)),
      measure: (pool) => cpu.measure(pool, calls, () => rate(pool, calls)),
    });
    console.log(`\n${label}: calls/s (median of ${rounds} rounds of ${calls}), CPU per call owner / workers`);
    for (const pool of pools) {
      const { cpuOwner, cpuOther } = cpu.perCall(pool.name);
      console.log(
        `  ${pool.name.padEnd(16)} ${median(results.get(pool.name)).toFixed(0).padStart(8)}/s   ${cpuOwner.toFixed(1)} / ${cpuOther.toFixed(1)} µs`,
      );
    }
  } finally {
    await stopAll(pools);
  }
}

/** ns of worker CPU per SHA-256 round of the sha256 worker's 4 KiB buffer. */
async function nsPerRound(executable) {
  const [pool] = await startAll([() => new Pool({ executable, size: 1 })]);
  try {
    const samples = [];
    for (let i = 0; i < 15; i++) samples.push((await pool.call({ op: 'work', rounds: 400 })).ns / 400);
    return median(samples);
  } finally {
    await stopAll([pool]);
  }
}

await load(bin('echo'), PAYLOAD, 20_000, 256, '64 B echo, 256 in flight', (answer) => {
  if (answer !== PAYLOAD) throw new Error(`echo answered ${answer}`);
});
const sha256 = sha256Worker();
const perRound = await nsPerRound(sha256);
for (const us of [100, 1000]) {
  const message = { op: 'work', rounds: Math.max(1, Math.round((us * 1000) / perRound)) };
  await load(sha256, message, us === 100 ? 2000 : 200, 8, `${us} µs tasks, 8 in flight`, () => {});
}
