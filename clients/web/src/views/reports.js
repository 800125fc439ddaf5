// Report listing (ListReports): the reports behind an incidence cell, a
// subject's or a site's reports; filters as URL query; each report's stored
// versions on demand (GetReport). A site principal sees its sites only.
//
// URL query: pt soc subject site group subset=serious|grade3|related|aesi:CAT|death
//   onset_min onset_max order=onset withdrawn=include (also list reports
//   withdrawn as entered in error, marked; left out by default, as they count
//   nowhere)

import {api, listAll, v1, may, errorMessage, ApiError} from '../api.js';
import {h, clear, mount, select, field} from '../dom.js';
import {table, scroller} from '../table.js';
import {dateTime, enumWords} from '../format.js';
import {trialHash, subjectHash} from '../links.js';
import * as N from '../normalize.js';
import {subsetChoices, subsetInWords, subsetRequest} from '../subsets.js';
import {loadTrial, pageHeader, trialCrumbs, section, groupById, showMore} from './common.js';

export const name = 'reports';

const PAGE = 200;

// ListReports' filters from the view's query. A subset is the server's
// (ListReportsRequest.subset): the rule of the incidence subset whose cell
// linked here, so the list holds exactly the cell's reports.
function filtersOf(query) {
  const f = {
    pt: query.pt, soc: query.soc, subject_id: query.subject, site_id: query.site,
    dose_group_id: query.group, onset_day_min: query.onset_min, onset_day_max: query.onset_max,
    order_by: query.order === 'onset' ? 'onset_study_day' : '',
    include_entered_in_error: query.withdrawn === 'include' ? 'true' : '',
  };
  return {...f, ...subsetRequest(query.subset)};
}

export function reportColumns(trial, {withSubject = true, withGroup = true, withEnd = true, withSoc = true, onVersions} = {}) {
  const rep = (r) => r.current?.report ?? {};
  return [
    {key: 'report', label: 'Report', rowHeader: true, cell: (r) => h('span', null, h('span', {class: 'mono nowrap'}, `${r.siteId} / ${r.reportId}`),
      rep(r).enteredInError ? [' ', h('span', {class: 'badge withdrawn', title: rep(r).enteredInErrorReason}, 'entered in error')] : null),
      attrs: (r) => ({dataset: {report: `${r.siteId}/${r.reportId}`}})},
    ...(withSubject ? [{key: 'subject', label: 'Subject', className: 'nowrap', cell: (r) => h('a', {href: subjectHash(trial.trialId, rep(r).subjectId)}, rep(r).subjectId)}] : []),
    ...(withGroup ? [{key: 'group', label: 'Dose group', className: 'nowrap',
      cell: (r) => h('abbr', {title: groupById(trial, r.current?.doseGroupId)?.label ?? ''}, r.current?.doseGroupId ?? '')}] : []),
    {key: 'onset', label: 'Onset day', numeric: true, cell: (r) => h('span', null, h('span', {class: 'npct'}, String(rep(r).onsetStudyDay ?? '—')),
      h('span', {class: 'sub'}, r.current?.timepointId ?? ''))},
    ...(withEnd ? [{key: 'end', label: 'End day', numeric: true, cell: (r) => (rep(r).endStudyDay ?? '')}] : []),
    {key: 'pt', label: withSoc ? 'Preferred term / SOC' : 'Preferred term', className: 'wrap', cell: (r) => h('span', null, rep(r).pt, withSoc ? h('span', {class: 'sub'}, rep(r).soc) : null)},
    {key: 'grade', label: 'Grade', numeric: true, cell: (r) => h('span', {class: `grade grade-${rep(r).grade}`}, String(rep(r).grade))},
    {key: 'serious', label: 'Serious', cell: (r) => (rep(r).serious ? h('span', {class: 'badge sae'}, rep(r).death ? 'SAE · death' : 'SAE') : 'no')},
    {key: 'related', label: 'Relatedness', cell: (r) => enumWords(rep(r).relatedness, 'RELATEDNESS_')},
    {key: 'outcome', label: 'Outcome', cell: (r) => enumWords(rep(r).outcome, 'OUTCOME_')},
    {key: 'aesi', label: 'AESI', cell: (r) => (rep(r).aesi ?? []).map((a) => h('span', {class: 'badge aesi'}, a.replaceAll('_', ' ')))},
    {key: 'version', label: 'Version', numeric: true, cell: (r) => (onVersions
      ? h('button', {type: 'button', class: 'secondary', 'aria-label': `Versions of report ${r.reportId}`, on: {click: (e) => onVersions(r, e.currentTarget)}}, `v${rep(r).version}`)
      : `v${rep(r).version}`)},
    {key: 'received', label: 'Received (by)', cell: (r) => {
      const [day, time] = dateTime(r.current?.receiveTime).split(' ');
      return h('span', null, h('span', {class: 'nowrap'}, day ?? ''), h('span', {class: 'sub nowrap'}, time ? `${time} UTC` : ''),
        r.current?.submittedBy ? h('span', {class: 'sub'}, r.current.submittedBy) : null);
    }},
  ];
}

// Whether a stored version is the counted one, and why not.
function countedText(v, newest) {
  if (v.supersededOnArrival) return 'no (superseded on arrival)';
  if (!newest) return 'superseded';
  if (v.report?.enteredInError) return `no: withdrawn, entered in error (${v.report.enteredInErrorReason})`;
  return 'yes (current)';
}

// The versions of one report (GetReport) as a table.
export async function versionsTable(trial, r, signal) {
  const report = N.report(await api(v1('trials', trial.trialId, 'sites', r.siteId, 'reports', {path: r.reportId}), {signal}));
  return table({
    caption: `Report ${report.siteId} / ${report.reportId}: every stored version, newest first`,
    className: 'versions',
    rows: report.versions ?? [],
    columns: [
      {key: 'version', label: 'Version', rowHeader: true, cell: (v) => `v${v.report?.version}`},
      {key: 'received', label: 'Received', cell: (v) => dateTime(v.receiveTime)},
      {key: 'by', label: 'Submitted by', cell: (v) => v.submittedBy || '—'},
      {key: 'pt', label: 'Preferred term', cell: (v) => v.report?.pt},
      {key: 'onset', label: 'Onset day', numeric: true, cell: (v) => v.report?.onsetStudyDay ?? '—'},
      {key: 'grade', label: 'Grade', numeric: true, cell: (v) => String(v.report?.grade)},
      {key: 'serious', label: 'Serious', cell: (v) => (v.report?.serious ? 'yes' : 'no')},
      {key: 'outcome', label: 'Outcome', cell: (v) => enumWords(v.report?.outcome, 'OUTCOME_')},
      {key: 'state', label: 'Counted', cell: (v) => countedText(v, v === report.versions[0])},
    ],
  });
}

// The click handler of a report's version button: opens (or closes) a row
// under the report listing every stored version.
export function versionsToggle(trial, signal) {
  return async (r, button) => {
    const tr = button.closest('tr');
    const next = tr.nextElementSibling;
    if (next?.classList.contains('versions-row')) {
      next.remove();
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    button.setAttribute('aria-expanded', 'true');
    const td = h('td', {colspan: String(tr.children.length)}, 'Loading versions…');
    tr.after(h('tr', {class: 'versions-row'}, td));
    try {
      td.replaceChildren(await versionsTable(trial, r, signal));
    } catch (err) {
      td.replaceChildren(String(err.message));
    }
  };
}

export async function render(ctx) {
  const {main, signal, params, query, caller} = ctx;
  const trial = await loadTrial(params.trial, signal);
  ctx.setTitle(`${trial.trialId} reports`);
  const server = filtersOf(query);
  const parent = v1('trials', trial.trialId);
  const {form, inputs} = filterForm(ctx, trial);
  const header = (subtitle) => pageHeader({title: 'Adverse-event reports', crumbs: trialCrumbs(trial.trialId, ['Reports', null]),
    subtitle: h('span', null, subtitle, caller.role === 'site' ? ` Your role sees site ${(caller.sites ?? []).join(', ')} only.` : '')});

  let page;
  try {
    page = await api(`${parent}/reports`, {query: {...server, page_size: PAGE}, signal});
  } catch (err) {
    // Filters the server refuses (an onset range the wrong way round, say)
    // keep the form, with the refused fields marked, to correct them.
    if (!(err instanceof ApiError && err.httpStatus === 400)) throw err;
    markInvalid(inputs, err);
    mount(main, header(`${trial.trialId}: no reports listed.`), form,
      h('div', {class: 'alert', role: 'alert', id: 'reports-error'}, errorMessage(err)));
    return;
  }
  const reports = (page.reports ?? []).map(N.report);
  const total = page.totalSize ?? reports.length;
  const columns = reportColumns(trial, {onVersions: versionsToggle(trial, signal), withSoc: !query.pt,
    withEnd: reports.some((r) => r.current?.report?.endStudyDay !== undefined)});
  const tbl = table({
    caption: `${total} report${total === 1 ? '' : 's'}${describeFilters(query)} (current versions)`,
    id: 'reports-table', columns, rows: reports, empty: 'No report matches.',
  });
  const pager = showMore({tbl, columns, rows: reports, nextToken: page.nextPageToken ?? '',
    describe: (n) => `Showing ${n} of ${total}.`, onAppend: () => summarize(trial, reports, summary),
    fetchPage: async (token) => {
      const next = await api(`${parent}/reports`, {query: {...server, page_size: PAGE, page_token: token}, signal});
      return {rows: (next.reports ?? []).map(N.report), nextToken: next.nextPageToken ?? ''};
    }});
  const suggestions = total === 0 && (query.pt || query.soc) ? await termSuggestions(ctx, trial, query) : null;

  const summary = {count: h('span', {id: 'reports-summary'}), subjects: h('p', {class: 'note', id: 'reports-subjects'})};
  summarize(trial, reports, summary);
  mount(main, header(summary.count), form,
    section('Reports', scroller(tbl, 'Reports table'), suggestions, pager, summary.subjects));
}

// Whom the listed reports are of: the header's count and the subjects'
// links, redrawn when "Show more" adds a page.
function summarize(trial, reports, {count, subjects}) {
  const ids = [...new Set(reports.map((r) => r.current?.report?.subjectId))].sort();
  count.textContent = reports.length
    ? `${trial.trialId}: ${ids.length} subject${ids.length === 1 ? '' : 's'} in the ${reports.length} report${reports.length === 1 ? '' : 's'} shown.`
    : `${trial.trialId}: no report matches these filters.`;
  subjects.replaceChildren(...(ids.length ? ['Subjects: ', ...ids.map((s, i) => [i ? ', ' : '', h('a', {href: subjectHash(trial.trialId, s)}, s)]).flat()] : []));
  subjects.hidden = !ids.length;
}

// The caption's words for the filters: " — PT X, serious, onset day 1–91".
function describeFilters(query) {
  const describe = [];
  if (query.pt) describe.push(`PT ${query.pt}`);
  if (query.soc) describe.push(`SOC ${query.soc}`);
  if (query.subset) describe.push(subsetInWords(query.subset));
  if (query.onset_min || query.onset_max) describe.push(`onset day ${query.onset_min || 1}–${query.onset_max || 'end'}`);
  if (query.subject) describe.push(`subject ${query.subject}`);
  if (query.site) describe.push(`site ${query.site}`);
  if (query.group) describe.push(`dose group ${query.group}`);
  return describe.length ? ` — ${describe.join(', ')}` : '';
}

// The filter form; its fields are the view's query.
function filterForm(ctx, trial) {
  const {query} = ctx;
  const form = h('form', {class: 'controls', 'aria-label': 'Report filters'});
  const day = (name) => h('input', {type: 'number', name, min: '1', step: '1', inputmode: 'numeric', value: query[name] ?? ''});
  const inputs = {
    pt: h('input', {type: 'text', name: 'pt', value: query.pt ?? ''}),
    soc: h('input', {type: 'text', name: 'soc', value: query.soc ?? ''}),
    subject: h('input', {type: 'text', name: 'subject', value: query.subject ?? ''}),
    site: select([['', 'All'], ...(trial.sites ?? []).map((s) => [s.siteId, s.siteId])], query.site, {name: 'site'}),
    group: select([['', 'All'], ...(trial.doseGroups ?? []).map((g) => [g.doseGroupId, g.label || g.doseGroupId])], query.group, {name: 'group'}),
    subset: select(subsetChoices(trial), query.subset, {name: 'subset'}),
    onset_min: day('onset_min'),
    onset_max: day('onset_max'),
    order: select([['', 'Newest received first'], ['onset', 'Onset day']], query.order, {name: 'order'}),
    withdrawn: select([['', 'Left out'], ['include', 'Listed, marked']], query.withdrawn, {name: 'withdrawn'}),
  };
  form.append(field('Preferred term', inputs.pt), field('System organ class', inputs.soc), field('Subject', inputs.subject),
    field('Site', inputs.site), field('Dose group', inputs.group), field('AEs', inputs.subset),
    field('Onset from day', inputs.onset_min), field('Onset to day', inputs.onset_max), field('Order', inputs.order),
    field('Entered in error', inputs.withdrawn),
    h('button', {type: 'submit', class: 'primary'}, 'Apply'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.setQuery(Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()])));
  });
  for (const k of ['site', 'group', 'subset', 'order', 'withdrawn']) inputs[k].addEventListener('change', () => form.requestSubmit());
  return {form, inputs};
}

// The form fields of ListReports' request fields.
const INPUT_OF_FIELD = {pt: 'pt', soc: 'soc', subject_id: 'subject', site_id: 'site', dose_group_id: 'group',
  subset: 'subset', aesi: 'subset', onset_day_min: 'onset_min', onset_day_max: 'onset_max'};
function markInvalid(inputs, err) {
  for (const v of err.fieldViolations) {
    const input = inputs[INPUT_OF_FIELD[v.field]];
    if (input) input.setAttribute('aria-invalid', 'true');
  }
}

// A PT or SOC filter matches its name exactly (as an incidence cell counts
// it); when nothing matches, the trial's terms that contain what was typed,
// whatever its case, are offered instead.
async function termSuggestions(ctx, trial, query) {
  if (!may(ctx.caller, 'GetIncidence') || !trial.timepoints?.length) return null;
  const rows = await listAll(v1('trials', trial.trialId, 'incidence'), 'terms', {signal: ctx.signal,
    query: {level: 'TERM_LEVEL_PT', timepoint_id: trial.timepoints.at(-1).timepointId, view: 'INCIDENCE_VIEW_COUNTS'}});
  const near = (typed, name) => Boolean(typed) && name !== typed && name.toLowerCase().includes(typed.toLowerCase());
  const seen = new Set();
  const links = [];
  for (const r of rows) {
    const key = query.pt ? `${r.soc}|${r.pt}` : r.soc;
    if (seen.has(key) || !(query.pt ? near(query.pt, r.pt) && (!query.soc || r.soc === query.soc) : near(query.soc, r.soc))) continue;
    seen.add(key);
    const next = query.pt ? {...query, pt: r.pt, soc: r.soc} : {...query, soc: r.soc};
    links.push(h('a', {href: trialHash(trial.trialId, 'reports', next)}, query.pt ? `${r.pt} (${r.soc})` : r.soc));
  }
  if (!links.length) return null;
  const shown = links.slice(0, 10);
  return h('p', {class: 'note', id: 'term-suggestions'}, `Terms match by their exact name. Did you mean `,
    shown.map((a, i) => [i ? (i === shown.length - 1 ? ' or ' : ', ') : '', a]), links.length > shown.length ? ` (or ${links.length - shown.length} more)` : '', '?');
}
