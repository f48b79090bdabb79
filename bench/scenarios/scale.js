// scale: 100 bridge workers started at once (Promise.all), one call to each, all stopped; the
// time of each phase, each worker's resident memory, and the owner's JavaScript heap per CNode.
// Five repetitions: the median and the worst of each phase. Only reported: there is no
// alternative and no target. The heap figure needs node --expose-gc (npm run bench passes it).
import fs from 'node:fs';
import { CNode } from '../../dist/index.js';
import { bin } from '../paths.js';
import { makeRow } from '../rows.js';
import { summarize } from '../stats.js';

const WORKERS = 100;
const REPEATS = 5;
const PAYLOAD = 'The quick brown fox jumps over the lazy dog; 64 bytes of UTF-8!!';

/** Resident memory of a process in KiB, from /proc/<pid>/status. */
function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]);
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

/** One repetition: the three phase times, the workers' RSS, and the heap per CNode in KiB. */
async function once() {
  const heapBefore = heapUsed();
  const started = await timed(() =>
    Promise.allSettled(Array.from({ length: WORKERS }, () => CNode.start({ executable: bin('echo') }))),
  );
  const nodes = started.value.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  try {
    const failed = started.value.find((s) => s.status === 'rejected');
    if (failed)
      throw new Error(`${WORKERS - nodes.length} of ${WORKERS} workers did not start: ${failed.reason.message}`);
    const heapPerNode = (heapUsed() - heapBefore) / WORKERS / 1024;
    const called = await timed(() => Promise.all(nodes.map((node) => node.call(PAYLOAD))));
    const rss = nodes.map((node) => rssKiB(node.pid));
    const stopped = await timed(() => Promise.all(nodes.map((node) => node.stop())));
    return { start: started.ms, call: called.ms, stop: stopped.ms, rss, heapPerNode };
  } finally {
    await Promise.allSettled(nodes.map((node) => node.stop()));
  }
}

export default {
  name: 'scale',
  summary: `${WORKERS} bridge workers started at once, one call each, all stopped; ${REPEATS} times`,
  async run() {
    const runs = [];
    for (let i = 0; i < REPEATS; i++) runs.push(await once());
    const row = (kase, fields) => makeRow('scale', kase, 'bridge', fields);
    const phase = (key) => ({ unit: 'ms', ...summarize(runs.map((r) => r[key])) });
    return {
      rows: [
        row(`start ${WORKERS} at once`, {
          ...phase('start'),
          note: `the median and, in the p99 column, the worst of ${REPEATS} repetitions, as for the next two phases`,
        }),
        row(`one call to each of ${WORKERS}`, phase('call')),
        row(`stop ${WORKERS}`, phase('stop')),
        row('worker RSS', { unit: 'KiB', ...summarize(runs.flatMap((r) => r.rss)) }),
        globalThis.gc
          ? row('owner heap per CNode', {
              unit: 'KiB',
              ...summarize(runs.map((r) => r.heapPerNode)),
              note: `heapUsed after the starts minus before, after gc(), ÷ ${WORKERS}`,
            })
          : row('owner heap per CNode', { note: 'not measured: run node with --expose-gc' }),
      ],
    };
  },
};
