// Linux network namespaces for the tests and the bench of workers on "another host" (issue 12):
// each one a namespace joined to the owner's (root) namespace by a veth pair with private
// addresses, 10.213.N.1 on the owner's side and 10.213.N.2 inside, a /30 each, loopback up
// inside. Plain JavaScript with JSDoc (netns.d.ts beside it) so that the vitest tests and the
// bench, which runs from dist/ without a compiler, share it.
//
// Names are unique per process: the namespace is `cnode-<pid>-<n>`, its veth ends
// `cn<pid>h<n>` (the owner's side) and `cn<pid>f<n>` (inside; interface names stop at 15
// characters). N, the third byte of the addresses, is claimed across processes by a file
// created exclusively in <tmpdir>/cnode-netns/, holding the claimer's pid.
//
// Removed whatever happens: remove() / removeAll() (afterAll), on this process's 'exit'
// (synchronously), on SIGINT/SIGTERM/SIGHUP when nothing else listens for them, and what a
// process killed by SIGKILL left is swept by the next one (sweepStale(), run by create()): every
// namespace, veth and claim whose pid is no longer alive. Removing a namespace first SIGKILLs
// the processes still in it (`ip netns pids`), which would otherwise keep it alive unnamed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CLAIMS = path.join(os.tmpdir(), 'cnode-netns');
const NAME = /^cnode-(\d+)-(\d+)$/;
const VETH = /^cn(\d+)[hf](\d+)$/;

/** @type {Map<string, import('./netns.js').Namespace>} */
const made = new Map();
let counter = 0;
let hooked = false;

/** Runs `ip ...args`; returns its stdout. Throws with its stderr on failure. */
function ip(...args) {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (error) {
    const stderr = error.stderr?.toString().trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || error.message}`);
  }
}

/** Runs `ip ...args` and ignores a failure (for clean-up of what may already be gone). */
function tryIp(...args) {
  try {
    ip(...args);
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** The namespaces `ip netns list` names (without their "(id: n)"). */
function namespaceNames() {
  return ip('netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter(Boolean);
}

/** The pids of every process in namespace `name`. */
export function pids(name) {
  const ns = typeof name === 'string' ? name : name.name;
  try {
    return ip('netns', 'pids', ns)
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => isAlive(pid) && !isZombie(pid));
  } catch {
    return [];
  }
}

function isZombie(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true; // gone
  }
}

/** SIGKILLs every process in namespace `name`; returns the pids it killed. */
export function killAll(name) {
  const found = pids(name);
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Claims a free N (1..254) for this process, by a file made with O_EXCL. */
function claimSubnet() {
  fs.mkdirSync(CLAIMS, { recursive: true, mode: 0o700 });
  for (let n = 1; n <= 254; n++) {
    const file = path.join(CLAIMS, String(n));
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return n;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const owner = Number(fs.readFileSync(file, 'utf8').trim() || 0);
      if (owner > 0 && !isAlive(owner)) {
        fs.rmSync(file, { force: true }); // stale: take it on the next pass
        n--;
      }
    }
  }
  throw new Error(`no free 10.213.N.0/30 left (claims in ${CLAIMS})`);
}

function releaseSubnet(n) {
  const file = path.join(CLAIMS, String(n));
  try {
    if (Number(fs.readFileSync(file, 'utf8')) === process.pid) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

/**
 * Removes what processes that are no longer alive left behind: their namespaces (and the
 * processes in them), their veth ends in this namespace and their subnet claims.
 */
export function sweepStale() {
  for (const name of namespaceNames()) {
    const match = NAME.exec(name);
    if (match && !isAlive(Number(match[1]))) {
      killAll(name);
      tryIp('link', 'del', `cn${match[1]}h${match[2]}`);
      tryIp('netns', 'del', name);
    }
  }
  for (const line of ip('-o', 'link', 'show').split('\n')) {
    const ifname = line.split(': ')[1]?.split('@')[0];
    const match = ifname && VETH.exec(ifname);
    if (match && !isAlive(Number(match[1]))) tryIp('link', 'del', ifname);
  }
  if (fs.existsSync(CLAIMS)) {
    for (const entry of fs.readdirSync(CLAIMS)) {
      const file = path.join(CLAIMS, entry);
      try {
        const owner = Number(fs.readFileSync(file, 'utf8').trim() || 0);
        if (!(owner > 0 && isAlive(owner))) fs.rmSync(file, { force: true });
      } catch {
        // gone meanwhile
      }
    }
  }
}

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => removeAll());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    // Only where nothing else handles the signal: a listener of ours would otherwise stop its
    // default action (ending the process) for everyone else too.
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      removeAll();
      process.kill(process.pid, signal); // now with the default action
    });
  }
}

/**
 * Makes a namespace joined to this one by a veth pair: 10.213.N.1 here, 10.213.N.2 inside, both
 * up, loopback up inside. Throws (having removed what it made) when `ip` refuses.
 * @returns {import('./netns.js').Namespace}
 */
export function create() {
  if (counter === 0) sweepStale();
  hookExit();
  const index = counter++;
  const name = `cnode-${process.pid}-${index}`;
  const hostVeth = `cn${process.pid}h${index}`;
  const farVeth = `cn${process.pid}f${index}`;
  const subnet = claimSubnet();
  const hostAddress = `10.213.${subnet}.1`;
  const farAddress = `10.213.${subnet}.2`;
  /** @type {import('./netns.js').Namespace} */
  const ns = {
    name,
    hostVeth,
    farVeth,
    subnet,
    hostAddress,
    farAddress,
    exec: ['ip', 'netns', 'exec', name],
  };
  made.set(name, ns);
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', farVeth);
    ip('link', 'set', farVeth, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostVeth);
    ip('link', 'set', hostVeth, 'up');
    ip('-n', name, 'addr', 'add', `${farAddress}/30`, 'dev', farVeth);
    ip('-n', name, 'link', 'set', farVeth, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (error) {
    remove(ns);
    throw error;
  }
  return ns;
}

/** Cuts the link: the owner's end of the veth down (the far end loses its carrier too). */
export function cut(ns) {
  ip('link', 'set', ns.hostVeth, 'down');
}

/** Restores a cut link. */
export function restore(ns) {
  ip('link', 'set', ns.hostVeth, 'up');
}

/**
 * Removes a namespace: SIGKILLs what runs in it, deletes the veth pair (synchronously: deleting
 * the namespace alone would let the kernel remove its end later, in the background), then the
 * namespace, then the subnet claim. Safe to call twice.
 */
export function remove(ns) {
  killAll(ns.name);
  tryIp('link', 'del', ns.hostVeth);
  tryIp('netns', 'del', ns.name);
  releaseSubnet(ns.subnet);
  made.delete(ns.name);
}

/** Removes every namespace this process made and has not removed. */
export function removeAll() {
  for (const ns of [...made.values()]) remove(ns);
}

/**
 * Why namespaces cannot be made here, in words, or undefined when they can: not root, no `ip`,
 * or `ip netns add` refused (a container without CAP_SYS_ADMIN). Tries once, for real.
 */
export function unavailable() {
  if (process.platform !== 'linux') return `network namespaces are Linux's (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `network namespaces need root (uid ${process.getuid?.()}): ip netns add`;
  try {
    remove(create());
    return undefined;
  } catch (error) {
    return `cannot make a network namespace: ${error.message}`;
  }
}
