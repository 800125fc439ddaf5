// Cumulative incidence of one term per dose group across the timepoints:
// lines with a band for each exact CI, the baseline's expected incidence as
// a dashed line (or a short dashed dash where it applies to one timepoint).

import {renderPlot, colorScale, symbolScale, Plot} from './plot.js';

// A baseline that applies at one timepoint: a short dashed dash there, as
// in the legend ("times" looked like a dose group's marker).
const baselineDash = {
  draw(context, size) {
    const half = Math.sqrt(size) * 1.4;
    context.moveTo(-half, 0);
    context.lineTo(half, 0);
  },
};

// points: [{tp, key, p, lo, hi, title}]; timepoints: ordered ids with
// labels; baselines: [{p0, tp (or ''), label}]
// trends: [{tp, text}] printed above each timepoint (the dose-trend test).
// The timepoints are evenly spaced (day 7 and year 5 would not both be
// legible on a scale of days), and the axis says so.
export function cumulativePlot({points, timepoints, styles, baselines = [], trends = [], width, label, yLabel = 'Cumulative incidence (%)'}) {
  const tpIds = timepoints.map((t) => t.id);
  const labels = Object.fromEntries(timepoints.map((t) => [t.id, t.label]));
  // Percent scale: Plot multiplies the values by 100, the domain is in %.
  const yMax = Math.min(100, Math.max(0.05, ...points.map((d) => d.hi), ...baselines.map((b) => b.p0)) * 108);
  const everywhere = baselines.filter((b) => !b.tp);
  const atPoint = baselines.filter((b) => b.tp && tpIds.includes(b.tp));
  return renderPlot({
    width,
    height: 360,
    marginLeft: 58,
    marginRight: everywhere.length ? 150 : 20,
    marginBottom: 40,
    marginTop: trends.length ? 44 : 24,
    style: {fontSize: '11px'},
    x: {type: 'point', domain: tpIds, tickFormat: (id) => labels[id] ?? id, label: 'Timepoint (evenly spaced, not to scale in time)', labelAnchor: 'center', labelArrow: 'none', padding: 0.3},
    y: {domain: [0, yMax], percent: true, grid: true, label: yLabel, labelArrow: 'none', labelAnchor: 'center'},
    color: colorScale(styles),
    symbol: symbolScale(styles),
    marks: [
      Plot.areaY(points, {x: 'tp', y1: 'lo', y2: 'hi', fill: 'key', fillOpacity: 0.07, z: 'key'}),
      Plot.line(points, {x: 'tp', y: 'p', stroke: 'key', z: 'key', strokeWidth: 2}),
      Plot.dot(points, {x: 'tp', y: 'p', fill: 'key', stroke: 'key', symbol: 'key', r: 3.5, title: 'title'}),
      Plot.ruleY(everywhere, {y: 'p0', stroke: '#222', strokeDasharray: '6,4'}),
      Plot.text(everywhere, {y: 'p0', x: tpIds[tpIds.length - 1], text: 'label', textAnchor: 'start', dx: 12, fill: '#222', lineWidth: 14}),
      Plot.dot(atPoint, {x: 'tp', y: 'p0', symbol: baselineDash, r: 7, stroke: '#222', strokeWidth: 2.5, strokeDasharray: '4,2'}),
      Plot.text(atPoint, {x: 'tp', y: 'p0', text: 'label', dx: 10, dy: -8, textAnchor: 'start', fill: '#222', stroke: 'white', strokeWidth: 3, paintOrder: 'stroke'}),
      Plot.ruleY([0]),
      Plot.text(trends, {x: 'tp', text: 'text', frameAnchor: 'top', dy: -30, fill: '#333', fontSize: 10}),
    ],
  }, label);
}
