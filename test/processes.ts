// Processes as /proc shows them: the one reader of /proc the tests share. Apart from helpers.ts,
// which loads the library, so that a test of the installed package (package.test.ts) can use
// them without loading ../src.
import fs from 'node:fs';

/** What /proc/PID/stat says of a process: fields 3 to 5 (proc(5)), after the command name. */
interface Stat {
  pid: number;
  /** R, S, D, T, Z (a zombie: exited, not reaped), ... */
  state: string;
  ppid: number;
  pgid: number;
}

/** The stat of `pid`, or undefined once it has no /proc entry. */
function stat(pid: number | string): Stat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may hold spaces and parentheses: the fields start after the last ')'.
    const [state, ppid, pgid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid: Number(pid), state, ppid: Number(ppid), pgid: Number(pgid) };
  } catch {
    return undefined; // it ended, and was reaped, while we looked
  }
}

/** Every process /proc lists now. */
function processes(): Stat[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => stat(entry) ?? []);
}

/** True while `pid` is a live process; a zombie counts as gone (PID 1 reaps orphans slowly here). */
export function isAlive(pid: number): boolean {
  const found = stat(pid);
  return found !== undefined && found.state !== 'Z';
}

/** True while `pid` has a /proc entry, a zombie included: false once it is reaped. */
export function hasProcessEntry(pid: number): boolean {
  return stat(pid) !== undefined;
}

/** Live (non-zombie) processes whose parent is `parent`. */
export function liveChildren(parent = process.pid): number[] {
  return processes()
    .filter((p) => p.ppid === parent && p.state !== 'Z')
    .map((p) => p.pid);
}

/** Children of `parent` that have exited and were not reaped. */
export function zombieChildren(parent = process.pid): number[] {
  return processes()
    .filter((p) => p.ppid === parent && p.state === 'Z')
    .map((p) => p.pid);
}

/** The process group of `pid`. */
export function processGroup(pid: number): number {
  const found = stat(pid);
  if (found === undefined) throw new Error(`process ${pid} is gone`);
  return found.pgid;
}

/** The arguments `pid` runs with, argv[0] first. */
export function commandLine(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

/** The environment `pid` was exec'd with: /proc keeps it even after the process unsets a variable. */
export function environment(pid: number): Record<string, string> {
  const entries = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(
    entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

/** How many descriptors this process has open. */
export function openDescriptors(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/**
 * What this process holds of ring transports by name: descriptors of the rings' and parts'
 * memfds, and mappings of the rings (eventfds and sockets have no name of their own: the
 * descriptor count catches those). A closed connection leaves none. A part a worker sent stays
 * mapped while its Buffer lives, so part mappings are not counted.
 */
export function ringLeftovers(): string[] {
  const held: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the directory's own descriptor, closed by now
    }
    if (target.includes('memfd:cnode-ring') || target.includes('memfd:cnode-part')) held.push(`fd ${fd}: ${target}`);
  }
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    if (line.includes('memfd:cnode-ring')) held.push(`mapping ${line.trim()}`);
  }
  return held;
}

/** The inodes of the cnode SharedBuffer memfds that `pid` has mapped, from its /proc/PID/maps. */
export function sharedMappings(pid: number | 'self' = 'self'): Set<number> {
  const inodes = new Set<number>();
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    if (line.includes('memfd:cnode-shared')) inodes.add(Number(line.trim().split(/\s+/)[4]));
  }
  return inodes;
}
