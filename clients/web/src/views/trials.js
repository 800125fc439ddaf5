// View 1: the trials the caller may see, with subjects, reports and open
// signal topics.

import {api, listAll, v1, may} from '../api.js';
import {h, clear, mount} from '../dom.js';
import {table, scroller} from '../table.js';
import {trialHash} from '../links.js';
import * as N from '../normalize.js';
import {pageHeader, section, alertBox, note} from './common.js';

export const name = 'trials';

const OPEN = new Set(['SIGNAL_STATUS_NEW', 'SIGNAL_STATUS_VALIDATED', 'SIGNAL_STATUS_UNDER_ASSESSMENT']);

// Per-trial counts; each may fail on its own (e.g. a role without access).
async function countsOf(trial, caller, signal) {
  const parent = v1('trials', trial.trialId);
  const out = {subjects: null, reports: null, openTopics: null, crossing: null};
  const jobs = [];
  if (may(caller, 'ListSubjects')) {
    // ListSubjectsResponse.total_size where the server gives it, else the
    // pages counted.
    jobs.push(api(`${parent}/subjects`, {query: {page_size: 1}, signal}).then(async (first) => {
      out.subjects = typeof first.totalSize === 'number'
        ? first.totalSize
        : (await listAll(`${parent}/subjects`, 'subjects', {signal, pageSize: 10000})).length;
    }));
  }
  if (may(caller, 'ListReports')) {
    jobs.push(api(`${parent}/reports`, {query: {page_size: 1}, signal})
      .then((r) => { out.reports = r.totalSize ?? 0; }));
  }
  if (may(caller, 'ListTopics')) {
    jobs.push(listAll(`${parent}/topics`, 'topics', {signal, map: N.topic}).then((topics) => {
      out.openTopics = topics.filter((t) => OPEN.has(t.status)).length;
      out.crossing = topics.filter((t) => t.crossing).length;
    }));
  }
  await Promise.all(jobs);
  return out;
}

export async function render(ctx) {
  const {main, signal, caller} = ctx;
  ctx.setTitle('Trials');
  const trials = await listAll('/v1/trials', 'trials', {signal, map: N.trial});
  const counts = await Promise.all(trials.map((t) => countsOf(t, caller, signal).catch((e) => ({error: e}))));
  const rows = trials.map((t, i) => ({...t, counts: counts[i]}));
  const num = (v) => (v === null || v === undefined ? '—' : String(v));
  const tbl = table({
    caption: `${trials.length} trial${trials.length === 1 ? '' : 's'}`,
    id: 'trials-table',
    sortable: true,
    rows,
    empty: 'No trials yet. An administrator creates them with aesignal trial create or aesignal import.',
    columns: [
      {key: 'trial', label: 'Trial', rowHeader: true, sort: (r) => r.trialId,
        cell: (r) => h('a', {href: trialHash(r.trialId)}, r.trialId),
        attrs: (r) => ({dataset: {trial: r.trialId}})},
      {key: 'title', label: 'Title', cell: (r) => r.title, className: 'wrap'},
      {key: 'groups', label: 'Dose groups', cell: (r) => (r.doseGroups ?? []).map((g) => g.doseGroupId).join(', '), className: 'wrap'},
      {key: 'subjects', label: 'Subjects', numeric: true, sort: (r) => r.counts.subjects ?? -1, cell: (r) => num(r.counts.subjects)},
      {key: 'reports', label: 'Reports', numeric: true, sort: (r) => r.counts.reports ?? -1, cell: (r) => num(r.counts.reports)},
      {key: 'open', label: 'Open topics', numeric: true, sort: (r) => r.counts.openTopics ?? -1,
        cell: (r) => (r.counts.openTopics === null || r.counts.openTopics === undefined ? '—'
          : h('a', {href: trialHash(r.trialId, 'signals', {status: 'open'}),
            class: r.counts.openTopics ? 'count-alert' : ''}, String(r.counts.openTopics)))},
      {key: 'crossing', label: 'Crossing now', numeric: true, sort: (r) => r.counts.crossing ?? -1, cell: (r) => num(r.counts.crossing)},
      {key: 'updated', label: 'Protocol version', numeric: true, cell: (r) => `v${r.version ?? 1}`},
    ],
  });
  mount(main, 
    pageHeader({title: 'Trials', subtitle: 'Subjects enrolled, adverse-event reports received and signal topics open for review (new, validated or under assessment).'}),
    section('All trials', scroller(tbl, 'Trials table')),
    counts.some((c) => c.error) ? alertBox(counts.find((c) => c.error).error) : null,
    note('Open a trial for its overview, incidence tables and signal queue.'),
  );
}
