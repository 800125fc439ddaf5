// Number and text formats shared by every view, as a safety table prints
// them: "n (%)" with one decimal, exact CIs in brackets, N in headers.

export function pct(p, digits = 1) {
  return (100 * p).toFixed(digits);
}

// "26 (31.0%)"; "0" when the denominator is 0 (no subjects to count).
export function nPct(n, denominator, proportion) {
  if (!denominator) return String(n);
  const p = proportion ?? n / denominator;
  return `${n} (${pct(p)}%)`;
}

// "[19.4, 42.0]" (percentages of an exact CI).
export function ci(lower, upper) {
  return `[${pct(lower)}, ${pct(upper)}]`;
}

// Column header of a dose group: "Placebo (N=86)".
export function groupHeader(label, n) {
  return `${label} (N=${n})`;
}

// p-values as a safety table prints them.
export function pValue(p) {
  if (p === undefined || p === null || Number.isNaN(p)) return '';
  if (p < 0.001) return '< 0.001';
  if (p < 0.01) return p.toFixed(4);
  return p.toFixed(3);
}

export function signed(x, digits = 1) {
  const s = (100 * x).toFixed(digits);
  return x > 0 ? `+${s}` : s;
}

export function dateTime(rfc3339) {
  if (!rfc3339) return '';
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime()) || d.getTime() === 0) return '';
  // ISO-like, UTC, to the second: unambiguous in an audit context.
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

const STATUS_LABELS = {
  SIGNAL_STATUS_NEW: 'New',
  SIGNAL_STATUS_VALIDATED: 'Validated',
  SIGNAL_STATUS_REFUTED: 'Refuted',
  SIGNAL_STATUS_UNDER_ASSESSMENT: 'Under assessment',
  SIGNAL_STATUS_CLOSED: 'Closed',
};
export function statusLabel(s) {
  return STATUS_LABELS[s] ?? String(s ?? '').replace(/^SIGNAL_STATUS_/, '');
}

const METHOD_LABELS = {
  SIGNAL_METHOD_BINOMIAL_EXACT: 'Exact binomial vs baseline',
  SIGNAL_METHOD_BAYESIAN: 'Bayesian beta-binomial',
  SIGNAL_METHOD_CONTROL_FISHER: 'Fisher vs control',
  SIGNAL_METHOD_DOSE_TREND: 'Dose trend (Cochran-Armitage)',
  SIGNAL_METHOD_OVER_TIME: 'Over time',
  SIGNAL_METHOD_MAXSPRT: 'MaxSPRT vs baseline',
};
export function methodLabel(m) {
  return METHOD_LABELS[m] ?? String(m ?? '').replace(/^SIGNAL_METHOD_/, '');
}

const EVENT_LABELS = {
  KIND_RAISED: 'Raised',
  KIND_EVIDENCE_UPDATED: 'Evidence updated',
  KIND_TRIAGED: 'Triaged',
  KIND_STOPPED_CROSSING: 'Stopped crossing',
  KIND_CROSSING_AGAIN: 'Crossing again',
};
export function eventLabel(k) {
  return EVENT_LABELS[k] ?? String(k ?? '').replace(/^KIND_/, '');
}

// Enum value -> readable words: RELATEDNESS_NOT_RELATED -> "not related".
export function enumWords(value, prefix) {
  if (!value || value.endsWith('_UNSPECIFIED')) return '';
  return value.replace(prefix, '').toLowerCase().replaceAll('_', ' ');
}

const OVERALL_LABELS = {
  any_ae: 'Any AE',
  any_sae: 'Any serious AE',
  grade_3_plus: 'Grade ≥ 3 AE',
  related: 'Related AE',
  death: 'Any fatal AE',
  deaths: 'Deaths',
  fatal: 'Fatal AE',
};
export function overallLabel(key, label) {
  if (OVERALL_LABELS[key]) return OVERALL_LABELS[key];
  if (key?.startsWith('aesi:')) return `AESI: ${key.slice(5).replaceAll('_', ' ')}`;
  return label || key;
}

// A topic's (or signal's) row name: "Any serious AE", "PRURITUS".
export function topicLabel(t) {
  if (t.level === 'TERM_LEVEL_OVERALL' || t.overallKey) return overallLabel(t.overallKey, t.label);
  return t.label || t.pt || t.soc || t.topicId;
}
