/**
 * `cnode gen`, run by the CLI in a process of its own (the CLI stays synchronous; importing the
 * user's contract module is not): loads the contract file, writes its C header.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Contract, isContract } from './define.js';
import { generateC } from './gen-c.js';

export const GEN_USAGE = `Usage: cnode gen <contract.js> [-o <header.h> | --dir <folder>] [--export <name>]
  Writes the C side of a contract (defineContract in an ES module) as one header: a struct per
  request and response, decoders that check every field, <name>_reply_<op> packers, and
  <name>_dispatch / <name>_handle, the handler that calls one function per operation.
  -o <header.h>      where to write it (default: standard output)
  --dir <folder>     write it into <folder> as <name>_contract.h (what cnode cc --contract does)
  --export <name>    which export of the module is the contract, when it has several
  e.g. cnode gen calc.contract.js -o calc_contract.h && cnode cc worker.c -I. -o worker`;

function fail(text: string): never {
  throw new Error(`cnode gen: ${text}\n${GEN_USAGE}`);
}

interface GenArgs {
  file: string;
  output?: string;
  dir?: string;
  exportName?: string;
}

function parse(argv: string[]): GenArgs | 'help' {
  let file: string | undefined;
  let output: string | undefined;
  let exportName: string | undefined;
  let dir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '-o' || arg === '--export' || arg === '--dir') {
      const value = argv[++i];
      if (value === undefined) fail(`${arg} needs a value`);
      if (arg === '-o') output = value;
      else if (arg === '--dir') dir = value;
      else exportName = value;
    } else if (arg.startsWith('-')) {
      fail(`unknown option ${JSON.stringify(arg)}`);
    } else if (file === undefined) {
      file = arg;
    } else {
      fail(`one contract file only, got ${JSON.stringify(file)} and ${JSON.stringify(arg)}`);
    }
  }
  if (file === undefined) fail('which contract file?');
  if (output !== undefined && dir !== undefined) fail('-o and --dir: one or the other');
  return { file, output, dir, exportName };
}

function pick(module: Record<string, unknown>, file: string, exportName?: string): Contract {
  if (exportName !== undefined) {
    const value = module[exportName];
    if (!isContract(value)) fail(`${file}'s export ${JSON.stringify(exportName)} is not a contract (defineContract)`);
    return value;
  }
  const found = Object.entries(module).filter(([, value]) => isContract(value));
  const unique = [...new Set(found.map(([, value]) => value))];
  if (unique.length === 0) fail(`${file} exports no contract: export the result of defineContract(...)`);
  if (unique.length > 1)
    fail(`${file} exports several contracts (${found.map(([name]) => name).join(', ')}): choose one with --export`);
  return unique[0] as Contract;
}

export async function gen(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (args === 'help') {
    console.log(GEN_USAGE);
    return 0;
  }
  const absolute = path.resolve(args.file);
  if (!fs.existsSync(absolute)) fail(`${args.file} does not exist`);
  const module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  const contract = pick(module, args.file, args.exportName);
  const header = generateC(contract, path.basename(args.file));
  const output = args.dir === undefined ? args.output : path.join(args.dir, `${contract.name}_contract.h`);
  if (output === undefined) process.stdout.write(header);
  else fs.writeFileSync(output, header);
  return 0;
}

// Run as a script by the CLI: `node gen-main.js <args>`.
if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  gen(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(error.message);
      process.exitCode = 1;
    },
  );
}
