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

/** The descriptors of `pid` that are memfds named `name`, as "fd <n>: <target>". */
export function memfdDescriptors(pid: number | 'self', name: string): string[] {
  const held: string[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the directory's own descriptor, for one)
    }
    if (target.includes(`memfd:${name}`)) held.push(`fd ${fd}: ${target}`);
  }
  return held;
}

/** The lines of `pid`'s /proc/PID/maps that map memfds named `name`. */
export function memfdMappings(pid: number | 'self', name: string): string[] {
  return fs
    .readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`memfd:${name}`));
}

/**
 * What this process holds of ring transports by name: descriptors of the rings' and parts'
 * memfds, and mappings of the rings (eventfds and sockets have no name of their own: the
 * descriptor count catches those). A closed connection leaves none. A part a worker sent stays
 * mapped while its Buffer lives, so part mappings are not counted.
 */
export function ringLeftovers(): string[] {
  return [
    ...memfdDescriptors('self', 'cnode-ring'),
    ...memfdDescriptors('self', 'cnode-part'),
    ...memfdMappings('self', 'cnode-ring').map((line) => `mapping ${line.trim()}`),
  ];
}

/** The inodes of the cnode SharedBuffer memfds that `pid` has mapped, from its /proc/PID/maps. */
export function sharedMappings(pid: number | 'self' = 'self'): Set<number> {
  return new Set(memfdMappings(pid, 'cnode-shared').map((line) => Number(line.trim().split(/\s+/)[4])));
}
