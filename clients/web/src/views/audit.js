// View 7: the audit trail (ListAuditRecords), oldest first, filtered by
// action, resource prefix and principal, paginated.
//
// URL query: action resource principal

import {api, v1} from '../api.js';
import {h, clear, mount, select, field} from '../dom.js';
import {table, scroller} from '../table.js';
import {dateTime} from '../format.js';
import {loadTrial, pageHeader, trialCrumbs, section, showMore} from './common.js';
import * as N from '../normalize.js';

export const name = 'audit';

const ACTIONS = ['trial.create', 'trial.amend', 'subject.enroll', 'subject.update', 'subject.correct', 'report.store', 'report.history', 'report.withdraw',
  'baseline.put', 'signal.triage', 'topic.triage', 'dsmb_report.generate'];
const PAGE = 100;

export async function render(ctx) {
  const {main, signal, params, query} = ctx;
  const trial = await loadTrial(params.trial, signal);
  ctx.setTitle(`${trial.trialId} audit trail`);
  const parent = v1('trials', trial.trialId);
  const filters = {action: query.action, resource_prefix: query.resource, principal: query.principal};
  const first = await api(`${parent}/auditRecords`, {query: {...filters, page_size: PAGE}, signal});
  const records = (first.auditRecords ?? []).map(N.auditRecord);
  const nextToken = first.nextPageToken ?? '';

  const columns = [
    {key: 'seq', label: 'Seq.', numeric: true, cell: (r) => String(r.sequence)},
    {key: 'time', label: 'Time (UTC)', cell: (r) => h('span', {class: 'nowrap'}, dateTime(r.time).replace(/ UTC$/, ''))},
    {key: 'principal', label: 'Principal', rowHeader: true, cell: (r) => r.principal, attrs: (r) => ({dataset: {principal: r.principal}})},
    {key: 'action', label: 'Action', cell: (r) => h('span', null, h('code', null, r.action), h('span', {class: 'sub mono'}, r.rpc)),
      attrs: (r) => ({dataset: {action: r.action}})},
    {key: 'resource', label: 'Resource', className: 'wrap', cell: (r) => h('span', null, h('span', {class: 'mono'}, r.resource),
      r.version ? h('span', {class: 'sub'}, `version ${r.version}`) : null)},
    {key: 'details', label: 'What and why', className: 'wrap wide', cell: (r) => h('span', null, r.details,
      r.reason ? h('span', {class: 'why'}, h('strong', null, 'Why: '), r.reason) : null)},
  ];
  const tbl = table({caption: 'Audit records, oldest first', id: 'audit-table', columns, rows: records, empty: 'No audit record matches.'});
  const pager = showMore({tbl, columns, rows: records, nextToken, ids: {count: 'audit-count', button: 'audit-more'},
    describe: (n, more) => `${n} record${n === 1 ? '' : 's'} shown${more ? ', more available' : ''}.`,
    fetchPage: async (token) => {
      const page = await api(`${parent}/auditRecords`, {query: {...filters, page_size: PAGE, page_token: token}, signal});
      return {rows: (page.auditRecords ?? []).map(N.auditRecord), nextToken: page.nextPageToken ?? ''};
    }});

  const actionSel = select([['', 'All actions'], ...ACTIONS], query.action ?? '', {name: 'action'});
  const resource = h('input', {type: 'text', name: 'resource', value: query.resource ?? '', placeholder: `trials/${trial.trialId}/topics/`});
  const principal = h('input', {type: 'text', name: 'principal', value: query.principal ?? '', autocomplete: 'off'});
  const form = h('form', {class: 'controls', 'aria-label': 'Audit filters'},
    field('Action', actionSel), field('Resource starts with', resource), field('Principal', principal),
    h('button', {type: 'submit', class: 'primary'}, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.setQuery({action: actionSel.value, resource: resource.value.trim(), principal: principal.value.trim()});
  });
  actionSel.addEventListener('change', () => form.requestSubmit());

  mount(main, 
    pageHeader({title: 'Audit trail', crumbs: trialCrumbs(trial.trialId, ['Audit trail', null]),
      subtitle: `${trial.trialId}: every state change and every DSMB report given — who, when, what and why (append-only).`}),
    form,
    section('Records', scroller(tbl, 'Audit records'), pager));
}
