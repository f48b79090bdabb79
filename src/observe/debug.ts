import { debuglog } from 'node:util';

/**
 * NODE_DEBUG=cnode: one line per event of a node's life to stderr (`CNODE <pid>: ...`), for a
 * user asking why a worker did not start or why it ended. Never a secret: no cookie, no key, no
 * environment, no message; names, pids, endpoints, signals and causes only. Lifecycle events are
 * rare, so the calls stay unguarded; a caller building an expensive line checks `debug.enabled`.
 */
export const debug = debuglog('cnode');
