import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { CNode, type CNodeError, type CNodeOptions, type ExitInfo } from '../src/index.js';
import { liveChildren, openDescriptors, ringLeftovers } from './processes.js';

/**
 * The transports the conformance suite runs over: the tests of call, send, lifecycle, batching,
 * large binaries, worker death and owner death run once for each (`describe.each(TRANSPORTS)`).
 * A new transport is added here, and gets the whole suite.
 */
export const TRANSPORTS = ['local', 'ipc', 'tcp'] as const satisfies readonly NonNullable<CNodeOptions['transport']>[];
export type Transport = (typeof TRANSPORTS)[number];

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the workers under test were built: `build` by `npm install`, or CNODE_BUILD_DIR (the sanitizer run). */
export const buildDir = path.resolve(root, process.env.CNODE_BUILD_DIR ?? 'build');

export function binary(name: string): string {
  return path.join(buildDir, 'bin', name);
}

/** Options for a test worker, with its output collected instead of printed. */
export function workerOptions(name: 'echo' | 'testbed' | 'blur' | 'loop', extra: Partial<CNodeOptions> = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const options: CNodeOptions = {
    executable: binary(name),
    onStdout: (line) => stdout.push(line),
    onStderr: (line) => stderr.push(line),
    ...extra,
  };
  return { options, stdout, stderr };
}

export {
  commandLine,
  environment,
  hasProcessEntry,
  isAlive,
  liveChildren,
  memfdDescriptors,
  memfdMappings,
  openDescriptors,
  processGroup,
  ringLeftovers,
  sharedMappings,
  zombieChildren,
} from './processes.js';

/** The ipc directories this process made and has not removed (over tcp there are none to make). */
export function socketDirectories(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(`cnode-${process.pid}-`));
}

/** Polls `check` every 10 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<CNodeError> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error as CNodeError,
  );
}

declare function gc(): void; // vitest.config.ts runs the tests with --expose-gc

/**
 * What this process holds after full collections, in bytes (heap, external, ArrayBuffers). V8
 * frees the memory of collected ArrayBuffers in the background, so collect, and let that finish,
 * a few times.
 */
export async function heldMemory(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const { heapUsed, external, arrayBuffers } = process.memoryUsage();
  return heapUsed + external + arrayBuffers;
}

/**
 * Asserts that nothing is left behind: no live child process, no ipc directory, no ring memory
 * or descriptor (ringLeftovers), and with
 * `descriptors`, no more open descriptors than that baseline. Sockets and pipes close a moment
 * after an exit is reported, so the descriptors are given `withinMs` to come back; a leak never does.
 */
export async function expectNothingLeft({
  descriptors,
  withinMs = 1000,
}: {
  descriptors?: number;
  withinMs?: number;
} = {}): Promise<void> {
  expect(liveChildren()).toEqual([]);
  expect(socketDirectories()).toEqual([]);
  expect(ringLeftovers()).toEqual([]);
  if (descriptors === undefined) return;
  await waitUntil(
    () => openDescriptors() <= descriptors,
    withinMs,
    `the open descriptors are back to ${descriptors}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; there are ${openDescriptors()}`);
  });
}

/**
 * The open descriptors once zeromq has opened its context (and its descriptors, once, with the
 * first socket): starts and stops an echo worker over `transport`, then counts them. The baseline
 * for `expectNothingLeft({ descriptors })`.
 */
export async function descriptorBaseline(transport: Transport = 'ipc'): Promise<number> {
  const warmup = await CNode.start(workerOptions('echo', { transport }).options);
  await warmup.call('warm');
  await warmup.stop();
  await waitUntil(() => liveChildren().length === 0, 1000, 'the warm-up worker is gone');
  return openDescriptors();
}

export interface StartedNodes {
  /** Starts a node and records it, to be stopped after the test. */
  start(options: CNodeOptions): Promise<CNode>;
  /** Stops every node recorded so far, now; resolves with their exit information. */
  stopAll(): Promise<ExitInfo[]>;
}

/**
 * For a test file or a describe block: every node started through it is stopped after each test,
 * and then `after` runs with their exit information (to check, say, that nothing is left).
 */
export function startedNodes({ after }: { after?: (infos: ExitInfo[]) => void | Promise<void> } = {}): StartedNodes {
  const nodes: CNode[] = [];
  const stopAll = () => Promise.all(nodes.splice(0).map((node) => node.stop()));
  afterEach(async () => {
    const infos = await stopAll();
    await after?.(infos);
  });
  return {
    async start(options) {
      const node = await CNode.start(options);
      nodes.push(node);
      return node;
    },
    stopAll,
  };
}

/** A tcp port on the loopback that nobody listens on now (for a worker told to bind a fixed port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
