import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { curveKeyPair } from 'zeromq';
import type { ClientCurve } from './channel.js';
import { CNodeError, exitedError, type ExitInfo } from './errors.js';
import { LineSplitter, Tail } from './lines.js';
import type { NormalizedOptions } from './options.js';
import { signalGroup, trackGroup, untrackGroup } from './registry.js';
import { settlesWithin } from './wait.js';

export interface Identity {
  alive: string;
  host: string;
  node: string;
  creation: number;
}

/** How long to wait, after the worker exits, for its pipes to deliver their last bytes. */
const PIPE_DRAIN_MS = 500;

/**
 * The worker's OS process: spawned as the leader of its own process group, its stdout and stderr
 * always drained as capped lines, its ready line awaited, and everything it holds (the group, the
 * pipes, the ipc directory) released once it exits. One per CNode.
 */
export class WorkerProcess {
  readonly pid: number;
  readonly cookie = randomBytes(32).toString('hex');
  /** For tcp with curve on: the keys the owner connects with, made fresh for this start. */
  readonly curve: ClientCurve | undefined;
  /** Resolves, never rejects, once the process has exited and its resources are released. */
  readonly exit: Promise<Omit<ExitInfo, 'stopped' | 'fault'>>;
  #exited = false;
  #child: ChildProcess;
  #ipcDir: string | undefined;
  #tail = new Tail();
  #onReadyLine: ((line: string) => void) | undefined;
  #onStdout: (line: string) => void;
  #onSpawnError: ((error: Error) => void) | undefined;

  constructor(options: NormalizedOptions, private readonly identity: Identity) {
    checkPaths(options, identity.node);
    const prefix = (stream: NodeJS.WriteStream) => (line: string) => stream.write(`[${identity.node}] ${line}\n`);
    this.#onStdout = options.onStdout ?? prefix(process.stdout);
    const onStderr = options.onStderr ?? prefix(process.stderr);
    // The worker's secret key goes to the worker only; the owner keeps the public half.
    let serverSecretKey: string | undefined;
    if (options.transport === 'tcp' && options.curve) {
      const server = curveKeyPair();
      const client = curveKeyPair();
      this.curve = { serverKey: server.publicKey, publicKey: client.publicKey, secretKey: client.secretKey };
      serverSecretKey = server.secretKey;
    }
    if (options.transport === 'ipc') this.#ipcDir = fs.mkdtempSync(path.join(os.tmpdir(), `cnode-${process.pid}-`));
    this.#child = this.#spawn(options, serverSecretKey);
    this.pid = this.#child.pid ?? 0;
    if (this.pid) trackGroup(this.pid);
    const child = this.#child;
    child.stdin!.on('error', () => {}); // EPIPE once the worker is gone; stdin is only a watchdog
    const stdout = new LineSplitter(options.maxLineLength, (line) => (this.#onReadyLine ?? this.#onStdout)(line));
    const stderr = new LineSplitter(options.maxLineLength, (line) => {
      this.#tail.add(line);
      onStderr(line);
    });
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    this.exit = new Promise((resolve) => {
      child.on('error', (error) => {
        if (this.pid) return; // a failed kill(); the process itself still runs
        this.#onSpawnError?.(error);
        resolve(this.#release(null, null));
      });
      child.once('exit', (code, signal) => {
        this.#exited = true;
        signalGroup(this.pid, 'SIGKILL'); // its children; they would also hold the pipes open
        void settlesWithin(new Promise((done) => child.once('close', done)), PIPE_DRAIN_MS).then(() => {
          stdout.end();
          stderr.end();
          resolve(this.#release(code, signal));
        });
      });
    });
  }

  #spawn(options: NormalizedOptions, serverSecretKey: string | undefined): ChildProcess {
    const { host, alive, node, creation } = this.identity;
    try {
      return spawn(options.executable, [host, alive, node, String(creation), ...options.args], {
        cwd: options.cwd,
        env: {
          ...options.env,
          CNODE_COOKIE: this.cookie, // never in argv, which every user of the machine can read
          CNODE_TRANSPORT: options.transport,
          CNODE_OWNER_PID: String(process.pid),
          CNODE_MAX_MESSAGE_SIZE: String(options.maxMessageSize),
          ...(this.#ipcDir && { CNODE_IPC_DIR: this.#ipcDir }),
          // Like the cookie: through the environment, which the worker clears at once.
          ...(this.curve && { CNODE_CURVE_SECRET: serverSecretKey, CNODE_CURVE_CLIENT: this.curve.publicKey }),
        },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true, // its own process group, so its children can be signalled with it
      });
    } catch (error) {
      this.#removeIpcDir();
      throw new CNodeError('ERR_CNODE_SPAWN', `cnode ${node} could not be started: ${(error as Error).message}`, { node, cause: error });
    }
  }

  #removeIpcDir(): void {
    if (this.#ipcDir) fs.rmSync(this.#ipcDir, { recursive: true, force: true });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Whether the process and its pipes keep the event loop alive (they do by default). */
  setRef(ref: boolean): void {
    // The pipes are net.Sockets, whose handles can be unref'd like the process's.
    const handles = [this.#child, this.#child.stdin, this.#child.stdout, this.#child.stderr] as ({ ref(): void; unref(): void } | null)[];
    for (const handle of handles) {
      if (ref) handle?.ref();
      else handle?.unref();
    }
  }

  /** Sends a signal to the worker's whole process group, unless it has exited. */
  signal(signal: NodeJS.Signals): void {
    if (!this.#exited && this.pid) signalGroup(this.pid, signal);
  }

  /**
   * Waits for the `ready <endpoint>` line and returns the endpoint. Rejects with ERR_CNODE_SPAWN,
   * ERR_CNODE_READY_TIMEOUT, ERR_CNODE_EXITED or ERR_CNODE_PROTOCOL; the caller then kills the process.
   */
  waitReady(timeoutMs: number): Promise<string> {
    const { node } = this.identity;
    return new Promise<string>((resolve, reject) => {
      const settle = (error: CNodeError | undefined, endpoint = '') => {
        clearTimeout(timer);
        this.#onReadyLine = undefined;
        this.#onSpawnError = undefined;
        if (error) reject(error);
        else resolve(endpoint);
      };
      const timer = setTimeout(() => {
        settle(new CNodeError('ERR_CNODE_READY_TIMEOUT', `cnode ${node} printed no ready line within ${timeoutMs} ms`, { node }));
      }, timeoutMs);
      this.#onSpawnError = (error) => {
        settle(new CNodeError('ERR_CNODE_SPAWN', `cnode ${node} could not be started: ${error.message}`, { node, cause: error }));
      };
      this.#onReadyLine = (line) => {
        if (line !== 'ready' && !line.startsWith('ready ')) return this.#onStdout(line);
        const endpoint = line.slice('ready '.length);
        if (this.#isExpectedEndpoint(endpoint)) return settle(undefined, endpoint);
        settle(new CNodeError('ERR_CNODE_PROTOCOL', `cnode ${node} printed a bad ready line: ${JSON.stringify(line.slice(0, 200))}; expected "ready <endpoint>" with ${this.#ipcDir ? `ipc://${this.#ipcDir}/socket` : 'tcp://127.0.0.1:<port>'}`, { node }));
      };
      void this.exit.then((info) => settle(exitedError({ ...info, stopped: false }, 'before it was ready')));
    });
  }

  #isExpectedEndpoint(endpoint: string): boolean {
    return this.#ipcDir ? endpoint === `ipc://${this.#ipcDir}/socket` : /^tcp:\/\/127\.0\.0\.1:\d{1,5}$/.test(endpoint);
  }

  #release(exitCode: number | null, signal: NodeJS.Signals | null): Omit<ExitInfo, 'stopped' | 'fault'> {
    this.#exited = true;
    if (this.pid) untrackGroup(this.pid);
    for (const stream of [this.#child.stdin, this.#child.stdout, this.#child.stderr]) stream?.destroy();
    this.#removeIpcDir();
    return { node: this.identity.node, exitCode, signal, stderr: this.#tail.text() };
  }
}

/** Fails early, with a message a person can act on, for paths spawn would reject obscurely. */
function checkPaths({ executable, cwd, env }: NormalizedOptions, node: string): void {
  const fail = (option: string, value: string, problem: string): never => {
    throw new CNodeError('ERR_CNODE_SPAWN', `cnode ${node} could not be started: the \`${option}\` option ${JSON.stringify(value)} ${problem}`, { node });
  };
  const isDirectory = (file: string) => {
    try {
      return fs.statSync(file).isDirectory();
    } catch {
      return undefined;
    }
  };
  if (isDirectory(cwd) !== true) fail('cwd', cwd, 'is not a directory');
  if (!executable.includes('/')) return checkInPath(executable, env.PATH ?? process.env.PATH ?? '', fail);
  const directory = isDirectory(executable);
  if (directory === undefined) fail('executable', executable, 'does not exist');
  if (directory) fail('executable', executable, 'is a directory');
  try {
    fs.accessSync(executable, fs.constants.X_OK);
  } catch {
    fail('executable', executable, 'is not executable');
  }
}

/**
 * A bare name is looked up in PATH by spawn, which reports a name that is only a directory there
 * (`.`, `bin`) as EACCES: look first, and say what was found.
 */
function checkInPath(name: string, searchPath: string, fail: (option: string, value: string, problem: string) => never): void {
  let found: 'directory' | 'not executable' | undefined;
  for (const directory of searchPath.split(path.delimiter).filter(Boolean)) {
    const file = path.join(directory, name);
    try {
      if (fs.statSync(file).isDirectory()) {
        found ??= 'directory';
        continue;
      }
      fs.accessSync(file, fs.constants.X_OK);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') found = 'not executable';
    }
  }
  if (found === 'directory') fail('executable', name, 'names a directory, not a program (found as a directory in PATH)');
  if (found) fail('executable', name, 'is in PATH but not executable');
  fail('executable', name, `was not found in PATH (${searchPath})`);
}
