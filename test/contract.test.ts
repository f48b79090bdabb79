import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CNode, type Contract, defineContract, typed } from '../src/index.js';
import { expectNothingLeft, rejection, root, startedNodes } from './helpers.js';

// The whole path a user takes: a contract file, `cnode gen` writing the C header into their
// build directory, `cnode cc` compiling the worker against it (under gcc and clang, warnings as
// errors), then the worker called through the typed client, and around it.
const fixture = path.join(root, 'test', 'fixtures', 'kitchen.contract.js');
const workerSource = path.join(root, 'cnode', 'examples', 'contract', 'kitchen.c');
const cli = path.join(root, 'bin', 'cnode.js');
const build = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-contract-'));
afterAll(() => fs.rmSync(build, { recursive: true, force: true }));

const cnode = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  execFileSync(process.execPath, [cli, ...args], {
    cwd: build,
    encoding: 'utf8',
    stdio: 'pipe',
    env: { ...process.env, ...env },
  });

/**
 * A contract file's contract, as this process's copy of the library defines it. The file imports
 * 'cnode' (dist/), and importing it here would load a second copy of the library beside src/:
 * msgpackr's extensions are global to a process, so the second copy's side-part decoder would
 * take over and refuse every big binary. So a node process of its own reads the definition, and
 * src/'s defineContract makes it again.
 */
function loadContract(file: string, name: string): Contract {
  const script = `import(${JSON.stringify(pathToFileURL(file).href)}).then((m) => console.log(JSON.stringify(m.${name})))`;
  const { operations } = JSON.parse(
    execFileSync(process.execPath, ['-e', script], { cwd: path.dirname(file), encoding: 'utf8' }),
  );
  return defineContract(name, operations);
}

let kitchen: Contract;
beforeAll(async () => {
  kitchen = loadContract(fixture, 'kitchen');
  cnode(['gen', fixture, '-o', 'kitchen_contract.h']);
  // The generated decoders (arena, paths) under AddressSanitizer and UBSan, leaks included.
  cnode(
    [
      'cc',
      workerSource,
      '-I.',
      '-g',
      '-fsanitize=address,undefined',
      '-fno-sanitize-recover=all',
      '-o',
      'kitchen-asan',
    ],
    {
      CC: 'gcc',
    },
  );
  for (const cc of ['gcc', 'clang'])
    cnode(['cc', workerSource, '-I.', '-std=c11', '-Wall', '-Wextra', '-Werror', '-O2', '-o', `kitchen-${cc}`], {
      CC: cc,
    });
  // The arena's cap made small: 1024 bytes of decoded arrays (a point takes 40).
  cnode(['cc', workerSource, '-I.', '-DCNODE_CONTRACT_ARENA_MAX=1024', '-O2', '-o', 'kitchen-small']);
}, 60_000);

const nodes = startedNodes({ after: () => expectNothingLeft() });
const start = (cc = 'gcc'): Promise<CNode> =>
  nodes.start({ executable: path.join(build, `kitchen-${cc}`), onStdout: () => {}, onStderr: () => {} });

const everything = {
  i: -(2 ** 53 - 1),
  f: 0.1,
  yes: true,
  s: 'naïve ✓',
  data: Buffer.from([0, 1, 2, 255]),
  ints: [0, 1, -1, 2 ** 40],
  names: ['', 'b', 'ç'],
  grid: [[1.5, 2], [], [-0.25]],
  at: { x: 1, y: 2.5, label: 'here' },
  path: [
    { x: 0, y: 0 },
    { x: 3, y: 4, label: 'there' },
  ],
  note: 'optional, given',
};

describe('a contract, both sides', () => {
  it.each(['gcc', 'clang'])('round-trips each type of the vocabulary through the generated C (%s)', async (cc) => {
    const api = typed(await start(cc), kitchen);
    await expect(api.add({ a: 40, b: 2 })).resolves.toBe(42);
    await expect(api.echo(everything)).resolves.toEqual(everything);
    // An optional field left out stays out, at the top and inside a struct.
    const { note: _, ...noNote } = everything;
    await expect(api.echo({ ...noNote, at: { x: 0, y: 0 } })).resolves.toEqual({ ...noNote, at: { x: 0, y: 0 } });
    await expect(api.sum({ values: [1, 2, 3.5] })).resolves.toBe(6.5);
    await expect(api.sum({ values: [], scale: 3 })).resolves.toBe(0);
    await expect(api.corners({ at: { x: 1, y: 1 }, size: 2 })).resolves.toEqual([
      { x: 1, y: 1, label: 'a' },
      { x: 3, y: 1, label: 'b' },
      { x: 3, y: 3, label: 'c' },
      { x: 1, y: 3, label: 'd' },
    ]);
    await expect(api.greet({ name: 'Ada' })).resolves.toBe('hello, Ada');
    await expect(api.greet({})).resolves.toBe('hello, stranger');
  });

  it('decodes, refuses and answers cleanly under AddressSanitizer and UBSan', async () => {
    const stderr: string[] = [];
    const node = await nodes.start({
      executable: path.join(build, 'kitchen-asan'),
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1' },
      onStdout: () => {},
      onStderr: (line) => stderr.push(line),
    });
    const api = typed(node, kitchen);
    // Big enough for the arena to hold many blocks, and for the binary to travel beside the frame.
    const big = {
      ...everything,
      data: Buffer.alloc(100_000, 7),
      path: Array.from({ length: 2000 }, (_, i) => ({ x: i, y: -i - 0.5, label: `p${i}` })),
    };
    for (let i = 0; i < 20; i++) await expect(api.echo(big)).resolves.toEqual(big);
    const bad = [
      { ...big, op: 'echo', path: [...big.path.slice(0, 1500), { x: 0 }] },
      { ...big, op: 'echo', grid: [[1], [2, 'x']] },
      { op: 'add', a: 2n ** 64n - 1n, b: 1 },
    ];
    for (const message of bad)
      await expect(node.call(message)).rejects.toMatchObject({ remoteCode: 'ERR_CNODE_BAD_MESSAGE' });
    await expect(node.call(bad[0])).rejects.toThrow(/bad message: path\[1500\]\.y is missing \(a float64\)$/);
    // The sum past 64 bits is refused, not computed (signed overflow would be undefined: UBSan halts).
    await expect(node.call({ op: 'add', a: 2n ** 62n, b: 2n ** 62n })).rejects.toMatchObject({
      remoteCode: 'E_OVERFLOW',
    });
    await expect(node.call({ op: 'add', a: -(2n ** 63n), b: -1 })).rejects.toMatchObject({ remoteCode: 'E_OVERFLOW' });
    await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, signal: null });
    expect(stderr).toEqual([]);
  });

  it('compiles as C99 and from C++17, warnings as errors', () => {
    fs.writeFileSync(path.join(build, 'header.c'), '#include "kitchen_contract.h"\nint main(void) { return 0; }\n');
    fs.writeFileSync(path.join(build, 'header.cpp'), '#include "kitchen_contract.h"\nint main() { return 0; }\n');
    const strict = ['-I.', '-Wall', '-Wextra', '-Werror', '-c', '-o', '/dev/null'];
    expect(() => cnode(['cc', 'header.c', '-std=c99', '-pedantic', ...strict])).not.toThrow();
    expect(() => cnode(['c++', 'header.cpp', '-std=c++17', ...strict])).not.toThrow();
  });

  it('refuses a request whose arrays would decode past CNODE_CONTRACT_ARENA_MAX, naming the array', async () => {
    const small = await nodes.start({ executable: path.join(build, 'kitchen-small'), onStderr: () => {} });
    const points = (n: number) => Array.from({ length: n }, (_, i) => ({ x: i, y: i }));
    await expect(small.call({ ...everything, op: 'echo', path: points(10) })).resolves.toMatchObject({
      path: points(10),
    });
    await expect(small.call({ ...everything, op: 'echo', path: points(100) })).rejects.toMatchObject({
      remoteCode: 'ERR_CNODE_BAD_MESSAGE',
      message: expect.stringMatching(/bad message: path has too many items to decode \(CNODE_CONTRACT_ARENA_MAX\)$/),
    });
    await expect(small.call({ op: 'add', a: 1, b: 2 })).resolves.toBe(3); // and goes on
  });

  it('answers the same messages sent untyped, as { op, ...fields } maps', async () => {
    const node = await start();
    await expect(node.call({ op: 'add', a: 1, b: 2 })).resolves.toBe(3);
    // An integer where the contract says float64 is taken: JavaScript's 2.0 is packed as 2.
    await expect(node.call({ op: 'sum', values: [1, 2], scale: 2 })).resolves.toBe(6);
  });

  it('refuses a mismatched request in the worker, naming the field, before the handler runs', async () => {
    const node = await start();
    const refused = async (message: unknown) => (await rejection(node.call(message))).message;
    await expect(refused({ op: 'add', a: 1, b: 'two' })).resolves.toMatch(
      /failed the call: ERR_CNODE_BAD_MESSAGE: bad message: b must be an int64, got a string$/,
    );
    await expect(node.call({ op: 'add', a: 1, b: 'two' })).rejects.toMatchObject({
      code: 'ERR_CNODE_REMOTE',
      remoteCode: 'ERR_CNODE_BAD_MESSAGE',
    });
    await expect(refused({ op: 'add', a: 1 })).resolves.toMatch(/bad message: b is missing \(an int64\)$/);
    await expect(refused({ op: 'add', a: 2n ** 63n, b: 0 })).resolves.toMatch(
      /bad message: a must be an int64, got an integer beyond 2\^63-1$/,
    );
    await expect(
      refused({
        ...everything,
        op: 'echo',
        path: [
          { x: 0, y: 0 },
          { x: 1, y: 'no' },
        ],
      }),
    ).resolves.toMatch(/bad message: path\[1\]\.y must be a float64, got a string$/);
    await expect(refused({ ...everything, op: 'echo', grid: [[1], [2, true]] })).resolves.toMatch(
      /bad message: grid\[1\]\[1\] must be a float64, got a boolean$/,
    );
    await expect(refused({ ...everything, op: 'echo', at: { x: 1, y: 2, label: 7 } })).resolves.toMatch(
      /bad message: at\.label must be a string, got an integer$/,
    );
    await expect(refused({ ...everything, op: 'echo', data: 'bytes?' })).resolves.toMatch(
      /bad message: data must be a binary, got a string$/,
    );
    await expect(refused({ op: 'divide' })).resolves.toMatch(
      /bad message: op "divide" is not an operation of contract kitchen \(add, echo,/,
    );
    await expect(refused({ a: 1 })).resolves.toMatch(/bad message: op is missing/);
    await expect(refused('add')).resolves.toMatch(/bad message: the request must be a map with an op, got a string$/);
    // The worker is fine after each refusal.
    await expect(node.call({ op: 'add', a: 1, b: 2 })).resolves.toBe(3);
  });

  it('gives the typed client ERR_CNODE_BAD_MESSAGE when the worker refuses, and checks before sending', async () => {
    const node = await start();
    const api = typed(node, kitchen);
    // A contract the worker does not have: the same op names, a field of another type.
    const stale = {
      ...kitchen,
      name: 'stale',
      operations: { add: { request: { a: { kind: 'string' } }, response: { kind: 'i64' } } },
    };
    const refused = await rejection(
      (typed(node, stale as Contract) as Record<string, (r: unknown) => Promise<unknown>>).add({ a: 'x' }),
    );
    expect(refused).toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE', node: node.name, creation: node.creation });
    expect(refused.message).toMatch(/refused the add request: a must be an int64, got a string$/);
    expect(refused.cause).toMatchObject({ code: 'ERR_CNODE_REMOTE', remoteCode: 'ERR_CNODE_BAD_MESSAGE' });
    // Checked by the owner: nothing is sent, and the path is the same the worker would give.
    const before = await rejection(
      api.echo({
        ...everything,
        path: [
          { x: 0, y: 0 },
          { x: 1, y: 'no' },
        ],
      }),
    );
    expect(before).toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    expect(before.message).toMatch(
      /kitchen\.echo: bad message: path\[1\]\.y must be a float64, got a string; nothing was sent$/,
    );
    await expect(api.add({ a: 1.5, b: 1 })).rejects.toThrow(
      /bad message: a must be an int64 \(a safe integer\), got the number 1.5/,
    );
    // A worker answering outside its contract is caught too.
    await expect(api.liar({})).rejects.toMatchObject({
      code: 'ERR_CNODE_BAD_MESSAGE',
      message: expect.stringMatching(
        /answered kitchen\.liar outside its contract: response must be an int64 \(a safe integer\), got a string$/,
      ),
    });
    // An operation of the contract the worker has no handler for: an ordinary remote failure.
    await expect(api.unhandled({})).rejects.toMatchObject({
      code: 'ERR_CNODE_REMOTE',
      message: expect.stringContaining('contract kitchen: the worker has no handler for unhandled'),
    });
    await expect(api.add({ a: 2, b: 2 })).resolves.toBe(4);
  });

  it("builds and runs the README's quick start in a project of its own, with npx", async () => {
    // As a user does: the package installed, the example's two files copied in, one command.
    const project = path.join(build, 'user-project');
    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'user-project', private: true, type: 'module' }),
    );
    const example = path.join(root, 'cnode', 'examples', 'contract');
    for (const file of ['calc.contract.js', 'calc.c'])
      fs.copyFileSync(path.join(example, file), path.join(project, file));
    const run = (command: string, args: string[]) =>
      execFileSync(command, args, { cwd: project, stdio: 'pipe', encoding: 'utf8' });
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', root]);
    // --contract writes calc_contract.h here first (and adds -I.); `npx cnode gen` alone prints it.
    run('npx', [
      '--no-install',
      'cnode',
      'cc',
      '--contract',
      'calc.contract.js',
      'calc.c',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-O2',
      '-o',
      'calc',
    ]);
    expect(fs.readFileSync(path.join(project, 'calc_contract.h'), 'utf8')).toBe(
      run('npx', ['--no-install', 'cnode', 'gen', 'calc.contract.js']),
    );
    const calc = loadContract(path.join(project, 'calc.contract.js'), 'calc');
    const node = await nodes.start({ executable: path.join(project, 'calc'), onStdout: () => {}, onStderr: () => {} });
    const api = typed(node, calc);
    await expect(api.add({ a: 1, b: 2 })).resolves.toBe(3);
    await expect(api.mean({ values: [1, 2, 4.5] })).resolves.toEqual({ mean: 2.5, count: 3 });
    await expect(api.mean({ values: [] })).rejects.toMatchObject({
      code: 'ERR_CNODE_REMOTE',
      message: expect.stringContaining('mean: no values'),
    });
    await expect(api.add({ a: 1, b: 'two' } as never)).rejects.toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    await expect(node.call({ op: 'add', a: 1, b: 'two' })).rejects.toThrow(
      /bad message: b must be an int64, got a string$/,
    );
    await expect(node.call({ op: 'add', a: 2n ** 62n, b: 2n ** 62n })).rejects.toMatchObject({
      remoteCode: 'E_OVERFLOW',
      message: expect.stringContaining('add: 4611686018427387904 + 4611686018427387904 is beyond 64 bits'),
    });
  }, 60_000);

  it('explains itself, and names what is wrong with a contract file', () => {
    expect(cnode(['gen', '--help'])).toContain('Usage: cnode gen <contract.js>');
    expect(cnode(['--help'])).toContain('cnode gen <contract.js>');
    const header = cnode(['gen', fixture]);
    expect(header).toContain('static inline int kitchen_dispatch(cnode_t *node');
    const library = pathToFileURL(path.join(root, 'dist', 'index.js')).href;
    fs.writeFileSync(path.join(build, 'none.mjs'), 'export const x = 1;\n');
    fs.writeFileSync(
      path.join(build, 'bad.mjs'),
      `import { defineContract, t } from '${library}';\n` +
        "export const c = defineContract('bad', { go: { request: { 'no-dash': t.i64 }, response: t.bool } });\n",
    );
    const fails = (args: string[]) => {
      try {
        cnode(args);
      } catch (error) {
        return (error as { stderr: string }).stderr;
      }
      throw new Error(`cnode ${args.join(' ')} succeeded`);
    };
    expect(fails(['gen', 'none.mjs'])).toContain('none.mjs exports no contract');
    fs.writeFileSync(
      path.join(build, 'two.mjs'),
      `import { defineContract, t } from '${library}';\n` +
        "export const one = defineContract('one', { go: { request: {}, response: t.bool } });\n" +
        "export const two = defineContract('two', { go: { request: {}, response: t.bool } });\n",
    );
    expect(fails(['gen', 'two.mjs'])).toContain(
      'two.mjs exports several contracts (one, two): choose one with --export',
    );
    expect(cnode(['gen', 'two.mjs', '--export', 'two'])).toContain('static inline int two_dispatch(');
    cnode(['gen', 'two.mjs', '--export', 'one', '--dir', '.']);
    expect(fs.readFileSync(path.join(build, 'one_contract.h'), 'utf8')).toContain('#ifndef ONE_CONTRACT_H');
    expect(fails(['gen', 'two.mjs', '-o', 'x.h', '--dir', '.'])).toContain('-o and --dir: one or the other');
    expect(fails(['gen', 'missing.js'])).toContain('missing.js does not exist');
    expect(fails(['gen', path.join(root, 'test', 'fixtures', 'kitchen.contract.js'), '-x'])).toContain(
      'unknown option "-x"',
    );
    expect(fails(['gen', 'bad.mjs'])).toContain(
      'go.request\'s field name must be a C identifier that is not a C or C++ keyword nor reserved (no leading _, no __), got `"no-dash"` (string)',
    );
  });
});
