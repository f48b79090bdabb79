// The shape of a result row, shared by every scenario and every report.
//
// A row: { scenario, case, contender, unit, median, p99, rate, rateUnit, cpuOwner, cpuOther,
//          ratio, ratioOf, target, note }
//   median, p99  in `unit` (µs, ms, KiB), or null
//   rate         a throughput in `rateUnit` (calls/s, MB/s), or null
//   cpuOwner     the owner's CPU time per call in µs (this process, every thread), or null
//   cpuOther     the other side's (the worker's, the child's) CPU time per call in µs, or null
//   ratio        the bridge's value ÷ this row's, in the same case and the same measure
//                (`ratioOf`: 'median' or 'rate'); 1 on the bridge's own row, null when not compared;
//                in the pool scenarios "the bridge" is the CNodePool the case is about, the row
//                with `reference: true` (compareTo)
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
    cpuOwner: null,
    cpuOther: null,
    ratio: null,
    ratioOf: null,
    target: null,
    note: null,
    ...fields,
  };
}

/**
 * Sets `ratio` on the rows of one case: the bridge row's `by` ('median' or 'rate') ÷ each row's.
 * The bridge is the row named 'bridge' (over the 'local' transport); the other bridges
 * ('bridge (zmq)', 'bridge (plain msgpack)') are compared with it like any contender.
 */
export function compareToBridge(rows, by) {
  return compareTo(rows, by, 'bridge');
}

/**
 * The same with another row as the one under test: in the pool scenarios, a CNodePool
 * ('CNodePool ×2'). That row gets `reference: true` (its ratio is 1, and results.svg draws no
 * bar for it).
 */
export function compareTo(rows, by, reference) {
  const ref = rows.find((r) => r.contender === reference);
  if (!ref) return rows;
  for (const r of rows) {
    r.ratioOf = by;
    r.ratio = ref[by] / r[by];
    if (r === ref) r.reference = true;
  }
  return rows;
}

const TESTS = { '<': (v, t) => v < t, '<=': (v, t) => v <= t, '>=': (v, t) => v >= t };
const SIGNS = { '<': '<', '<=': '≤', '>=': '≥' };

/**
 * Judges `value` against a target and records the verdict on `row`:
 * `op` '<', '<=' or '>=', `goal` the target in words ("bridge median ≤ 0.2× ipc"). A target
 * whose `value` is not the row's own ratio (a rate of two other rows, a CPU time) is reported
 * in words and in the table, not drawn on the row's bar in results.svg.
 */
export function judge(row, { goal, value, op, threshold, unit = '' }) {
  const met = TESTS[op](value, threshold);
  row.target = {
    goal,
    rule: `${SIGNS[op]} ${threshold}${unit}`,
    value,
    threshold,
    op,
    unit: unit.trim(),
    onRatio: value === row.ratio,
    met,
  };
  return row.target;
}
