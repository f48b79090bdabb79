// The demo behind `npm run demo`: start the example workers, call them, watch a crash being
// cleaned up, a pool share out work, a supervisor bring a sidecar back, and an owner attach to a
// worker something else started. Run `npm install` first; it builds the workers into build/bin/.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { curveKeyPair } from 'zeromq';
import { CNode, CNodePool, Supervisor } from '../dist/index.js';

const bin = (name) => path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'build', 'bin', name);
const isAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

console.log('1. An echo/arithmetic worker');
const echo = await CNode.start({ executable: bin('echo') });
console.log(`   started ${echo.name} (pid ${echo.pid}, creation ${echo.creation}) on ${echo.endpoint}`);
console.log(`   call add 2 + 40          -> ${await echo.call({ op: 'add', a: 2, b: 40 })}`);
console.log(`   call add 2**40 + 1       -> ${await echo.call({ op: 'add', a: 2 ** 40, b: 1 })}`);
console.log(`   call sum [0.5, 1.5, 2]   -> ${await echo.call({ op: 'sum', values: [0.5, 1.5, 2] })}`);
console.log(`   echo a nested value      -> ${JSON.stringify(await echo.call({ list: [1, 'two', { three: 3 }] }))}`);
await echo.send({ op: 'set', value: 'kept by the worker' });
console.log(`   send set, then call get  -> ${JSON.stringify(await echo.call({ op: 'get' }))}`);
const message = new Promise((resolve) => echo.once('message', resolve));
await echo.call({ op: 'notify', value: 'hello from C' });
console.log(`   the worker's own message -> ${JSON.stringify(await message)}`);
try {
  await echo.call({ op: 'fail', reason: 'bad input, on purpose' });
} catch (error) {
  console.log(`   a failing handler        -> ${error.code}: ${error.message}`);
}

console.log('\n2. Native compute: a box blur on a 1024x1024 image');
const blur = await CNode.start({ executable: bin('blur') });
const width = 1024;
const height = 1024;
const pixels = Buffer.alloc(width * height);
for (let y = 0; y < height; y++) {
  for (let x = 0; x < width; x++) pixels[y * width + x] = ((x >> 5) + (y >> 5)) % 2 ? 255 : 0; // a checkerboard
}
const started = performance.now();
const blurred = await blur.call({ width, height, radius: 8, pixels });
const ms = (performance.now() - started).toFixed(1);
const row = (image) =>
  Array.from({ length: 16 }, (_, i) => ' .:-=+*#%@'[Math.round((image[528 * width + 16 + i * 2] / 255) * 9)]).join('');
console.log(`   ${blurred.length} bytes back in ${ms} ms`);
console.log(`   an edge before: [${row(pixels)}]`);
console.log(`   an edge after:  [${row(blurred)}]`);
await blur.stop();

console.log('\n3. A crash, cleaned up');
await echo.send({ op: 'sleep', ms: 100 }); // the worker is busy while the calls below go out
await echo.send({ op: 'crash' });
const inFlight = Array.from({ length: 5 }, (_, i) => echo.call({ op: 'add', a: i, b: 1 }).catch((error) => error));
const errors = await Promise.all(inFlight);
const info = await echo.exited;
console.log(`   the worker died: ${JSON.stringify({ exitCode: info.exitCode, signal: info.signal })}`);
console.log(`   calls in flight: ${errors.map((error) => error.code).join(', ')}`);
console.log(`   a call afterwards: ${(await echo.call('hi').catch((error) => error)).code}`);
console.log(`   worker process still there? ${isAlive(echo.pid)}`);

console.log('\n4. A restart under the same name counts its creation');
const first = await CNode.start({ executable: bin('echo'), name: 'counter' });
await first.stop();
const second = await CNode.start({ executable: bin('echo'), name: 'counter' });
console.log(`   ${first.name}: creation ${first.creation}, then ${second.creation}`);
console.log(`   stop() -> ${JSON.stringify(await second.stop())}`);

console.log('\n5. A pool of two workers; one call among 40 crashes whatever worker runs it');
const pool = await CNodePool.start({ executable: bin('echo'), size: 2, retries: 1 });
const jobs = Array.from({ length: 40 }, (_, i) => pool.call(i === 7 ? { op: 'crash' } : { op: 'add', a: i, b: 1 }));
const results = await Promise.allSettled(jobs);
const answered = results.filter((result) => result.status === 'fulfilled').length;
const poison = results[7].reason;
const { completed, restarts, runTime } = pool.stats();
console.log(`   ${answered} of ${jobs.length} answered; the crashing one: ${poison.code}`);
console.log(`   ${completed} completed, ${restarts} workers replaced, run time p50 ${runTime.p50.toFixed(3)} ms`);
await pool.stop();

console.log('\n6. A supervised sidecar that ticks by itself, killed and brought back');
const supervisor = await Supervisor.start({ children: [{ id: 'ticker', executable: bin('ticker'), args: ['50'] }] });
const ticker = supervisor.child('ticker');
const tick = () => new Promise((resolve) => ticker.once('message', resolve));
const firstTick = await tick();
console.log(`   creation ${ticker.creation} says ${JSON.stringify(firstTick)}`);
const restarted = new Promise((resolve) => supervisor.once('restart', resolve));
process.kill(ticker.pid, 'SIGKILL');
const restart = await restarted;
console.log(`   killed by ${restart.info.signal}; restarted after ${restart.delay} ms`);
const nextTick = await tick();
console.log(`   creation ${ticker.creation} says ${JSON.stringify(nextTick)}`);
console.log(`   a call reaches it: ${JSON.stringify(await ticker.call({ op: 'status' }))}`);
await supervisor.stop();

console.log('\n7. A worker something else started (as systemd would), attached to, left, and attached to again');
const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-demo-'));
const worker = curveKeyPair(); // what `npx cnode keygen` prints
const owner = curveKeyPair();
fs.writeFileSync(path.join(keys, 'worker.key'), worker.secretKey, { mode: 0o600 });
fs.writeFileSync(path.join(keys, 'owners'), `${owner.publicKey}\n`, { mode: 0o644 });
const served = spawn(bin('echo'), [], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: {
    ...process.env,
    CNODE_SERVE: 'tcp://127.0.0.1:*',
    CNODE_SECRET_KEY_FILE: path.join(keys, 'worker.key'),
    CNODE_AUTHORIZED_KEYS: path.join(keys, 'owners'),
    CNODE_NAME: 'served',
  },
});
const [ready] = await once(readline.createInterface({ input: served.stdout }), 'line');
const endpoint = ready.slice('ready '.length);
const attachOptions = { endpoint, serverKey: worker.publicKey, ...owner };
const attached = await CNode.attach(attachOptions);
console.log(
  `   ${ready}; attached to ${attached.name} (its pid ${attached.workerPid}, none of ours: pid ${attached.pid})`,
);
await attached.send({ op: 'set', value: 'kept across owners' });
await attached.stop();
console.log(`   stop() detached; the worker still runs: ${isAlive(served.pid)}`);
const again = await CNode.attach(attachOptions);
console.log(`   attached again, call get -> ${JSON.stringify(await again.call({ op: 'get' }))}`);
const end = await again.stop({ terminate: true });
await once(served, 'exit');
console.log(`   stop({ terminate: true }) -> exit code ${end.exitCode}; the worker still runs: ${isAlive(served.pid)}`);
fs.rmSync(keys, { recursive: true, force: true });
