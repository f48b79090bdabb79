import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type CNodeError, exitedError, nodeError } from '../errors.js';
import type { NormalizedOptions } from '../options.js';
import { settlesWithin } from '../wait.js';
import { signalGroup, trackGroup, untrackGroup } from './exit-hooks.js';
import { launchLine } from './launch-line.js';
import type { Identity, Launched, LaunchKind, ProcessEnd } from './launcher.js';
import { LineSplitter, Tail } from './lines.js';

/** How long to wait, after the worker exits, for its pipes to deliver their last bytes. */
const PIPE_DRAIN_MS = 500;

/**
 * The local launcher: the worker as a child process, spawned as the leader of its own process
 * group, its launch line written to its stdin, its stdout and stderr always drained as capped
 * lines, its ready line awaited, and everything it holds (the group, the pipes) released once it
 * exits. One per CNode. With `exec`, the child is the command prefix (ssh, ...) that runs the
 * worker elsewhere: still a local child, whose stdio are the far worker's.
 */
export class LocalWorker implements Launched {
  readonly kind: LaunchKind;
  readonly pid: number;
  readonly ended: Promise<ProcessEnd>;
  #hasEnded = false;
  #child: ChildProcess;
  #tail = new Tail();
  /** The launch line's secrets, hidden from what the worker prints until it is ready. */
  #secrets: string[] = [];
  #onReadyLine: ((line: string) => void) | undefined;
  #onStdout: (line: string) => void;
  #onSpawnError: ((error: Error) => void) | undefined;
  /** Words for a failure to spawn, where spawn's own (`spawn . EACCES`) say too little. */
  #explain: (error: NodeJS.ErrnoException) => string | undefined;

  /**
   * Spawns the worker with the standard arguments, and writes it the launch line of `settings`
   * (the session's cookie, the transport's needs). Throws ERR_CNODE_SPAWN for a path that cannot
   * be spawned.
   */
  constructor(
    options: NormalizedOptions,
    private readonly identity: Identity,
    settings: Record<string, string>,
    /** Descriptors the worker gets as its 3, 4, ... (the transport's). */
    inherit: readonly number[] = [],
  ) {
    this.kind = options.exec ? 'exec' : 'local';
    checkPaths(options, identity.node);
    const { env: workerEnv, cwd } = options;
    // What spawn runs: the prefix's command, when there is one; the far executable is not ours to check.
    const [command, option] = options.exec ? [options.exec[0], 'exec[0]'] : [options.executable, 'executable'];
    this.#explain = (error) =>
      command.includes('/') || (error.code !== 'ENOENT' && error.code !== 'EACCES')
        ? undefined
        : explainBareName(command, option, 'PATH' in workerEnv ? workerEnv.PATH : undefined, cwd);
    const prefix = (stream: NodeJS.WriteStream) => (line: string) => stream.write(`[${identity.node}] ${line}\n`);
    this.#onStdout = options.onStdout ?? prefix(process.stdout);
    const onStderr = options.onStderr ?? prefix(process.stderr);
    // Made before the spawn: a setting the line cannot carry must leave no process behind.
    // A worker owner-pid-checks only on this host: a pid names nothing on another.
    const ownerPid: Record<string, string> = options.exec ? {} : { CNODE_OWNER_PID: String(process.pid) };
    let line: string;
    try {
      line = launchLine({ ...settings, ...ownerPid });
    } catch (error) {
      throw nodeSpawnError(identity.node, (error as Error).message, error);
    }
    this.#child = this.#spawn(options, inherit);
    this.pid = this.#child.pid ?? 0;
    if (this.pid) trackGroup(this.pid);
    const child = this.#child;
    child.stdin!.on('error', () => {}); // EPIPE once the worker is gone; stdin is then only a watchdog
    // The one line, and nothing after it: stdin stays open, and its EOF tells the worker its owner went.
    child.stdin!.write(line);
    // A terminal in the exec prefix (ssh -t, docker exec -t) echoes what it is sent: the launch
    // line would come back on stdout, its cookie and secret key with it, until the worker is ready.
    this.#secrets = [settings.CNODE_COOKIE, settings.CNODE_CURVE_SECRET].filter((secret) => secret !== undefined);
    const stdout = new LineSplitter(options.maxLineLength, (line) =>
      (this.#onReadyLine ?? this.#onStdout)(this.#hideSecrets(line)),
    );
    const stderr = new LineSplitter(options.maxLineLength, (text) => {
      const line = this.#hideSecrets(text);
      this.#tail.add(line);
      onStderr(line);
    });
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    this.ended = new Promise((resolve) => {
      child.on('error', (error) => {
        if (this.pid) return; // a failed kill(); the process itself still runs
        this.#onSpawnError?.(error);
        resolve(this.#release(null, null));
      });
      child.once('exit', (code, signal) => {
        this.#hasEnded = true;
        signalGroup(this.pid, 'SIGKILL'); // its children; they would also hold the pipes open
        void settlesWithin(new Promise((done) => child.once('close', done)), PIPE_DRAIN_MS).then(() => {
          stdout.end();
          stderr.end();
          resolve(this.#release(code, signal));
        });
      });
    });
  }

  #spawn(options: NormalizedOptions, inherit: readonly number[]): ChildProcess {
    const { host, alive, node, creation } = this.identity;
    const argv = [options.executable, host, alive, node, String(creation), ...options.args];
    const [command, ...args] = options.exec ? [...options.exec, ...argv] : argv;
    // A launched worker reads its launch line: one told to serve (CNODE_SERVE, inherited from
    // an owner that was itself started so) would ignore it and listen for any owner instead.
    const { CNODE_SERVE: _serve, ...env } = options.env;
    try {
      return spawn(command, args, {
        cwd: options.cwd,
        env,
        stdio: ['pipe', 'pipe', 'pipe', ...inherit],
        detached: true, // its own process group, so its children can be signalled with it
      });
    } catch (error) {
      throw nodeSpawnError(node, (error as Error).message, error);
    }
  }

  #hideSecrets(line: string): string {
    if (this.#secrets.length === 0 || !this.#secrets.some((secret) => line.includes(secret))) return line;
    return "(a line holding the launch line's secrets, echoed by a terminal in the exec prefix: not shown; do not give ssh -t or docker -t)";
  }

  get hasEnded(): boolean {
    return this.#hasEnded;
  }

  /** Whether the process and its pipes keep the event loop alive (they do by default). */
  setRef(ref: boolean): void {
    // The pipes are net.Sockets, whose handles can be unref'd like the process's.
    const handles = [this.#child, this.#child.stdin, this.#child.stdout, this.#child.stderr] as ({
      ref(): void;
      unref(): void;
    } | null)[];
    for (const handle of handles) {
      if (ref) handle?.ref();
      else handle?.unref();
    }
  }

  /** Sends a signal to the worker's whole process group, unless it has exited. */
  signal(signal: NodeJS.Signals): void {
    if (!this.#hasEnded && this.pid) signalGroup(this.pid, signal);
  }

  closeInput(): void {
    this.#child.stdin?.end();
  }

  /** Its process's exit, not its connection, ends a launched worker. */
  disconnected(): void {}

  /**
   * Waits for the `ready <endpoint>` line and returns the endpoint. Rejects with ERR_CNODE_SPAWN,
   * ERR_CNODE_READY_TIMEOUT, ERR_CNODE_EXITED or ERR_CNODE_PROTOCOL; the caller then kills the process.
   */
  waitReady(timeoutMs: number, isExpected: (endpoint: string) => boolean, expected: string): Promise<string> {
    const { node, creation } = this.identity;
    return new Promise<string>((resolve, reject) => {
      const settle = (error: CNodeError | undefined, endpoint = '') => {
        clearTimeout(timer);
        this.#onReadyLine = undefined;
        this.#onSpawnError = undefined;
        if (error) reject(error);
        else resolve(endpoint);
      };
      const timer = setTimeout(() => {
        settle(nodeError(node, 'ERR_CNODE_READY_TIMEOUT', `printed no ready line within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#onSpawnError = (error) => {
        settle(nodeSpawnError(node, this.#explain(error) ?? error.message, error));
      };
      this.#onReadyLine = (line) => {
        if (line !== 'ready' && !line.startsWith('ready ')) return this.#onStdout(line);
        const endpoint = line.slice('ready '.length);
        if (isExpected(endpoint)) {
          this.#secrets = []; // an echo comes before the worker has read the line, let alone printed ready
          return settle(undefined, endpoint);
        }
        settle(
          nodeError(
            node,
            'ERR_CNODE_PROTOCOL',
            `printed a bad ready line: ${JSON.stringify(line.slice(0, 200))}; expected "ready <endpoint>" with ${expected}`,
          ),
        );
      };
      void this.ended.then((end) =>
        settle(exitedError({ node, creation, ...end, stopped: false }, 'before it was ready')),
      );
    });
  }

  #release(exitCode: number | null, signal: NodeJS.Signals | null): ProcessEnd {
    this.#hasEnded = true;
    if (this.pid) untrackGroup(this.pid);
    for (const stream of [this.#child.stdin, this.#child.stdout, this.#child.stderr]) stream?.destroy();
    return { exitCode, signal, stderr: this.#tail.text() };
  }
}

/** Fails early, with a message a person can act on, for paths spawn would reject obscurely. */
function checkPaths({ executable, cwd, exec }: NormalizedOptions, node: string): void {
  const fail = (option: string, value: string, problem: string): never => {
    throw nodeSpawnError(node, `the \`${option}\` option ${JSON.stringify(value)} ${problem}`);
  };
  const isDirectory = (file: string) => {
    try {
      return fs.statSync(file).isDirectory();
    } catch {
      return undefined;
    }
  };
  if (isDirectory(cwd) !== true) fail('cwd', cwd, 'is not a directory');
  // Looked up in PATH by spawn, and its failure explained then; or, with exec, on the far side.
  if (!executable.includes('/') || exec) return;
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
 * Why spawn could not start a bare name, in words: it reports a name that is only a directory in
 * PATH (`.`, `bin`) as EACCES, and a missing one as ENOENT. Looks where execvp looked: the PATH
 * of the worker's environment (or /usr/bin:/bin), empty and relative entries taken from `cwd`.
 */
function explainBareName(name: string, optionName: string, searchPath: string | undefined, cwd: string): string {
  let found: 'a directory' | 'not executable' | undefined;
  for (const entry of (searchPath ?? '/usr/bin:/bin').split(path.delimiter)) {
    const file = path.resolve(cwd, entry, name);
    try {
      if (fs.statSync(file).isDirectory()) found ??= 'a directory';
      else fs.accessSync(file, fs.constants.X_OK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') found = 'not executable';
    }
  }
  const option = `the \`${optionName}\` option ${JSON.stringify(name)}`;
  if (found === 'a directory') return `${option} names a directory, not a program (found as a directory in PATH)`;
  if (found) return `${option} is in PATH but not executable`;
  const shown =
    searchPath === undefined
      ? 'no PATH in the environment: /usr/bin:/bin'
      : searchPath.length > 200
        ? `${searchPath.slice(0, 197)}...`
        : searchPath;
  return `${option} was not found in PATH (${shown})`;
}

function nodeSpawnError(node: string, why: string, cause?: unknown): CNodeError {
  return nodeError(node, 'ERR_CNODE_SPAWN', `could not be started: ${why}`, cause === undefined ? {} : { cause });
}
