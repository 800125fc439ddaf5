// Forest plot: risk difference (or relative risk) of each dose group vs the
// control arm, with its CI, one row per term; zero (or one) marked.

import {renderPlot, colorScale, symbolScale, Plot, labelWidth, shorten, termRowsFrame} from './plot.js';

// points: [{term, key, est, lo, hi, title}]
export function forestPlot({points, terms, styles, width, measure = 'rd', label}) {
  const keys = styles.map((s) => s.key);
  const rowHeight = Math.max(20, keys.length * 6.5 + 9);
  const marginLeft = labelWidth(terms.map((t) => shorten(t)));
  const ref = measure === 'rr' ? 1 : 0;
  const finite = points.flatMap((d) => [d.lo, d.hi, d.est]).filter((v) => Number.isFinite(v));
  const lo = Math.min(ref, ...finite);
  const hi = Math.max(ref, ...finite);
  const pad = (hi - lo) * 0.05 || 0.05;
  return renderPlot({
    ...termRowsFrame({width, terms, rowHeight, marginLeft}),
    x: measure === 'rr'
      // '~g': 0.5, 2, 10 (d3's default for a log axis is SI, "500m").
      ? {type: 'log', domain: [Math.max(lo, 0.01), hi * 1.1], grid: true, tickFormat: '~g', label: 'Relative risk vs control (log scale)', labelAnchor: 'center', labelArrow: 'none'}
      : {domain: [100 * (lo - pad), 100 * (hi + pad)], percent: true, grid: true, label: 'Risk difference vs control (percentage points)', labelAnchor: 'center', labelArrow: 'none'},
    y: {domain: keys, axis: null, padding: 0.2},
    fy: {domain: terms, label: null, padding: 0.12},
    facet: {data: points, y: 'term', marginLeft},
    color: colorScale(styles),
    symbol: symbolScale(styles),
    marks: [
      Plot.frame({anchor: 'bottom', stroke: '#999'}),
      Plot.axisFy({anchor: 'left', label: null, textAnchor: 'end', tickFormat: (t) => shorten(t), tickSize: 0}),
      Plot.ruleX([ref], {stroke: '#333', strokeDasharray: '4,3'}),
      Plot.ruleY(points, {fy: 'term', y: 'key', x1: 'lo', x2: 'hi', stroke: 'key', strokeWidth: 1.5}),
      Plot.dot(points, {fy: 'term', y: 'key', x: 'est', fill: 'key', stroke: 'key', symbol: 'key', r: 3.2, title: 'title'}),
    ],
  }, label);
}
