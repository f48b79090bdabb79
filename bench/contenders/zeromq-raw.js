// The transport floor: a zeromq.js Dealer talking to bench/workers/zmq_echo.c (plain libzmq
// ROUTER, no cnode library, no MessagePack). Payloads travel as their bytes; a string goes as
// UTF-8 and comes back as a string, like the bridge's. Answers come in order (FIFO).
// By default over ipc in a fresh socket directory; with `endpoint` ('tcp://<address>:<port|*>')
// over tcp, with `exec` (a command prefix such as ['ip', 'netns', 'exec', ns]) run through it,
// and with `curve: true` encrypted by CurveZMQ (a fresh key pair; zmq_echo admits any client).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { curveKeyPair, Dealer } from 'zeromq';
import { bin } from '../paths.js';
import { endChild, Fifo, firstLine } from './child.js';

export class ZeromqRaw {
  name = 'zeromq-raw';
  #options;
  #child;
  #dir;
  #socket;
  #answers = new Fifo();
  #queue = []; // zeromq.js takes one send at a time per socket (EBUSY otherwise): ours wait here
  #sending = false;

  /** @param {{ name?: string, endpoint?: string, exec?: readonly string[], curve?: boolean }} [options] */
  constructor({ name = 'zeromq-raw', ...options } = {}) {
    this.name = name;
    this.#options = options;
  }

  async start() {
    const { endpoint, exec = [], curve = false } = this.#options;
    if (endpoint === undefined) this.#dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-bench-zmq-'));
    const keys = curve ? { server: curveKeyPair(), client: curveKeyPair() } : undefined;
    const [file, ...args] = [...exec, bin('zmq_echo'), endpoint ?? this.#dir];
    this.#child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: keys ? { ...process.env, ZMQ_ECHO_CURVE_SECRET: keys.server.secretKey } : process.env,
    });
    this.#child.stdin.on('error', () => {});
    this.#child.on('exit', () => this.#answers.rejectAll(new Error('zmq_echo exited')));
    const line = await firstLine(this.#child, 5000);
    if (!line.startsWith('ready ')) throw new Error(`zmq_echo printed ${JSON.stringify(line)}`);
    // linger 0, as the bridge's channel sets it
    this.#socket = new Dealer({
      linger: 0,
      ...(keys && {
        curveServerKey: keys.server.publicKey,
        curvePublicKey: keys.client.publicKey,
        curveSecretKey: keys.client.secretKey,
      }),
    });
    this.#socket.connect(line.slice('ready '.length));
    void this.#receive();
  }

  call(payload) {
    const text = typeof payload === 'string';
    const answer = this.#answers.push();
    this.#queue.push(text ? Buffer.from(payload) : payload);
    if (!this.#sending) void this.#pump();
    return text ? answer.then((bytes) => bytes.toString('utf8')) : answer;
  }

  async #pump() {
    this.#sending = true;
    while (this.#queue.length > 0) await this.#socket.send(this.#queue.shift());
    this.#sending = false;
  }

  async #receive() {
    try {
      for await (const [message] of this.#socket) this.#answers.resolve(message);
    } catch {
      // the socket closed
    }
  }

  /** The child's pid, for its CPU time (cpu.js). */
  get pid() {
    return this.#child?.pid;
  }

  async stop() {
    this.#socket?.close();
    if (this.#child) await endChild(this.#child, () => this.#child.stdin.end());
    if (this.#dir) fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}
