// A stdio pipe: bench/workers/pipe_echo.c reads messages framed as a 4-byte little-endian length
// and the bytes, and writes each back the same way. A string goes as UTF-8 and comes back as a
// string, like the bridge's. Many calls may be in flight; answers come in order (FIFO).
import { spawn } from 'node:child_process';
import { bin } from '../paths.js';
import { endChild, Fifo } from './child.js';

/** Cuts a byte stream into length-prefixed messages, however the stream is chunked. */
export class FrameReader {
  #header = Buffer.alloc(4);
  #headerFill = 0;
  #body = undefined; // the message being filled, once its length is known
  #bodyFill = 0;

  constructor(onMessage) {
    this.onMessage = onMessage;
  }

  push(chunk) {
    let at = 0;
    while (at < chunk.length) {
      if (this.#body === undefined) {
        const n = Math.min(4 - this.#headerFill, chunk.length - at);
        chunk.copy(this.#header, this.#headerFill, at, at + n);
        this.#headerFill += n;
        at += n;
        if (this.#headerFill < 4) return;
        this.#headerFill = 0;
        this.#body = Buffer.allocUnsafe(this.#header.readUInt32LE(0));
        this.#bodyFill = 0;
      }
      const n = Math.min(this.#body.length - this.#bodyFill, chunk.length - at);
      chunk.copy(this.#body, this.#bodyFill, at, at + n);
      this.#bodyFill += n;
      at += n;
      if (this.#bodyFill === this.#body.length) {
        const message = this.#body;
        this.#body = undefined;
        this.onMessage(message);
      }
    }
  }
}

export class Pipe {
  name = 'pipe';
  #child;
  #answers = new Fifo();

  async start() {
    this.#child = spawn(bin('pipe_echo'), [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child.stdin.on('error', () => {});
    const reader = new FrameReader((message) => this.#answers.resolve(message));
    this.#child.stdout.on('data', (chunk) => reader.push(chunk));
    this.#child.on('exit', () => this.#answers.rejectAll(new Error('pipe_echo exited')));
    await new Promise((resolve, reject) => {
      this.#child.once('spawn', resolve);
      this.#child.once('error', reject);
    });
  }

  call(payload) {
    const text = typeof payload === 'string';
    const bytes = text ? Buffer.from(payload) : payload;
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32LE(bytes.length, 0);
    const answer = this.#answers.push();
    const stdin = this.#child.stdin;
    stdin.cork(); // header and body in one writev
    stdin.write(header);
    stdin.write(bytes);
    stdin.uncork();
    return text ? answer.then((reply) => reply.toString('utf8')) : answer;
  }

  /** The child's pid, for its CPU time (cpu.js). */
  get pid() {
    return this.#child?.pid;
  }

  async stop() {
    if (this.#child) await endChild(this.#child, () => this.#child.stdin.end());
  }
}
