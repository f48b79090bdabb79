// Builds the C library and the example workers with cmake-js; run by `npm install`.
// Checks the system prerequisites first, so a missing package gets one clear message.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

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

const cmakeJs = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
