// The AE subsets of the incidence explorer, the term page and the report
// listing (IncidenceSubset in the API), named in URLs by short keys:
// serious, grade3, related, death and aesi:CATEGORY.

// key: [API enum, label, the word a caption lists it by].
const NAMED = {
  serious: ['INCIDENCE_SUBSET_SERIOUS', 'Serious AEs', 'serious'],
  grade3: ['INCIDENCE_SUBSET_GRADE_3_PLUS', 'Grade ≥ 3 AEs', 'grade ≥ 3'],
  related: ['INCIDENCE_SUBSET_RELATED', 'Related AEs', 'related'],
  death: ['INCIDENCE_SUBSET_DEATH', 'Fatal AEs', 'fatal'],
};

const aesiLabel = (category) => `AESI: ${category.replaceAll('_', ' ')}`;

// The subset a URL key names: {key, subset, aesi, label}; all AEs (key '')
// for an empty or unknown key, or an AESI category the trial does not have.
export function subsetOf(key, trial) {
  const s = key ?? '';
  if (s.startsWith('aesi:') && (trial.aesiCategories ?? []).includes(s.slice(5))) {
    const cat = s.slice(5);
    return {key: s, subset: 'INCIDENCE_SUBSET_AESI', aesi: cat, label: aesiLabel(cat)};
  }
  if (NAMED[s]) {
    const [subset, label] = NAMED[s];
    return {key: s, subset, label};
  }
  return {key: '', subset: '', aesi: '', label: 'All AEs'};
}

// The request fields of a URL key as it stands, {subset, aesi} or {} for
// all AEs: an AESI category is the server's to check (the report listing
// shows its refusal rather than listing every AE).
export function subsetRequest(key) {
  const s = key ?? '';
  if (s.startsWith('aesi:')) return {subset: 'INCIDENCE_SUBSET_AESI', aesi: s.slice(5)};
  return NAMED[s] ? {subset: NAMED[s][0]} : {};
}

// A URL key as a caption lists it among other filters ("serious",
// "AESI hepatic"); a key this build does not name, as it stands.
export function subsetInWords(key) {
  if (key.startsWith('aesi:')) return `AESI ${key.slice(5)}`;
  return NAMED[key]?.[2] ?? key;
}

// The subset choices of a form, all AEs first and fatal AEs last.
export function subsetChoices(trial) {
  const named = (k) => [k, NAMED[k][1]];
  return [['', 'All AEs'], named('serious'), named('grade3'), named('related'),
    ...(trial.aesiCategories ?? []).map((c) => [`aesi:${c}`, aesiLabel(c)]), named('death')];
}

// The subset key of the AEs an overall row counts ('' for any AE): the
// reports behind "Any serious AE" are the serious ones.
const OVERALL_SUBSET = {any_ae: '', any_sae: 'serious', grade_3_plus: 'grade3', related: 'related', death: 'death'};
export function subsetOfOverallRow(overallKey) {
  if (overallKey?.startsWith('aesi:')) return overallKey;
  return OVERALL_SUBSET[overallKey] ?? '';
}
