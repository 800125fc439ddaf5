// View 3: incidence explorer. SOC -> PT table and dot plot of incidence per
// dose group with exact CIs; risk difference (and relative risk) vs the
// control arm as a forest plot; filters: the AEs counted (all, serious,
// grade >= 3, related, an AESI, fatal), minimum incidence, text search;
// cumulative vs within the window; the timepoint; subjects, events or
// maximum grade. A term opens the reports (and subjects) behind it.
//
// URL query: level=PT|SOC tp=ID measure=cumulative|interval
//   count=subjects|events|maxgrade subset=serious|grade3|related|aesi:CAT|death
//   min=PERCENT q=TEXT sort=freq|alpha|rd chart=dot|forest|rr top=N ci=0

import {listAll, v1, ApiError} from '../api.js';
import {h, clear, mount, select, field} from '../dom.js';
import {table, scroller} from '../table.js';
import {nPct, ci, groupHeader, pValue, pct} from '../format.js';
import {trialHash, termHash} from '../links.js';
import {subsetOf, subsetChoices} from '../subsets.js';
import {loadTrial, groupsOf, cellOf, pageHeader, trialCrumbs, section, alertBox, note, figure, timepointLabel, chartWidth} from './common.js';
import {groupStyles, legend} from '../charts/style.js';
import {loadCharts} from '../charts/load.js';
import * as N from '../normalize.js';

export const name = 'incidence';

// Server results by request, so that client-side filters (search, minimum,
// sort, chart) re-render without a round trip.
const cache = new Map();

async function fetchTables({trial, level, tp, subset, maxGrade, signal}) {
  const parent = v1('trials', trial.trialId);
  const hasControl = (trial.doseGroups ?? []).some((g) => g.control);
  const trendable = (trial.doseGroups ?? []).length >= 3;
  const key = JSON.stringify([trial.trialId, trial.version, level, tp, subset.key, maxGrade]);
  const hit = cache.get(key);
  if (hit && Date.now() - hit.time < 15000) return hit.data;

  const base = {timepoint_id: tp};
  if (subset.subset) base.subset = subset.subset;
  if (subset.aesi) base.aesi_category = subset.aesi;
  const extras = {};
  if (hasControl) extras.compare_to_control = 'true';
  if (trendable) extras.dose_trend = 'true';
  if (maxGrade) extras.max_grade = 'true';
  const gaps = [];
  // A server without the comparison/trend fields refuses them: ask again
  // without, and say what is missing.
  const get = async (lvl, extra) => {
    try {
      return await listAll(`${parent}/incidence`, 'terms', {query: {...base, level: lvl, ...extra}, signal, map: N.termIncidence});
    } catch (err) {
      if (err instanceof ApiError && err.httpStatus === 400 && Object.keys(extra).length) {
        gaps.push(`the server refused ${Object.keys(extra).join(', ')} (${err.message})`);
        return listAll(`${parent}/incidence`, 'terms', {query: {...base, level: lvl}, signal, map: N.termIncidence});
      }
      throw err;
    }
  };
  const [rows, socRows, overall] = await Promise.all([
    get(level === 'SOC' ? 'TERM_LEVEL_SOC' : 'TERM_LEVEL_PT', extras),
    level === 'SOC' ? null : get('TERM_LEVEL_SOC', extras),
    // The denominators (N) even when no term has an event.
    listAll(`${parent}/incidence`, 'terms', {query: {level: 'TERM_LEVEL_OVERALL', overall_key: 'any_ae', timepoint_id: tp}, signal, map: N.termIncidence}),
  ]);
  const data = {rows, socRows, overall: overall[0], gaps: [...new Set(gaps)]};
  cache.set(key, {time: Date.now(), data});
  return data;
}

// Everything the parts of the view read: the options from the URL, the
// server's rows, and accessors for the selected timepoint and measure.
function modelOf(trial, query, data) {
  const tps = trial.timepoints ?? [];
  const groups = groupsOf(trial);
  const m = {
    trial, tps, groups, query,
    styles: groupStyles(groups),
    control: groups.find((g) => g.control),
    dose: groups.filter((g) => !g.total),
    level: query.level === 'SOC' ? 'SOC' : 'PT',
    tp: tps.some((t) => t.timepointId === query.tp) ? query.tp : tps[tps.length - 1]?.timepointId,
    measure: query.measure === 'interval' ? 'interval' : 'cumulative',
    count: ['events', 'maxgrade'].includes(query.count) ? query.count : 'subjects',
    subset: subsetOf(query.subset, trial),
    min: Number.isFinite(Number(query.min)) && Number(query.min) > 0 ? Number(query.min) : 0,
    q: (query.q ?? '').trim(),
    sort: ['alpha', 'rd'].includes(query.sort) ? query.sort : 'freq',
    chartKind: ['forest', 'rr'].includes(query.chart) ? query.chart : 'dot',
    top: Math.max(5, Math.min(200, Number(query.top) || 30)),
    showCi: query.ci !== '0',
    ...data,
  };
  // Maximum grades are cumulative (AET04): of the subjects dosed.
  if (m.count === 'maxgrade') m.measure = 'cumulative';
  // Denominators per group at this timepoint: dosed, or at risk in the window.
  m.denom = (g) => {
    const c = cellOf(m.overall, g.id, m.tp);
    return m.measure === 'interval' ? c?.nAtRisk ?? 0 : c?.nDosed ?? 0;
  };
  m.est = (row, g) => cellOf(row, g.id, m.tp)?.[m.measure];
  m.vsControl = (row, g) => cellOf(row, g.id, m.tp)?.[m.measure === 'interval' ? 'intervalVsControl' : 'cumulativeVsControl'];
  m.trendOf = (row) => (row.doseTrends ?? []).find((t) => t.timepointId === m.tp);
  m.hasComparisons = Boolean(m.control) && m.rows.some((r) => (r.cells ?? []).some((c) => c.cumulativeVsControl || c.intervalVsControl));
  m.hasTrend = m.rows.some((r) => (r.doseTrends ?? []).length);
  m.maxP = (row) => Math.max(0, ...m.dose.map((g) => m.est(row, g)?.proportion ?? 0));
  m.maxRd = (row) => Math.max(-Infinity, ...m.dose.filter((g) => !g.control).map((g) => m.vsControl(row, g)?.riskDifference ?? -Infinity));
  m.totalN = (row) => m.est(row, groups[groups.length - 1])?.subjects ?? 0;
  m.termLabel = (row) => (m.level === 'PT' ? row.pt : row.soc);
  // Charts key their rows by label: a PT coded under two SOCs (codingCheck)
  // is told apart by its SOC there.
  const ptRows = new Map();
  for (const r of m.rows) ptRows.set(r.pt, (ptRows.get(r.pt) ?? 0) + 1);
  m.chartLabel = (row) => (m.level === 'PT' && ptRows.get(row.pt) > 1 ? `${row.pt} (${row.soc})` : m.termLabel(row));
  m.termKey = (row) => (m.level === 'PT' ? `${row.soc}|${row.pt}` : row.soc);
  m.byName = (a, b) => (a.pt || a.soc).localeCompare(b.pt || b.soc);
  // The client-side filters (minimum incidence, search) and the sort.
  const needle = m.q.toLowerCase();
  m.shown = m.rows.filter((row) => (!m.min || m.maxP(row) * 100 >= m.min) &&
    (!needle || `${row.pt ?? ''} ${row.soc ?? ''}`.toLowerCase().includes(needle)));
  m.shown.sort(m.sort === 'alpha' ? m.byName
    : m.sort === 'rd' && m.hasComparisons ? (a, b) => m.maxRd(b) - m.maxRd(a) || m.byName(a, b)
      : (a, b) => m.totalN(b) - m.totalN(a) || m.maxP(b) - m.maxP(a) || m.byName(a, b));
  return m;
}

export async function render(ctx) {
  const {main, signal, params, query} = ctx;
  const chartsLoaded = loadCharts();
  const trial = await loadTrial(params.trial, signal);
  ctx.setTitle(`${trial.trialId} incidence`);
  const pre = modelOf(trial, query, {rows: [], overall: null});
  const data = await fetchTables({trial, level: pre.level, tp: pre.tp, subset: pre.subset, maxGrade: pre.count === 'maxgrade', signal});
  performance.mark('incidence:data');
  const m = modelOf(trial, query, data);
  const {form, state} = filtersForm(ctx, m);
  const summary = h('p', {class: 'note', id: 'incidence-summary', role: 'status'},
    `${m.shown.length} of ${m.rows.length} ${m.level === 'PT' ? 'preferred terms' : 'system organ classes'} shown`,
    m.min ? `, incidence ≥ ${m.min}% in at least one dose group` : '', m.q ? `, matching “${m.q}”` : '', '.');
  const gapNotes = [];
  if (m.gaps.length) gapNotes.push(h('p', {class: 'note gap'}, `Partly unavailable: ${m.gaps.join('; ')}.`));
  if (m.control && !m.hasComparisons && !m.gaps.length && m.rows.length) {
    gapNotes.push(h('p', {class: 'note gap'}, 'This server gives no risk differences vs control.'));
  }
  // A p < 0.05 among hundreds of terms is expected by chance: say these
  // columns are descriptive, as the term page does; signals are screened.
  if ((m.hasTrend || m.hasComparisons) && m.rows.length > 1) {
    gapNotes.push(h('p', {class: 'note', id: 'multiplicity-note'},
      `${m.hasTrend ? 'Dose-trend p-values (Cochran–Armitage, one-sided, exact where not marked ≈)' : 'Risk differences and their intervals'}` +
      `${m.hasTrend && m.hasComparisons ? ', risk differences and their intervals' : ''} are per term, not adjusted for ` +
      `multiplicity across the ${m.rows.length} ${m.level === 'PT' ? 'preferred terms' : 'system organ classes'}: descriptive. ` +
      'Signals (the Signals page) are tested with the trial\'s error control.'));
  }
  // Grades from a severity scale (Trial.grading) are not CTCAE grades.
  if (trial.grading) {
    const mixed = trial.grading.startsWith('CTCAE');
    gapNotes.push(h('p', {class: 'note', id: 'grading-note'}, `Grades are not ${mixed ? 'all ' : ''}CTCAE grades: ${trial.grading}; ` +
      `grade ≥ 3 ${mixed ? 'combines CTCAE grade ≥ 3 with severe or worse' : 'means severe or worse'}.`));
  }
  const coding = codingCheck(m);
  const chart = chartFigure(m, chartWidth(main), await chartsLoaded);
  performance.mark('incidence:chart');
  const tbl = incidenceTable(m);
  performance.mark('incidence:table');
  mount(main,
    pageHeader({title: 'Incidence explorer', crumbs: trialCrumbs(trial.trialId, ['Incidence', null]),
      subtitle: `${trial.trialId}: subjects with an adverse event by term and dose group. Select a term for its reports and subjects.`}),
    form,
    section('Chart', chartControls(ctx, m, state), chart),
    section(m.level === 'PT' ? 'Preferred terms' : 'System organ classes', coding, summary, scroller(tbl, 'Incidence table'), ...gapNotes),
  );
}

// The DSMB report's coding check (docs/report.md, t06a): preferred terms
// with subjects in more than one row, under two SOCs or spelt with a
// different case. Each such row understates the term, so it is said above
// the table; null when every term is coded one way (or on SOC rows).
function codingCheck(m) {
  if (m.level !== 'PT') return null;
  // Cumulative subjects by the selected timepoint, whatever the measure
  // shown; names folded to upper case in ASCII only, as the report and the
  // CLI fold them.
  const total = m.groups[m.groups.length - 1];
  const subjects = (row) => cellOf(row, total.id, m.tp)?.cumulative?.subjects ?? 0;
  const byName = new Map();
  for (const row of m.rows) {
    if (!subjects(row)) continue;
    const name = (row.pt ?? '').replace(/[a-z]/g, (c) => c.toUpperCase());
    byName.set(name, [...(byName.get(name) ?? []), row]);
  }
  // As the report's table: most subjects first, then SOC and PT (code units).
  const key = (r) => `${r.soc}\u0000${r.pt}`;
  const split = [...byName.values()].filter((rows) => rows.length > 1)
    .map((rows) => rows.sort((a, b) => subjects(b) - subjects(a) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)));
  if (!split.length) return null;
  const list = h('ul', null, ...split.map((rows) => h('li', null,
    rows.map((r) => `${r.pt} (${r.soc}): ${subjects(r)}`).join('; '))));
  return h('div', {class: 'alert', role: 'note', id: 'coding-check'},
    h('p', null, `Coding check: ${split.length} preferred term${split.length === 1 ? ' is' : 's are'} counted in more than one row `,
      '(under two system organ classes, or spelt with a different case), so each row understates the term. Subjects in total:'),
    list);
}

// The filters; every change is a new URL (so a view is shareable).
function filtersForm(ctx, m) {
  const {trial, tps} = m;
  const form = h('form', {class: 'controls', 'aria-label': 'Incidence filters', id: 'incidence-filters'});
  const levelSel = select([['PT', 'SOC → preferred term'], ['SOC', 'System organ class']], m.level, {name: 'level'});
  const tpSel = select(tps.map((t) => [t.timepointId, t.label || t.timepointId]), m.tp, {name: 'tp'});
  const measureSel = select([['cumulative', 'Cumulative (of dosed)'], ['interval', 'Within the window (of at risk)']], m.measure, {name: 'measure'});
  const countSel = select([['subjects', 'Subjects, n (%)'], ['events', 'Events'], ['maxgrade', 'Subjects by maximum grade']], m.count, {name: 'count'});
  const subsetSel = select(subsetChoices(trial), m.subset.key, {name: 'subset'});
  const minInput = h('input', {type: 'number', name: 'min', min: '0', max: '100', step: '1', value: m.min ? String(m.min) : '', placeholder: '0', inputmode: 'decimal'});
  const qInput = h('input', {type: 'search', name: 'q', value: m.q, placeholder: 'PT or SOC', autocomplete: 'off'});
  const sortSel = select([['freq', 'Frequency (total)'], ['alpha', 'Alphabetical'], ...(m.hasComparisons ? [['rd', 'Risk difference']] : [])], m.sort, {name: 'sort'});
  const ciBox = h('input', {type: 'checkbox', name: 'ci', id: 'ci-toggle', checked: m.showCi});
  form.append(
    field('Rows', levelSel), field('Timepoint', tpSel), field('Incidence', measureSel), field('Count', countSel),
    field('AEs counted', subsetSel), field('Min. incidence in a group (%)', minInput), field('Search', qInput),
    field('Sort', sortSel),
    h('label', {class: 'check', for: 'ci-toggle'}, ciBox, 'Show 95% CI'),
    h('button', {type: 'submit', class: 'secondary'}, 'Apply'),
  );
  const state = () => ({
    level: levelSel.value === 'PT' ? '' : levelSel.value,
    tp: tpSel.value === tps[tps.length - 1]?.timepointId ? '' : tpSel.value,
    measure: measureSel.value === 'cumulative' ? '' : measureSel.value,
    count: countSel.value === 'subjects' ? '' : countSel.value,
    subset: subsetSel.value,
    min: minInput.value && Number(minInput.value) > 0 ? minInput.value : '',
    q: qInput.value.trim(),
    sort: sortSel.value === 'freq' ? '' : sortSel.value,
    ci: ciBox.checked ? '' : '0',
    chart: m.chartKind === 'dot' ? '' : m.chartKind,
    top: m.query.top ?? '',
  });
  for (const el of [levelSel, tpSel, measureSel, countSel, subsetSel, sortSel, ciBox, minInput]) {
    el.addEventListener('change', () => ctx.setQuery(state()));
  }
  let typing = null;
  qInput.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => ctx.setQuery(state(), {replace: true}), 350);
  });
  ctx.onDispose(() => clearTimeout(typing));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.setQuery(state());
  });
  return {form, state};
}

// The reports behind a term: the term, the subset, onset up to the
// timepoint (and from its window's first day, within the window).
function reportsHref(m, row) {
  const {tps} = m;
  const i = tps.findIndex((t) => t.timepointId === m.tp);
  const onsetMax = m.measure === 'interval' || i < tps.length - 1 ? tps[i]?.studyDay : '';
  const onsetMin = m.measure === 'interval' && i > 0 ? tps[i - 1].studyDay + 1 : '';
  return trialHash(m.trial.trialId, 'reports', {
    soc: row.soc, pt: m.level === 'PT' ? row.pt : '', subset: m.subset.key, onset_min: onsetMin, onset_max: onsetMax, order: 'onset',
  });
}

function tableColumns(m) {
  const {trial, groups, control} = m;
  const cellContent = (row, g) => {
    const e = m.est(row, g);
    if (!e) return '—';
    if (m.count === 'events') return String(e.events);
    return h('span', null, h('span', {class: 'npct'}, nPct(e.subjects, e.denominator, e.proportion)),
      m.showCi && e.denominator ? h('span', {class: 'ci'}, ci(e.ciLower, e.ciUpper)) : null);
  };
  const groupCols = groups.map((g) => ({
    key: g.total ? 'total' : g.id,
    label: groupHeader(g.label, m.denom(g)),
    numeric: true,
    cell: (row) => cellContent(row, g),
    attrs: (row) => {
      const e = m.est(row, g);
      return {dataset: {term: m.termKey(row), group: g.id, n: String(e?.subjects ?? ''), d: String(e?.denominator ?? ''), events: String(e?.events ?? '')}};
    },
  }));
  const rdCols = m.hasComparisons ? m.dose.filter((g) => !g.control).map((g) => ({
    key: `rd-${g.id}`,
    label: h('span', null, `RD ${g.label}`, h('span', {class: 'sub'}, `vs ${control.label}, % [95% CI]`)),
    numeric: true,
    cell: (row) => {
      const c = m.vsControl(row, g);
      if (!c) return '—';
      return h('span', null, h('span', {class: 'npct'}, `${(100 * c.riskDifference).toFixed(1)}`),
        m.showCi ? h('span', {class: 'ci'}, `[${pct(c.riskDifferenceLower)}, ${pct(c.riskDifferenceUpper)}]`) : null);
    },
    attrs: (row) => ({dataset: {term: m.termKey(row), rd: g.id}}),
  })) : [];
  const trendCol = m.hasTrend ? [{
    // The server tests the dose trend of cumulative incidence (subjects)
    // only: say so in the header whenever the cells show something else —
    // within the window, where an all-zero row can carry a small p, or
    // events.
    key: 'trend', label: h('span', null, 'Dose trend', h('span', {class: 'sub'},
      m.measure === 'interval' || m.count === 'events'
        ? `one-sided p, subjects cumulative to ${timepointLabel(m.trial, m.tp)}` : 'one-sided p')), numeric: true,
    cell: (row) => {
      const t = m.trendOf(row);
      return t ? `${pValue(t.pValue)}${t.exact ? '' : ' ≈'}` : '—';
    },
    attrs: (row) => ({dataset: {term: m.termKey(row), trend: String(m.trendOf(row)?.pValue ?? '')}}),
  }] : [];
  const columns = [
    {key: 'term', label: m.level === 'PT' ? 'System organ class / Preferred term' : 'System organ class', rowHeader: true,
      cell: (row) => h('span', {class: 'term-cell'},
        row.__soc ? row.soc : h('a', {href: reportsHref(m, row), title: `Reports and subjects behind ${m.termLabel(row)}`}, m.termLabel(row)),
        h('a', {href: termHash(trial.trialId, row, {subset: m.subset.key, measure: m.measure === 'interval' ? 'interval' : ''}), class: 'over-time', 'aria-label': `${m.termLabel(row) || row.soc} over time`, title: 'Incidence over time'}, '↗')),
      attrs: (row) => ({dataset: {term: m.termKey(row)}})},
    ...groupCols, ...rdCols, ...trendCol,
  ];
  return m.count === 'maxgrade' ? maxGradeColumns(m, columns) : columns;
}

// AET04: under each term, one row per highest grade with its subjects.
function maxGradeColumns(m, columns) {
  return columns.map((c) => {
    if (c.key === 'term') {
      return {...c, cell: (row) => (row.__grade ? `Grade ${row.__grade}` : c.cell(row)),
        attrs: (row) => (row.__grade ? {class: 'indent', dataset: {term: m.termKey(row), grade: String(row.__grade)}} : c.attrs(row))};
    }
    const g = m.groups.find((x) => (x.total ? 'total' : x.id) === c.key);
    if (!g) return {...c, cell: (row) => (row.__grade ? '' : c.cell(row))};
    return {...c, cell: (row) => {
      if (!row.__grade) return c.cell(row);
      const n = (cellOf(row, g.id, m.tp)?.maxGradeSubjects ?? [])[row.__grade - 1] ?? 0;
      return nPct(n, m.denom(g));
    }, attrs: (row) => (row.__grade ? {dataset: {term: m.termKey(row), group: g.id, grade: String(row.__grade)}} : c.attrs(row))};
  });
}

function expandMaxGrade(m, row) {
  if (m.count !== 'maxgrade') return [row];
  const out = [row];
  for (let k = 0; k < 5; k++) {
    if (m.groups.some((g) => (cellOf(row, g.id, m.tp)?.maxGradeSubjects ?? [])[k])) out.push({...row, __grade: k + 1});
  }
  return out;
}

// What the table counts, by what, over which reports and when: events are
// AE reports (a subject may have several), not subjects.
function tableCaption(m) {
  const by = m.level === 'PT' ? 'by system organ class and preferred term' : 'by system organ class';
  const what = {events: `Number of AE reports (events) ${by}`, maxgrade: `Subjects by their maximum grade, ${by}`}[m.count] ??
    `Subjects with ≥ 1 AE ${by}`;
  const scope = `${m.subset.key ? `${m.subset.label} only` : 'all AEs'}, ${m.measure === 'interval' ? 'within the window of' : 'cumulative to'} ${timepointLabel(m.trial, m.tp)}`;
  const unit = m.count === 'events' ? '' : `: n (%)${m.showCi ? ' [95% exact CI]' : ''}`;
  return `${what} — ${scope}${unit}`;
}

function incidenceTable(m) {
  const caption = tableCaption(m);
  const columns = tableColumns(m);
  const empty = m.rows.length ? 'No term matches the filters.' : 'No adverse events counted.';
  const expand = (row) => expandMaxGrade(m, row);
  if (m.level !== 'PT' || m.sort === 'rd') {
    return table({caption, id: 'incidence-table', className: 'fixed-layout', columns, rows: m.shown.flatMap(expand), empty});
  }
  // SOC sections, each headed by its own row of counts.
  const bySoc = new Map();
  for (const row of m.shown) {
    if (!bySoc.has(row.soc)) bySoc.set(row.soc, []);
    bySoc.get(row.soc).push(row);
  }
  const socRow = (s) => (m.socRows ?? []).find((r) => r.soc === s);
  const socs = [...bySoc.keys()].sort(m.sort === 'alpha' ? (a, b) => a.localeCompare(b)
    : (a, b) => (socRow(b) ? m.totalN(socRow(b)) : 0) - (socRow(a) ? m.totalN(socRow(a)) : 0) || a.localeCompare(b));
  return table({
    caption, id: 'incidence-table', className: 'fixed-layout', columns, empty,
    sections: socs.map((s) => ({label: s, rows: bySoc.get(s).flatMap(expand), attrs: {dataset: {soc: s}},
      row: socRow(s) ? {...socRow(s), __soc: true} : {soc: s, __soc: true, cells: []}})),
  });
}

function chartControls(ctx, m, state) {
  const chartSel = select([['dot', 'Incidence (dot plot)'], ...(m.control ? [['forest', 'Risk difference vs control (forest plot)'],
    ['rr', 'Relative risk vs control (forest plot)']] : [])], m.chartKind, {name: 'chart'});
  const topInput = h('input', {type: 'number', name: 'top', min: '5', max: '200', step: '5', value: String(m.top)});
  chartSel.addEventListener('change', () => ctx.setQuery({...state(), chart: chartSel.value === 'dot' ? '' : chartSel.value}));
  topInput.addEventListener('change', () => ctx.setQuery({...state(), top: topInput.value === '30' ? '' : topInput.value}));
  const form = h('form', {class: 'controls', 'aria-label': 'Chart options'}, field('Chart', chartSel), field('Terms charted', topInput));
  form.addEventListener('submit', (e) => e.preventDefault());
  return form;
}

// charts: charts/charts.js's exports (loadCharts).
function chartFigure(m, width, charts) {
  // The dot plot leads with the highest incidence in any group; among equal
  // ones, the table's order (the total's frequency), not the alphabet.
  const terms = [...m.shown].sort(m.chartKind === 'dot'
    ? (a, b) => m.maxP(b) - m.maxP(a) || m.totalN(b) - m.totalN(a) || m.byName(a, b)
    : (a, b) => m.maxRd(b) - m.maxRd(a) || m.byName(a, b)).slice(0, m.top);
  if (!terms.length) return note('Nothing to chart: no term matches the filters.');
  if (m.chartKind === 'dot') return dotFigure(m, terms, width, charts);
  if (!m.hasComparisons) {
    return h('p', {class: 'note gap'}, 'Risk differences vs the control arm are not available from this server (GetIncidence compare_to_control).');
  }
  return forestFigure(m, terms, width, charts);
}

function dotFigure(m, terms, width, {dotPlot}) {
  const events = m.count === 'events';
  const points = [];
  for (const row of terms) {
    for (const s of m.styles) {
      const e = m.est(row, s);
      if (!e) continue;
      const t = m.chartLabel(row);
      if (events) {
        points.push({term: t, key: s.key, p: e.events, lo: e.events, hi: e.events, title: `${t}, ${s.label}: ${e.events} events`});
      } else if (e.denominator) {
        points.push({term: t, key: s.key, p: e.proportion, lo: e.ciLower, hi: e.ciUpper,
          title: `${t}, ${s.label}: ${nPct(e.subjects, e.denominator, e.proportion)} ${ci(e.ciLower, e.ciUpper)}`});
      }
    }
  }
  const labels = terms.map(m.chartLabel);
  const chart = events
    ? dotPlot({points, terms: labels, styles: m.styles, width, percent: false, xLabel: 'Events',
      label: 'Dot plot of the number of events per term and dose group. The table has every term.'})
    : dotPlot({points, terms: labels, styles: m.styles, width,
      label: `Dot plot: ${m.measure} incidence of the ${terms.length} most frequent terms per dose group with 95% CIs. The table has every term.`});
  const more = m.shown.length - terms.length;
  return figure({
    id: 'incidence-figure',
    title: `${events ? 'Events' : 'Incidence'} of the ${terms.length} ${more ? 'most frequent ' : ''}term${terms.length === 1 ? '' : 's'} shown${events ? '' : ', with 95% exact CIs'}`,
    legend: legend(m.styles, {title: 'Dose groups'}),
    chart,
    caption: more ? `${more} more term(s) in the table.` : null,
  });
}

const rdText = (c) => `${(100 * c.riskDifference).toFixed(1)} [${pct(c.riskDifferenceLower)}, ${pct(c.riskDifferenceUpper)}]`;
const rrText = (c) => (c.relativeRisk === undefined ? 'n/a'
  : `${c.relativeRisk.toFixed(2)} [${c.relativeRiskLower === undefined ? '—' : c.relativeRiskLower.toFixed(2)}, ${c.relativeRiskUpper === undefined ? '∞' : c.relativeRiskUpper.toFixed(2)}]`);

function forestFigure(m, terms, width, {forestPlot}) {
  const rr = m.chartKind === 'rr';
  const control = m.control;
  const styles = m.styles.filter((s) => !s.total && !s.control);
  const points = [];
  const rows = [];
  for (const row of terms) {
    for (const s of styles) {
      const c = m.vsControl(row, s);
      if (!c) continue;
      rows.push({row, s, c});
      const t = m.chartLabel(row);
      if (rr && c.relativeRisk === undefined) continue;
      points.push(rr
        ? {term: t, key: s.key, est: c.relativeRisk, lo: c.relativeRiskLower ?? c.relativeRisk, hi: c.relativeRiskUpper ?? c.relativeRisk * 10,
          title: `${t}, ${s.label} vs ${control.label}: RR ${rrText(c)}`}
        : {term: t, key: s.key, est: c.riskDifference, lo: c.riskDifferenceLower, hi: c.riskDifferenceUpper,
          title: `${t}, ${s.label} vs ${control.label}: RD ${rdText(c)}`});
    }
  }
  const alternative = table({
    caption: `${rr ? 'Relative risk' : 'Risk difference'} vs ${control.label} (95% Miettinen–Nurminen CI)`,
    id: 'forest-table',
    rows,
    columns: [
      {key: 'term', label: 'Term', rowHeader: true, cell: (r) => m.chartLabel(r.row)},
      {key: 'group', label: 'Dose group', cell: (r) => r.s.label},
      {key: 'x', label: 'Group n/N', numeric: true, cell: (r) => `${m.est(r.row, r.s)?.subjects}/${m.est(r.row, r.s)?.denominator}`},
      {key: 'c', label: `${control.label} n/N`, numeric: true, cell: (r) => `${r.c.controlSubjects}/${r.c.controlDenominator}`},
      {key: 'rd', label: 'RD (%) [95% CI]', numeric: true, cell: (r) => rdText(r.c)},
      {key: 'rr', label: 'RR [95% CI]', numeric: true, cell: (r) => rrText(r.c)},
    ],
  });
  return figure({
    id: 'forest-figure',
    title: `${rr ? 'Relative risk' : 'Risk difference'} vs ${control.label}, ${terms.length} term(s) with the largest risk difference`,
    legend: legend(styles, {title: 'Dose groups'}),
    chart: points.length ? forestPlot({points, terms: [...new Set(points.map((p) => p.term))], styles, width, measure: rr ? 'rr' : 'rd',
      label: `Forest plot of the ${rr ? 'relative risk' : 'risk difference'} of each dose group vs ${control.label} with 95% CIs; the table alternative follows.`})
      : note('No finite estimate to chart.'),
    caption: rr ? 'Terms without events in the control arm have no relative risk (infinite); an open upper limit is drawn to the edge.'
      : 'Percentage points; dashed line: no difference.',
    table: alternative,
  });
}
