// An owner to be SIGKILLed by the failure scenario: starts a CNode with build/bin/echo over the
// transport its argument names ('local' or 'ipc'), prints the worker's pid on stdout, then
// waits. The bench kills this process and times how long the worker takes to notice that its
// owner is gone and end.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CNode } from '../../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const transport = process.argv[2] ?? 'local';
const node = await CNode.start({ executable: path.join(root, 'build/bin/echo'), transport });
await node.call('ready?'); // connected and serving: the state an owner dies in
process.stdout.write(`${node.pid}\n`);
setInterval(() => {}, 60_000); // wait to be killed
