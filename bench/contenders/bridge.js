// The bridge under test: a CNode running build/bin/echo, through the public API (dist/).
// The echo worker answers any message that is not a map with an "op" key with itself.
import { CNode } from '../../dist/index.js';
import { bin } from '../paths.js';

export class Bridge {
  name = 'bridge';
  node = undefined;

  constructor(options = {}) {
    // Generous call timeout: a 16 MiB echo on a busy machine must not be cut short.
    this.options = { executable: bin('echo'), callTimeout: 120_000, ...options };
  }

  async start() {
    this.node = await CNode.start(this.options);
  }

  call(payload) {
    return this.node.call(payload);
  }

  get pid() {
    return this.node?.pid;
  }

  async stop() {
    await this.node?.stop();
  }
}
