// Rows to cells: the table printed on the terminal and the one written into the README share
// these words and numbers.

const group = (n, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** A number in its unit, with as many decimals as its size deserves. */
export function formatValue(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return '';
  if (unit === 'calls/s') return `${group(value / 1000, 1)} k calls/s`;
  const digits = unit === 'KiB' || unit === 'MB/s' || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${group(value, digits)} ${unit}`;
}

/** CPU time per call, given in µs: in µs up to a millisecond, in ms beyond. */
export function formatCpu(us) {
  if (us === null || us === undefined || Number.isNaN(us)) return '';
  return us < 1000 ? formatValue(us, 'µs') : formatValue(us / 1000, 'ms');
}

export function formatRatio(row) {
  if (row.ratio === null || !Number.isFinite(row.ratio)) return '';
  return `${row.ratio.toFixed(2)}×`;
}

export function formatTarget(row) {
  if (!row.target) return '';
  return `${row.target.met ? 'met' : 'MISSED'} (${row.target.rule})`;
}

export const COLUMNS = [
  'scenario',
  'contender',
  'median',
  'p99',
  'rate',
  'owner CPU/call',
  'other CPU/call',
  'bridge ÷ this',
  'target',
];
const NUMERIC = new Set([2, 3, 4, 5, 6, 7]); // right-aligned

export function cells(row) {
  return [
    `${row.scenario} ${row.case}`,
    row.contender,
    formatValue(row.median, row.unit),
    formatValue(row.p99, row.unit),
    formatValue(row.rate, row.rateUnit),
    formatCpu(row.cpuOwner),
    formatCpu(row.cpuOther),
    formatRatio(row),
    formatTarget(row),
  ];
}

const formatMeasured = ({ value, unit }) =>
  unit === '×' ? `${value.toFixed(2)}×` : `${value.toFixed(value < 10 ? 2 : 1)} ${unit}`;

/** The lines under the table: what the ratio means, each target in words, and the rows' notes. */
export function footnotes(rows) {
  const lines = [
    'bridge ÷ this: the bridge’s median time (or rate, in the rate column’s scenarios) divided by this contender’s, from the same run; in the scaling, piscina and dispatch scenarios the bridge is the CNodePool the case is about (its row shows 1.00×).',
    'Below 1 the bridge is faster where times are compared, slower where rates are.',
    'owner CPU/call: this process’s CPU time (every thread) per call; other CPU/call: the worker’s or child’s (all its threads), over the same rounds.',
  ];
  for (const row of rows) {
    if (row.target)
      lines.push(
        `target ${row.target.met ? 'met' : 'MISSED'}: ${row.target.goal}; measured ${formatMeasured(row.target)}.`,
      );
  }
  for (const row of rows) if (row.note) lines.push(`${row.scenario} ${row.case} (${row.contender}): ${row.note}.`);
  return lines;
}

/** A fixed-width text table for the terminal. */
export function textTable(rows) {
  const body = rows.map(cells);
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...body.map((r) => r[i].length)));
  const line = (r) =>
    r
      .map((cell, i) => (NUMERIC.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table in Markdown. */
export function markdownTable(rows) {
  const line = (r) => `| ${r.join(' | ')} |`;
  return [
    line(COLUMNS),
    `|${COLUMNS.map((_, i) => (NUMERIC.has(i) ? '---:' : '---')).join('|')}|`,
    ...rows.map((row) => line(cells(row))),
  ].join('\n');
}
