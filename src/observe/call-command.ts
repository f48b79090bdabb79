/**
 * `cnode call <worker> '<json>'`: starts a worker, makes one call, prints the answer as JSON and
 * stops it, for trying a worker by hand. JSON has no binaries and no big integers, so both ways:
 * a binary is {"$bin": "<base64>"} (in the message too); an integer beyond 2^53 is given as
 * {"$int": "<decimal>"} and printed as a decimal string.
 */
import path from 'node:path';
import type { CNodeError } from '../errors.js';

export const callUsage = `Usage: cnode call <worker> '<json>' [--timeout <ms>] [-- worker arguments...]

Starts <worker> (a path; a bare name is looked up in the current directory), makes one call with
the JSON message, prints the answer as JSON on stdout and stops the worker. The worker's own
stdout and stderr go to stderr.
  --timeout <ms>   how long the call may take (default 5000)
  -- args...       the worker's own arguments
Binaries are {"$bin": "<base64>"} both ways. A JSON number is exact to 2^53: a bigger integer
goes in as {"$int": "<decimal>"}, and an answer's integer beyond 2^53 is printed as a string.
A failed call prints its code and message (and the worker's code, for cnode_fail_code) on
stderr and exits with 1; bad arguments exit with 2.`;

interface CallArgs {
  executable: string;
  message: unknown;
  timeout: number;
  args: string[];
}

/** Runs the command; resolves with the exit code. */
export async function callCommand(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    console.log(callUsage);
    return 0;
  }
  let parsed: CallArgs;
  try {
    parsed = parse(argv);
  } catch (error) {
    console.error(`cnode call: ${(error as Error).message}\n${callUsage}`);
    return 2;
  }
  let node: import('../cnode.js').CNode | undefined;
  let answered = false;
  try {
    // Loaded here only: `cnode cc` must not need the addons.
    const { CNode } = await import('../cnode.js');
    const toStderr = (line: string) => process.stderr.write(`${line}\n`);
    node = await CNode.start({
      executable: parsed.executable,
      args: parsed.args,
      callTimeout: parsed.timeout,
      onStdout: toStderr,
      onStderr: toStderr,
    });
    const answer = await node.call(parsed.message);
    answered = true;
    console.log(JSON.stringify(answer, toJson));
    return 0;
  } catch (error) {
    const { code, message } = error as CNodeError; // a remoteCode is in the message already
    console.error(`${code ?? 'Error'}: ${message}`);
    return 1;
  } finally {
    // A worker that failed the call may still be busy in it, deaf to the stop message: SIGTERM
    // ends it now instead of after the stop message's wait.
    await (answered ? node?.stop() : node?.kill('SIGTERM'))?.catch(() => undefined);
  }
}

function parse(argv: string[]): CallArgs {
  const dashes = argv.indexOf('--');
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const args = dashes < 0 ? [] : argv.slice(dashes + 1);
  let timeout = 5000;
  const positional: string[] = [];
  for (let i = 0; i < own.length; i++) {
    if (own[i] === '--timeout') {
      const value = own[++i];
      const ms = Number(value);
      if (value === undefined || !Number.isInteger(ms) || ms <= 0 || ms > 2 ** 31 - 1)
        throw new Error(
          `Expected --timeout to be an integer of milliseconds from 1 to 2147483647, got ${JSON.stringify(value)}`,
        );
      timeout = ms;
    } else if (own[i].startsWith('--')) throw new Error(`unknown option ${JSON.stringify(own[i])}`);
    else positional.push(own[i]);
  }
  if (positional.length !== 2)
    throw new Error(
      `Expected a worker and one JSON message, got ${positional.length === 1 ? 'one argument' : `${positional.length} arguments`}: ${JSON.stringify(positional)}`,
    );
  const [worker, json] = positional;
  let message: unknown;
  try {
    message = JSON.parse(json, fromJson);
  } catch (error) {
    throw new Error(`the message is not JSON (${(error as Error).message}): ${json}`);
  }
  return { executable: path.resolve(worker), message, timeout, args };
}

/** {"$bin": "<base64>"} becomes a Buffer, {"$int": "<decimal>"} a bigint. */
function fromJson(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1) {
    const { $bin, $int } = value as { $bin?: unknown; $int?: unknown };
    if (typeof $bin === 'string') return Buffer.from($bin, 'base64');
    if (typeof $int === 'string' && /^-?\d+$/.test($int)) return BigInt($int);
  }
  return value;
}

/** A bigint as its decimal string, a binary as {"$bin": base64}; `this[key]` is the value before Buffer's toJSON. */
function toJson(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (typeof raw === 'bigint') return raw.toString();
  if (raw instanceof Uint8Array)
    return { $bin: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  if (ArrayBuffer.isView(raw))
    return { $bin: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  return value;
}
