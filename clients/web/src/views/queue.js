// View 5a: the signal queue. Topics ranked (crossing first, then by
// strength), filtered by state and level; new and changed topics arrive
// live (topics:watch, Server-Sent Events) without a reload.
//
// URL query: status=open|all|new|validated|refuted|under_assessment|closed
//   level=PT|SOC|OVERALL crossing=1

import {api, listAll, v1} from '../api.js';
import {watch} from '../sse.js';
import * as N from '../normalize.js';
import {h, clear, mount, select, field} from '../dom.js';
import {table, scroller} from '../table.js';
import {statusLabel, dateTime, topicLabel} from '../format.js';
import {topicHash} from '../links.js';
import {loadTrial, pageHeader, trialCrumbs, section, statusBadge, note, alertBox} from './common.js';

export const name = 'queue';

const OPEN = new Set(['SIGNAL_STATUS_NEW', 'SIGNAL_STATUS_VALIDATED', 'SIGNAL_STATUS_UNDER_ASSESSMENT']);
const STATES = ['new', 'validated', 'under_assessment', 'refuted', 'closed'];
const LEVELS = {PT: 'TERM_LEVEL_PT', SOC: 'TERM_LEVEL_SOC', OVERALL: 'TERM_LEVEL_OVERALL'};

// ListTopics' order: crossing first, strength descending, then topic id.
export function rank(a, b) {
  return Number(b.crossing) - Number(a.crossing) || b.strength - a.strength || (a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : 0);
}

export async function render(ctx) {
  const {main, signal, params, query} = ctx;
  const trial = await loadTrial(params.trial, signal);
  ctx.setTitle(`${trial.trialId} signal queue`);
  const parent = v1('trials', trial.trialId);
  const status = query.status === 'all' || STATES.includes(query.status) ? query.status : 'open';
  const level = LEVELS[query.level] ? query.level : '';
  const crossingOnly = query.crossing === '1';

  const serverQuery = {};
  if (STATES.includes(status)) serverQuery.status = `SIGNAL_STATUS_${status.toUpperCase()}`;
  if (level) serverQuery.level = LEVELS[level];
  if (crossingOnly) serverQuery.crossing_only = 'true';
  // The live stream resumes after the newest change the lists show. Evidence
  // updates have change-log positions of their own, after their topic's, so
  // the signals are read too — first: every change up to their newest
  // position is then also in the topics read after them.
  const signals = ((await api(`${parent}/signals`, {query: {page_size: 1000}, signal})).signals ?? []).map(N.signal);
  let pending = 0;
  const topics = await listAll(`${parent}/topics`, 'topics', {query: serverQuery, signal, map: N.topic,
    onPage: (page) => { pending = Math.max(pending, Number(page.rowsPendingEvaluation ?? 0)); }});
  const matches = (t) => (status === 'all' || (status === 'open' ? OPEN.has(t.status) : t.status === serverQuery.status)) &&
    (!level || t.level === LEVELS[level]) && (!crossingOnly || t.crossing);
  const byId = new Map(topics.filter(matches).map((t) => [t.topicId, t]));
  let cursor = 0n;
  for (const t of [...topics, ...signals]) {
    const seq = BigInt(t.changeSequence || '0');
    if (seq > cursor) cursor = seq;
  }

  const columns = [
    {key: 'rank', label: 'Rank', numeric: true, cell: (t) => String(t.__rank)},
    {key: 'topic', label: 'Topic', rowHeader: true, className: 'wrap',
      cell: (t) => h('span', null, h('a', {href: topicHash(trial.trialId, t.topicId)}, topicLabel(t)),
        h('span', {class: 'sub'}, {TERM_LEVEL_PT: `PT · ${t.soc}`, TERM_LEVEL_SOC: 'SOC', TERM_LEVEL_OVERALL: 'Overall row'}[t.level] ?? '')),
      attrs: (t) => ({dataset: {topic: t.topicId}})},
    {key: 'status', label: 'Status', cell: (t) => statusBadge(t.status, statusLabel(t.status))},
    {key: 'crossing', label: 'Crossing', cell: (t) => (t.crossing ? h('span', {class: 'badge crossing'}, 'crossing') : h('span', {class: 'badge not-crossing'}, 'no longer'))},
    {key: 'strength', label: 'Strength', numeric: true, cell: (t) => t.strength.toFixed(2)},
    {key: 'evidence', label: 'Evidence', numeric: true, cell: (t) => `${t.crossingCount}/${t.evidenceCount} crossing`},
    {key: 'summary', label: 'Why', className: 'wrap', cell: (t) => t.summary},
    {key: 'updated', label: 'Updated', cell: (t) => h('span', {class: 'nowrap'}, dateTime(t.updateTime))},
  ];
  const tableHolder = h('div', {id: 'queue-holder'});
  const liveState = h('span', {class: 'live-state', 'data-state': 'connecting', id: 'live-state'}, 'connecting…');
  const caption = () => `${byId.size} topic${byId.size === 1 ? '' : 's'}${status === 'all' ? '' : ` (${status === 'open' ? 'open: new, validated or under assessment' : statusLabel(`SIGNAL_STATUS_${status.toUpperCase()}`).toLowerCase()})`}, ranked`;
  const draw = (changed) => {
    const rows = [...byId.values()].sort(rank);
    rows.forEach((t, i) => { t.__rank = i + 1; t.__attrs = {class: changed?.has(t.topicId) ? 'flash' : null, dataset: {topic: t.topicId}}; });
    tableHolder.replaceChildren(scroller(table({caption: caption(), id: 'queue-table', columns, rows,
      empty: status === 'open' ? 'No open topics. New signals appear here as reports arrive.' : 'No topics match.'}), 'Signal topics'));
  };
  draw();

  // Live: every topic change after the cursor.
  const stream = watch(`${parent}/topics:watch`, {
    lastEventId: cursor > 0n ? String(cursor) : '',
    onState: (s) => {
      liveState.dataset.state = s;
      liveState.textContent = {live: 'live', connecting: 'connecting…', retrying: 'reconnecting…', closed: 'not live'}[s] ?? s;
    },
    onError: (err) => liveState.after(alertBox(err)),
    onEvent: ({data}) => {
      if (!data.topic?.topicId) return;
      const t = N.topic(data.topic);
      const known = byId.has(t.topicId);
      // A replayed change the list already shows: nothing to say.
      const old = byId.get(t.topicId);
      const same = old && ['status', 'crossing', 'strength', 'summary', 'evidenceCount', 'crossingCount', 'updateTime']
        .every((k) => old[k] === t[k]);
      if (same) return;
      if (matches(t)) byId.set(t.topicId, t);
      else byId.delete(t.topicId);
      draw(new Set([t.topicId]));
      const kind = N.signalEvent(data.event).kind;
      ctx.announce(`${topicLabel(t)}: ${kind === 'KIND_RAISED' ? 'new topic' : kind === 'KIND_TRIAGED' ? `triaged to ${statusLabel(t.status)}` : known ? 'evidence updated' : 'updated'}`);
    },
  });
  ctx.onDispose(() => stream.close());
  const evaluation = evaluationState(parent, pending, signal);
  ctx.onDispose(() => evaluation.stop());

  const form = h('form', {class: 'controls', 'aria-label': 'Queue filters'});
  const statusSel = select([['open', 'Open (new, validated, under assessment)'], ['all', 'All states'],
    ...STATES.map((s) => [s, statusLabel(`SIGNAL_STATUS_${s.toUpperCase()}`)])], status, {name: 'status'});
  const levelSel = select([['', 'All rows'], ['PT', 'Preferred terms'], ['SOC', 'System organ classes'], ['OVERALL', 'Overall rows']], level, {name: 'level'});
  const crossingBox = h('input', {type: 'checkbox', name: 'crossing', id: 'crossing-only', checked: crossingOnly});
  form.append(field('State', statusSel), field('Rows', levelSel), h('label', {class: 'check', for: 'crossing-only'}, crossingBox, 'Crossing now only'));
  const apply = () => ctx.setQuery({status: statusSel.value === 'open' ? '' : statusSel.value, level: levelSel.value, crossing: crossingBox.checked});
  for (const el of [statusSel, levelSel, crossingBox]) el.addEventListener('change', apply);
  form.addEventListener('submit', (e) => e.preventDefault());

  mount(main, 
    pageHeader({title: 'Signal queue', crumbs: trialCrumbs(trial.trialId, ['Signals', null]),
      subtitle: `${trial.trialId}: one topic per term row with evidence, ranked by how far its strongest evidence is past its threshold.`,
      meta: [liveState, evaluation.element]}),
    form,
    section('Topics', tableHolder,
      note('Strength: decades past the threshold (log10 of threshold / p for the exact tests; negative when the lead evidence is short of it, as a topic whose evidence no longer crosses can be), +0.5 for a crossing serious, grade ≥ 3, fatal-AE or AESI row and +0.5 when the dose trend crosses too.')),
  );
}

// How current the signals are (ListTopics' rowsPendingEvaluation): while
// term rows hold reports the evaluator has not reached, a status line says
// so and is refreshed every 2 s until none remain; the topics themselves
// arrive through the live stream. Nothing is shown while signals are current.
const EVALUATION_POLL_MS = 2000;
function evaluationState(parent, pending, signal) {
  const element = h('span', {class: 'evaluation-state', id: 'evaluation-state', role: 'status'});
  let timer = null;
  const show = (n) => {
    element.dataset.pending = String(n);
    element.textContent = n > 0
      ? `Signals catching up: ${n} term row${n === 1 ? '' : 's'} with reports not yet evaluated; the queue updates as they are.`
      : '';
  };
  const poll = async () => {
    timer = null;
    try {
      const page = await api(`${parent}/topics`, {query: {page_size: 1}, signal});
      show(Number(page.rowsPendingEvaluation ?? 0));
    } catch {
      if (signal?.aborted) return;  // navigated away; otherwise try again
    }
    if (Number(element.dataset.pending) > 0 && !signal?.aborted) timer = setTimeout(poll, EVALUATION_POLL_MS);
  };
  show(pending);
  if (pending > 0) timer = setTimeout(poll, EVALUATION_POLL_MS);
  return {element, stop: () => { if (timer) clearTimeout(timer); timer = null; }};
}
