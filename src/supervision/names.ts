import { createHash } from 'node:crypto';

const ALIVE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The alive name of a child's nodes: its id when that is a valid alive name, so that the worker
 * knows its role from cnode_alive() and creation counts its restarts, as Bundlex's does. Other ids
 * are made valid (each other character becomes `_`, cut to 55) and given a hash of the whole id,
 * so that two ids never share a name.
 */
export function childAliveName(id: string): string {
  if (ALIVE_NAME.test(id)) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
  return `${id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 55)}_${hash}`;
}
