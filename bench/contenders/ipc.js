// Node ↔ Node: child_process.fork of bench/workers/ipc_echo.js, which sends every message back.
// `serialization: 'json'` (Node's default) for strings; 'advanced' (the structured clone
// algorithm) for binaries, which JSON cannot carry without base64. Answers come in order.
import { fork } from 'node:child_process';
import path from 'node:path';
import { benchDir } from '../paths.js';
import { endChild, Fifo } from './child.js';

export class Ipc {
  #child;
  #answers = new Fifo();

  constructor({ serialization = 'json' } = {}) {
    this.serialization = serialization;
    this.name = serialization === 'json' ? 'ipc' : `ipc (${serialization})`;
  }

  async start() {
    this.#child = fork(path.join(benchDir, 'workers', 'ipc_echo.js'), [], {
      serialization: this.serialization,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message) => this.#answers.resolve(message));
    this.#child.on('exit', () => this.#answers.rejectAll(new Error('ipc_echo exited')));
    await new Promise((resolve, reject) => {
      this.#child.once('spawn', resolve);
      this.#child.once('error', reject);
    });
  }

  call(payload) {
    const answer = this.#answers.push();
    this.#child.send(payload);
    return answer;
  }

  /** The child's pid, for its CPU time (cpu.js). */
  get pid() {
    return this.#child?.pid;
  }

  async stop() {
    if (this.#child) await endChild(this.#child, () => this.#child.disconnect());
  }
}
