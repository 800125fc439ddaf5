// Pieces every view uses: the trial (cached briefly), dose-group columns,
// page header with breadcrumbs, sections, notices and figures with their
// table alternative.

import {api, v1, errorMessage} from '../api.js';
import {h} from '../dom.js';
import {table} from '../table.js';
import {trialHash} from '../links.js';
import * as N from '../normalize.js';

const trialCache = new Map();  // trialId -> {time, promise}

export function loadTrial(trialId, signal) {
  const hit = trialCache.get(trialId);
  if (hit && Date.now() - hit.time < 30000) return hit.promise;
  const promise = api(v1('trials', trialId), {signal}).then(N.trial);
  trialCache.set(trialId, {time: Date.now(), promise});
  promise.catch(() => trialCache.delete(trialId));
  return promise;
}

// Dose groups in trial order, then the total: {id, label, control, total}.
export function groupsOf(trial) {
  const groups = (trial.doseGroups ?? []).map((g, index) => ({
    id: g.doseGroupId,
    label: groupLabel(g),
    control: Boolean(g.control),
    index,
    total: false,
  }));
  groups.push({id: '', label: 'Total', control: false, index: groups.length, total: true});
  return groups;
}

// "Placebo", or "20 × 10⁶ cells (D20M)" when the label is not the id.
export function groupLabel(g) {
  const norm = (s) => String(s ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
  if (!g.label || norm(g.label) === norm(g.doseGroupId)) return g.label || g.doseGroupId;
  return `${g.label} (${g.doseGroupId})`;
}

export function groupById(trial, id) {
  return groupsOf(trial).find((g) => g.id === id);
}

export function timepointLabel(trial, id) {
  const tp = (trial.timepoints ?? []).find((t) => t.timepointId === id);
  return tp ? (tp.label && tp.label !== id ? `${tp.label} (${id})` : id) : id;
}

// The cell of a term row for a group ('' = total) and timepoint.
export function cellOf(row, groupId, timepointId) {
  return (row.cells ?? []).find((c) => (groupId === ''
    ? c.scope === 'DOSE_GROUP_SCOPE_ALL_GROUPS'
    : c.scope !== 'DOSE_GROUP_SCOPE_ALL_GROUPS' && c.doseGroupId === groupId) &&
    c.timepointId === timepointId);
}

export function pageHeader({title, crumbs = [], subtitle, meta}) {
  const header = h('header', {class: 'page-header'});
  if (crumbs.length) {
    const ol = h('ol');
    for (const [label, href] of crumbs) {
      ol.append(h('li', null, href ? h('a', {href}, label) : h('span', {'aria-current': 'page'}, label)));
    }
    header.append(h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, ol));
  }
  header.append(h('h1', {tabindex: '-1'}, title));
  if (subtitle) header.append(h('p', {class: 'subtitle'}, subtitle));
  if (meta) header.append(h('div', {class: 'meta'}, meta));
  return header;
}

export function trialCrumbs(trialId, ...more) {
  return [['Trials', '#/trials'], [trialId, more.length ? trialHash(trialId) : null], ...more];
}

export function section(title, ...content) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', {class: 'section', 'aria-labelledby': id}, h('h2', {id}, title), ...content);
}

export function alertBox(err) {
  return h('div', {class: 'alert', role: 'alert'}, typeof err === 'string' ? err : errorMessage(err));
}

export function note(...content) {
  return h('p', {class: 'note'}, ...content);
}

// A chart with its title, legend, caption and table alternative (shown on
// demand; always in the DOM for screen readers and tests).
export function figure({title, chart, legend, caption, table, tableLabel = 'Show as table', open = false, id}) {
  const fig = h('figure', {class: 'chart-figure', id});
  const capId = `${id ?? 'fig'}-cap`;
  fig.append(h('figcaption', {class: 'chart-title', id: capId}, title));
  if (legend) fig.append(legend);
  // Focusable region: on a phone the chart keeps its drawn size (labels
  // stay legible) and scrolls sideways inside it, as the tables do.
  if (chart) fig.append(h('div', {class: 'chart', role: 'region', 'aria-labelledby': capId, tabindex: '0'}, chart));
  if (caption) fig.append(h('p', {class: 'chart-caption'}, caption));
  if (table) {
    fig.append(h('details', {class: 'table-alt', open}, h('summary', null, tableLabel), table));
  }
  return fig;
}

// A status pill for signal/topic states.
export function statusBadge(status, label) {
  const key = String(status ?? '').replace(/^SIGNAL_STATUS_/, '').toLowerCase();
  return h('span', {class: `badge status-${key}`}, label);
}

// Width available to a chart in the main column.
export function chartWidth(main, max = 1100) {
  const w = main.querySelector('.page-header')?.clientWidth || main.clientWidth || 960;
  return Math.max(480, Math.min(max, w));
}

// "Show more" under a paged table: appends the next page's rows (`rows` is
// the table's array, extended in place) until no page is left, the count
// beside it saying how many are shown (onAppend: after each page).
// fetchPage(token) resolves to {rows, nextToken}; a page that fails says
// why beside the button, which stays to try again.
export function showMore({tbl, columns, rows, nextToken, fetchPage, describe, onAppend = () => {}, ids = {}}) {
  const count = h('span', {class: 'muted', id: ids.count}, describe(rows.length, Boolean(nextToken)));
  const button = h('button', {type: 'button', class: 'secondary', id: ids.button}, 'Show more');
  const failure = h('span', {role: 'alert'});
  button.addEventListener('click', async () => {
    button.disabled = true;
    failure.replaceChildren();
    try {
      const page = await fetchPage(nextToken);
      nextToken = page.nextToken;
      const fresh = table({columns, rows: page.rows});
      for (const tr of [...fresh.tBodies[0].rows]) tbl.tBodies[0].append(tr);
      rows.push(...page.rows);
      count.textContent = describe(rows.length, Boolean(nextToken));
      onAppend();
      if (!nextToken) button.remove();
    } catch (err) {
      if (err?.name !== 'AbortError') failure.replaceChildren(h('span', {class: 'pager-error'}, errorMessage(err)));
    } finally {
      button.disabled = false;
    }
  });
  return h('div', {class: 'pager'}, count, nextToken ? button : null, failure);
}
