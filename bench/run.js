// npm run bench [-- scenario ...]: runs the scenarios, each against its alternatives in one run,
// prints the table, and, after a run of every scenario, writes bench/results.json,
// bench/results.svg and the results section of bench/README.md.
import fs from 'node:fs';
import path from 'node:path';
import { benchDir, bin, root } from './paths.js';
import { footnotes, textTable } from './report/format.js';
import { describeMachine } from './report/machine.js';
import { updateReadme } from './report/readme.js';
import { renderSvg } from './report/svg.js';
import dispatch from './scenarios/dispatch.js';
import failure from './scenarios/failure.js';
import idle from './scenarios/idle.js';
import large from './scenarios/large.js';
import latency from './scenarios/latency.js';
import piscina from './scenarios/piscina.js';
import remote from './scenarios/remote.js';
import scale from './scenarios/scale.js';
import scaling from './scenarios/scaling.js';
import shared from './scenarios/shared.js';
import startup from './scenarios/startup.js';
import throughput from './scenarios/throughput.js';

// In the order they run. A scenario is { name, summary, run(): Promise<{ rows }> } (rows.js says
// what a row holds); add one by importing it and listing it here.
const scenarios = [
  latency,
  throughput,
  large,
  shared,
  idle,
  startup,
  failure,
  scale,
  dispatch,
  scaling,
  piscina,
  remote,
];

const usage = `usage: npm run bench [-- [scenario ...]]
scenarios: ${scenarios.map((s) => s.name).join(', ')} (default: all, which also writes bench/results.*)`;

function selectScenarios(args) {
  if (args.includes('-h') || args.includes('--help')) {
    console.log(usage);
    process.exit(0);
  }
  const unknown = args.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0) {
    console.error(`unknown scenario ${unknown.map((n) => JSON.stringify(n)).join(', ')}\n${usage}`);
    process.exit(2);
  }
  return args.length === 0 ? scenarios : scenarios.filter((s) => args.includes(s.name));
}

function checkBuilt() {
  const missing = [
    path.join(root, 'dist', 'index.js'),
    ...['echo', 'plain_echo', 'zmq_echo', 'pipe_echo'].map(bin),
  ].filter((file) => !fs.existsSync(file));
  if (missing.length > 0) {
    console.error(
      `bench: not built: ${missing.map((f) => path.relative(root, f)).join(', ')}\nrun \`npm run build\` first.`,
    );
    process.exit(1);
  }
}

/** Our children still running (zombies aside): there should be none between and after scenarios. */
function liveChildren() {
  const live = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z') live.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return live;
}

const selected = selectScenarios(process.argv.slice(2));
checkBuilt();
const machine = describeMachine();
console.log(`cnode bench: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}`);
if (!globalThis.gc)
  console.log('(run with node --expose-gc, as npm run bench does, for the heap figure of the scale scenario)');

const began = performance.now();
const results = [];
let failed = false;
for (const scenario of selected) {
  console.log(`\n▶ ${scenario.name}: ${scenario.summary}`);
  const start = performance.now();
  try {
    const { rows } = await scenario.run();
    const seconds = (performance.now() - start) / 1000;
    results.push({ name: scenario.name, summary: scenario.summary, seconds, rows });
    if (rows.length > 0) console.log(textTable(rows)); // none: it was skipped, and said why
    console.log(`  (${seconds.toFixed(1)} s)`);
  } catch (error) {
    failed = true;
    console.error(`✗ ${scenario.name} failed: ${error.stack ?? error}`);
  }
  const left = liveChildren();
  if (left.length > 0) console.warn(`! ${scenario.name} left child processes running: ${left.join(', ')}`);
}
const seconds = (performance.now() - began) / 1000;

const rows = results.flatMap((r) => r.rows);
console.log(`\n${textTable(rows)}\n`);
for (const line of footnotes(rows)) console.log(`  ${line}`);
console.log(`\nwhole run: ${seconds.toFixed(0)} s`);

if (selected.length === scenarios.length && !failed) {
  const targets = rows
    .filter((r) => r.target)
    .map((r) => ({ scenario: r.scenario, case: r.case, contender: r.contender, ...r.target }));
  fs.writeFileSync(
    path.join(benchDir, 'results.json'),
    `${JSON.stringify({ machine, seconds, targets, scenarios: results }, null, 2)}\n`,
  );
  fs.writeFileSync(path.join(benchDir, 'results.svg'), renderSvg(rows, machine));
  updateReadme(path.join(benchDir, 'README.md'), { machine, seconds, rows });
  console.log('wrote bench/results.json, bench/results.svg and the results section of bench/README.md');
} else {
  console.log(
    failed
      ? 'a scenario failed: bench/results.* left as they were'
      : 'a partial run: bench/results.* left as they were (run every scenario to update them)',
  );
}
process.exitCode = failed ? 1 : 0;
