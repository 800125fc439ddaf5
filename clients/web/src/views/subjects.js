// Subjects of a trial (ListSubjects), each linking to its profile.

import {listAll, v1} from '../api.js';
import {h, clear, mount, select, field} from '../dom.js';
import {table, scroller} from '../table.js';
import {enumWords, dateTime} from '../format.js';
import {subjectHash} from '../links.js';
import * as N from '../normalize.js';
import {loadTrial, pageHeader, trialCrumbs, section, groupById} from './common.js';

export const name = 'subjects';

export async function render(ctx) {
  const {main, signal, params, query} = ctx;
  const trial = await loadTrial(params.trial, signal);
  ctx.setTitle(`${trial.trialId} subjects`);
  const all = await listAll(v1('trials', trial.trialId, 'subjects'), 'subjects', {signal, pageSize: 10000, map: N.subject});
  const group = query.group ?? '';
  const site = query.site ?? '';
  const rows = all.filter((s) => (!group || s.doseGroupId === group) && (!site || s.siteId === site));
  const tbl = table({
    caption: `${rows.length} of ${all.length} subjects`,
    id: 'subjects-table',
    sortable: true,
    rows,
    columns: [
      {key: 'subject', label: 'Subject', rowHeader: true, sort: (s) => s.subjectId, cell: (s) => h('a', {href: subjectHash(trial.trialId, s.subjectId)}, s.subjectId),
        attrs: (s) => ({dataset: {subject: s.subjectId}})},
      {key: 'site', label: 'Site', sort: (s) => s.siteId, cell: (s) => s.siteId},
      {key: 'group', label: 'Dose group', sort: (s) => groupById(trial, s.doseGroupId)?.index ?? 0, cell: (s) => groupById(trial, s.doseGroupId)?.label ?? s.doseGroupId},
      {key: 'last', label: 'Last contact day', numeric: true, sort: (s) => s.lastContactDay, cell: (s) => String(s.lastContactDay)},
      {key: 'status', label: 'Follow-up', sort: (s) => s.status, cell: (s) => enumWords(s.status, 'FOLLOW_UP_STATUS_') || 'ongoing'},
      {key: 'version', label: 'Version', numeric: true, cell: (s) => `v${s.version}`},
      {key: 'updated', label: 'Updated', cell: (s) => h('span', {class: 'nowrap'}, dateTime(s.updateTime))},
    ],
  });
  const groupSel = select([['', 'All'], ...(trial.doseGroups ?? []).map((g) => [g.doseGroupId, g.label || g.doseGroupId])], group, {name: 'group'});
  const siteSel = select([['', 'All'], ...(trial.sites ?? []).map((s) => [s.siteId, s.siteId])], site, {name: 'site'});
  const form = h('form', {class: 'controls', 'aria-label': 'Subject filters'}, field('Dose group', groupSel), field('Site', siteSel));
  const apply = () => ctx.setQuery({group: groupSel.value, site: siteSel.value});
  groupSel.addEventListener('change', apply);
  siteSel.addEventListener('change', apply);
  form.addEventListener('submit', (e) => e.preventDefault());
  mount(main, 
    pageHeader({title: 'Subjects', crumbs: trialCrumbs(trial.trialId, ['Subjects', null]), subtitle: `${trial.trialId}: the safety population (dosed subjects).`}),
    form,
    section('Subjects', scroller(tbl, 'Subjects table')));
}
