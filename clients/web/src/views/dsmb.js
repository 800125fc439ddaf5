// The DSMB report (GenerateDsmbReport, docs/report.md): the data cut-off,
// the session (open: groups pooled; closed: by group, optionally coded) and
// an optional previous cut-off; the server builds the report from the data
// as they stood at the cut-off. The page shows its content hash and offers
// the HTML (which prints to PDF from any browser, or `aesignal report
// --format pdf`) and every table as CSV for download.
//
// URL query: cutoff session coded since keyed (a generated report is
// reachable by URL: the same query gives the same report and hash).
//
// A coding key (docs/report.md) is a secret: it is never in the URL nor in
// storage, only in this module's memory until the page is reloaded, and it
// is sent in the body of the report's POST form. The URL says only that a
// key was used (keyed=1), so a reload asks for it again.

import {api, v1, errorMessage} from '../api.js';
import {h, mount, select, field} from '../dom.js';
import {table, scroller} from '../table.js';
import {loadTrial, pageHeader, trialCrumbs, section, note} from './common.js';

export const name = 'dsmb';

// The key and the trial it was entered for (another trial's page never
// uses it).
let held = {trialId: '', key: ''};
const keyFor = (trialId) => (held.trialId === trialId ? held.key : '');

// The report the query asks for: GET, or with a coding key the POST form.
function fetchReport(trialId, query, signal) {
  const request = {
    cutoff: query.cutoff,
    session: query.session === 'open' ? 'DSMB_SESSION_OPEN' : 'DSMB_SESSION_CLOSED',
    coded: query.coded === '1' ? 'true' : undefined,
    since: query.since || undefined,
  };
  if (query.keyed !== '1') return api(v1('trials', trialId, 'dsmbReport'), {signal, query: request});
  return api(`${v1('trials', trialId, 'dsmbReport')}:generate`, {signal,
    body: {...request, coded: query.coded === '1', codingKey: keyFor(trialId)}});
}

// "2026-11-01T00:00:00Z" <-> the value of an <input type="datetime-local">
// read as UTC (the report's cut-off is a UTC instant).
function toLocalInput(rfc3339) {
  return rfc3339 ? rfc3339.replace(/Z$/, '').slice(0, 19) : '';
}
function fromLocalInput(value) {
  if (!value) return '';
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}Z`;
}
function nowUtc() {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

// A link that downloads `text` as `filename`; its object URL is released
// when the view goes (ctx.onDispose).
function downloadLink(ctx, text, type, filename, label, attrs = {}) {
  const url = URL.createObjectURL(new Blob([text], {type}));
  ctx.onDispose(() => URL.revokeObjectURL(url));
  return h('a', {href: url, download: filename, ...attrs}, label);
}

function reportResult(ctx, trialId, query, report) {
  const stem = `dsmb-${trialId}-${query.cutoff.replace(/[:]/g, '')}-${query.session}${query.coded ? '-coded' : ''}${query.keyed === '1' ? '-keyed' : ''}`;
  const tables = report.tables ?? [];
  const columns = [
    {key: 'id', label: 'File', cell: (t) => h('code', null, `${t.id}.csv`)},
    {key: 'title', label: 'Table', rowHeader: true, className: 'wrap wide', cell: (t) => t.title},
    {key: 'csv', label: 'CSV', cell: (t) => downloadLink(ctx, t.csv, 'text/csv', `${stem}-${t.id}.csv`,
      h('span', null, 'Download', h('span', {class: 'sr-only'}, ` ${t.title}`)), {id: `csv-${t.id}`})},
  ];
  return h('div', {id: 'dsmb-result'},
    h('dl', {class: 'facts'},
      h('div', null, h('dt', null, 'Data cut-off'), h('dd', null, query.cutoff)),
      h('div', null, h('dt', null, 'Session'), h('dd', null, query.session === 'open' ? 'Open (groups pooled)'
        : query.coded ? (query.keyed === '1' ? 'Closed, dose groups coded by a key' : 'Closed, dose groups coded in the trial\'s order')
          : query.keyed === '1' ? 'Closed, by dose group, with the key of the coded report' : 'Closed, by dose group')),
      h('div', null, h('dt', null, 'Content hash'), h('dd', null, h('code', {id: 'dsmb-hash'}, report.contentHash)))),
    h('p', {class: 'actions'},
      downloadLink(ctx, report.html, 'text/html', `${stem}.html`, 'Download the report (HTML)',
        {class: 'button', id: 'dsmb-download-html'})),
    note('The HTML is self-contained and prints to PDF with its running headers and page numbers from any ' +
      'browser (Print → Save as PDF); ', h('code', null, 'aesignal report --format pdf'),
      ' prints it with headless Chromium. Regenerating this cut-off later gives the same content hash.'),
    section('Tables', scroller(table({caption: `${tables.length} tables, each as CSV`, id: 'dsmb-tables', columns, rows: tables}),
      'Report tables')));
}

export async function render(ctx) {
  const {main, signal, params, query} = ctx;
  const trial = await loadTrial(params.trial, signal);
  ctx.setTitle(`${trial.trialId} DSMB report`);
  const cutoff = h('input', {type: 'datetime-local', step: '1', name: 'cutoff', required: true,
    value: toLocalInput(query.cutoff || nowUtc())});
  const session = select([['closed', 'Closed session (by dose group)'], ['open', 'Open session (groups pooled)']],
    query.session || 'closed', {name: 'session'});
  const coded = h('input', {type: 'checkbox', name: 'coded', checked: query.coded === '1'});
  const since = h('input', {type: 'datetime-local', step: '1', name: 'since', value: toLocalInput(query.since)});
  const key = h('input', {type: 'password', name: 'codingKey', autocomplete: 'off', minlength: '16',
    value: query.keyed === '1' ? keyFor(trial.trialId) : ''});
  const form = h('form', {class: 'controls', 'aria-label': 'DSMB report options'},
    field('Data cut-off (UTC)', cutoff), field('Session', session),
    field('Previous cut-off (UTC, optional)', since, 'the listings and the signal section then mark what is new or changed since'),
    h('label', {class: 'check'}, coded, ' Code the dose groups (A, B, C …)'),
    field('Coding key (closed session, optional)', key,
      'the unblinded statistician\'s secret: with coding, the letters do not follow the trial\'s order; ' +
      'without, the report lists which letter is which group. Kept in this page only, never in its address.'),
    h('button', {type: 'submit', class: 'primary', id: 'dsmb-generate'}, 'Generate'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    held = {trialId: trial.trialId, key: session.value === 'closed' ? key.value : ''};
    const next = {cutoff: fromLocalInput(cutoff.value), session: session.value,
      coded: coded.checked && session.value === 'closed' ? '1' : '', since: fromLocalInput(since.value),
      keyed: held.key ? '1' : ''};
    // A key entered again (after a reload) or corrected leaves the address
    // as it was, which fires no hashchange: render all the same.
    const before = location.hash;
    ctx.setQuery(next);
    if (location.hash === before) ctx.setQuery(next, {replace: true});
  });

  let result = note('Choose the data cut-off and the session, then Generate.');
  if (query.cutoff && query.keyed === '1' && !keyFor(trial.trialId)) {
    result = note('This report was made with a coding key, which the page does not keep: enter the key again, then Generate.');
  } else if (query.cutoff) {
    try {
      const report = await fetchReport(trial.trialId, query, signal);
      result = reportResult(ctx, trial.trialId, query, report);
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      result = h('div', {class: 'alert', role: 'alert', id: 'dsmb-error'}, errorMessage(err));
    }
  }
  mount(main,
    pageHeader({title: 'DSMB report', crumbs: trialCrumbs(trial.trialId, ['DSMB report', null]),
      subtitle: `${trial.trialId}: the safety report for the Data Safety Monitoring Board, from the data as they stood at a cut-off.`}),
    form,
    section('Report', result));
}
