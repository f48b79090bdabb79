// Builds a checking variant of the C side with plain cmake, next to the normal build/:
//   node scripts/build-variant.js sanitize  -> build-sanitize/bin/{echo,blur,testbed} (ASan, UBSan)
//   node scripts/build-variant.js fuzz      -> build-fuzz/bin/frame_fuzz (clang, libFuzzer)
// Configures once, then only builds: a rerun with nothing to do takes well under a second.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const variants = {
  sanitize: { options: ['-DCNODE_SANITIZE=ON'], env: {} },
  fuzz: { options: ['-DCNODE_FUZZ=ON'], env: { CC: 'clang' } },
};

const name = process.argv[2];
const variant = variants[name];
if (variant === undefined) {
  console.error(
    `usage: node scripts/build-variant.js ${Object.keys(variants).join('|')} (got ${JSON.stringify(name)})`,
  );
  process.exit(2);
}
if (name === 'fuzz' && !canLinkFuzzer()) {
  console.error(`
cnode: cannot build the fuzzer: clang with libFuzzer is missing. On Debian or Ubuntu:

    sudo apt-get install clang libclang-rt-14-dev
`);
  process.exit(1);
}

const dir = path.join(root, `build-${name}`);
const run = (args, env = {}) => {
  const result = spawnSync('cmake', args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
// A finished configuration is kept: `cmake --build` reconfigures by itself when CMakeLists.txt
// changes, and a compiler cannot be changed in a configured directory anyway.
if (!['build.ninja', 'Makefile'].some((file) => fs.existsSync(path.join(dir, file)))) {
  const ninja = spawnSync('ninja', ['--version'], { stdio: 'ignore' }).status === 0;
  run(
    ['-S', root, '-B', dir, ...(ninja ? ['-G', 'Ninja'] : []), '-DCMAKE_BUILD_TYPE=Release', ...variant.options],
    variant.env,
  );
}
run(['--build', dir, '--parallel', String(os.availableParallelism())]);

/** True when clang links a libFuzzer target: the compiler and its runtime are both installed. */
function canLinkFuzzer() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-fuzz-check-'));
  try {
    const source =
      'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n';
    const result = spawnSync('clang', ['-fsanitize=fuzzer', '-x', 'c', '-', '-o', path.join(tmp, 'check')], {
      input: source,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    return result.status === 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
