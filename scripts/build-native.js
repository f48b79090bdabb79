// Builds the C library and the example workers with cmake-js; run by `npm install`.
// Checks the system prerequisites first, so a missing package gets one clear message.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const packages = 'cmake pkg-config libzmq3-dev libmsgpack-dev';
const works = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

const missing = [];
if (!works('cmake', ['--version'])) missing.push('cmake (package cmake)');
if (!works('pkg-config', ['--version'])) missing.push('pkg-config (package pkg-config)');
else {
  if (!works('pkg-config', ['--exists', 'libzmq'])) missing.push('libzmq (package libzmq3-dev)');
  if (!works('pkg-config', ['--exists', 'msgpack'])) missing.push('msgpack-c (package libmsgpack-dev)');
}
if (missing.length > 0) {
  console.error(`\ncnode: cannot build the C library: missing ${missing.join(', ')}.
On Debian or Ubuntu install them with:

    sudo apt-get install ${packages}

then run npm install again.\n`);
  process.exit(1);
}

// cmake-js downloads Node's headers unless npm's nodedir names a folder that has them; a Node
// installed with its headers (Debian's, /usr/include/node) needs no download, which may be
// impossible offline, whether this runs under npm or by itself.
const env = { ...process.env };
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node.h')))
  env.npm_config_nodedir = prefix;
const cmakeJs = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile', ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
