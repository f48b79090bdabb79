// What machine and software a run was made on, for results.json and the README.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { version as zeromqJsLibzmq } from 'zeromq';
import { root } from '../paths.js';

function quietly(command, args) {
  try {
    return execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function describeMachine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} (${os.platform()} ${os.arch()})`,
    libzmq: { worker: quietly('pkg-config', ['--modversion', 'libzmq']), zeromqJs: zeromqJsLibzmq },
    commit: quietly('git', ['rev-parse', '--short', 'HEAD']),
    // Uncommitted changes to the library itself: then the commit alone does not say what ran.
    uncommittedLibraryChanges: Boolean(quietly('git', ['status', '--porcelain', '--', 'src', 'cnode', 'addon'])),
    date: new Date().toISOString(),
  };
}
