/**
 * The exit hooks of this thread: the live process groups of its workers, killed when the owner
 * exits normally or dies of an uncaught exception, and the sockets closed then. A worker also
 * ends by itself when its owner dies otherwise (stdin EOF, parent-death signal); these hooks make
 * it immediate.
 */
import { isMainThread } from 'node:worker_threads';
import { native } from '../native.js';

const liveGroups = new Set<number>();
const closeAtExit = new Set<() => void>();
let hooksInstalled = false;

/** Records a worker's process group (its leader's pid) as alive. */
export function trackGroup(pgid: number): void {
  installHooks();
  liveGroups.add(pgid);
  groupsChanged();
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
  groupsChanged();
}

/**
 * A worker_thread that is terminated runs none of these hooks: the addon's cleanup hook ends and
 * reaps the groups instead (addon/teardown.cc), so it is told them. The main thread needs none
 * of it: its end is the process's, and the workers end themselves (stdin EOF, the lifeline).
 */
function groupsChanged(): void {
  if (isMainThread) return;
  try {
    native().terminateGroups([...liveGroups]);
  } catch {
    // No addon: nothing reaps them then, as before it existed.
  }
}

/**
 * Runs `close` when this thread or process exits, unless the returned function is called first.
 * zeromq.js aborts the whole process when a worker_thread ends with a socket still receiving
 * (zeromq.js issue #411), so every socket must be closed from the exit hook.
 */
export function closeOnExit(close: () => void): () => void {
  installHooks();
  closeAtExit.add(close);
  return () => closeAtExit.delete(close);
}

/** Sends a signal to a whole process group; false when no process of it is left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!(pgid > 0)) return false; // kill(-0) would signal the owner's own group
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The most a worker_thread's exit waits to reap the workers it killed. */
const REAP_WAIT_MS = 1000;

function killAll(): void {
  const killed = [...liveGroups].filter((pgid) => signalGroup(pgid, 'SIGKILL'));
  liveGroups.clear();
  if (!isMainThread) reapAll(killed);
  for (const close of closeAtExit) close();
  closeAtExit.clear();
}

/**
 * Waits, synchronously and at most REAP_WAIT_MS, for killed workers to exit and collects them. A
 * worker_thread's event loop, which would reap them, ends with the thread; unreaped, they would
 * stay zombies in the owner for as long as it lives. The main thread needs none of this: its
 * exit ends the process, and the kernel hands the children to init.
 */
function reapAll(pids: number[]): void {
  const { reap } = native();
  const deadline = Date.now() + REAP_WAIT_MS;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let left = pids;
  while (left.length > 0 && Date.now() < deadline) {
    left = left.filter((pid) => reap(pid) === null);
    if (left.length > 0) Atomics.wait(sleeper, 0, 0, 1);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAll);
  // The monitor runs before Node prints the error and exits; it runs also when a handler will
  // keep the process alive, so kill only when nothing handles the error.
  process.on('uncaughtExceptionMonitor', (_error, origin) => {
    const handled =
      process.listenerCount('uncaughtException') > 0 ||
      (origin === 'unhandledRejection' && process.listenerCount('unhandledRejection') > 0);
    if (!handled) killAll();
  });
}
