// The shape of a result row, shared by every scenario and every report.
//
// A row: { scenario, case, contender, unit, median, p99, rate, rateUnit, ratio, ratioOf, target, note }
//   median, p99  in `unit` (µs, ms, KiB), or null
//   rate         a throughput in `rateUnit` (calls/s, MB/s), or null
//   ratio        the bridge's value ÷ this row's, in the same case and the same measure
//                (`ratioOf`: 'median' or 'rate'); 1 on the bridge's own row, null when not compared
//   target       on the row a target is judged by: { goal, rule, value, threshold, met }

export function makeRow(scenario, kase, contender, fields) {
  return {
    scenario,
    case: kase,
    contender,
    unit: null,
    median: null,
    p99: null,
    rate: null,
    rateUnit: null,
    ratio: null,
    ratioOf: null,
    target: null,
    note: null,
    ...fields,
  };
}

/** Sets `ratio` on the rows of one case: the bridge row's `by` ('median' or 'rate') ÷ each row's. */
export function compareToBridge(rows, by) {
  const bridge = rows.find((r) => r.contender === 'bridge');
  if (!bridge) return rows;
  for (const r of rows) {
    r.ratioOf = by;
    r.ratio = bridge[by] / r[by];
  }
  return rows;
}

/**
 * Judges `value` against a target and records the verdict on `row`:
 * `op` '<=' or '>=', `goal` the target in words ("bridge median ≤ 1.15× zeromq-raw").
 */
export function judge(row, { goal, value, op, threshold, unit = '' }) {
  const met = op === '<=' ? value <= threshold : value >= threshold;
  row.target = {
    goal,
    rule: `${op === '<=' ? '≤' : '≥'} ${threshold}${unit}`,
    value,
    threshold,
    op,
    unit: unit.trim(),
    met,
  };
  return row.target;
}
