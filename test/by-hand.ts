// Workers launched by hand, as an owner launches them (docs/protocol.md section 1: the four
// arguments and the launch line on stdin) or as something else serves them (section 11: the
// CNODE_SERVE environment), and an owner played by hand over a raw zeromq.js Dealer: for the
// tests that must know the secrets, write a launch line of their own, or watch a worker with no
// CNode in between.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { Dealer } from 'zeromq';
import { COOKIE_LEN, FrameKind } from '../src/protocol.js';
import { binary, isAlive, waitUntil } from './helpers.js';

export const packr = new Packr({ useRecords: false });

/** A fresh cookie, as the owner makes one per start. */
export function freshCookie(): string {
  return randomBytes(COOKIE_LEN / 2).toString('hex');
}

/** The launch line of `settings`: NAME=VALUE words separated by single spaces, and a newline. */
export function launchLine(settings: Record<string, string>): string {
  return `${Object.entries(settings)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ')}\n`;
}

export interface HandWorker {
  child: ChildProcess;
  pid: number;
  /** Everything it printed so far. */
  stdout(): string;
  stderr(): string;
  /** The endpoint of its ready line; rejects, with its stderr, when it exits first or takes over 5 s. */
  ready: Promise<string>;
  /** Its exit. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Closes its stdin (its owner's end), waits for its exit (2 s), then SIGKILLs it; always leaves nothing. */
  end(): Promise<void>;
}

/**
 * Spawns test worker `name` (build/bin) with `argv` (default: the four standard arguments of
 * node by_hand@localhost, creation 1) and writes `line` (a launch line, or raw text; nothing with
 * undefined) to its stdin, which stays open. `env` is added to this process's environment.
 */
export function launchByHand(
  name: string,
  {
    argv = ['localhost', 'by_hand', 'by_hand@localhost', '1'],
    line,
    env = {},
    stdin = 'pipe',
  }: { argv?: string[]; line?: string; env?: Record<string, string>; stdin?: 'pipe' | 'ignore' } = {},
): HandWorker {
  const child = spawn(binary(name), argv, { env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdin?.on('error', () => {}); // a worker that exits before reading its line
  if (line !== undefined) child.stdin?.write(line);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = (async () => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = /^ready (\S+)\n/m.exec(stdout);
      if (found) return found[1];
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline)
        throw new Error(
          `the worker launched by hand is not ready (exit ${child.exitCode} ${child.signalCode}); stderr: ${stderr}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  ready.catch(() => {}); // a test that expects a failure does not wait for it
  return {
    child,
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    ready,
    exited,
    async end() {
      child.stdin?.end();
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
      if (isAlive(child.pid!)) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The worker's exit code and its stderr, once it has exited (within `withinMs`). */
export async function failure(worker: HandWorker, withinMs = 3000): Promise<{ code: number | null; lines: string[] }> {
  await waitUntil(
    () => worker.child.exitCode !== null || worker.child.signalCode !== null,
    withinMs,
    'the worker exits',
  );
  const { code } = await worker.exited;
  await new Promise((resolve) => setImmediate(resolve)); // stderr's last chunk
  return { code, lines: worker.stderr().split('\n').filter(Boolean) };
}

export interface CurveKeys {
  serverKey: string;
  publicKey: string;
  secretKey: string;
}

/** An owner played by hand: a Dealer, with CURVE keys or without, speaking the frames of docs/protocol.md. */
export class HandOwner {
  readonly socket: Dealer;
  private nextId = 1;
  private queued: unknown[] = [];

  constructor(endpoint: string, curve?: CurveKeys) {
    this.socket = new Dealer({
      linger: 0,
      receiveTimeout: 2000,
      sendTimeout: 2000,
      ipv6: endpoint.includes('['),
      ...(curve && {
        curveServerKey: curve.serverKey,
        curvePublicKey: curve.publicKey,
        curveSecretKey: curve.secretKey,
      }),
    });
    this.socket.connect(endpoint);
  }

  async send(frame: unknown[]): Promise<void> {
    await this.socket.send(packr.pack(frame));
  }

  /** The next frame the worker sends (they may come several to a message); throws after the receive timeout. */
  async receive(): Promise<unknown[]> {
    while (this.queued.length === 0) {
      const [data] = await this.socket.receive();
      if (data.length === 0) {
        await this.socket.send(Buffer.alloc(0)); // the worker's end mark, answered (section 6)
        continue;
      }
      this.queued.push(...packr.unpackMultiple(data));
    }
    return this.queued.shift() as unknown[];
  }

  /** HELLO with `cookie` (and `version`); resolves with the WELCOME. */
  async hello(cookie: string, version: number): Promise<unknown[]> {
    await this.send([FrameKind.Hello, version, cookie]);
    return this.receive();
  }

  /** A CALL; resolves with the response of its REPLY, rejects with the reason of a FAIL. */
  async call(message: unknown): Promise<unknown> {
    const id = this.nextId++;
    await this.send([FrameKind.Call, id, message]);
    for (;;) {
      const frame = await this.receive();
      if (frame[0] === FrameKind.Reply && frame[1] === id) return frame[3];
      if (frame[0] === FrameKind.Fail && frame[1] === id) throw new Error(String(frame[3]));
    }
  }

  close(): void {
    this.socket.close();
  }
}
