// Rewrites the results section of bench/README.md, between its two markers, with this run's table.
import fs from 'node:fs';
import { footnotes, markdownTable } from './format.js';

const START = '<!-- results:start -->';
const END = '<!-- results:end -->';

export function updateReadme(file, { machine, seconds, rows }) {
  const readme = fs.readFileSync(file, 'utf8');
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`${file} has no ${START} … ${END} section to rewrite`);
  const section = [
    START,
    `Run of ${machine.date.slice(0, 16).replace('T', ' ')} UTC at commit ${machine.commit ?? '?'}${machine.uncommittedLibraryChanges ? ' (with uncommitted changes to the library)' : ''}: ${machine.cpu}, ${machine.cores} cores, ` +
      `${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}; the whole run took ${Math.round(seconds)} s.`,
    '',
    markdownTable(rows),
    '',
    ...footnotes(rows).map((line) => `- ${line}`),
    '',
    '![The bridge against each alternative, and failure detection times](results.svg)',
    END,
  ].join('\n');
  fs.writeFileSync(file, readme.slice(0, from) + section + readme.slice(to + END.length));
}
