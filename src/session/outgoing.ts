import { BadMessage, type Encoded, encodeMessageFrame } from '../codec.js';
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
): Encoded {
  const refuse = (why: string, cause?: unknown): CNodeError =>
    nodeError(
      node,
      'ERR_CNODE_BAD_MESSAGE',
      `cannot be sent ${why}; nothing was sent`,
      cause === undefined ? {} : { cause },
    );
  let encoded: Encoded;
  try {
    encoded = encodeMessageFrame(fields, message, transfer);
  } catch (error) {
    if (!(error instanceof BadMessage)) throw error;
    throw refuse(`${error.message}${error.hint ? `: ${error.hint}` : ''}`, error.cause);
  }
  let biggestSide = 0;
  for (const side of encoded.sides) biggestSide = Math.max(biggestSide, side.length);
  const over =
    encoded.frame.length > maxMessageSize
      ? `encodes to ${encoded.frame.length} bytes`
      : biggestSide > maxMessageSize
        ? `carries a binary of ${biggestSide} bytes`
        : undefined;
  if (over) throw refuse(`a message that ${over}, over maxMessageSize (${maxMessageSize} bytes)`);
  if (noShared && encoded.shared.length > 0) throw refuse(`this message: ${noShared}`);
  encoded.takeTransfers();
  return encoded;
}
