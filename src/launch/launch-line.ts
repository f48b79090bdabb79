/**
 * The launch line (docs/protocol.md): the one line of `NAME=VALUE` words the owner writes to a
 * launched worker's stdin, right after spawning it, with its cookie, keys and transport settings.
 * Secrets travel here, never in argv (every user of the machine can read it) nor in the
 * environment (ssh does not forward it, and /proc/<pid>/environ keeps a copy after unsetenv).
 */

/** The longest line the worker reads, its newline included. */
export const LAUNCH_LINE_MAX = 4096;

const NAME = /^CNODE_[A-Z_]+$/;
const VALUE = /^[\x21-\x7e]+$/; // printable, no space: the worker splits on single spaces

/** The line for `settings`, newline-ended. Throws on a value the worker would refuse. */
export function launchLine(settings: Readonly<Record<string, string>>): string {
  const words = Object.entries(settings).map(([name, value]) => {
    // Only a path can fail this (an ipc directory under a TMPDIR with a space): never a secret.
    if (!NAME.test(name) || !VALUE.test(value))
      throw new Error(
        `its launch setting ${name} ${JSON.stringify(value)} holds a space or a character outside printable ASCII, which the launch line cannot carry`,
      );
    return `${name}=${value}`;
  });
  const line = `${words.join(' ')}\n`;
  if (Buffer.byteLength(line) > LAUNCH_LINE_MAX)
    throw new Error(`its launch line takes ${Buffer.byteLength(line)} bytes, over ${LAUNCH_LINE_MAX}`);
  return line;
}
