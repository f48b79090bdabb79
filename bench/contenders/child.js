// What the contenders with a plain child process share: answers matched in FIFO order, the
// child's first stdout line, and an end that leaves no process behind.
import { once } from 'node:events';

/** Calls waiting for their answers, oldest first: the echo programs answer in order. */
export class Fifo {
  #waiting = [];

  push() {
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  resolve(value) {
    const call = this.#waiting.shift();
    if (call === undefined) throw new Error('an answer with no call waiting for it');
    call.resolve(value);
  }

  rejectAll(error) {
    for (const call of this.#waiting.splice(0)) call.reject(error);
  }
}

/** Resolves with the child's first stdout line; rejects if it exits or stays silent for `timeoutMs`. */
export function firstLine(child, timeoutMs) {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (error, line) => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (chunk) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end >= 0) done(undefined, text.slice(0, end));
    };
    const onExit = (code, signal) =>
      done(new Error(`${child.spawnfile} exited (${signal ?? code}) before its first line`));
    const timer = setTimeout(
      () => done(new Error(`${child.spawnfile} printed nothing within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * Ends a child: `politely()` first (close its stdin, disconnect its IPC channel), then SIGKILL if
 * it has not exited within `graceMs`. Resolves once it has exited.
 */
export async function endChild(child, politely, graceMs = 1000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  politely();
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
