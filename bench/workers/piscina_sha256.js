// piscina's task for the piscina scenario: the SHA-256 of the bytes it is given, with
// node:crypto (Node 20 here is linked to the system's OpenSSL 3.0, the libcrypto that
// bench/workers/sha256.c calls), as a new user of piscina would write it.
import { createHash } from 'node:crypto';

export default function sha256(bytes) {
  return createHash('sha256').update(bytes).digest();
}
