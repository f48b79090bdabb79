/**
 * The options that take a worker past this host: `exec` (a command prefix that runs it
 * elsewhere), `bind` and `advertise` (where its tcp socket listens, and the endpoint its ready
 * line names), and the checks they share with CNode.attach (endpoints, CurveZMQ keys).
 */
import { check } from './options.js';

/** A host name or IPv4 address, as the worker's `tcp://<host>:<port>` takes it (no IPv6: libzmq would need ZMQ_IPV6). */
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$/;

/** `<host>` or `<host>:<port>`, split; undefined for anything else. The port is 1-65535. */
export function parseHostPort(value: string): { host: string; port: number | undefined } | undefined {
  const colon = value.lastIndexOf(':');
  const host = colon === -1 ? value : value.slice(0, colon);
  const portText = colon === -1 ? undefined : value.slice(colon + 1);
  if (!HOST.test(host) && host !== '*') return undefined;
  if (portText === undefined) return { host, port: undefined };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}

/** An address that only this host can reach: what may go without CurveZMQ. */
export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/** `0.0.0.0` or `*`: every interface, whose ready line names the worker's host name instead. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '*';
}

export interface NetworkOptions {
  /** The command prefix, or undefined for a local child. */
  exec: readonly string[] | undefined;
  /** Where a tcp worker binds: `<address>` or `<address>:<port>`; '' for ipc and local. */
  bind: string;
  /** What a tcp worker's ready line names, when the owner says; '' for the worker's choice. */
  advertise: string;
}

/**
 * Checks `exec`, `bind` and `advertise` against the transport and `curve`, and fills in bind's
 * default: the loopback for a local worker, every interface for one run through exec.
 */
export function normalizeNetwork(
  { exec, bind, advertise }: { exec?: unknown; bind?: unknown; advertise?: unknown },
  transport: string,
  curve: boolean,
): NetworkOptions {
  check(
    'exec',
    exec,
    exec === undefined ||
      (Array.isArray(exec) && exec.length > 0 && exec.every((word) => typeof word === 'string' && word.length > 0)),
    "a non-empty array of non-empty strings (a command prefix, such as ['ssh', 'user@host'])",
  );
  const tcp = transport === 'tcp';
  for (const [option, value] of [
    ['bind', bind],
    ['advertise', advertise],
  ] as const) {
    check(option, value, tcp || value === undefined, `left out with transport '${transport}' (it is for tcp)`);
  }
  const form = (what: string) =>
    `a string \`<${what}>\` or \`<${what}>:<port>\` (an IPv4 address or host name, port 1-65535)`;
  check(
    'bind',
    bind,
    bind === undefined || (typeof bind === 'string' && parseHostPort(bind) !== undefined),
    form('address'),
  );
  check(
    'advertise',
    advertise,
    advertise === undefined ||
      (typeof advertise === 'string' && parseHostPort(advertise) !== undefined && !advertise.startsWith('*')),
    form('host'),
  );
  const bound = tcp ? ((bind as string | undefined) ?? (exec ? '0.0.0.0' : '127.0.0.1')) : '';
  if (tcp && !curve) {
    check('curve', curve, !exec, 'true with `exec` (CurveZMQ is mandatory for a worker on another host)');
    const address = parseHostPort(bound)!.host;
    check(
      'curve',
      curve,
      isLoopback(address),
      `true with \`bind\` ${JSON.stringify(bound)}, which is not the loopback (CurveZMQ is mandatory off the loopback)`,
    );
    // The endpoint the owner connects to counts too: a port forward would carry plain tcp off this host.
    const named = typeof advertise === 'string' ? parseHostPort(advertise)!.host : undefined;
    check(
      'curve',
      curve,
      named === undefined || isLoopback(named),
      `true with \`advertise\` ${JSON.stringify(advertise)}, which is not the loopback (CurveZMQ is mandatory off the loopback)`,
    );
  }
  return { exec: exec ? [...(exec as string[])] : undefined, bind: bound, advertise: (advertise as string) ?? '' };
}
