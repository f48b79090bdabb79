import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { CNode, type CNodeError, type CNodeOptions } from '../src/index.js';

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

export { isAlive, liveChildren } from './processes.js';

export function openDescriptors(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** The ipc directories this process made and has not removed. */
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

/** For a test file: a function that starts an echo worker; every one started is stopped after each test. */
export function echoNodes(): () => Promise<CNode> {
  const nodes: CNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.stop()));
  });
  return async () => {
    const node = await CNode.start(workerOptions('echo').options);
    nodes.push(node);
    return node;
  };
}
