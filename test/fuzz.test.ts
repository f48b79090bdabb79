import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './helpers.js';

// The C library's decoders under libFuzzer, ASan and UBSan: the frame decoders
// (test/fuzz/frame_fuzz.c), and the owner's reader of a worker's ring (test/fuzz/ring_fuzz.c). A
// short run of each here on every test run; docs/reliability.md has the command for a long one.
const HARNESSES = [
  { name: 'frame_fuzz', corpus: path.join(root, 'test', 'fuzz', 'corpus') }, // the frame decoders
  { name: 'ring_fuzz', corpus: path.join(root, 'test', 'fuzz', 'ring_corpus') }, // the ring's reader
] as const;
const FUZZ_SECONDS = 8;

let scratch = '';

/** The last lines of a fuzzer's output: where libFuzzer prints the finding and its input. */
function tail(output: string, lines = 40): string {
  return output.trimEnd().split('\n').slice(-lines).join('\n');
}

function runFuzzer(name: string, args: string[]) {
  const result = spawnSync(path.join(root, 'build-fuzz', 'bin', name), args, {
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 << 20,
  });
  const output = `${result.stdout}${result.stderr}`;
  const how = result.error
    ? String(result.error)
    : result.signal
      ? `was killed by ${result.signal}`
      : `exited with ${result.status}`;
  return { status: result.status, report: `${name} ${args.join(' ')} ${how}; its last lines:\n${tail(output)}` };
}

beforeAll(() => {
  const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-variant.js'), 'fuzz'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 110_000,
  });
  if (build.status !== 0)
    throw new Error(`node scripts/build-variant.js fuzz failed:\n${tail(`${build.stdout}${build.stderr}`)}`);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-fuzz-'));
}, 120_000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe.each(HARNESSES)('$name under libFuzzer', ({ name, corpus }) => {
  it('accept every seed of the corpus', () => {
    const seeds = fs.readdirSync(corpus).map((seed) => path.join(corpus, seed));
    expect(seeds.length).toBeGreaterThan(10);
    // Files as arguments: each runs once, and nothing is written into the corpus.
    const { status, report } = runFuzzer(name, [`-artifact_prefix=${scratch}/`, ...seeds]);
    expect(status, report).toBe(0);
  });

  it(`survive ${FUZZ_SECONDS} s of fuzzing from the corpus`, () => {
    // A fresh seed each run covers more ground over time; CNODE_FUZZ_SEED replays one.
    const seed = Number(process.env.CNODE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`${name} -seed=${seed} (replay with CNODE_FUZZ_SEED=${seed})`);
    const work = path.join(scratch, `${name}-corpus`);
    fs.cpSync(corpus, work, { recursive: true }); // the fuzzer adds to it: not the repository's copy
    const { status, report } = runFuzzer(name, [
      `-max_total_time=${FUZZ_SECONDS}`,
      `-seed=${seed}`,
      `-artifact_prefix=${scratch}/`,
      work,
    ]);
    expect(status, report).toBe(0);
  }, 30_000);
});
