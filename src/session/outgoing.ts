import { BadMessage, type Encoded, encodeMessageFrame, type Stager } from '../codec.js';
import { type CNodeError, nodeError } from '../errors.js';

/**
 * Encodes a frame with the user's message for `node`, refusing with ERR_CNODE_BAD_MESSAGE what
 * cannot be encoded, a frame or binary over `maxMessageSize`, and any SharedBuffer when
 * `noShared` says why; then takes the transferred ArrayBuffers, only once nothing is left to refuse.
 */
export function encodeOutgoing(
  node: string,
  maxMessageSize: number,
  fields: readonly unknown[],
  message: unknown,
  transfer?: readonly ArrayBuffer[],
  noShared?: string,
  stager?: Stager,
): Encoded {
  let encoded: Encoded;
  try {
    encoded = encodeMessageFrame(fields, message, transfer, stager);
  } catch (error) {
    if (!(error instanceof BadMessage)) throw error;
    throw refusal(node, `${error.message}${error.hint ? `: ${error.hint}` : ''}`, error.cause);
  }
  const { frame, sides } = encoded;
  let biggestSide = 0;
  for (let i = 0; i < sides.length; i++) biggestSide = Math.max(biggestSide, sides[i].length);
  let why: string | undefined;
  if (frame.length > maxMessageSize || biggestSide > maxMessageSize) {
    const over =
      frame.length > maxMessageSize ? `encodes to ${frame.length} bytes` : `carries a binary of ${biggestSide} bytes`;
    why = `a message that ${over}, over maxMessageSize (${maxMessageSize} bytes)`;
  } else if (noShared && encoded.shared.length > 0) why = `this message: ${noShared}`;
  if (why !== undefined) {
    if (stager) for (const side of sides) stager.unstage(side);
    throw refusal(node, why);
  }
  encoded.takeTransfers();
  return encoded;
}

// Made only for a refusal: this runs for every call and send.
function refusal(node: string, why: string, cause?: unknown): CNodeError {
  return nodeError(
    node,
    'ERR_CNODE_BAD_MESSAGE',
    `cannot be sent ${why}; nothing was sent`,
    cause === undefined ? {} : { cause },
  );
}
