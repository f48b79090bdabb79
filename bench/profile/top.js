// Sums a V8 .cpuprofile (node --cpu-prof) by function: self time, the share of all samples,
// the top `n` (default 25). The idle and GC pseudo-functions are listed as V8 names them.
//
//   node bench/profile/top.js file.cpuprofile [n]
import fs from 'node:fs';
import path from 'node:path';

const [file, n = '25'] = process.argv.slice(2);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const total = profile.samples.length;
const self = new Map();
for (const [id, count] of counts) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + count);
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
const ms = (profile.endTime - profile.startTime) / 1000;
console.log(`${total} samples over ${ms.toFixed(0)} ms`);
for (const [key, count] of top) console.log(`${((100 * count) / total).toFixed(1).padStart(5)}%  ${key}`);
