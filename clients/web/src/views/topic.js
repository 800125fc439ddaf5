// View 5b: one signal topic: why it is there, its evidence items (method x
// dose group x timepoint) with their numbers, its history (raised,
// triaged), and — for roles that may triage (safety officer, admin) — the
// triage form (EMA GVP Module IX states; a comment is required; the
// decision is recorded with the signed-in principal).

import {api, v1, may, roleLabel, errorMessage} from '../api.js';
import {h, clear, mount, field} from '../dom.js';
import {table, scroller} from '../table.js';
import {statusLabel, methodLabel, eventLabel, dateTime, pValue, pct, ci, topicLabel} from '../format.js';
import {trialHash, termHash, subjectHash, reportsQueryOf} from '../links.js';
import * as N from '../normalize.js';
import {loadTrial, pageHeader, trialCrumbs, section, statusBadge, note, groupById, timepointLabel} from './common.js';

export const name = 'topic';

// Allowed moves (docs/api.md, "Triage").
export const TRANSITIONS = {
  SIGNAL_STATUS_NEW: ['SIGNAL_STATUS_VALIDATED', 'SIGNAL_STATUS_REFUTED'],
  SIGNAL_STATUS_VALIDATED: ['SIGNAL_STATUS_UNDER_ASSESSMENT', 'SIGNAL_STATUS_CLOSED'],
  SIGNAL_STATUS_UNDER_ASSESSMENT: ['SIGNAL_STATUS_CLOSED'],
  SIGNAL_STATUS_REFUTED: ['SIGNAL_STATUS_VALIDATED'],
  SIGNAL_STATUS_CLOSED: ['SIGNAL_STATUS_UNDER_ASSESSMENT'],
};

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function groupText(trial, s) {
  if (s.scope === 'DOSE_GROUP_SCOPE_ACROSS_GROUPS') return 'Across groups (trend)';
  if (s.scope === 'DOSE_GROUP_SCOPE_ALL_GROUPS' || !s.doseGroupId) return 'All groups';
  return groupById(trial, s.doseGroupId)?.label ?? s.doseGroupId;
}

function comparedWith(trial, e) {
  if (e.baselineId) {
    return h('span', null, `expected ${pct(e.expectedProportion)}%`, h('span', {class: 'sub'}, `baseline ${e.baselineId} v${e.baselineVersion}`));
  }
  if (e.comparisonDenominator) {
    return h('span', null, `${e.comparisonSubjects}/${e.comparisonDenominator}`, h('span', {class: 'sub'}, e.comparison));
  }
  return e.comparison || '—';
}

// Whether a test's statistic is past its threshold (the CLI's PastThreshold).
function pastThreshold(s, e) {
  if (s.method === 'SIGNAL_METHOD_BAYESIAN') return (e.posteriorProbability ?? 0) >= e.threshold;
  if (s.method === 'SIGNAL_METHOD_MAXSPRT') return (e.statistic ?? 0) >= e.threshold;  // the LLR's critical value
  return (e.adjustedPValue || e.pValue || 0) <= e.threshold;
}

// Why a test does not cross: the server's decision note, or, when its
// statistic is past the threshold, the trial's minimum number of subjects
// with the event (signal_policy.min_cases; 2 unless set, 1 with
// min_cases_one) and any repeated-look boundary. Empty when it crosses or
// is simply short of its threshold.
function whyNot(trial, s, e = s.evidence ?? {}) {
  if (e.crosses) return '';
  if (e.decisionNote) return e.decisionNote;
  if (!e.threshold || !pastThreshold(s, e)) return '';
  const p = trial.signalPolicy ?? {};
  const min = p.minCases > 0 ? p.minCases : (p.minCasesOne ? 1 : 2);
  const n = e.subjects ?? 0;
  if (n < min) return `past its threshold, but a signal also needs at least ${min} subjects with the event (the trial's minimum cases); this cell has ${n}`;
  return e.boundary > 0 ? 'past its threshold, but not past the repeated-look boundary' : '';
}

function evidenceTable(trial, topic) {
  const ev = (s) => s.evidence ?? {};
  const items = topic.evidence ?? [];
  const anyRd = items.some((s) => ev(s).riskDifference !== undefined);
  const anyAdjusted = items.some((s) => ev(s).adjustedPValue);
  return table({
    caption: `${topic.evidenceCount} evidence item${topic.evidenceCount === 1 ? '' : 's'}, strongest first (${topic.crossingCount} crossing now)`,
    id: 'evidence-table',
    rows: items,
    columns: [
      {key: 'method', label: 'Method', rowHeader: true, className: 'method-col', cell: (s) => h('span', null, methodLabel(s.method), h('span', {class: 'sub mono signal-id'}, s.signalId)),
        attrs: (s) => ({dataset: {signal: s.signalId}})},
      {key: 'group', label: 'Dose group', cell: (s) => groupText(trial, s)},
      {key: 'tp', label: 'Timepoint', cell: (s) => h('abbr', {title: timepointLabel(trial, s.timepointId)}, s.timepointId)},
      {key: 'cell', label: 'n/N (%) [95% CI]', numeric: true, cell: (s) => (ev(s).denominator
        ? h('span', null, h('span', {class: 'npct'}, `${ev(s).subjects}/${ev(s).denominator} (${pct(ev(s).proportion)}%)`), h('span', {class: 'ci'}, ci(ev(s).ciLower, ev(s).ciUpper)))
        : '—'),
      attrs: (s) => ({dataset: {n: String(ev(s).subjects ?? ''), d: String(ev(s).denominator ?? '')}})},
      {key: 'vs', label: 'Compared with', cell: (s) => comparedWith(trial, ev(s))},
      ...(anyRd ? [{key: 'rd', label: 'RD (%) [95% CI]', numeric: true, cell: (s) => (ev(s).riskDifference === undefined ? '—'
        : h('span', null, h('span', {class: 'npct'}, (100 * ev(s).riskDifference).toFixed(1)),
          h('span', {class: 'ci'}, `[${pct(ev(s).riskDifferenceLower)}, ${pct(ev(s).riskDifferenceUpper)}]`)))}] : []),
      {key: 'p', label: 'p or posterior', numeric: true, cell: (s) => (s.method === 'SIGNAL_METHOD_BAYESIAN'
        ? `P = ${ev(s).posteriorProbability.toFixed(3)}` : pValue(ev(s).pValue))},
      ...(anyAdjusted ? [{key: 'adj', label: 'Adjusted p', numeric: true, cell: (s) => (ev(s).adjustedPValue ? pValue(ev(s).adjustedPValue) : '—')}] : []),
      {key: 'threshold', label: 'Threshold', numeric: true, cell: (s) => String(ev(s).threshold)},
      {key: 'crosses', label: 'Decision', cell: (s) => {
        const why = whyNot(trial, s);
        return h('span', null, ev(s).crosses ? h('span', {class: 'badge crossing'}, 'crosses') : 'does not cross',
          why ? h('span', {class: 'sub why-not'}, why) : null);
      }},
    ],
  });
}

const CHANGE_LABELS = {
  'subject.enroll': 'enrolment of subject',
  'subject.update': 'update of subject',
  'subject.correct': 'correction of subject',
  'baseline.put': 'baseline',
  'trial.amend': 'amendment of the trial',
};

// After a baseline other than the evaluated test's own, why it could move
// this test (services/report/dsmb_signals.cc, OtherRowsBaselineWords).
function otherRowsBaseline(ev, baselineId) {
  if (baselineId === ev.baselineId) return '';
  return ev.multiplicity > 0
    ? ` — a baseline other than this test's; under trial-wide control a baseline change re-evaluates the pre-specified rows, whose ${ev.multiplicity} tests share alpha`
    : ' — a baseline other than this test\'s';
}

// What an evaluation followed: the report that last changed the row and/or
// a change other than a report (Evidence.change); a subject links to its
// profile. Null for a triage or when neither is named.
function cause(trial, e) {
  const ev = e.evidence;
  if (!ev || e.kind === 'KIND_TRIAGED') return null;
  const parts = [];
  if (ev.reportId) parts.push(`report ${ev.reportId} v${ev.reportVersion ?? 0}`);
  const c = ev.change;
  if (c) {
    const label = CHANGE_LABELS[c.action] ?? c.action;
    const subject = /^trials\/[^/]+\/subjects\/([^/]+)$/.exec(c.name ?? '');
    const baseline = /^trials\/[^/]+\/baselines\/([^/]+)$/.exec(c.name ?? '');
    const version = ` (version ${c.version ?? 0})`;
    if (subject) {
      parts.push(h('span', {class: 'change'}, `${label} `, h('a', {href: subjectHash(trial.trialId, subject[1])}, subject[1]), version));
    } else {
      parts.push(`${label}${baseline ? ` ${baseline[1]}` : ''}${version}${baseline ? otherRowsBaseline(ev, baseline[1]) : ''}`);
    }
  }
  if (!parts.length) return null;
  const out = h('span', {class: 'cause'}, 'After ');
  parts.forEach((p, i) => out.append(...(i ? [' and ', p] : [p])));
  return out;
}

function historyTable(trial, topic) {
  return table({
    caption: 'History, oldest first: who, when, what and why',
    id: 'history-table',
    rows: topic.history ?? [],
    columns: [
      {key: 'time', label: 'Time', rowHeader: true, cell: (e) => h('span', {class: 'nowrap'}, dateTime(e.time))},
      {key: 'kind', label: 'Event', cell: (e) => eventLabel(e.kind)},
      {key: 'actor', label: 'By', cell: (e) => h('span', null, e.actor, e.displayName ? h('span', {class: 'sub'}, e.displayName) : null),
        attrs: (e) => ({dataset: {actor: e.actor}})},
      {key: 'change', label: 'Status', cell: (e) => (e.kind === 'KIND_TRIAGED'
        ? h('span', null, statusLabel(e.fromStatus), ' → ', statusLabel(e.toStatus)) : statusLabel(e.toStatus))},
      {key: 'comment', label: 'Comment or cause', className: 'wrap', cell: (e) => e.comment || cause(trial, e) || ''},
    ],
  });
}

function triageForm(ctx, trial, topic, rerender) {
  const options = TRANSITIONS[topic.status] ?? [];
  if (!options.length) return note('No triage move is possible from this state.');
  const fieldset = h('fieldset', {class: 'radios'}, h('legend', null, 'New status'));
  // Nothing pre-selected: a decision is chosen, never defaulted into.
  for (const s of options) {
    const id = `triage-${s}`;
    fieldset.append(h('label', {class: 'check', for: id},
      h('input', {type: 'radio', name: 'status', id, value: s, required: true}), statusLabel(s)));
  }
  const comment = h('textarea', {name: 'comment', id: 'triage-comment', required: true, maxlength: '4000', rows: '4'});
  const display = h('input', {type: 'text', name: 'display_name', id: 'triage-display', autocomplete: 'name', placeholder: 'e.g. Dr. A. Smith, DSMB chair'});
  const result = h('div', {id: 'triage-result', 'aria-live': 'polite'});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Record decision');
  const form = h('form', {id: 'triage', class: 'form-grid', 'aria-labelledby': 's-triage'},
    h('div', null, fieldset),
    h('div', null, field('Comment (required: why)', comment), field('Display name (optional)', display,
      `Recorded beside your principal, ${ctx.caller.principal}.`)),
    h('div', {class: 'form-actions full'}, submit, result));
  let requestId = uuid();
  let lastBody = '';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = form.querySelector('input[name="status"]:checked');
    if (!chosen) {
      result.replaceChildren(h('div', {class: 'alert', role: 'alert'}, 'Choose the new status.'));
      fieldset.querySelector('input')?.focus();
      return;
    }
    if (!comment.value.trim()) {
      result.replaceChildren(h('div', {class: 'alert', role: 'alert'}, 'A comment is required.'));
      comment.focus();
      return;
    }
    const body = {
      status: chosen.value,
      comment: comment.value.trim(),
      displayName: display.value.trim(),
    };
    // The same decision retried keeps its request id (the server returns it
    // unchanged); a different one gets a new id.
    const key = JSON.stringify(body);
    if (key !== lastBody) {
      if (lastBody) requestId = uuid();
      lastBody = key;
    }
    submit.disabled = true;
    result.replaceChildren(h('span', {class: 'muted'}, 'Recording…'));
    try {
      const updated = N.topic(await api(`${v1('trials', trial.trialId, 'topics', topic.topicId)}:triage`, {body: {...body, requestId}, signal: ctx.signal}));
      ctx.announce(`Recorded: ${statusLabel(updated.status)}`);
      rerender(updated, `Recorded: ${statusLabel(topic.status)} → ${statusLabel(updated.status)} by ${ctx.caller.principal}.`);
    } catch (err) {
      submit.disabled = false;
      result.replaceChildren(h('div', {class: 'alert', role: 'alert'}, errorMessage(err)));
    }
  });
  return form;
}

export async function render(ctx) {
  const {main, signal, params, caller} = ctx;
  const trial = await loadTrial(params.trial, signal);
  const topic = N.topic(await api(v1('trials', trial.trialId, 'topics', params.topic), {signal}));
  draw(ctx, trial, topic, null);
  void caller;
}

function draw(ctx, trial, topic, flash) {
  const {main, caller} = ctx;
  ctx.setTitle(`${topicLabel(topic)} · ${trial.trialId}`);
  const canTriage = may(caller, 'TriageTopic');
  const rerender = (updated, message) => {
    draw(ctx, trial, updated, message);
    main.querySelector('#triage-outcome')?.focus();
  };
  const levelText = {TERM_LEVEL_PT: `Preferred term in ${topic.soc}`, TERM_LEVEL_SOC: 'System organ class', TERM_LEVEL_OVERALL: 'Overall row'}[topic.level] ?? '';
  mount(main, 
    pageHeader({
      title: topicLabel(topic),
      crumbs: trialCrumbs(trial.trialId, ['Signals', trialHash(trial.trialId, 'signals')], [topicLabel(topic), null]),
      subtitle: levelText,
      meta: [
        h('span', null, 'Status ', statusBadge(topic.status, statusLabel(topic.status))),
        topic.crossing ? h('span', {class: 'badge crossing'}, 'crossing now') : h('span', {class: 'badge not-crossing'}, 'no longer crossing'),
        h('span', null, 'Strength ', h('strong', null, topic.strength.toFixed(2))),
        h('span', null, 'Raised ', h('strong', null, dateTime(topic.raiseTime))),
        h('a', {href: termHash(trial.trialId, topic)}, 'Incidence over time'),
        h('a', {href: trialHash(trial.trialId, 'reports', reportsQueryOf(topic))}, 'Reports'),
      ],
    }),
    flash ? h('div', {class: 'success', role: 'status', id: 'triage-outcome', tabindex: '-1'}, flash) : null,
    h('p', {class: 'topic-summary', id: 'topic-summary'}, topic.summary),
    section('Evidence', scroller(evidenceTable(trial, topic), 'Evidence table'),
      note('Each item is one method × dose group × timepoint of this row; it keeps its own history (raised, evidence updated).')),
    section('History', scroller(historyTable(trial, topic), 'Topic history')),
    canTriage
      ? section('Triage', triageForm(ctx, trial, topic, rerender))
      : section('Triage', note(`Triage is a safety officer's decision; your role (${roleLabel(caller.role)}) reads it in the history above.`)),
  );
}
