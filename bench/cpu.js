// CPU time, both sides of a contender: the owner (this process) and the other side (its child).
//
//  owner       process.cpuUsage(): getrusage(RUSAGE_SELF), user + system, µs, every thread of
//              this process (zeromq.js's I/O thread and libuv's pool included)
//  other side  /proc/<pid>/task/*/schedstat: each thread's time on a CPU, in ns, summed. The
//              same time /proc/<pid>/stat gives as utime + stime, but that counts in clock ticks
//              (10 ms here, CLK_TCK 100), too coarse for an idle second; stat is the fallback
//              where schedstat is missing. A thread that has exited is no longer listed: the
//              children measured keep theirs until they end.
import fs from 'node:fs';

const TICK_US = 10_000; // USER_HZ is 100 on Linux for every architecture Node runs on

/** The owner's CPU time so far, in µs. */
export function ownerCpuUs() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function fromSchedstat(pid) {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1000;
}

function fromStat(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime, stime
}

let schedstat = fs.existsSync('/proc/self/schedstat');

/** Another process's CPU time so far (all its threads), in µs; NaN when it cannot be read. */
export function processCpuUs(pid) {
  if (!pid) return NaN;
  try {
    return schedstat ? fromSchedstat(pid) : fromStat(pid);
  } catch (error) {
    if (schedstat && error.code !== 'ENOENT') {
      schedstat = false; // unreadable here: fall back to ticks for the rest of the run
      return processCpuUs(pid);
    }
    return NaN;
  }
}

/** The CPU time of several processes, summed, in µs; NaN for none, or when one cannot be read. */
export function processesCpuUs(pids) {
  return pids.length === 0 ? NaN : pids.reduce((sum, pid) => sum + processCpuUs(pid), 0);
}

/** How the other side's time is read, for the report. */
export const otherSideSource = () => (schedstat ? '/proc/<pid>/task/*/schedstat' : '/proc/<pid>/stat');

/**
 * Adds up both sides' CPU time per contender over the measured rounds: `measure()` wraps one
 * round, `perCall()` divides the totals by the calls made. Only one contender runs at a time in
 * interleaved rounds, so the owner's time in a round is that contender's (and the driver's own
 * loop, the same for all).
 */
export class CpuTally {
  #totals = new Map(); // name -> { owner, other, calls }

  /**
   * Runs `work()` (which makes `calls` calls to `contender`) and records both sides' CPU time.
   * The other side is `contender.pids` when it has them (a pool's workers, summed; none, for a
   * contender whose threads are the owner's), else `contender.pid`.
   */
  async measure(contender, calls, work) {
    const pids = contender.pids ?? [contender.pid];
    const other0 = processesCpuUs(pids);
    const owner0 = ownerCpuUs();
    const result = await work();
    const owner = ownerCpuUs() - owner0;
    const other = processesCpuUs(pids) - other0;
    const total = this.#totals.get(contender.name) ?? { owner: 0, other: 0, calls: 0 };
    total.owner += owner;
    total.other += other;
    total.calls += calls;
    this.#totals.set(contender.name, total);
    return result;
  }

  /** { cpuOwner, cpuOther }: µs per call, for a row (null when nothing was measured). */
  perCall(name) {
    const total = this.#totals.get(name);
    if (!total || total.calls === 0) return { cpuOwner: null, cpuOther: null };
    const other = total.other / total.calls;
    return { cpuOwner: total.owner / total.calls, cpuOther: Number.isFinite(other) ? other : null };
  }
}

/**
 * The whole machine's CPU time so far, from the first line of /proc/stat, in µs (ticks of
 * CLK_TCK, coarse: for spans of seconds): `busy` (user, nice, system, irq, softirq: every
 * process's, ours included) and `steal` (time the hypervisor gave this VM's vCPUs to others).
 * Undefined where /proc/stat cannot be read.
 */
export function machineCpuUs() {
  try {
    const fields = fs.readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal = 0] = fields;
    return { busy: (user + nice + system + irq + softirq) * TICK_US, steal: steal * TICK_US };
  } catch {
    return undefined;
  }
}

/**
 * What else ran on the machine over a span: call at its start with the pids of every process the
 * scenario runs (its workers), then call the result at its end. Returns words for a note: the
 * share of one core that other processes took (the machine's busy time less ours: this process
 * and those pids) and the share the hypervisor stole; '' where /proc/stat cannot be read.
 */
export function otherLoad(pids) {
  const ours = () => ownerCpuUs() + pids.reduce((sum, pid) => sum + (processCpuUs(pid) || 0), 0);
  const start = machineCpuUs();
  const ours0 = ours();
  const began = performance.now();
  return () => {
    const end = machineCpuUs();
    if (!start || !end) return '';
    const spanUs = (performance.now() - began) * 1000;
    const others = Math.max(0, end.busy - start.busy - (ours() - ours0)) / spanUs;
    const steal = (end.steal - start.steal) / spanUs;
    return `over the rounds, other processes took ${(100 * others).toFixed(0)}% of a core and the hypervisor stole ${(100 * steal).toFixed(0)}%`;
  };
}
