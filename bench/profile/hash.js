// A driver to profile the piscina scenario's cnode side (not part of npm run bench): SHA-256
// calls of one Buffer of `bytes`, `inFlight` at a time, to a CNodePool of `size` sha256 workers
// (or, with `node`, to one bare CNode; with `piscina`, to piscina's threads), for `seconds`;
// then calls/s, MB/s and both sides' CPU per call. Extra CNodePool options as JSON.
//
//   node bench/profile/hash.js [bytes=65536] [pool|node|hand|piscina] [seconds=5] [inFlight=8] [size=2] ['{"concurrency":4}']
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile/hash.js 1048576 pool
//   perf record -g -p <pid> ...; strace -c -f -p <pid> (the pid is printed first)
import { randomFillSync } from 'node:crypto';
import { HandPool, Node, PiscinaPool, Pool, sha256Worker } from '../contenders/pool.js';
import { ownerCpuUs, processesCpuUs } from '../cpu.js';
import { pipelined } from '../rounds.js';

const [bytesArg = '65536', kind = 'pool', secondsArg = '5', inFlightArg = '8', sizeArg = '2', extra = '{}'] =
  process.argv.slice(2);
const bytes = Number(bytesArg);
const inFlight = Number(inFlightArg);
const size = Number(sizeArg);
const executable = sha256Worker();
const contender =
  kind === 'node'
    ? new Node({ executable })
    : kind === 'piscina'
      ? new PiscinaPool({ threads: size })
      : kind === 'hand'
        ? new HandPool({ executable, size })
        : new Pool({ executable, size, ...JSON.parse(extra) });
await contender.start();
console.log(`owner pid ${process.pid}, workers ${contender.pids.join(' ') || '(threads)'}`);
try {
  const payload = randomFillSync(Buffer.allocUnsafe(bytes));
  const batch = Math.min(20_000, Math.max(50, Math.round(64e6 / Math.max(bytes, 1))));
  await pipelined(() => contender.call(payload), batch, inFlight); // warm-up
  const owner0 = ownerCpuUs();
  const other0 = processesCpuUs(contender.pids);
  const start = performance.now();
  let calls = 0;
  while (performance.now() - start < Number(secondsArg) * 1000) {
    await pipelined(() => contender.call(payload), batch, inFlight);
    calls += batch;
  }
  const seconds = (performance.now() - start) / 1000;
  const owner = (ownerCpuUs() - owner0) / calls;
  const other = (processesCpuUs(contender.pids) - other0) / calls;
  console.log(
    `${contender.name}, ${bytes} B, ${inFlight} in flight: ${(calls / seconds).toFixed(0)} calls/s, ` +
      `${((calls * bytes) / seconds / 1e6).toFixed(0)} MB/s; CPU per call: owner ${owner.toFixed(1)} µs, ` +
      `workers ${Number.isFinite(other) ? other.toFixed(1) : '-'} µs`,
  );
} finally {
  await contender.stop();
}
