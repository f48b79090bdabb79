// A small pipelined driver to profile the owner's CPU per call (not part of npm run bench):
// 256 calls (or `inFlight`; 1 for sequential calls) of a 64-byte string kept in flight to one
// bridge node, in rounds of 20,000 calls,
// and the owner's CPU time per call at the end. With `gc` (and node --expose-gc) a full garbage
// collection runs before each round, as the other contenders' rounds cause in the bench.
//
//   node --expose-gc --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile/pipelined.js [local|ipc] [rounds] [gc|nogc] [inFlight]
//   node bench/profile/top.js /tmp/prof/*.cpuprofile
import { CNode } from '../../dist/index.js';
import { ownerCpuUs } from '../cpu.js';
import { bin } from '../paths.js';
import { PAYLOAD, pipelined } from '../rounds.js';

const [transport = 'local', roundsArg = '50', gc, inFlightArg = '256'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const inFlight = Number(inFlightArg);
const CALLS = 20_000;
if (gc === 'gc' && !globalThis.gc) throw new Error('gc between rounds needs node --expose-gc');

const node = await CNode.start({ executable: bin('echo'), transport });
try {
  await pipelined(() => node.call(PAYLOAD), CALLS, inFlight); // warm-up
  let cpu = 0;
  let ms = 0;
  for (let i = 0; i < rounds; i++) {
    if (gc === 'gc') globalThis.gc();
    const cpu0 = ownerCpuUs();
    ms += await pipelined(() => node.call(PAYLOAD), CALLS, inFlight);
    cpu += ownerCpuUs() - cpu0;
  }
  const calls = rounds * CALLS;
  console.log(
    `${transport}, ${inFlight} in flight${gc === 'gc' ? ', a full GC before each round' : ''}: ${calls} calls, ` +
      `${((calls / ms) * 1000).toFixed(0)} calls/s, owner CPU ${(cpu / calls).toFixed(2)} µs per call`,
  );
} finally {
  await node.stop();
}
