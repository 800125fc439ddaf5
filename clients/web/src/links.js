// Hash URLs of the views (path segments percent-encoded).

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

// The term-over-time view of one term row.
export function termHash(t, row) {
  if (row.level === 'TERM_LEVEL_OVERALL' || row.overallKey) {
    return trialHash(t, 'term', {level: 'OVERALL', key: row.overallKey});
  }
  if (row.level === 'TERM_LEVEL_SOC' || !row.pt) return trialHash(t, 'term', {level: 'SOC', soc: row.soc});
  return trialHash(t, 'term', {level: 'PT', soc: row.soc, pt: row.pt});
}
