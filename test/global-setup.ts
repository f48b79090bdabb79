import fs from 'node:fs';
import { binary, root } from './helpers.js';

// The suite runs against the real build; say so plainly when it is missing.
export default function setup(): void {
  for (const file of [binary('echo'), binary('testbed'), `${root}/dist/index.js`]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm install\` before \`npm test\``);
  }
}
