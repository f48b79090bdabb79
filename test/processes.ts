// Processes as /proc shows them. Apart from helpers.ts, which loads the library, so that a test of
// the installed package (package.test.ts) can use them without loading ../src.
import fs from 'node:fs';

/** True while `pid` is a live process; a zombie counts as gone (PID 1 reaps orphans slowly here). */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Live (non-zombie) processes whose parent is `parent`. */
export function liveChildren(parent = process.pid): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === parent && state !== 'Z') children.push(Number(entry));
    } catch {
      // it ended while we looked
    }
  }
  return children;
}
