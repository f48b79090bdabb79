// A pipelined driver to profile what a CNodePool adds to a call (not part of npm run bench):
// 64-byte echoes to build/bin/echo, `inFlight` kept in flight, in rounds of 20,000, through a
// CNodePool of one worker with `concurrency` (pool) or one bare CNode (node); then calls/s and
// the owner's CPU per call.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile/dispatch.js [pool|node] [concurrency=256] [rounds=50] [inFlight=256]
//   node bench/profile/top.js /tmp/prof/*.cpuprofile
import { Node, Pool } from '../contenders/pool.js';
import { ownerCpuUs } from '../cpu.js';
import { bin } from '../paths.js';
import { PAYLOAD, pipelined } from '../rounds.js';

const [kind = 'pool', concurrencyArg = '256', roundsArg = '50', inFlightArg = '256'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const inFlight = Number(inFlightArg);
const CALLS = 20_000;
const executable = bin('echo');
const contender =
  kind === 'node' ? new Node({ executable }) : new Pool({ executable, size: 1, concurrency: Number(concurrencyArg) });
await contender.start();
try {
  await pipelined(() => contender.call(PAYLOAD), CALLS, inFlight); // warm-up
  let cpu = 0;
  let ms = 0;
  for (let i = 0; i < rounds; i++) {
    const cpu0 = ownerCpuUs();
    ms += await pipelined(() => contender.call(PAYLOAD), CALLS, inFlight);
    cpu += ownerCpuUs() - cpu0;
  }
  const calls = rounds * CALLS;
  console.log(
    `${contender.name}${kind === 'node' ? '' : `, concurrency ${concurrencyArg}`}, ${inFlight} in flight: ` +
      `${((calls / ms) * 1000).toFixed(0)} calls/s, owner CPU ${(cpu / calls).toFixed(2)} µs per call`,
  );
} finally {
  await contender.stop();
}
