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
import {groupStyles, legend} from '../charts/plot.js';
import {cumulativePlot} from '../charts/cumulative.js';
import * as N from '../normalize.js';

export const name = 'term';

const LEVELS = {PT: 'TERM_LEVEL_PT', SOC: 'TERM_LEVEL_SOC', OVERALL: 'TERM_LEVEL_OVERALL'};

export async function render(ctx) {
  const {main, signal, params, query, caller} = ctx;
  const trial = await loadTrial(params.trial, signal);
  const level = LEVELS[query.level] ? query.level : (query.key ? 'OVERALL' : query.pt ? 'PT' : 'SOC');
  const measure = query.measure === 'interval' ? 'interval' : 'cumulative';
  const termName = level === 'OVERALL' ? overallLabel(query.key) : level === 'PT' ? query.pt : query.soc;
  const termRow = {level: LEVELS[level], soc: query.soc ?? '', pt: level === 'PT' ? query.pt ?? '' : '', overallKey: level === 'OVERALL' ? query.key : ''};
  const subset = subsetOf(level === 'OVERALL' ? '' : query.subset, trial);
  const subsetWords = subset.key ? ` (${subset.label} only)` : '';
  ctx.setTitle(`${termName}${subsetWords} · ${trial.trialId}`);
  const parent = v1('trials', trial.trialId);
  const groups = groupsOf(trial);
  const styles = groupStyles(groups);
  const tps = trial.timepoints ?? [];

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
    rows = await listAll(`${parent}/incidence`, 'terms', {query: {...q, ...(trendable ? {dose_trend: 'true'} : {})}, signal, map: N.termIncidence});
  } catch (err) {
    if (!(trendable && err instanceof ApiError && err.httpStatus === 400)) throw err;
    trendGap = err.message;
    rows = await listAll(`${parent}/incidence`, 'terms', {query: q, signal, map: N.termIncidence});
  }
  const row = rows[0] ?? N.termIncidence({});
  const termValue = level === 'OVERALL' ? query.key : level === 'PT' ? query.pt : query.soc;

  // Baselines for this row (ListBaselines) and its topic, if any: both are
  // of all AEs, so none for a subset.
  const [baselines, topics] = subset.key ? [[], []] : await Promise.all([
    may(caller, 'ListBaselines') ? listAll(`${parent}/baselines`, 'baselines', {signal, map: N.baseline}) : [],
    may(caller, 'ListTopics') ? api(`${parent}/topics`, {query: {level: LEVELS[level], term: termValue}, signal}).then((r) => (r.topics ?? []).map(N.topic)) : [],
  ]);
  const mine = baselines.filter((b) => b.level === LEVELS[level] &&
    (level === 'OVERALL' ? b.overallKey === query.key : b.soc === query.soc && (level === 'SOC' || b.pt === query.pt)));
  const topic = topics.find((t) => (level === 'OVERALL' ? t.overallKey === query.key : t.soc === query.soc && (level === 'SOC' || t.pt === query.pt)));

  const denomOf = (g, tp) => {
    const c = cellOf(row, g.id, tp);
    return measure === 'interval' ? c?.nAtRisk : c?.nDosed;
  };
  const points = [];
  for (const s of styles) {
    for (const t of tps) {
      const e = cellOf(row, s.id, t.timepointId)?.[measure];
      if (!e || !e.denominator) continue;
      points.push({tp: t.timepointId, key: s.key, p: e.proportion, lo: e.ciLower, hi: e.ciUpper,
        title: `${s.label}, ${t.label || t.timepointId}: ${nPct(e.subjects, e.denominator, e.proportion)} ${ci(e.ciLower, e.ciUpper)}`});
    }
  }
  const baselineMarks = mine.filter((b) => measure === 'cumulative' && !b.doseGroupId).map((b) => ({
    p0: b.expectedProportion, tp: b.timepointId, citation: b.citation,
    label: `Expected ${pct(b.expectedProportion)}% (${b.baselineId})`,
  }));
  const trends = row.doseTrends ?? [];
  const trendOf = (tp) => trends.find((t) => t.timepointId === tp);

  const tbl = table({
    caption: `${termName}${subsetWords}: ${measure === 'interval' ? 'subjects with onset within each window / at risk' : 'cumulative subjects / dosed'} by timepoint, n (%) [95% exact CI]`,
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

  const measureSel = select([['cumulative', 'Cumulative (of dosed)'], ['interval', 'Within each window (of at risk)']], measure, {name: 'measure'});
  measureSel.addEventListener('change', () => ctx.setQuery({...query, measure: measureSel.value === 'cumulative' ? '' : measureSel.value}));
  const controls = h('form', {class: 'controls', 'aria-label': 'Chart options'}, field('Incidence', measureSel));
  controls.addEventListener('submit', (e) => e.preventDefault());

  const chart = points.length
    ? cumulativePlot({points, timepoints: tps.map((t) => ({id: t.timepointId, label: t.label || t.timepointId})), styles,
      baselines: baselineMarks, width: chartWidth(main, 1000),
      trends: measure === 'cumulative' ? trends.map((t) => ({tp: t.timepointId, text: `p ${pValue(t.pValue).replace(/^(?!<)/, '= ')}`})) : [],
      yLabel: measure === 'interval' ? 'Incidence within the window (%)' : 'Cumulative incidence (%)',
      label: `${termName}${subsetWords}: ${measure} incidence per dose group across timepoints with 95% CI bands${baselineMarks.length ? ' and the expected incidence of its baseline' : ''}. The table has the same numbers.`})
    : note('No subjects dosed yet.');
  const legendEl = legend(styles, {title: 'Dose groups'});
  if (baselineMarks.length) {
    legendEl.append(h('li', null, h('span', {class: 'swatch dash', 'aria-hidden': 'true'}), 'Expected incidence (baseline)'));
  }
  legendEl.append(h('li', null, h('span', {class: 'swatch band', 'aria-hidden': 'true'}), 'Shaded: 95% exact CI'));

  const baselineSection = mine.length
    ? section('Baselines', scroller(table({
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
    }), 'Baselines table'))
    : null;

  const trendNote = !trendable
    ? note('The dose-trend test needs at least three dose groups.')
    : trendGap ? h('p', {class: 'note gap'}, `Dose trend per timepoint unavailable: ${trendGap}`)
      : trends.length ? note('Dose trend: exact Cochran–Armitage test of the cumulative incidence across the ordered dose groups, one-sided, not adjusted for multiplicity (descriptive).') : null;

  const levelWord = {PT: 'Preferred term', SOC: 'System organ class', OVERALL: 'Overall row'}[level];
  mount(main, 
    pageHeader({
      title: termName || '(unnamed term)',
      crumbs: trialCrumbs(trial.trialId, ['Incidence', trialHash(trial.trialId, 'incidence', {level: level === 'SOC' ? 'SOC' : '', subset: subset.key})], [termName, null]),
      subtitle: `${levelWord}${level === 'PT' ? ` in ${query.soc}` : ''} — ${subset.key ? `${subset.label} only: ` : ''}incidence over time by dose group.`,
      meta: [
        subset.key
          ? h('span', {id: 'term-subset'}, `AEs counted: ${subset.label} (`,
            h('a', {href: termHash(trial.trialId, termRow, {measure: query.measure})}, 'count all AEs, with baselines and signal topic'), ')')
          : topicMeta(trial, topic),
        h('a', {href: trialHash(trial.trialId, 'reports', reportsQueryOf(termRow, subset.key))}, 'Reports behind this term'),
      ],
    }),
    section('Over time', controls,
      figure({id: 'term-figure', title: `${termName}${subsetWords}: ${measure === 'interval' ? 'incidence within each window' : 'cumulative incidence'} by dose group (95% exact CI)`,
        legend: legendEl, chart,
        caption: h('span', null,
          trends.length && measure === 'cumulative' ? 'Above the chart: the one-sided dose-trend p (Cochran–Armitage) at each timepoint. ' : '',
          baselineMarks.map((b, i) => [i ? ' ' : '', `${b.label}: `, b.citation]))}),
      scroller(tbl, 'Incidence over time table'), trendNote),
    baselineSection,
  );
}

// The header's word on the row's signal topic.
function topicMeta(trial, topic) {
  if (!topic) return h('span', null, 'No signal topic for this row.');
  return h('span', null, 'Signal topic: ', h('a', {href: topicHash(trial.trialId, topic.topicId)}, topicLabel(topic)), ' ',
    statusBadge(topic.status, statusLabel(topic.status)), topic.crossing ? h('span', {class: 'badge crossing'}, 'crossing') : null);
}
