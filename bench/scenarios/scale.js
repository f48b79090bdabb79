// scale: 100 bridge workers started at once (Promise.all), one call to each, all stopped; the
// time of each phase, each worker's resident memory, the owner's JavaScript heap and resident
// memory per CNode, and, over 'local', the shared-memory segment each node's rings take. Over
// 'local' (the bridge) and 'ipc' (bridge (zmq)), five repetitions each, alternating: the median
// and the worst of each phase. Only reported: there is no target. The heap figure needs node
// --expose-gc (npm run bench passes it).
import fs from 'node:fs';
import { CNode } from '../../dist/index.js';
import { BRIDGES } from '../contenders/bridge.js';
import { bin } from '../paths.js';
import { interleave, PAYLOAD } from '../rounds.js';
import { makeRow } from '../rows.js';
import { summarize } from '../stats.js';

const WORKERS = 100;
const REPEATS = 5;
const KiB = 1024;

/** Resident memory of a process in KiB, from /proc/<pid>/status: all of it, and its shared memory. */
function memoryKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), shmem: field('RssShmem') };
}

/** KiB of the ring segment a worker has mapped (the owner's memfd "cnode-ring"), or NaN. */
function ringSegmentKiB(pid) {
  let bytes = 0;
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n')) {
    if (!line.includes('/memfd:cnode-ring')) continue;
    const [from, to] = line.split(' ')[0].split('-');
    bytes += Number.parseInt(to, 16) - Number.parseInt(from, 16);
  }
  return bytes > 0 ? bytes / KiB : NaN;
}

function heapUsed() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

async function timed(work) {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** One repetition: the three phase times, the workers' memory, and the owner's per CNode in KiB. */
async function once(transport) {
  const heapBefore = heapUsed();
  const rssBefore = process.memoryUsage().rss;
  const started = await timed(() =>
    Promise.allSettled(Array.from({ length: WORKERS }, () => CNode.start({ executable: bin('echo'), transport }))),
  );
  const nodes = started.value.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  try {
    const failed = started.value.find((s) => s.status === 'rejected');
    if (failed)
      throw new Error(`${WORKERS - nodes.length} of ${WORKERS} workers did not start: ${failed.reason.message}`);
    const heapPerNode = (heapUsed() - heapBefore) / WORKERS / KiB;
    const called = await timed(() => Promise.all(nodes.map((node) => node.call(PAYLOAD))));
    const ownerRssPerNode = (process.memoryUsage().rss - rssBefore) / WORKERS / KiB;
    const memory = nodes.map((node) => memoryKiB(node.pid));
    const segments = transport === 'local' ? nodes.map((node) => ringSegmentKiB(node.pid)) : [];
    const stopped = await timed(() => Promise.all(nodes.map((node) => node.stop())));
    return { start: started.ms, call: called.ms, stop: stopped.ms, memory, segments, heapPerNode, ownerRssPerNode };
  } finally {
    await Promise.allSettled(nodes.map((node) => node.stop()));
  }
}

function rowsOf(name, runs) {
  const row = (kase, fields) => makeRow('scale', kase, name, fields);
  const phase = (key) => ({ unit: 'ms', ...summarize(runs.map((r) => r[key])) });
  const shmem = summarize(runs.flatMap((r) => r.memory.map((m) => m.shmem))).median;
  const segments = runs.flatMap((r) => r.segments);
  return [
    row(`start ${WORKERS} at once`, {
      ...phase('start'),
      note: `the median and, in the p99 column, the worst of ${REPEATS} repetitions, as for the next two phases`,
    }),
    row(`one call to each of ${WORKERS}`, phase('call')),
    row(`stop ${WORKERS}`, phase('stop')),
    row('worker RSS', {
      unit: 'KiB',
      ...summarize(runs.flatMap((r) => r.memory.map((m) => m.rss))),
      note: `VmRSS of each of the ${WORKERS} idle workers; of it, shared memory (RssShmem) ${shmem.toFixed(0)} KiB`,
    }),
    ...(segments.length > 0
      ? [
          row('ring segment per node', {
            unit: 'KiB',
            ...summarize(segments),
            note: 'the memfd each worker maps (/proc/<pid>/maps), 4096 + 2 × ringSize bytes; the owner maps it too',
          }),
        ]
      : []),
    row('owner RSS per CNode', {
      unit: 'KiB',
      ...summarize(runs.map((r) => r.ownerRssPerNode)),
      note: `the owner's RSS once all ${WORKERS} have answered, minus before the starts, ÷ ${WORKERS}`,
    }),
    globalThis.gc
      ? row('owner heap per CNode', {
          unit: 'KiB',
          ...summarize(runs.map((r) => r.heapPerNode)),
          note: `heapUsed after the starts minus before, after gc(), ÷ ${WORKERS}`,
        })
      : row('owner heap per CNode', { note: 'not measured: run node with --expose-gc' }),
  ];
}

export default {
  name: 'scale',
  summary: `${WORKERS} bridge workers started at once, one call each, all stopped; ${REPEATS} times over 'local' and over 'ipc', alternating`,
  async run() {
    const runs = await interleave(BRIDGES, {
      rounds: REPEATS,
      warmup: async () => {},
      measure: (bridge) => once(bridge.transport),
    });
    return { rows: BRIDGES.flatMap(({ name }) => rowsOf(name, runs.get(name))) };
  },
};
