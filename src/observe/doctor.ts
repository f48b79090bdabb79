/**
 * `cnode doctor`: what building and running a worker needs on this machine, each checked for
 * real (the tools run, a CURVE probe and a worker are compiled and run), and what is missing
 * named with the Debian package that brings it. Exit code 1 when something is missing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const library = path.join(root, 'build', 'lib', 'libcnode.a');
const bin = path.join(root, 'bin', 'cnode.js');

export const doctorUsage = `Usage: cnode doctor

Checks what building and running a cnode worker needs, and prints one line per check:
  compiler     $CC, or cc                         Debian: build-essential (or gcc)
  pkg-config   pkg-config                         Debian: pkg-config
  libzmq       pkg-config --modversion libzmq     Debian: libzmq3-dev
  CURVE        a probe calling zmq_has("curve")   Debian: libzmq3-dev (built with libsodium)
  msgpack-c    pkg-config msgpack-c, or msgpack   Debian: libmsgpack-dev (libmsgpack-c-dev from Debian 13)
  cmake        cmake --version (builds libcnode)  Debian: cmake
  libcnode     the library cnode cc links          npm rebuild cnode
  probe        a worker built with cnode cc, started with CNode.start, called once
Exits with 1, after an apt-get line for what is missing, when any check fails; 0 otherwise.`;

interface Check {
  name: string;
  ok: boolean;
  /** What was found, or why it failed. */
  detail: string;
  /** The Debian packages that bring it, when it is missing. */
  packages?: string[];
  /** Another remedy, when no package does. */
  fix?: string;
}

interface Ran {
  ok: boolean;
  out: string;
  /** Why it did not run or failed, for a message. */
  why: string;
}

function run(command: string, args: string[], options: { cwd?: string; timeout?: number } = {}): Ran {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: options.timeout ?? 30_000, cwd: options.cwd });
  const out = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    return { ok: false, out, why: code === 'ENOENT' ? `${command} was not found on PATH` : result.error.message };
  }
  if (result.status !== 0)
    return { ok: false, out, why: `${command} ${args.join(' ')} exited with ${result.status ?? result.signal}` };
  return { ok: true, out, why: '' };
}

const firstLine = (text: string) => text.split('\n')[0];

const CURVE_PROBE = `#include <zmq.h>
int main(void) { return zmq_has("curve") ? 0 : 3; }
`;

const PROBE_WORKER = `#include <cnode.h>
static int handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *user) {
    (void)node; (void)user;
    if (reply == NULL) return 0;
    return msgpack_pack_object(reply, *request);
}
int main(int argc, char **argv) {
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    int status = cnode_run(node, handle, NULL);
    cnode_destroy(node);
    return status;
}
`;

/** Runs every check, prints them, and resolves with the exit code. */
export async function doctor(args: string[]): Promise<number> {
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    console.log(doctorUsage);
    return 0;
  }
  if (args.length > 0) {
    console.error(`cnode doctor takes no arguments, got ${JSON.stringify(args)}\n${doctorUsage}`);
    return 2;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-doctor-'));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  // Ctrl-C while a probe builds: the folder goes too (process.exit also ends the probe worker).
  const interrupted = (signal: NodeJS.Signals) => {
    remove();
    process.exit(128 + os.constants.signals[signal]);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const checks = await runChecks(dir);
    print(checks);
    return checks.every((check) => check.ok) ? 0 : 1;
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    remove();
  }
}

async function runChecks(dir: string): Promise<Check[]> {
  const checks: Check[] = [];
  const compiler = process.env.CC || 'cc';
  const cc = run(compiler, ['--version']);
  checks.push({
    name: 'compiler',
    ok: cc.ok,
    detail: cc.ok
      ? `${compiler}: ${firstLine(cc.out)}`
      : `no C compiler: ${cc.why}${process.env.CC ? '' : ' ($CC is not set)'}`,
    packages: ['build-essential'],
  });

  const pkgConfig = run('pkg-config', ['--version']);
  checks.push({
    name: 'pkg-config',
    ok: pkgConfig.ok,
    detail: pkgConfig.ok ? pkgConfig.out : pkgConfig.why,
    packages: ['pkg-config'],
  });

  // When the package is installed but PKG_CONFIG_PATH or PKG_CONFIG_LIBDIR hides it, say so: the
  // apt-get line alone would send the user to install what they have.
  const searched = ['PKG_CONFIG_PATH', 'PKG_CONFIG_LIBDIR']
    .filter((name) => process.env[name] !== undefined)
    .map((name) => `${name}=${JSON.stringify(process.env[name])}`);
  const hidden = searched.length > 0 ? ` (searching with ${searched.join(', ')}: is that where it is?)` : '';
  const zmq = pkgConfig.ok ? run('pkg-config', ['--modversion', 'libzmq']) : undefined;
  checks.push({
    name: 'libzmq',
    ok: zmq?.ok === true,
    detail: !zmq
      ? 'not checked: pkg-config is missing'
      : zmq.ok
        ? `${zmq.out} (pkg-config libzmq)`
        : `pkg-config finds no libzmq${hidden}`,
    packages: ['libzmq3-dev'],
  });

  checks.push(curve(dir, compiler, cc.ok, zmq?.ok === true));

  let msgpack: { name: string; ran: Ran } | undefined;
  if (pkgConfig.ok) {
    for (const name of ['msgpack-c', 'msgpack']) {
      const ran = run('pkg-config', ['--modversion', name]);
      if (ran.ok) {
        msgpack = { name, ran };
        break;
      }
    }
  }
  checks.push({
    name: 'msgpack-c',
    ok: msgpack !== undefined,
    detail: !pkgConfig.ok
      ? 'not checked: pkg-config is missing'
      : msgpack
        ? `${msgpack.ran.out} (pkg-config ${msgpack.name})`
        : `pkg-config finds neither msgpack-c nor msgpack${hidden}`,
    packages: ['libmsgpack-dev'],
    fix: 'libmsgpack-c-dev on Debian 13 and later',
  });

  const hasLibrary = fs.existsSync(library);
  const cmake = run('cmake', ['--version']);
  // Needed to build libcnode only: a missing cmake fails the check only when the library is missing too.
  checks.push({
    name: 'cmake',
    ok: cmake.ok || hasLibrary,
    detail: cmake.ok
      ? firstLine(cmake.out)
      : `${cmake.why}${hasLibrary ? ' (not needed now: libcnode is built; it is for npm rebuild cnode)' : ''}`,
    packages: ['cmake'],
  });
  checks.push({
    name: 'libcnode',
    ok: hasLibrary,
    detail: hasLibrary ? library : `${library} is missing`,
    fix: 'npm rebuild cnode (it needs cmake, the compiler, libzmq3-dev and libmsgpack-dev)',
  });

  checks.push(await probe(dir, cc.ok && hasLibrary));
  return checks;
}

function curve(dir: string, compiler: string, hasCompiler: boolean, zmqFound: boolean): Check {
  const check = { name: 'CURVE', packages: ['libzmq3-dev'] };
  if (!hasCompiler) return { ...check, ok: false, detail: 'not checked: no C compiler to build the probe' };
  const source = path.join(dir, 'curve.c');
  const exe = path.join(dir, 'curve');
  fs.writeFileSync(source, CURVE_PROBE);
  // pkg-config's flags when it knows libzmq; else the plain -lzmq that cnode cc links with.
  const flags = zmqFound
    ? run('pkg-config', ['--cflags', '--libs', 'libzmq']).out.split(/\s+/).filter(Boolean)
    : ['-lzmq'];
  const built = run(compiler, [source, '-o', exe, ...flags]);
  if (!built.ok)
    return { ...check, ok: false, detail: `the probe does not build (${built.why}): ${firstLine(built.out)}` };
  const ran = spawnSync(exe, [], { timeout: 10_000 });
  if (ran.status === 0) return { ...check, ok: true, detail: 'libzmq has CURVE (zmq_has("curve"))' };
  return {
    ...check,
    ok: false,
    detail:
      ran.status === 3
        ? 'libzmq was built without CURVE: attach and tcp off the loopback need it'
        : `the probe failed (${ran.error?.message ?? `exit ${ran.status ?? ran.signal}`})`,
    fix: "a libzmq built with libsodium (Debian's is)",
  };
}

async function probe(dir: string, canBuild: boolean): Promise<Check> {
  const check = { name: 'probe' };
  if (!canBuild) return { ...check, ok: false, detail: 'not run: it needs the compiler and libcnode' };
  const source = path.join(dir, 'probe.c');
  const exe = path.join(dir, 'probe');
  fs.writeFileSync(source, PROBE_WORKER);
  const built = run(process.execPath, [bin, 'cc', source, '-o', exe]);
  if (!built.ok) return { ...check, ok: false, detail: `cnode cc did not build it: ${built.out || built.why}` };
  // Loaded here only: the rest of the checks must run where the addon would not load.
  let node: import('../cnode.js').CNode | undefined;
  try {
    const { CNode } = await import('../cnode.js');
    const began = performance.now();
    node = await CNode.start({ executable: exe, readyTimeout: 10_000, onStderr: () => {}, onStdout: () => {} });
    const answer = await node.call('doctor', { timeout: 10_000 });
    if (answer !== 'doctor') return { ...check, ok: false, detail: `answered ${JSON.stringify(answer)}, not "doctor"` };
    return {
      ...check,
      ok: true,
      detail: `built with cnode cc, started and called in ${Math.round(performance.now() - began)} ms`,
    };
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return { ...check, ok: false, detail: `${code ? `${code}: ` : ''}${message}` };
  } finally {
    await node?.stop().catch(() => undefined);
  }
}

function print(checks: Check[]): void {
  const width = Math.max(...checks.map((check) => check.name.length));
  for (const check of checks) {
    const remedy = check.ok ? '' : remedyOf(check);
    console.log(`${check.ok ? 'ok     ' : 'MISSING'}  ${check.name.padEnd(width)}  ${check.detail}${remedy}`);
  }
  const missing = checks.filter((check) => !check.ok);
  const packages = [...new Set(missing.flatMap((check) => check.packages ?? []))];
  if (missing.length === 0) console.log('Everything cnode needs is here.');
  else {
    console.log(`\nMissing: ${missing.map((check) => check.name).join(', ')}.`);
    if (packages.length > 0) console.log(`On Debian or Ubuntu: sudo apt-get install ${packages.join(' ')}`);
  }
}

function remedyOf(check: Check): string {
  const parts = [];
  if (check.packages) parts.push(`apt-get install ${check.packages.join(' ')}`);
  if (check.fix) parts.push(check.fix);
  return parts.length > 0 ? `  [${parts.join('; ')}]` : '';
}
