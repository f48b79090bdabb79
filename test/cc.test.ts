import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CNode } from '../src/index.js';
import { liveChildren, root } from './helpers.js';

// What a user writes in their own project: a worker that upper-cases strings.
const source = `
#include <cnode.h>
#include <ctype.h>
#include <signal.h>
#include <string.h>

static int handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *user) {
    (void)user;
    if (request->type != MSGPACK_OBJECT_STR) return cnode_fail(node, "expected a string");
    const msgpack_object_str *text = &request->via.str;
    if (text->size == 5 && memcmp(text->ptr, "crash", 5) == 0) raise(SIGSEGV);
    if (reply == NULL) return 0;
    char upper[256];
    if (text->size > sizeof upper) return cnode_fail(node, "too long: %u bytes", text->size);
    for (uint32_t i = 0; i < text->size; i++) upper[i] = (char)toupper((unsigned char)text->ptr[i]);
    msgpack_pack_str(reply, text->size);
    return msgpack_pack_str_body(reply, upper, text->size);
}

int main(int argc, char **argv) {
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    int status = cnode_run(node, handle, NULL);
    cnode_destroy(node);
    return status;
}
`;

const project = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-user-project-'));
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

describe('npx cnode cc, from a project outside the repository', () => {
  it('builds a worker that starts, answers, crashes and stops like any other', async () => {
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true }));
    fs.writeFileSync(path.join(project, 'upper.c'), source);
    const run = (command: string, args: string[]) =>
      execFileSync(command, args, { cwd: project, stdio: 'pipe', encoding: 'utf8' });
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', root]);
    run('npx', ['--no-install', 'cnode', 'cc', 'upper.c', '-O2', '-Wall', '-Werror', '-o', 'upper']);

    const options = { executable: path.join(project, 'upper'), onStdout: () => {}, onStderr: () => {} };
    const node = await CNode.start(options);
    await expect(node.call('hello')).resolves.toBe('HELLO');
    await expect(node.call(42)).rejects.toMatchObject({
      code: 'ERR_CNODE_REMOTE',
      message: expect.stringContaining('expected a string'),
    });
    await expect(node.call('crash')).rejects.toMatchObject({ code: 'ERR_CNODE_EXITED', signal: 'SIGSEGV' });

    const again = await CNode.start(options);
    await expect(again.call('again')).resolves.toBe('AGAIN');
    await expect(again.stop()).resolves.toMatchObject({ exitCode: 0, stopped: true });
    expect(liveChildren()).toEqual([]);
  });

  it('prints its flags for Makefiles and explains itself', () => {
    const cli = path.join(root, 'bin', 'cnode.js');
    expect(execFileSync(process.execPath, [cli, 'cflags'], { encoding: 'utf8' }).trim()).toBe(
      `-I${root}/cnode/include`,
    );
    expect(execFileSync(process.execPath, [cli, 'libs'], { encoding: 'utf8' }).trim()).toBe(
      `${root}/build/lib/libcnode.a -lzmq -lmsgpackc`,
    );
    expect(execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' })).toContain('cnode cc');
  });
});
