// results.svg, drawn by hand: no dependencies. Two panels:
//  1. for every row compared with the bridge (in the pool scenarios, the CNodePool under test),
//     the bridge's speed relative to that contender on a log scale (> 1: the bridge is faster;
//     for times this is this ÷ bridge, for rates bridge ÷ this), with each target drawn where
//     it applies;
//  2. the failure scenario's detection times, median and p99, against their targets.

const WIDTH = 900;
const LABEL_W = 380; // room for the pool scenarios' labels: "piscina SHA-256 64 KiB · vs CNodePool ×2, ringSize 16 MiB"
const PLOT_X0 = LABEL_W + 10;
const PLOT_X1 = WIDTH - 70;
const ROW_H = 20;
const COLORS = { bar: '#6b8fb5', met: '#2e8b57', missed: '#c0392b', axis: '#555', grid: '#ddd', light: '#a9c1da' };

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const text = (x, y, s, attrs = '') => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
const rect = (x, y, w, h, fill) =>
  `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0.5, w).toFixed(1)}" height="${h}" fill="${fill}"/>`;
const vline = (x, y0, y1, stroke, extra = '') =>
  `<line x1="${x.toFixed(1)}" y1="${y0}" x2="${x.toFixed(1)}" y2="${y1}" stroke="${stroke}" ${extra}/>`;

/** The bridge's speed relative to the row's contender: > 1 means the bridge is faster. */
const speedOf = (row) => (row.ratioOf === 'rate' ? row.ratio : 1 / row.ratio);

/** A target expressed on the same speed scale: the least speed that meets it. */
function speedTarget(row) {
  const { threshold, op } = row.target;
  if (row.ratioOf === 'rate') return op === '>=' ? threshold : 1 / threshold;
  return op === '<=' ? 1 / threshold : threshold;
}

function ratioPanel(rows, top) {
  const compared = rows.filter(
    (r) =>
      r.ratio !== null &&
      Number.isFinite(r.ratio) &&
      r.contender !== 'bridge' &&
      !r.reference &&
      r.target?.unit !== 'ms',
  );
  const values = compared.flatMap((r) => [speedOf(r), ...(r.target?.onRatio ? [speedTarget(r)] : [])]);
  const lo = Math.min(0.25, 2 ** Math.floor(Math.log2(Math.min(...values))));
  const hi = Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(...values))));
  const x = (v) => PLOT_X0 + ((Math.log2(v) - Math.log2(lo)) / (Math.log2(hi) - Math.log2(lo))) * (PLOT_X1 - PLOT_X0);
  const out = [
    text(
      10,
      top + 14,
      'Bridge (pool scenarios: CNodePool) speed relative to each alternative, same run (log scale; > 1: faster)',
      'font-weight="bold"',
    ),
  ];
  let y = top + 30;
  const plotTop = y;
  const plotBottom = plotTop + compared.length * ROW_H;
  for (let v = lo; v <= hi + 1e-9; v *= 2) {
    out.push(vline(x(v), plotTop - 4, plotBottom, v === 1 ? COLORS.axis : COLORS.grid));
    out.push(text(x(v), plotBottom + 14, v >= 1 ? `${v}×` : `1/${1 / v}×`, 'text-anchor="middle" font-size="11"'));
  }
  for (const row of compared) {
    const speed = speedOf(row);
    const judged = row.target?.onRatio ? row.target : null; // a target on this bar's own ratio
    const fill = judged ? (judged.met ? COLORS.met : COLORS.missed) : COLORS.bar;
    const [a, b] = speed >= 1 ? [x(1), x(speed)] : [x(speed), x(1)];
    out.push(
      text(LABEL_W, y + 14, `${row.scenario} ${row.case} · vs ${row.contender}`, 'text-anchor="end" font-size="12"'),
    );
    out.push(rect(a, y + 3, b - a, ROW_H - 6, fill));
    out.push(text(Math.max(a, b) + 4, y + 14, `${speed.toFixed(2)}×`, 'font-size="11"'));
    if (judged) out.push(vline(x(speedTarget(row)), y, y + ROW_H, '#000', 'stroke-width="2" stroke-dasharray="3,2"'));
    y += ROW_H;
  }
  out.push(
    text(
      PLOT_X0,
      plotBottom + 30,
      'Coloured bars are judged by a target (dashed mark): green met, red missed. Other targets: in the table.',
      'font-size="11" fill="#333"',
    ),
  );
  return { svg: out.join('\n'), height: plotBottom + 40 - top };
}

/** A round step for about five ticks up to `max`: 1, 2 or 5 times a power of ten. */
function tickStep(max) {
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough);
}

function failurePanel(rows, top) {
  const judged = rows.filter((r) => r.scenario === 'failure' && r.target?.unit === 'ms');
  if (judged.length === 0) return { svg: '', height: 0 };
  const max = Math.max(...judged.flatMap((r) => [r.p99, r.target.threshold])) * 1.1;
  const x = (v) => PLOT_X0 + (v / max) * (PLOT_X1 - PLOT_X0);
  const out = [
    text(
      10,
      top + 14,
      'Failure detection in ms: median (light) and p99 against the target (dashed)',
      'font-weight="bold"',
    ),
  ];
  let y = top + 30;
  const plotTop = y;
  const plotBottom = plotTop + judged.length * (ROW_H + 4);
  const step = tickStep(max);
  for (let v = 0; v <= max; v += step) {
    out.push(vline(x(v), plotTop - 4, plotBottom, v === 0 ? COLORS.axis : COLORS.grid));
    out.push(text(x(v), plotBottom + 14, `${v} ms`, 'text-anchor="middle" font-size="11"'));
  }
  for (const row of judged) {
    const label = row.case.split(':')[0]; // the table says the rest
    out.push(text(LABEL_W, y + 14, label, 'text-anchor="end" font-size="12"'));
    out.push(rect(PLOT_X0, y + 3, x(row.median) - PLOT_X0, 7, COLORS.light));
    out.push(rect(PLOT_X0, y + 10, x(row.p99) - PLOT_X0, 7, row.target.met ? COLORS.met : COLORS.missed));
    const target = x(row.target.threshold);
    const end = Math.max(x(row.median), x(row.p99));
    const at = end < target - 4 && end + 110 > target ? target + 6 : end + 4; // not across the mark
    out.push(text(at, y + 14, `${row.median.toFixed(1)} / ${row.p99.toFixed(1)} ms`, 'font-size="11"'));
    out.push(vline(target, y, y + ROW_H, '#000', 'stroke-width="2" stroke-dasharray="3,2"'));
    y += ROW_H + 4;
  }
  return { svg: out.join('\n'), height: plotBottom + 24 - top };
}

export function renderSvg(rows, machine) {
  const title = `cnode bench · ${machine.date.slice(0, 10)} · ${machine.cpu}, ${machine.cores} cores · Node ${machine.node}`;
  const ratios = ratioPanel(rows, 30);
  const failure = failurePanel(rows, 30 + ratios.height + 10);
  const height = 30 + ratios.height + 10 + failure.height + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    text(10, 20, title, 'font-size="13" fill="#333"'),
    ratios.svg,
    failure.svg,
    '</svg>',
    '',
  ].join('\n');
}
