/**
 * The options of CNode.attach: where a served worker listens, the CurveZMQ keys that let this
 * owner in, and the node's limits. Checked once, as start()'s are.
 */
import { CNodeError } from './errors.js';
import { parseHostPort } from './network-options.js';
import {
  type CNodeOptions,
  check,
  checkLimits,
  checkOptionNames,
  checkTimeout,
  type HeartbeatOptions,
  normalizeHeartbeat,
} from './options.js';

export interface AttachOptions {
  /** Where the worker serves: `tcp://<host>:<port>`, as its CNODE_SERVE names it (a wildcard there is a host here). Required. */
  endpoint: string;
  /** The worker's CurveZMQ public key (Z85, 40 characters): the pair of its CNODE_SECRET_KEY_FILE. Required. */
  serverKey: string;
  /** This owner's CurveZMQ public key (Z85, 40 characters), listed in the worker's CNODE_AUTHORIZED_KEYS. Required. */
  publicKey: string;
  /** This owner's CurveZMQ secret key (Z85, 40 characters). Required. */
  secretKey: string;
  /** Milliseconds to wait for the handshake. Default: 5000. */
  readyTimeout?: number;
  /** As for start(). Default: 5000. */
  callTimeout?: number;
  /** Milliseconds stop({ terminate: true }) waits for the worker to end. Default: 5000. */
  stopTimeout?: number;
  /** As for start(). Default: 10000. */
  maxPending?: number;
  /** As for start(); the worker has its own (its CNODE_MAX_MESSAGE_SIZE). Default: 67108864 (64 MiB). */
  maxMessageSize?: number;
  /** As for start(), with ZMTP heartbeats on the connection; `false`: off. Default: on (interval 1000, timeout 5000). */
  heartbeat?: CNodeOptions['heartbeat'];
}

export interface NormalizedAttachOptions {
  endpoint: string;
  curve: { serverKey: string; publicKey: string; secretKey: string };
  readyTimeout: number;
  callTimeout: number;
  stopTimeout: number;
  maxPending: number;
  maxMessageSize: number;
  heartbeat: HeartbeatOptions | undefined;
}

const ATTACH_OPTION_NAMES = Object.keys({
  endpoint: true,
  serverKey: true,
  publicKey: true,
  secretKey: true,
  readyTimeout: true,
  callTimeout: true,
  stopTimeout: true,
  maxPending: true,
  maxMessageSize: true,
  heartbeat: true,
} satisfies Record<keyof AttachOptions, true>);

/** A CurveZMQ key in Z85: 40 characters of its alphabet (32 bytes). */
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** Checks every option of attach() and fills in defaults; throws ERR_CNODE_INVALID_OPTION naming the first bad one. */
export function normalizeAttachOptions(options: AttachOptions): NormalizedAttachOptions {
  checkOptionNames(options, ATTACH_OPTION_NAMES);
  const {
    endpoint,
    serverKey,
    publicKey,
    secretKey,
    readyTimeout = 5000,
    callTimeout = 5000,
    stopTimeout = 5000,
    maxPending = 10000,
    maxMessageSize = 64 * 1024 * 1024,
    heartbeat = {},
  } = options;
  check('endpoint', endpoint, typeof endpoint === 'string' && isTcpEndpoint(endpoint), '`tcp://<host>:<port>`');
  for (const [option, key] of [
    ['serverKey', serverKey],
    ['publicKey', publicKey],
    ['secretKey', secretKey],
  ] as const) {
    // The secret is never echoed: an error message ends up in logs.
    if (typeof key !== 'string' || !Z85_KEY.test(key)) {
      const got = option === 'secretKey' ? `a ${typeof key} of ${String(key).length} characters` : undefined;
      if (got === undefined) check(option, key, false, 'a CurveZMQ key in Z85, 40 characters (`npx cnode keygen`)');
      throw new CNodeError(
        'ERR_CNODE_INVALID_OPTION',
        `Expected the \`secretKey\` option to be a CurveZMQ key in Z85, 40 characters (\`npx cnode keygen\`), got ${got} (not shown)`,
      );
    }
  }
  check('publicKey', publicKey, publicKey !== serverKey, "this owner's own key, not the worker's (`serverKey`)");
  checkTimeout('readyTimeout', readyTimeout);
  checkTimeout('callTimeout', callTimeout);
  checkTimeout('stopTimeout', stopTimeout);
  checkLimits(maxPending, maxMessageSize);
  return {
    endpoint,
    curve: { serverKey, publicKey, secretKey },
    readyTimeout,
    callTimeout,
    stopTimeout,
    maxPending,
    maxMessageSize,
    heartbeat: normalizeHeartbeat(heartbeat, true),
  };
}

function isTcpEndpoint(endpoint: string): boolean {
  if (!endpoint.startsWith('tcp://')) return false;
  const parsed = parseHostPort(endpoint.slice('tcp://'.length));
  return parsed !== undefined && parsed.host !== '*' && parsed.port !== undefined;
}
