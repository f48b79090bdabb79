// Where the bench finds the built workers and its own files.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(benchDir, '..');

/** A program built into build/bin/ (the cnode workers, and the bench's zmq_echo and pipe_echo). */
export const bin = (name) => path.join(root, 'build', 'bin', name);
