// A subject's AEs on the study-day axis: one row per event, onset marked by
// a dot coloured by grade (a diamond when serious, a ring around it for an
// AESI), a bar to the end of the event when the report gives one; dosing
// (day 1), the protocol timepoints and the last contact day as rules.

import {renderPlot, Plot} from './plot.js';
import {GRADE_COLORS} from './style.js';

// events: [{row, onset, end, ongoing, grade, serious, aesi, title}]; an
// event without an end day that is ongoing (not recovered) at the last
// contact gets a dashed line to it.
export function timelinePlot({events, rows, timepoints, lastContactDay, width, label}) {
  const maxDay = Math.max(lastContactDay || 0, ...timepoints.map((t) => t.day), ...events.map((e) => e.end ?? e.onset ?? 0));
  const withEnd = events.filter((e) => e.end !== undefined && e.end !== null);
  const ongoing = events.filter((e) => (e.end === undefined || e.end === null) && e.ongoing && lastContactDay > e.onset)
    .map((e) => ({...e, to: lastContactDay}));
  const grades = {domain: [1, 2, 3, 4, 5], range: GRADE_COLORS};
  const vLines = [{day: 1, text: 'Dose', kind: 'dose'},
    ...timepoints.map((t) => ({day: t.day, text: t.label, kind: 'visit'}))];
  if (lastContactDay) vLines.push({day: lastContactDay, text: 'Last contact', kind: 'contact'});
  const marginLeft = Math.min(300, Math.max(120, Math.max(0, ...rows.map((r) => r.length)) * 6.4 + 16));
  const pxPerDay = (width - marginLeft - 24) / (maxDay * 1.02 + 1);
  // Labels go on the upper of two rows above the plot, or the lower one when
  // they would overlap a label already placed there; only what fits on
  // neither is left out (its rule stays, with its day in the axis). Dosing
  // and the last contact are placed first.
  const halfWidth = (v) => (v.text.length * 5.8) / 2 + 4;
  const labelRows = [[], []];
  for (const v of [...vLines.filter((x) => x.kind !== 'visit'), ...vLines.filter((x) => x.kind === 'visit')]) {
    const free = labelRows.find((placed) => placed.every((s) => Math.abs(s.day - v.day) * pxPerDay >= halfWidth(s) + halfWidth(v)));
    if (free) free.push(v);
  }
  return renderPlot({
    width,
    height: Math.max(140, rows.length * 26 + 90),
    marginLeft,
    marginTop: 36,
    marginRight: 24,
    marginBottom: 40,
    style: {fontSize: '11px'},
    x: {domain: [0, maxDay * 1.02 + 1], label: 'Study day', labelAnchor: 'center', labelArrow: 'none', grid: false},
    y: {domain: rows, label: null, padding: 0.35},
    color: {type: 'ordinal', ...grades},
    marks: [
      Plot.ruleX(vLines.filter((v) => v.kind === 'visit'), {x: 'day', stroke: '#bbb', strokeDasharray: '2,3'}),
      Plot.ruleX(vLines.filter((v) => v.kind !== 'visit'), {x: 'day', stroke: '#444', strokeWidth: 1.2}),
      Plot.text(labelRows[0], {x: 'day', frameAnchor: 'top', dy: -24, text: 'text', fill: '#444', textAnchor: 'middle', fontSize: 10}),
      Plot.text(labelRows[1], {x: 'day', frameAnchor: 'top', dy: -11, text: 'text', fill: '#444', textAnchor: 'middle', fontSize: 10}),
      Plot.ruleY(withEnd, {y: 'row', x1: 'onset', x2: 'end', stroke: 'grade', strokeWidth: 6, strokeOpacity: 0.8}),
      Plot.ruleY(ongoing, {y: 'row', x1: 'onset', x2: 'to', stroke: 'grade', strokeWidth: 2, strokeDasharray: '4,3'}),
      Plot.dot(events.filter((e) => e.aesi), {y: 'row', x: 'onset', r: 9, stroke: '#000', strokeWidth: 1.2, fill: 'none'}),
      Plot.dot(events.filter((e) => !e.serious), {y: 'row', x: 'onset', fill: 'grade', stroke: '#222', strokeWidth: 0.8, r: 5, title: 'title'}),
      Plot.dot(events.filter((e) => e.serious), {y: 'row', x: 'onset', fill: 'grade', stroke: '#222', strokeWidth: 0.8, r: 6.5, symbol: 'diamond', title: 'title'}),
    ],
  }, label);
}
