// View 2: trial overview. The design; enrolment and follow-up by dose group
// (dosed, followed into each timepoint's window, ongoing / completed /
// withdrawn); the AE overview by dose group (any AE, SAE, grade >= 3,
// related, each AESI, and any further overall row the server gives) as
// n (%) with N in the column headers, with its chart.

import {api, listAll, v1, may} from '../api.js';
import {h, clear, mount, select, field} from '../dom.js';
import {table, scroller} from '../table.js';
import {nPct, ci, groupHeader, overallLabel, dateTime} from '../format.js';
import {trialHash, termHash} from '../links.js';
import {loadTrial, groupsOf, groupLabel, cellOf, pageHeader, trialCrumbs, section, alertBox, note, figure, timepointLabel, chartWidth} from './common.js';
import {groupStyles, legend} from '../charts/style.js';
import {loadCharts} from '../charts/load.js';
import * as N from '../normalize.js';

export const name = 'overview';

const STATUS = [
  ['FOLLOW_UP_STATUS_ONGOING', 'Ongoing'],
  ['FOLLOW_UP_STATUS_COMPLETED', 'Completed'],
  ['FOLLOW_UP_STATUS_WITHDRAWN', 'Withdrawn'],
];

// " · 20,000,000 cells"; without a unit (ADaM's TRT01AN gives none) the
// number is named a dose, or " · 54" reads as a count beside "N=84".
function doseText(g) {
  if (!g.doseValue) return '';
  const value = g.doseValue.toLocaleString('en');
  return g.doseUnit ? ` · ${value} ${g.doseUnit}` : ` · dose ${value}`;
}

function designSection(trial) {
  const dl = h('dl', {class: 'facts'});
  const add = (term, ...desc) => dl.append(h('div', null, h('dt', null, term), h('dd', null, ...desc)));
  add('Dose groups', h('ul', {class: 'plain'}, (trial.doseGroups ?? []).map((g) => h('li', null,
    h('strong', null, g.doseGroupId), groupLabel(g) !== g.doseGroupId ? ` ${g.label}` : '',
    doseText(g), g.control ? ' · control' : ''))));
  add('Timepoints', (trial.timepoints ?? []).map((t, i) => [i ? ', ' : '',
    h('span', {class: 'nowrap'}, `${t.label || t.timepointId} (day ${t.studyDay})`)]));
  add('Sites', (trial.sites ?? []).map((s) => s.siteId).join(', '));
  add('AESI categories', (trial.aesiCategories ?? []).join(', ') || '—');
  const p = trial.signalPolicy ?? {};
  add('Signal policy', p.errorControl === 'ERROR_CONTROL_PER_TEST' ? 'per-test decisions' : 'trial-wide error control',
    p.alpha ? `, α = ${p.alpha}` : '', p.fdr ? `, FDR ${p.fdr}` : '');
  add('Protocol version', `v${trial.version ?? 1}`, trial.updateTime ? `, ${dateTime(trial.updateTime)}` : '');
  return section('Design', dl);
}

function enrolmentSection(trial, groups, anyRow, subjects) {
  const tps = trial.timepoints ?? [];
  const rows = [];
  rows.push({label: 'Dosed (safety population)', key: 'dosed',
    value: (g) => cellOf(anyRow, g.id, tps[0]?.timepointId)?.nDosed ?? 0});
  for (const tp of tps) {
    rows.push({label: `Followed into ${tp.label || tp.timepointId} window`, key: `at-risk-${tp.timepointId}`,
      value: (g) => cellOf(anyRow, g.id, tp.timepointId)?.nAtRisk ?? 0});
  }
  if (subjects) {
    for (const [status, label] of STATUS) {
      rows.push({label, key: `status-${status}`,
        value: (g) => subjects.filter((s) => (g.total || s.doseGroupId === g.id) &&
          (s.status === status || (status === 'FOLLOW_UP_STATUS_ONGOING' && s.status === 'FOLLOW_UP_STATUS_UNSPECIFIED'))).length});
    }
  }
  const dosed = (g) => cellOf(anyRow, g.id, tps[0]?.timepointId)?.nDosed ?? 0;
  const tbl = table({
    caption: 'Enrolment and follow-up by dose group: subjects (% of dosed)',
    id: 'enrolment-table',
    rows,
    columns: [
      {key: 'label', label: 'Subjects', rowHeader: true, cell: (r) => r.label},
      ...groups.map((g) => ({
        key: g.total ? 'total' : g.id,
        label: groupHeader(g.label, dosed(g)),
        numeric: true,
        cell: (r) => (r.key === 'dosed' ? String(r.value(g)) : nPct(r.value(g), dosed(g))),
        attrs: (r) => ({dataset: {row: r.key, group: g.id, n: String(r.value(g))}}),
      })),
    ],
  });
  return section('Enrolment and follow-up', scroller(tbl, 'Enrolment table'),
    subjects ? null : note('Follow-up status needs the ListSubjects permission.'));
}

// charts: charts/charts.js's exports (loadCharts).
function aeSection(ctx, trial, groups, overall, tpId, measure, {dotPlot}) {
  const tps = trial.timepoints ?? [];
  const styles = groupStyles(groups);
  const denomOf = (g) => {
    const c = cellOf(overall[0], g.id, tpId);
    return measure === 'interval' ? c?.nAtRisk ?? 0 : c?.nDosed ?? 0;
  };
  const est = (row, g) => cellOf(row, g.id, tpId)?.[measure];
  const rows = overall.map((r) => ({...r, display: overallLabel(r.overallKey, r.label)}));
  const tbl = table({
    caption: `Subjects with ≥ 1 adverse event by dose group, ${measure === 'interval' ? 'within the window of' : 'cumulative to'} ${timepointLabel(trial, tpId)}: n (%) [95% CI]`,
    id: 'ae-overview-table',
    rows,
    columns: [
      {key: 'row', label: 'Adverse events', rowHeader: true,
        cell: (r) => h('a', {href: termHash(trial.trialId, r)}, r.display),
        attrs: (r) => ({dataset: {key: r.overallKey}})},
      ...groups.map((g) => ({
        key: g.total ? 'total' : g.id,
        label: groupHeader(g.label, denomOf(g)),
        numeric: true,
        cell: (r) => {
          const e = est(r, g);
          if (!e) return '—';
          return h('span', null, h('span', {class: 'npct'}, nPct(e.subjects, e.denominator, e.proportion)),
            e.denominator ? h('span', {class: 'ci'}, ci(e.ciLower, e.ciUpper)) : null);
        },
        attrs: (r) => ({dataset: {key: r.overallKey, group: g.id}}),
      })),
    ],
  });
  const points = [];
  for (const r of rows) {
    for (const s of styles) {
      const e = est(r, s);
      if (!e || !e.denominator) continue;
      points.push({term: r.display, key: s.key, p: e.proportion, lo: e.ciLower, hi: e.ciUpper,
        title: `${r.display}, ${s.label}: ${nPct(e.subjects, e.denominator, e.proportion)} ${ci(e.ciLower, e.ciUpper)}`});
    }
  }
  const chart = dotPlot({points, terms: rows.map((r) => r.display), styles, width: chartWidth(ctx.main, 900),
    label: 'Dot plot of the AE overview: incidence per dose group with 95% CIs; the table below has the same numbers.'});

  const tpSelect = select(tps.map((t) => [t.timepointId, t.label || t.timepointId]), tpId, {name: 'tp'});
  const measureSelect = select([['cumulative', 'Cumulative'], ['interval', 'Within the window']], measure, {name: 'measure'});
  const controls = h('form', {class: 'controls', 'aria-label': 'AE overview options'},
    field('Timepoint', tpSelect), field('Incidence', measureSelect));
  const apply = () => ctx.setQuery({tp: tpSelect.value, measure: measureSelect.value === 'cumulative' ? '' : measureSelect.value});
  tpSelect.addEventListener('change', apply);
  measureSelect.addEventListener('change', apply);
  controls.addEventListener('submit', (e) => e.preventDefault());

  return section('Adverse-event overview', controls, scroller(tbl, 'AE overview table'),
    figure({title: 'Incidence by dose group (95% exact CI)', chart, legend: legend(styles, {title: 'Dose groups'}),
      id: 'ae-overview-figure'}));
}

export async function render(ctx) {
  const {main, signal, caller, params} = ctx;
  const chartsLoaded = may(caller, 'GetIncidence') ? loadCharts() : null;
  const trial = await loadTrial(params.trial, signal);
  ctx.setTitle(`${trial.trialId} overview`);
  const groups = groupsOf(trial);
  const tps = trial.timepoints ?? [];
  const tpId = tps.some((t) => t.timepointId === ctx.query.tp) ? ctx.query.tp : tps[tps.length - 1]?.timepointId;
  const measure = ctx.query.measure === 'interval' ? 'interval' : 'cumulative';
  const parent = v1('trials', trial.trialId);

  const parts = [pageHeader({title: trial.trialId, subtitle: trial.title, crumbs: trialCrumbs(trial.trialId)})];
  parts.push(designSection(trial));
  if (chartsLoaded) {
    const [overall, subjects] = await Promise.all([
      listAll(`${parent}/incidence`, 'terms', {query: {level: 'TERM_LEVEL_OVERALL'}, signal, map: N.termIncidence}),
      may(caller, 'ListSubjects') ? listAll(`${parent}/subjects`, 'subjects', {signal, pageSize: 10000, map: N.subject}) : null,
    ]);
    const anyRow = overall.find((r) => r.overallKey === 'any_ae') ?? overall[0];
    parts.push(enrolmentSection(trial, groups, anyRow, subjects));
    parts.push(aeSection(ctx, trial, groups, overall, tpId, measure, await chartsLoaded));
    if (!overall.some((r) => /death|fatal/i.test(r.overallKey))) {
      parts.push(h('p', {class: 'note gap'}, 'This server gives no deaths row; ',
        h('a', {href: trialHash(trial.trialId, 'reports', {subset: 'death'})}, 'the fatal AE reports'), ' are listed from the reports.'));
    }
  } else {
    parts.push(section('Your access',
      h('p', null, 'Your role reads this trial\'s design and the reports and subjects of your site: ',
        h('a', {href: trialHash(trial.trialId, 'reports')}, 'reports of your site'), '.')));
  }
  mount(main, ...parts);
}
