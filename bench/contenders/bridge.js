// The bridge under test: a CNode through the public API (dist/). Three of them:
//   bridge                  transport 'local' (shared-memory rings), build/bin/echo: the one
//                           the targets judge, and the future default
//   bridge (zmq)            transport 'ipc' (ZeroMQ over a Unix socket), build/bin/echo
//   bridge (plain msgpack)  transport 'local', build/bin/plain_echo: the answer packed with
//                           plain msgpack_pack_object rather than cnode_pack_object
// The echo worker answers any message that is not a map with an "op" key with itself.
import { CNode } from '../../dist/index.js';
import { bin } from '../paths.js';

/** The two transports a bridge is measured over: the options of CNode.start and the row's name. */
export const BRIDGES = [
  { name: 'bridge', transport: 'local' },
  { name: 'bridge (zmq)', transport: 'ipc' },
];

export class Bridge {
  node = undefined;

  constructor({ name = 'bridge', ...options } = {}) {
    this.name = name;
    // Generous call timeout: a 16 MiB echo on a busy machine must not be cut short.
    this.options = { executable: bin('echo'), transport: 'local', callTimeout: 120_000, ...options };
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

export const bridge = () => new Bridge();
export const bridgeZmq = () => new Bridge({ name: 'bridge (zmq)', transport: 'ipc' });
export const bridgePlain = () => new Bridge({ name: 'bridge (plain msgpack)', executable: bin('plain_echo') });
