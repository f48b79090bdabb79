// The pool scenarios' contenders (scaling, piscina, dispatch):
//   CNodePool ×N   CNodePool.start({ executable, size: N, ... }) from dist/, then pool.call()
//   CNode          one bare CNode, node.call(): what the pool is measured against
//   piscina ×N     piscina (worker_threads) with N threads running bench/workers/piscina_sha256.js
// Each has start(), call(payload, options), pids (the processes whose CPU is the other side's:
// the pool's workers, the node's; none for piscina, whose threads are in the owner) and stop().
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as cnode from '../../dist/index.js';
import { benchDir, bin, root } from '../paths.js';

/** The compute worker of the scaling and piscina scenarios, built only where libcrypto is. */
export function sha256Worker() {
  const file = bin('sha256');
  if (!fs.existsSync(file)) {
    const error = new Error(
      `${path.relative(root, file)} is not built: CMake builds it only where pkg-config finds libcrypto. ` +
        'apt-get install libssl-dev, then npm run build',
    );
    error.stack = error.message; // run.js prints the stack: the message is all there is to say
    throw error;
  }
  return file;
}

/** CNodePool from dist/, or a clear error when this build has none (yet). */
function poolClass() {
  if (typeof cnode.CNodePool !== 'function') {
    const error = new Error('dist/index.js exports no CNodePool: npx tsc -p tsconfig.json (or npm run build)');
    error.stack = error.message;
    throw error;
  }
  return cnode.CNodePool;
}

/** The live children of this process running `executable` (a pool's workers), by /proc. */
export function childrenRunning(executable) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      if (fs.readlinkSync(`/proc/${entry}/exe`) === executable) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

// Generous timeouts: a 1 MiB hash or a 1 ms task behind a deep queue on a busy machine must not
// be cut short.
const TIMEOUTS = { callTimeout: 120_000 };

export class Pool {
  pool = undefined;
  #pids = [];

  /** `size` workers of `executable`; `options` are CNodePool.start's (concurrency, ...). */
  constructor({ executable, size, name = `CNodePool ×${size}`, ...options }) {
    this.name = name;
    this.executable = executable;
    this.options = { executable, size, ...TIMEOUTS, ...options };
  }

  async start() {
    const before = new Set(childrenRunning(this.executable));
    this.pool = await poolClass().start(this.options);
    this.#pids = childrenRunning(this.executable).filter((pid) => !before.has(pid));
    const { size } = this.options;
    if (typeof size === 'number' && this.#pids.length !== size)
      throw new Error(`${this.name}: found ${this.#pids.length} workers running, not ${size}`);
  }

  call(payload, options) {
    return options ? this.pool.call(payload, options) : this.pool.call(payload);
  }

  /** The workers' pids, for their CPU time (cpu.js). */
  get pids() {
    return this.#pids;
  }

  async stop() {
    await this.pool?.stop();
  }
}

export class Node {
  node = undefined;

  constructor({ executable, name = 'CNode', ...options }) {
    this.name = name;
    this.options = { executable, ...TIMEOUTS, ...options };
  }

  async start() {
    this.node = await cnode.CNode.start(this.options);
  }

  call(payload, options) {
    return options ? this.node.call(payload, options) : this.node.call(payload);
  }

  get pids() {
    return [this.node?.pid];
  }

  async stop() {
    await this.node?.stop();
  }
}

export class PiscinaPool {
  pool = undefined;

  constructor({ threads }) {
    this.threads = threads;
    this.name = `piscina ×${threads}`;
  }

  async start() {
    const { Piscina } = await import('piscina');
    // As a new user would: the defaults, but a fixed number of threads (as the CNodePools'
    // size), all started before the rounds.
    this.pool = new Piscina({
      filename: pathToFileURL(path.join(benchDir, 'workers', 'piscina_sha256.js')).href,
      minThreads: this.threads,
      maxThreads: this.threads,
    });
    await Promise.all(Array.from({ length: this.threads * 2 }, () => this.pool.run(Buffer.alloc(1))));
  }

  call(payload, options) {
    return options ? this.pool.run(payload, options) : this.pool.run(payload);
  }

  /** The threads run in this process: their CPU is the owner's. */
  get pids() {
    return [];
  }

  async stop() {
    await this.pool?.destroy();
  }
}

/**
 * What a user writes without CNodePool: `size` CNodes, each call to the one with the fewest
 * calls pending (node.pending), no queue, no limit.
 */
export class HandPool {
  nodes = [];

  constructor({ executable, size, name = `${size} CNodes by hand`, ...options }) {
    this.name = name;
    this.size = size;
    this.options = { executable, ...TIMEOUTS, ...options };
  }

  async start() {
    for (let i = 0; i < this.size; i++) this.nodes.push(await cnode.CNode.start(this.options));
  }

  call(payload, options) {
    let best = this.nodes[0];
    for (const node of this.nodes) if (node.pending < best.pending) best = node;
    return options ? best.call(payload, options) : best.call(payload);
  }

  get pids() {
    return this.nodes.map((node) => node.pid);
  }

  async stop() {
    await Promise.allSettled(this.nodes.map((node) => node.stop()));
  }
}
