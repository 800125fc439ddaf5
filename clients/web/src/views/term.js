// View 4: one term over time: cumulative (or within-window) incidence per
// dose group across the timepoints with exact CIs, the baseline's expected
// incidence with its citation, and the dose-trend test per timepoint.
//
// URL query: level=PT|SOC|OVERALL soc pt key measure=interval
//   subset=serious|grade3|related|aesi:CAT|death (PT and SOC rows: the
//   explorer's subset; baselines and signal topics are of all AEs, so a
//   subset's page shows neither)

import {api, listAll, v1, may, ApiError} from '../api.js';
import {h, clear, mount, select, field} from '../dom.js';
import {table, scroller} from '../table.js';
import {nPct, ci, pValue, pct, overallLabel, statusLabel, topicLabel} from '../format.js';
import {trialHash, topicHash, termHash, reportsQueryOf} from '../links.js';
import {subsetOf} from '../subsets.js';
import {loadTrial, groupsOf, cellOf, pageHeader, trialCrumbs, section, note, figure, chartWidth, statusBadge} from './common.js';
import {groupStyles, legend} from '../charts/style.js';
import {loadCharts} from '../charts/load.js';
import * as N from '../normalize.js';

export const name = 'term';

const LEVELS = {PT: 'TERM_LEVEL_PT', SOC: 'TERM_LEVEL_SOC', OVERALL: 'TERM_LEVEL_OVERALL'};

export async function render(ctx) {
  const {main, signal, params, query} = ctx;
  const chartsLoaded = loadCharts();
  const trial = await loadTrial(params.trial, signal);
  const term = termOf(query, trial);
  ctx.setTitle(`${term.name}${term.words} · ${trial.trialId}`);
  const groups = groupsOf(trial);
  const styles = groupStyles(groups);
  const tps = trial.timepoints ?? [];
  // Independent requests: one round trip, not two.
  const [{row, trendable, trendGap}, {mine, topic}] = await Promise.all([
    loadIncidence(ctx, trial, term), loadBaselinesAndTopic(ctx, trial, term)]);
  const baselineMarks = mine.filter((b) => term.measure === 'cumulative' && !b.doseGroupId).map((b) => ({
    p0: b.expectedProportion, tp: b.timepointId, citation: b.citation,
    label: `Expected ${pct(b.expectedProportion)}% (${b.baselineId})`,
  }));
  const trends = row.doseTrends ?? [];
  const trendNote = !trendable
    ? note('The dose-trend test needs at least three dose groups.')
    : trendGap ? h('p', {class: 'note gap'}, `Dose trend per timepoint unavailable: ${trendGap}`)
      : trends.length ? note('Dose trend: exact Cochran–Armitage test of the cumulative incidence across the ordered dose groups, one-sided, not adjusted for multiplicity (descriptive).') : null;

  mount(main,
    termHeader(trial, term, topic),
    section('Over time', measureControls(ctx, term),
      termFigure({main, term, row, styles, tps, baselineMarks}, await chartsLoaded),
      scroller(termTable(term, row, groups, tps), 'Incidence over time table'), trendNote),
    mine.length ? baselinesSection(mine) : null,
  );
}

// The page's term from the URL: its level, name, row, measure and subset
// (PT and SOC rows only: an overall row is itself a subset).
function termOf(query, trial) {
  const level = LEVELS[query.level] ? query.level : (query.key ? 'OVERALL' : query.pt ? 'PT' : 'SOC');
  const subset = subsetOf(level === 'OVERALL' ? '' : query.subset, trial);
  return {
    query, level, subset,
    measure: query.measure === 'interval' ? 'interval' : 'cumulative',
    name: level === 'OVERALL' ? overallLabel(query.key) : level === 'PT' ? query.pt : query.soc,
    value: level === 'OVERALL' ? query.key : level === 'PT' ? query.pt : query.soc,
    row: {level: LEVELS[level], soc: query.soc ?? '', pt: level === 'PT' ? query.pt ?? '' : '', overallKey: level === 'OVERALL' ? query.key : ''},
    words: subset.key ? ` (${subset.label} only)` : '',
  };
}

// The term's incidence row, with the dose trend per timepoint when the
// trial has three dose groups and the server computes it (trendGap: why not).
async function loadIncidence(ctx, trial, term) {
  const parent = v1('trials', trial.trialId);
  const {query, level, subset} = term;
  const q = {level: LEVELS[level]};
  if (level === 'OVERALL') q.overall_key = query.key;
  else {
    q.soc = query.soc;
    if (level === 'PT') q.pt = query.pt;
    if (subset.key) q.subset = subset.subset;
    if (subset.aesi) q.aesi_category = subset.aesi;
  }
  const trendable = (trial.doseGroups ?? []).length >= 3;
  let rows;
  let trendGap = '';
  try {
    rows = await listAll(`${parent}/incidence`, 'terms', {query: {...q, ...(trendable ? {dose_trend: 'true'} : {})}, signal: ctx.signal, map: N.termIncidence});
  } catch (err) {
    if (!(trendable && err instanceof ApiError && err.httpStatus === 400)) throw err;
    trendGap = err.message;
    rows = await listAll(`${parent}/incidence`, 'terms', {query: q, signal: ctx.signal, map: N.termIncidence});
  }
  return {row: rows[0] ?? N.termIncidence({}), trendable, trendGap};
}

// The baselines this row is tested against and its signal topic, if any:
// both are of all AEs, so none for a subset.
async function loadBaselinesAndTopic(ctx, trial, term) {
  if (term.subset.key) return {mine: [], topic: null};
  const {caller, signal} = ctx;
  const {query, level} = term;
  const parent = v1('trials', trial.trialId);
  const [baselines, topics] = await Promise.all([
    may(caller, 'ListBaselines') ? listAll(`${parent}/baselines`, 'baselines', {signal, map: N.baseline}) : [],
    may(caller, 'ListTopics') ? api(`${parent}/topics`, {query: {level: LEVELS[level], term: term.value}, signal}).then((r) => (r.topics ?? []).map(N.topic)) : [],
  ]);
  const isThisRow = (x) => (level === 'OVERALL' ? x.overallKey === query.key : x.soc === query.soc && (level === 'SOC' || x.pt === query.pt));
  return {mine: baselines.filter((b) => b.level === LEVELS[level] && isThisRow(b)), topic: topics.find(isThisRow) ?? null};
}

function termHeader(trial, term, topic) {
  const {query, level, subset} = term;
  const levelWord = {PT: 'Preferred term', SOC: 'System organ class', OVERALL: 'Overall row'}[level];
  return pageHeader({
    title: term.name || '(unnamed term)',
    crumbs: trialCrumbs(trial.trialId, ['Incidence', trialHash(trial.trialId, 'incidence', {level: level === 'SOC' ? 'SOC' : '', subset: subset.key})], [term.name, null]),
    subtitle: `${levelWord}${level === 'PT' ? ` in ${query.soc}` : ''} — ${subset.key ? `${subset.label} only: ` : ''}incidence over time by dose group.`,
    meta: [
      subset.key
        ? h('span', {id: 'term-subset'}, `AEs counted: ${subset.label} (`,
          h('a', {href: termHash(trial.trialId, term.row, {measure: query.measure})}, 'count all AEs, with baselines and signal topic'), ')')
        : topicMeta(trial, topic),
      h('a', {href: trialHash(trial.trialId, 'reports', reportsQueryOf(term.row, subset.key))}, 'Reports behind this term'),
    ],
  });
}

function measureControls(ctx, term) {
  const measureSel = select([['cumulative', 'Cumulative (of dosed)'], ['interval', 'Within each window (of at risk)']], term.measure, {name: 'measure'});
  measureSel.addEventListener('change', () => ctx.setQuery({...term.query, measure: measureSel.value === 'cumulative' ? '' : measureSel.value}));
  const controls = h('form', {class: 'controls', 'aria-label': 'Chart options'}, field('Incidence', measureSel));
  controls.addEventListener('submit', (e) => e.preventDefault());
  return controls;
}

// Incidence per dose group across timepoints with CI bands, the baselines'
// expected incidence and, for cumulative incidence, the dose-trend p.
// charts: charts/charts.js's exports (loadCharts).
function termFigure({main, term, row, styles, tps, baselineMarks}, {cumulativePlot}) {
  const {measure} = term;
  const trends = row.doseTrends ?? [];
  const points = [];
  for (const s of styles) {
    for (const t of tps) {
      const e = cellOf(row, s.id, t.timepointId)?.[measure];
      if (!e || !e.denominator) continue;
      points.push({tp: t.timepointId, key: s.key, p: e.proportion, lo: e.ciLower, hi: e.ciUpper,
        title: `${s.label}, ${t.label || t.timepointId}: ${nPct(e.subjects, e.denominator, e.proportion)} ${ci(e.ciLower, e.ciUpper)}`});
    }
  }
  const chart = points.length
    ? cumulativePlot({points, timepoints: tps.map((t) => ({id: t.timepointId, label: t.label || t.timepointId})), styles,
      baselines: baselineMarks, width: chartWidth(main, 1000),
      trends: measure === 'cumulative' ? trends.map((t) => ({tp: t.timepointId, text: `p ${pValue(t.pValue).replace(/^(?!<)/, '= ')}`})) : [],
      yLabel: measure === 'interval' ? 'Incidence within the window (%)' : 'Cumulative incidence (%)',
      label: `${term.name}${term.words}: ${measure} incidence per dose group across timepoints with 95% CI bands${baselineMarks.length ? ' and the expected incidence of its baseline' : ''}. The table has the same numbers.`})
    : note('No subjects dosed yet.');
  const legendEl = legend(styles, {title: 'Dose groups'});
  if (baselineMarks.length) {
    legendEl.append(h('li', null, h('span', {class: 'swatch dash', 'aria-hidden': 'true'}), 'Expected incidence (baseline)'));
  }
  legendEl.append(h('li', null, h('span', {class: 'swatch band', 'aria-hidden': 'true'}), 'Shaded: 95% exact CI'));
  return figure({id: 'term-figure', title: `${term.name}${term.words}: ${measure === 'interval' ? 'incidence within each window' : 'cumulative incidence'} by dose group (95% exact CI)`,
    legend: legendEl, chart,
    caption: h('span', null,
      trends.length && measure === 'cumulative' ? 'Above the chart: the one-sided dose-trend p (Cochran–Armitage) at each timepoint. ' : '',
      baselineMarks.map((b, i) => [i ? ' ' : '', `${b.label}: `, b.citation]))});
}

// n/N (%) [CI] per dose group and timepoint, and the dose trend per timepoint.
function termTable(term, row, groups, tps) {
  const {measure} = term;
  const trends = row.doseTrends ?? [];
  const trendOf = (tp) => trends.find((t) => t.timepointId === tp);
  return table({
    caption: `${term.name}${term.words}: ${measure === 'interval' ? 'subjects with onset within each window / at risk' : 'cumulative subjects / dosed'} by timepoint, n (%) [95% exact CI]`,
    id: 'term-table',
    rows: tps,
    columns: [
      {key: 'tp', label: 'Timepoint', rowHeader: true, cell: (t) => h('span', null, t.label || t.timepointId, h('span', {class: 'sub'}, `day ${t.studyDay}`))},
      ...groups.map((g) => ({
        key: g.total ? 'total' : g.id,
        label: g.label,
        numeric: true,
        cell: (t) => {
          const e = cellOf(row, g.id, t.timepointId)?.[measure];
          if (!e) return '—';
          return h('span', null, h('span', {class: 'npct'}, `${e.subjects}/${e.denominator}`, e.denominator ? ` (${pct(e.proportion)}%)` : ''),
            e.denominator ? h('span', {class: 'ci'}, ci(e.ciLower, e.ciUpper)) : null);
        },
        attrs: (t) => {
          const e = cellOf(row, g.id, t.timepointId)?.[measure];
          return {dataset: {tp: t.timepointId, group: g.id, n: String(e?.subjects ?? ''), d: String(e?.denominator ?? '')}};
        },
      })),
      // The trend is of cumulative incidence: said in the header when the
      // rows show the windows.
      ...(trends.length ? [{key: 'trend', label: h('span', null, 'Dose trend', h('span', {class: 'sub'},
        measure === 'interval' ? 'one-sided p (Z) of cumulative incidence' : 'one-sided p (Z)')), numeric: true,
        cell: (t) => {
          const tr = trendOf(t.timepointId);
          return tr ? h('span', null, h('span', {class: 'npct'}, pValue(tr.pValue), tr.exact ? '' : ' (asympt.)'), h('span', {class: 'ci'}, `Z = ${tr.z.toFixed(2)}`)) : '—';
        },
        attrs: (t) => ({dataset: {tp: t.timepointId, trend: String(trendOf(t.timepointId)?.pValue ?? '')}})}] : []),
    ],
  });
}

function baselinesSection(mine) {
  return section('Baselines', scroller(table({
    caption: 'Published expected incidences this row is tested against',
    id: 'baselines-table',
    rows: mine,
    columns: [
      {key: 'id', label: 'Baseline', rowHeader: true, cell: (b) => b.baselineId},
      {key: 'p0', label: 'Expected', numeric: true, cell: (b) => `${pct(b.expectedProportion)}%`},
      {key: 'tp', label: 'By timepoint', cell: (b) => b.timepointId || 'every timepoint'},
      {key: 'group', label: 'Dose group', cell: (b) => b.doseGroupId || 'every group and the total'},
      {key: 'source', label: 'Source sample', numeric: true, cell: (b) => (b.sourceSubjects ? `${b.sourceEvents}/${b.sourceSubjects}` : '—')},
      {key: 'citation', label: 'Citation', className: 'wrap', cell: (b) => b.citation},
    ],
  }), 'Baselines table'));
}

// The header's word on the row's signal topic.
function topicMeta(trial, topic) {
  if (!topic) return h('span', null, 'No signal topic for this row.');
  return h('span', null, 'Signal topic: ', h('a', {href: topicHash(trial.trialId, topic.topicId)}, topicLabel(topic)), ' ',
    statusBadge(topic.status, statusLabel(topic.status)), topic.crossing ? h('span', {class: 'badge crossing'}, 'crossing') : null);
}
