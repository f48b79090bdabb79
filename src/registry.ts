/**
 * What this Node.js process knows about all its workers: the creation number of each alive name,
 * and the live process groups to kill when the owner goes down. A worker also ends by itself when
 * its owner dies (stdin EOF, parent-death signal); these hooks make it immediate when Node exits
 * normally or dies of an uncaught exception.
 */
const liveGroups = new Set<number>();
const creations = new Map<string, number>();
let defaultNames = 0;
let hooksInstalled = false;

/** A fresh alive name, unique within this process and among processes on this host. */
export function uniqueAliveName(): string {
  return `cnode_${process.pid}_${++defaultNames}`;
}

/** The next creation number of `alive`: 1, 2, 3... each time it starts again in this process. */
export function nextCreation(alive: string): number {
  const creation = (creations.get(alive) ?? 0) + 1;
  creations.set(alive, creation);
  return creation;
}

/** Records a worker's process group (its leader's pid) as alive. */
export function trackGroup(pgid: number): void {
  installHooks();
  liveGroups.add(pgid);
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
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

function killAll(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  liveGroups.clear();
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
