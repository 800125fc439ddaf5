// Dot plot of incidence per dose group with exact CIs: one row per term
// (facets), one line per group inside it, dot at the proportion and a rule
// for the CI (safetyGraphics / AE Explorer style).

import {renderPlot, colorScale, symbolScale, Plot, labelWidth, shorten, termRowsFrame} from './plot.js';

// points: [{term, key (group key), p, lo, hi, title}]; terms: ordered labels.
export function dotPlot({points, terms, styles, width, xLabel = 'Incidence (%) with 95% CI', label, percent = true}) {
  const keys = styles.map((s) => s.key);
  const rowHeight = Math.max(20, keys.length * 6.5 + 9);
  // With `percent`, Plot multiplies the values by 100: the domain is in %.
  const xMax = percent
    ? Math.min(100, Math.max(0.05, ...points.map((d) => d.hi ?? d.p)) * 105)
    : Math.max(1, ...points.map((d) => d.hi ?? d.p)) * 1.05;
  const marginLeft = labelWidth(terms.map((t) => shorten(t)));
  return renderPlot({
    ...termRowsFrame({width, terms, rowHeight, marginLeft}),
    x: {domain: [0, xMax], percent, grid: true, label: xLabel, labelAnchor: 'center', labelArrow: 'none'},
    y: {domain: keys, axis: null, padding: 0.25},
    fy: {domain: terms, label: null, padding: 0.12, tickFormat: (t) => shorten(t)},
    facet: {data: points, y: 'term', marginLeft},
    color: colorScale(styles),
    symbol: symbolScale(styles),
    marks: [
      Plot.frame({anchor: 'bottom', stroke: '#999'}),
      Plot.axisFy({anchor: 'left', label: null, textAnchor: 'end', tickFormat: (t) => shorten(t), tickSize: 0}),
      Plot.ruleY(points, {fy: 'term', y: 'key', x1: 'lo', x2: 'hi', stroke: 'key', strokeWidth: 1.5}),
      Plot.dot(points, {fy: 'term', y: 'key', x: 'p', fill: 'key', stroke: 'key', symbol: 'key', r: 3.2, title: 'title'}),
    ],
  }, label);
}
