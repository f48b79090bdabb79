import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode, type CNodeOptions } from '../src/index.js';
import { binary, expectNothingLeft, rejection, root, startedNodes, waitUntil } from './helpers.js';

// cnode.hpp from a user's project outside the repository: the package installed there, the
// workers built with `npx cnode c++`, by g++ and by clang++ (-Wall -Wextra -Werror: a warning
// in the header fails the build, as it would a user's).
const project = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-cpp-project-'));
const compilers = ['g++', 'clang++'].filter((cxx) => spawnSync(cxx, ['--version']).status === 0);
const strict = ['-O2', '-Wall', '-Wextra', '-Wshadow', '-Werror'];

function cnode(args: string[], cxx: string) {
  return spawnSync('npx', ['--no-install', 'cnode', ...args], {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, CXX: cxx },
  });
}

/** Builds a .cpp copied into the project with `npx cnode c++`; returns the executable. */
function build(source: string, cxx: string): string {
  fs.copyFileSync(source, path.join(project, path.basename(source)));
  const output = `${path.basename(source, '.cpp')}-${cxx}`;
  const result = cnode(['c++', path.basename(source), ...strict, '-o', output], cxx);
  if (result.status !== 0) throw new Error(`cnode c++ ${source} with ${cxx} failed:\n${result.stderr}`);
  return path.join(project, output);
}

function quiet(executable: string, stderr: string[] = []): CNodeOptions {
  return { executable, onStdout: () => {}, onStderr: (line) => stderr.push(line) };
}

beforeAll(() => {
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'cpp-project', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', root], {
    cwd: project,
    stdio: 'pipe',
  });
}, 120_000);
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

const nodes = startedNodes({ after: () => expectNothingLeft() });

const text = `The cat sat on the mat.
The dog didn't sit; the dog ran.
'Quoted' words and THE end`;

describe.each(compilers)('the wordfreq example, built by npx cnode c++ with %s', (cxx) => {
  let wordfreq: string;
  beforeAll(() => {
    wordfreq = build(path.join(root, 'cnode', 'examples', 'wordfreq.cpp'), cxx);
  }, 120_000);

  it('counts words in a string or a Buffer, and finds lines by a regular expression', async () => {
    const node = await nodes.start(quiet(wordfreq));
    const top = [
      ['the', 5],
      ['dog', 2],
      ['and', 1],
    ];
    await expect(node.call({ op: 'top', text, n: 3 })).resolves.toEqual(top);
    await expect(node.call({ op: 'top', text: Buffer.from(text), n: 3 })).resolves.toEqual(top);
    await expect(node.call({ op: 'top', text, n: 2, min: 4 })).resolves.toEqual([
      ["didn't", 1],
      ['quoted', 1],
    ]);
    await expect(node.call({ op: 'grep', text, pattern: '\\bdog\\b' })).resolves.toEqual([
      { line: 2, text: "The dog didn't sit; the dog ran." },
    ]);
    await expect(node.call({ op: 'grep', text, pattern: '^the', ignoreCase: true })).resolves.toHaveLength(2);
  });

  it("fails a call whose handler threw, with the exception's message and code", async () => {
    const node = await nodes.start(quiet(wordfreq));
    const bad = await rejection(node.call({ op: 'grep', text, pattern: '(' }));
    expect(bad).toMatchObject({ code: 'ERR_CNODE_REMOTE', remoteCode: 'BAD_PATTERN' });
    expect(bad.message).toContain('pattern "(": ');
    const wrong = await rejection(node.call({ op: 'top', text, n: 'three' }));
    expect(wrong).toMatchObject({ code: 'ERR_CNODE_REMOTE', remoteCode: 'ERR_CNODE_BAD_MESSAGE' });
    expect(wrong.message).toContain('request.n: expected an integer, got a string');
    const negative = await rejection(node.call({ op: 'top', text, n: -1 }));
    expect(negative.message).toContain('request.n: -1 is out of range');
    await expect(node.call({ op: 'top' })).rejects.toThrow('request.text: missing');
    await expect(node.call({ op: 'sort', text })).rejects.toMatchObject({ remoteCode: 'BAD_OP' });
    // The worker goes on after every one of them.
    await expect(node.call({ op: 'top', text: 'a b a', n: 1 })).resolves.toEqual([['a', 2]]);
  });
});

it('builds the wordfreq example with CMake too (C++17, into build/bin)', async () => {
  const node = await nodes.start(quiet(binary('wordfreq')));
  await expect(node.call({ op: 'top', text, n: 1 })).resolves.toEqual([['the', 5]]);
});

describe.each(compilers)("cnode.hpp's loop and exceptions, built with %s", (cxx) => {
  let worker: string;
  beforeAll(() => {
    worker = build(path.join(root, 'test', 'workers', 'cpp_loop.cpp'), cxx);
  }, 120_000);

  it('turns any exception from a handler into a failed call, and goes on', async () => {
    const node = await nodes.start(quiet(worker));
    await expect(node.call({ op: 'add', a: 2, b: 40 })).resolves.toBe(42);
    const thrown = await rejection(node.call({ op: 'throw', message: 'no such row: 7' }));
    expect(thrown).toMatchObject({ code: 'ERR_CNODE_REMOTE', remoteCode: undefined });
    expect(thrown.message).toContain('no such row: 7');
    await expect(node.call({ op: 'throwInt' })).rejects.toThrow('not a std::exception');
    await expect(node.call({ op: 'fail', code: 'E_RANGE', message: 'too big' })).rejects.toMatchObject({
      code: 'ERR_CNODE_REMOTE',
      remoteCode: 'E_RANGE',
      message: expect.stringContaining('too big'),
    });
    await expect(node.call({ op: 'add', a: 'two', b: 40 })).rejects.toThrow(
      'request.a: expected an integer, got a string',
    );
    await expect(node.call({ op: 'add', a: 1, b: 2 })).resolves.toBe(3);
    await expect(node.call({ op: 'sum', values: { x: [1, 2.5], y: [] } })).resolves.toEqual({ x: 3.5, y: 0 });
    await expect(node.call({ op: 'sum', values: { x: [1, 'two'] } })).rejects.toThrow(
      'request.values.x[1]: expected a number, got a string',
    );
  });

  it('runs a timer lambda that sends, until it ends itself, and frees it', async () => {
    const node = await nodes.start(quiet(worker));
    const ticks: unknown[] = [];
    node.on('message', (message) => ticks.push(message));
    await expect(node.call({ op: 'live' })).resolves.toBe(1); // the pipe's callable
    const id = await node.call({ op: 'tick', ms: 5, count: 3 });
    expect(id).toBeGreaterThan(0);
    await waitUntil(() => ticks.length >= 3, 2000, 'three ticks arrived');
    await new Promise((resolve) => setTimeout(resolve, 50)); // time for a fourth, which must not come
    expect(ticks).toEqual([{ tick: 1 }, { tick: 2 }, { tick: 3 }]);
    await expect(node.call({ op: 'live' })).resolves.toBe(1);

    const cancelled = await node.call({ op: 'selfCancel', ms: 5 });
    await waitUntil(() => ticks.length >= 4, 2000, 'the self-cancelling timer ran');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ticks.slice(3)).toEqual([{ cancelled }]);
    await expect(node.call({ op: 'live' })).resolves.toBe(1);
  });

  it('runs a descriptor lambda when its pipe is readable, with the moved-to Node', async () => {
    const node = await nodes.start(quiet(worker));
    const messages: unknown[] = [];
    node.on('message', (message) => messages.push(message));
    await node.call({ op: 'pipe', text: 'through the pipe' });
    await waitUntil(() => messages.length >= 1, 2000, 'the piped text came back');
    expect(messages).toEqual([{ piped: 'through the pipe' }]);
    await expect(node.call({ op: 'whoami' })).resolves.toBe(node.name);
  });

  it('posts from another thread', async () => {
    const node = await nodes.start(quiet(worker));
    const messages: unknown[] = [];
    node.on('message', (message) => messages.push(message));
    await expect(node.call({ op: 'post', count: 3 })).resolves.toBe(3);
    await waitUntil(() => messages.length >= 3, 2000, 'the three posted messages arrived');
    expect(messages).toEqual([{ posted: 1 }, { posted: 2 }, { posted: 3 }]);
  });

  it('ends the worker with status 1 when a timer lambda throws, saying why on stderr', async () => {
    const stderr: string[] = [];
    const node = await CNode.start(quiet(worker, stderr));
    const exited = new Promise((resolve) => node.once('exit', resolve));
    await node.call({ op: 'timerThrows' });
    await expect(exited).resolves.toMatchObject({ exitCode: 1 });
    expect(stderr.join('\n')).toContain("cnode: a timer's callable threw: timer boom");
    await expectNothingLeft();
  });
});

describe('npx cnode c++', () => {
  const cxx = compilers[0] ?? 'c++';

  it('checks at compile time that a Node is movable and not copyable (-c: no linking)', () => {
    fs.copyFileSync(path.join(root, 'test', 'workers', 'cpp_move.cpp'), path.join(project, 'cpp_move.cpp'));
    const result = cnode(['c++', '-c', 'cpp_move.cpp', ...strict, '-o', 'cpp_move.o'], cxx);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    // And that the check can fail: a copy of a Node does not compile.
    fs.writeFileSync(
      path.join(project, 'copy.cpp'),
      '#include <cnode.hpp>\nvoid copy(const cnode::Node &node) { cnode::Node again = node; (void)again; }\n',
    );
    const copy = cnode(['c++', '-c', 'copy.cpp', '-o', 'copy.o'], cxx);
    expect(copy.status).not.toBe(0);
    expect(copy.stderr).toMatch(/deleted/);
  });

  it('uses -std=c++17 unless the user gave a standard, and says it in --help', () => {
    // -E: preprocess only; __cplusplus tells which standard the compiler was given.
    fs.writeFileSync(path.join(project, 'std.cpp'), 'long standard = __cplusplus;\n');
    expect(cnode(['c++', '-E', 'std.cpp'], cxx).stdout).toContain('201703L');
    expect(cnode(['c++', '-E', '-std=c++20', 'std.cpp'], cxx).stdout).toContain('202002L');
    expect(cnode(['--help'], cxx).stdout).toContain('cnode c++');
    const missing = cnode(['c++', 'std.cpp'], 'no-such-compiler');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('cnode c++: could not run no-such-compiler');
  });
});
