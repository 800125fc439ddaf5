// View 6: subject profile. The subject's AEs on a study-day timeline (onset
// to the end of the event where the report gives one; coloured by grade;
// serious and AESI marked; dosing, the protocol timepoints and the last
// contact day shown), the reports with their versions, and the subject's
// enrolment versions.

import {api, listAll, v1} from '../api.js';
import {h, clear, mount} from '../dom.js';
import {table, scroller} from '../table.js';
import {enumWords, dateTime} from '../format.js';
import {trialHash} from '../links.js';
import {loadTrial, pageHeader, trialCrumbs, section, note, figure, groupById, chartWidth} from './common.js';
import {reportColumns, versionsToggle} from './reports.js';
import {GRADE_COLORS} from '../charts/style.js';
import {loadCharts} from '../charts/load.js';
import * as N from '../normalize.js';

export const name = 'subject';

function rowLabel(pt, seen) {
  const k = (seen.get(pt) ?? 0) + 1;
  seen.set(pt, k);
  return k === 1 ? pt : `${pt} (${k})`;
}

export async function render(ctx) {
  const {main, signal, params} = ctx;
  const chartsLoaded = loadCharts();
  const trial = await loadTrial(params.trial, signal);
  ctx.setTitle(`Subject ${params.subject} · ${trial.trialId}`);
  const parent = v1('trials', trial.trialId);
  const [subject, reports] = await Promise.all([
    api(v1('trials', trial.trialId, 'subjects', params.subject), {signal}).then(N.subject),
    listAll(`${parent}/reports`, 'reports', {query: {subject_id: params.subject, order_by: 'onset_study_day'}, signal, map: N.report}),
  ]);
  const tps = trial.timepoints ?? [];
  // One timeline row per report: its PT, numbered when a PT recurs.
  const seen = new Map();
  const events = reports.map((r) => {
    const rep = r.current?.report ?? {};
    // A report with only a timepoint is placed at its window's first day.
    const idx = tps.findIndex((t) => t.timepointId === r.current?.timepointId);
    const onset = rep.onsetStudyDay ?? (idx > 0 ? tps[idx - 1].studyDay + 1 : 1);
    return {
      row: rowLabel(rep.pt, seen),
      onset,
      end: rep.endStudyDay,
      ongoing: ['OUTCOME_NOT_RECOVERED', 'OUTCOME_RECOVERING'].includes(rep.outcome),
      grade: rep.grade,
      serious: Boolean(rep.serious),
      aesi: (rep.aesi ?? []).length > 0,
      title: `${rep.pt}: onset day ${rep.onsetStudyDay ?? `in ${r.current?.timepointId}`}${rep.endStudyDay ? `, ended day ${rep.endStudyDay}` : ''}, grade ${rep.grade}${rep.serious ? ', serious' : ''}${(rep.aesi ?? []).length ? `, AESI ${rep.aesi.join(', ')}` : ''}`,
    };
  });
  const group = groupById(trial, subject.doseGroupId);
  const hasEnd = events.some((e) => e.end !== undefined);
  const {timelinePlot} = await chartsLoaded;
  const chart = events.length
    ? timelinePlot({events, rows: events.map((e) => e.row), timepoints: tps.map((t) => ({day: t.studyDay, label: t.label || t.timepointId})),
      lastContactDay: subject.lastContactDay, width: chartWidth(main, 1100),
      label: `Timeline of the ${events.length} adverse events of subject ${subject.subjectId} by study day, coloured by grade; the reports table has the same data.`})
    : null;
  const legendEl = h('ul', {class: 'legend', 'aria-label': 'Timeline legend'},
    GRADE_COLORS.map((c, i) => {
      const sw = h('span', {class: 'swatch', 'aria-hidden': 'true'});
      sw.style.setProperty('--swatch', c);
      return h('li', null, sw, `Grade ${i + 1}`);
    }),
    h('li', null, h('span', {class: 'swatch symbol-diamond', 'aria-hidden': 'true'}), 'Serious (diamond)'),
    h('li', null, h('span', {class: 'aesi-ring', 'aria-hidden': 'true'}, '◯'), 'AESI (ring)'));

  const onVersions = versionsToggle(trial, signal);
  const reportsTable = table({
    caption: `${reports.length} adverse-event report${reports.length === 1 ? '' : 's'} by onset (current versions; select a version number for every stored version)`,
    id: 'subject-reports-table',
    columns: reportColumns(trial, {withSubject: false, withGroup: false, withEnd: hasEnd, onVersions}),
    rows: reports,
    empty: 'No adverse events reported for this subject.',
  });
  const groupLabel = (id) => groupById(trial, id)?.label ?? id;
  const history = table({
    caption: 'Enrolment record versions, newest first',
    id: 'subject-history-table',
    rows: subject.history?.length ? subject.history : [subject],
    columns: [
      {key: 'version', label: 'Version', rowHeader: true, cell: (s) => `v${s.version}`},
      {key: 'updated', label: 'Stored', cell: (s) => dateTime(s.updateTime)},
      {key: 'group', label: 'Dose group', cell: (s) => groupLabel(s.doseGroupId)},
      {key: 'last', label: 'Last contact day', numeric: true, cell: (s) => String(s.lastContactDay)},
      {key: 'status', label: 'Follow-up', cell: (s) => enumWords(s.status, 'FOLLOW_UP_STATUS_') || 'ongoing'},
      // A correction (new dose group, lower last contact day) says why.
      {key: 'correction', label: 'Correction', cell: (s) => s.correctionReason || '—'},
    ],
  });

  mount(main, 
    pageHeader({
      title: `Subject ${subject.subjectId}`,
      crumbs: trialCrumbs(trial.trialId, ['Subjects', trialHash(trial.trialId, 'subjects')], [subject.subjectId, null]),
      meta: [
        h('span', null, 'Site ', h('strong', null, subject.siteId)),
        h('span', null, 'Dose group ', h('strong', null, group?.label ?? subject.doseGroupId)),
        h('span', null, 'Last contact ', h('strong', null, `day ${subject.lastContactDay}`)),
        h('span', null, 'Follow-up ', h('strong', null, enumWords(subject.status, 'FOLLOW_UP_STATUS_') || 'ongoing')),
        h('span', null, 'Dosed ', h('strong', null, 'day 1')),
      ],
    }),
    section('Adverse events over time',
      chart ? figure({id: 'timeline-figure', title: `Adverse events of ${subject.subjectId} by study day`, legend: legendEl, chart,
        caption: `${hasEnd ? 'Bars run from onset to the end day the report gives. ' : 'The reports give no end day. '}`
          + 'A dashed line runs to the last contact for an event not recovered (or recovering) without an end day; other events show their onset only.'}) : note('No adverse events reported.'),
      scroller(reportsTable, 'Reports of the subject')),
    section('Enrolment record', scroller(history, 'Subject versions')),
  );
}
