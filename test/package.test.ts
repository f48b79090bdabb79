import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CNode as InstalledCNode } from '../src/index.js'; // its type only: erased, nothing of ../src is loaded
import { liveChildren } from './processes.js';

// The package as a user gets it: `npm pack`, then `npm install <tarball>` in a project of their
// own, outside the repository, then a worker built with `npx cnode cc` and run with the CNode of
// the installed package. Nothing from the repository's build/ or src/ is used past the packing:
// this file deliberately imports neither ../src nor ./helpers (which loads ../src).

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-package-'));
const project = path.join(work, 'project');
const installed = path.join(project, 'node_modules', 'cnode');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// npm passes its own settings to the scripts it runs (npm_config_local_prefix=/work/main under
// `npm test`, ...): the npm commands here must see the user's project, not the repository's run.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || key === 'npm_config_cache'),
);
const quietNpm = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

function run(command: string, args: string[], cwd: string, timeout: number): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: 'pipe', timeout, killSignal: 'SIGKILL' });
}

// The README's worker: it doubles an unsigned integer.
const source = `
#include <cnode.h>

static int handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *user) {
    (void)user;
    if (reply == NULL) return 0;
    if (request->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return cnode_fail(node, "expected an unsigned integer");
    return msgpack_pack_uint64(reply, request->via.u64 * 2);
}

int main(int argc, char **argv) {
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    int status = cnode_run(node, handle, NULL);
    cnode_destroy(node);
    return status;
}
`;

describe('the npm package, packed and installed in a fresh project', () => {
  it('ships what its install builds from, builds there, and runs a worker built with npx cnode cc', async () => {
    // Packing takes the working tree as it is, with the dist/ that `npm install` built (the
    // global setup checks it is there); --ignore-scripts keeps `prepare` from rebuilding it.
    const packed = JSON.parse(
      run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root, 60_000),
    ) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0].files.map((file) => file.path);
    for (const file of [
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli.js',
      'bin/cnode.js',
      'CMakeLists.txt',
      'scripts/build-native.js',
      'cnode/include/cnode.h',
      'cnode/src/node.c',
      'cnode/examples/echo.c',
      'addon/addon.cc',
    ]) {
      expect.soft(files).toContain(file);
    }
    // What only the repository needs: its tests, benchmarks, TypeScript sources, builds, and the
    // source maps, which point into the src/ that is not shipped.
    expect
      .soft(files.filter((file) => /^(test|bench|src|build[^/]*|node_modules|examples)\/|\.map$/.test(file)))
      .toEqual([]);

    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'cnode-user', version: '1.0.0', private: true }),
    );
    fs.writeFileSync(path.join(project, 'double.c'), source);
    // npm runs cnode's `install` script here (scripts/build-native.js: cmake-js in
    // node_modules/cnode/build); a build failure fails the install, with cmake's output in the
    // error. npm 11.19 runs it unasked, then warns that it is "not yet covered by allowScripts".
    const tarball = path.join(work, packed[0].filename);
    run('npm', ['install', ...quietNpm, tarball], project, 180_000);
    const unbuilt = ['lib/libcnode.a', 'addon/cnode.node', 'bin/echo', 'bin/blur'].filter(
      (file) => !fs.existsSync(path.join(installed, 'build', file)),
    );
    if (unbuilt.length > 0) {
      const npmVersion = run('npm', ['--version'], project, 30_000).trim();
      expect.fail(
        `npm ${npmVersion} installed cnode without ${unbuilt.join(', ')}: did it skip cnode's install script?`,
      );
    }
    // Only the library, the addon and the examples: the package has no test/ nor bench/.
    for (const file of ['testbed', 'shared_probe', 'zmq_echo', 'pipe_echo']) {
      expect(fs.existsSync(path.join(installed, 'build', 'bin', file)), file).toBe(false);
    }

    // The README's route where install scripts are blocked: approve cnode, then rebuild it. npm
    // records the approval under the tarball's resolved identity, not the name `cnode`.
    run('npm', ['install-scripts', 'approve', 'cnode'], project, 30_000);
    const { allowScripts } = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    expect(allowScripts).toEqual({ [`file:${tarball}`]: true });
    // The build the install made goes first, so that only the rebuild can make what is checked.
    fs.rmSync(path.join(installed, 'build'), { recursive: true, force: true });
    run('npm', ['rebuild', 'cnode', '--loglevel=error'], project, 180_000);
    for (const file of ['lib/libcnode.a', 'addon/cnode.node', 'bin/echo'])
      expect(fs.existsSync(path.join(installed, 'build', file)), file).toBe(true);

    run('npx', ['--no-install', 'cnode', 'cc', 'double.c', '-O2', '-Wall', '-Werror', '-o', 'double'], project, 60_000);

    // `import { CNode } from 'cnode'` as the project resolves it: the installed package's exports.
    const entry = createRequire(path.join(project, 'package.json')).resolve('cnode');
    expect(entry).toBe(path.join(installed, 'dist', 'index.js'));
    const { CNode, SharedBuffer } = (await import(pathToFileURL(entry).href)) as typeof import('../src/index.js');
    const quiet = { onStdout: () => {}, onStderr: () => {} };

    const nodes: InstalledCNode[] = [];
    try {
      const double = await CNode.start({ executable: path.join(project, 'double'), ...quiet });
      nodes.push(double);
      await expect(double.call(21)).resolves.toBe(42);
      await expect(double.call('x')).rejects.toMatchObject({
        code: 'ERR_CNODE_REMOTE',
        message: expect.stringContaining('expected an unsigned integer'),
      });

      // The example the install built, with a SharedBuffer: the installed addon maps the memory.
      const echo = await CNode.start({ executable: path.join(installed, 'build', 'bin', 'echo'), ...quiet });
      nodes.push(echo);
      using shared = SharedBuffer.create(64);
      const values = shared.float64();
      values.set([1, 2, 3]);
      await expect(echo.call({ op: 'scale', factor: 2, data: values, answer: 'count' })).resolves.toBe(8);
      expect([...values.subarray(0, 3)]).toEqual([2, 4, 6]);

      for (const node of nodes.splice(0))
        await expect(node.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true });
      expect(liveChildren()).toEqual([]);
    } finally {
      await Promise.all(nodes.map((node) => node.stop())); // after a failure: leave no worker behind
    }
  }, 600_000); // more than the sum of the commands' own timeouts
});
