import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed package's root: dist/ sits beside cnode/ and build/. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const includeDir = path.join(root, 'cnode', 'include');
const library = path.join(root, 'build', 'lib', 'libcnode.a');
const systemLibraries = ['-lzmq', '-lmsgpackc'];

const usage = `Usage:
  cnode cc [cc arguments...]   compile and link a worker: cc with cnode's include path and libraries
                               e.g. cnode cc my_worker.c -O2 -o my_worker   (the compiler is $CC, or cc)
  cnode c++ [c++ arguments...] the same for a C++ worker (cnode.hpp): $CXX, or c++, with -std=c++17
                               unless an -std= is given; e.g. cnode c++ my_worker.cpp -O2 -o my_worker
  cnode gen <contract.js> [-o header.h]
                               write a contract's C header (structs, checking decoders, dispatch);
                               run it before cnode cc; cnode gen --help says more
  cnode cc --contract <contract.js> [cc arguments...]
                               runs cnode gen --dir . first: <name>_contract.h here, found by -I.
  cnode cflags                 print the compiler flags, for a Makefile
  cnode libs                   print the linker flags, for a Makefile
  cnode keygen                 print a fresh CurveZMQ key pair as JSON, {"publicKey":"...","secretKey":"..."}
                               (Z85, 40 characters each): a served worker's CNODE_SECRET_KEY_FILE holds
                               its secretKey, and the owners it admits are listed by publicKey in its
                               CNODE_AUTHORIZED_KEYS; CNode.attach takes them as serverKey, publicKey, secretKey
  cnode doctor                 check the compiler, pkg-config, libzmq (and CURVE), msgpack-c, cmake and a
                               probe worker; print what is missing with its Debian package; exit 1 if any
  cnode call <worker> '<json>' [--timeout <ms>] [-- worker args...]
                               start a worker, make one call, print the answer as JSON, stop it
Every command takes --help. "cnode cc --help" (and "cnode c++ --help") alone prints this; with
other arguments, --help is the compiler's.`;

export function cflags(): string[] {
  return [`-I${includeDir}`];
}

export function libs(): string[] {
  if (!fs.existsSync(library)) {
    throw new Error(
      `cnode: ${library} is missing; build it with \`npm rebuild cnode\` (or \`npm install\` in the cnode folder)`,
    );
  }
  return [library, ...systemLibraries];
}

/** Runs the command line; returns the exit code. */
export function main(argv: string[]): number | Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'cc':
        if (onlyHelp(rest)) return printUsage();
        return compile(withContracts(rest));
      case 'c++':
        if (onlyHelp(rest)) return printUsage();
        return compileCxx(rest);
      case 'gen':
        return generate(rest);
      case 'cflags':
        if (onlyHelp(rest)) return printUsage();
        console.log(cflags().join(' '));
        return 0;
      case 'libs':
        if (onlyHelp(rest)) return printUsage();
        console.log(libs().join(' '));
        return 0;
      case 'keygen': {
        if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) {
          console.log(usage);
          return 0;
        }
        if (rest.length > 0) throw new Error(`cnode keygen takes no arguments, got ${JSON.stringify(rest)}`);
        // Loaded here only: `cnode cc` must not need zeromq's native addon.
        const { curveKeyPair } = createRequire(import.meta.url)('zeromq') as typeof import('zeromq');
        const { publicKey, secretKey } = curveKeyPair();
        console.log(JSON.stringify({ publicKey, secretKey }));
        return 0;
      }
      // Loaded when asked for only: they start workers, and `cnode cc` must not need the addons.
      case 'doctor':
        return import('./observe/doctor.js').then(({ doctor }) => doctor(rest));
      case 'call':
        return import('./observe/call-command.js').then(({ callCommand }) => callCommand(rest));
      case undefined:
      case '-h':
      case '--help':
        console.log(usage);
        return command === undefined ? 2 : 0;
      default:
        console.error(`cnode: unknown command ${JSON.stringify(command)}\n${usage}`);
        return 2;
    }
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

/** `--help` (or -h) and nothing else. */
function onlyHelp(args: string[]): boolean {
  return args.length === 1 && (args[0] === '--help' || args[0] === '-h');
}

function printUsage(): number {
  console.log(usage);
  return 0;
}

// Like mpicc: the user's arguments pass through; the library comes after them, as the linker
// resolves left to right. -c, -S and -E do not link, so they get no libraries.
function compile(args: string[]): number {
  const links = !args.some((arg) => arg === '-c' || arg === '-S' || arg === '-E');
  const compiler = process.env.CC || 'cc';
  const result = spawnSync(compiler, [...cflags(), ...args, ...(links ? libs() : [])], { stdio: 'inherit' });
  if (result.error) throw new Error(`cnode cc: could not run ${compiler}: ${result.error.message}`);
  return result.status ?? 1;
}

// `cnode cc` for C++ (cnode.hpp is C++17): the same -c/-S/-E rule, with the C++ compiler.
function compileCxx(args: string[]): number {
  const links = !args.some((arg) => arg === '-c' || arg === '-S' || arg === '-E');
  const compiler = process.env.CXX || 'c++';
  const standard = args.some((arg) => arg.startsWith('-std=') || arg.startsWith('--std=')) ? [] : ['-std=c++17'];
  const result = spawnSync(compiler, [...cflags(), ...standard, ...args, ...(links ? libs() : [])], {
    stdio: 'inherit',
  });
  if (result.error) throw new Error(`cnode c++: could not run ${compiler}: ${result.error.message}`);
  return result.status ?? 1;
}

// `cnode cc --contract x.js ...`: generates each contract's header into the current folder
// (`<name>_contract.h`, found by -I.), then compiles with the other arguments.
function withContracts(args: string[]): string[] {
  const rest: string[] = [];
  let contracts = 0;
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== '--contract') {
      rest.push(args[i]);
      continue;
    }
    const file = args[++i];
    if (file === undefined) throw new Error('cnode cc: --contract needs a contract file');
    if (generate([file, '--dir', '.']) !== 0) throw new Error(`cnode cc: cnode gen ${file} failed`);
    contracts++;
  }
  return contracts > 0 ? ['-I.', ...rest] : rest;
}

/** How long `cnode gen` may take: a contract module whose top-level await never settles must not hang a build. */
const GEN_TIMEOUT_MS = 30_000;

// `cnode gen` imports the user's contract module, which is asynchronous: it runs in a node
// process of its own, so that this command line stays synchronous.
function generate(args: string[]): number {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'contract', 'gen-main.js');
  const result = spawnSync(process.execPath, [script, ...args], {
    stdio: 'inherit',
    timeout: GEN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
    throw new Error(
      `cnode gen: loading ${args[0]} took over ${GEN_TIMEOUT_MS / 1000} s (does its module never finish?)`,
    );
  if (result.error) throw new Error(`cnode gen: could not run ${process.execPath}: ${result.error.message}`);
  return result.status ?? 1;
}
