// A delaying TCP relay, for a slow link where the kernel has no tc netem: listens on
// host:port and forwards each connection to a target, holding every chunk `delayMs` in each
// direction, in order; silenced, it drops every byte and closes nothing, as a cut link does. An end (FIN) is forwarded after the chunks before it; a reset or error
// on one side destroys the other.
import net from 'node:net';

/**
 * Forwards what `from` reads to `to`, each chunk `delayMs` later than it arrived, in order.
 * One timer at a time, for the head of the queue: the order holds whatever the timers do.
 */
function pump(from, to, delayMs, isSilent) {
  /** @type {{ due: number, chunk: Buffer | null }[]} */
  const queue = [];
  let timer;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0].due <= now) {
      const { chunk } = queue.shift();
      if (to.destroyed) return;
      if (chunk === null) to.end();
      else to.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(flush, Math.max(0, queue[0].due - performance.now()));
  };
  const push = (chunk) => {
    if (isSilent()) return;
    queue.push({ due: performance.now() + delayMs, chunk });
    if (timer === undefined) timer = setTimeout(flush, delayMs);
  };
  from.on('data', (chunk) => push(chunk));
  from.on('end', () => push(null));
  from.on('close', () => {
    // A reset (or our own destroy) with nothing to deliver: pass it on. A clean end waits for
    // its queue.
    if (queue.length === 0 && from.readableEnded === false) to.destroy();
  });
  return () => clearTimeout(timer);
}

/**
 * Starts a relay. `listen` is where it listens ({ host, port }, port 0 for any), `target`
 * where it forwards ({ host, port }); `delayMs` is added each way.
 * @param {{ listen: { host: string, port?: number }, target: { host: string, port: number }, delayMs: number }} options
 * @returns {Promise<import('./relay.js').Relay>}
 */
export async function startRelay({ listen, target, delayMs }) {
  const sockets = new Set();
  let connections = 0;
  let silent = false;
  const isSilent = () => silent;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    connections++;
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    sockets.add(client);
    sockets.add(upstream);
    const stops = [pump(client, upstream, delayMs, isSilent), pump(upstream, client, delayMs, isSilent)];
    const closed = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      for (const stop of stops) stop();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', closed);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, listen.host, () => {
      server.off('error', reject);
      resolve(undefined);
    });
  });
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    host: listen.host,
    port: address.port,
    endpoint: `${listen.host}:${address.port}`,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size / 2;
    },
    silence() {
      silent = true;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
