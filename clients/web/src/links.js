// Hash URLs of the views (path segments percent-encoded).

import {subsetOfOverallRow} from './subsets.js';

export function hashFor(path, query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    params.set(k, v === true ? '1' : String(v));
  }
  const q = params.toString();
  return `#${path}${q ? `?${q}` : ''}`;
}

export function trialHash(trialId, sub = '', query = {}) {
  return hashFor(`/trials/${encodeURIComponent(trialId)}${sub ? `/${sub}` : ''}`, query);
}

export const topicHash = (t, topicId) => trialHash(t, `topics/${encodeURIComponent(topicId)}`);
export const subjectHash = (t, s) => trialHash(t, `subjects/${encodeURIComponent(s)}`);

// The term-over-time view of one term row; `view` adds the explorer's
// subset and measure (an overall row is itself a subset: it takes neither
// subset nor, being always shown whole, anything else).
export function termHash(t, row, view = {}) {
  if (row.level === 'TERM_LEVEL_OVERALL' || row.overallKey) {
    return trialHash(t, 'term', {level: 'OVERALL', key: row.overallKey, measure: view.measure});
  }
  const {subset, measure} = view;
  if (row.level === 'TERM_LEVEL_SOC' || !row.pt) return trialHash(t, 'term', {level: 'SOC', soc: row.soc, subset, measure});
  return trialHash(t, 'term', {level: 'PT', soc: row.soc, pt: row.pt, subset, measure});
}

// The report listing's filters for the reports behind a term row (a topic,
// a baseline or an incidence row): the PT or SOC, or an overall row's subset.
export function reportsQueryOf(row, subset = '') {
  if (row.level === 'TERM_LEVEL_OVERALL' || row.overallKey) return {subset: subsetOfOverallRow(row.overallKey)};
  if (row.level === 'TERM_LEVEL_SOC' || !row.pt) return {soc: row.soc, subset};
  return {soc: row.soc, pt: row.pt, subset};
}
