// The proto3 JSON mapping may leave out every field that holds its default
// (0, "", false, [], the zero enum value) — aesignald's gateway does — so a
// missing number means 0. These functions give each v1 message the dashboard
// reads its defaults back, so the views never see `undefined` where the
// message has a value. `optional` fields (explicit presence, e.g.
// onsetStudyDay, relativeRisk) are left absent when absent.

const list = (xs, fn) => (xs ?? []).map(fn);

export function estimate(e) {
  return {subjects: 0, events: 0, denominator: 0, proportion: 0, ciLower: 0, ciUpper: 0, ...e};
}

export function comparison(c) {
  if (!c) return undefined;
  return {controlDoseGroupId: '', controlSubjects: 0, controlDenominator: 0, riskDifference: 0,
    riskDifferenceLower: 0, riskDifferenceUpper: 0, ...c};
}

export function incidenceCell(c) {
  return {
    doseGroupId: '', timepointId: '', nDosed: 0, nAtRisk: 0, scope: 'DOSE_GROUP_SCOPE_UNSPECIFIED', ...c,
    cumulative: estimate(c?.cumulative),
    interval: estimate(c?.interval),
    maxGradeSubjects: c?.maxGradeSubjects ?? [],
    cumulativeVsControl: comparison(c?.cumulativeVsControl),
    intervalVsControl: comparison(c?.intervalVsControl),
  };
}

export function termIncidence(t) {
  return {
    level: 'TERM_LEVEL_UNSPECIFIED', soc: '', pt: '', overallKey: '', label: '', ...t,
    cells: list(t?.cells, incidenceCell),
    doseTrends: list(t?.doseTrends, (x) => ({timepointId: '', pValue: 0, z: 0, exact: false, scores: '', ...x})),
  };
}

export function evidence(e) {
  return {
    method: 'SIGNAL_METHOD_UNSPECIFIED', crosses: false, statistic: 0, pValue: 0, posteriorProbability: 0,
    threshold: 0, subjects: 0, denominator: 0, proportion: 0, ciLower: 0, ciUpper: 0, confidenceLevel: 0,
    expectedProportion: 0, baselineId: '', baselineVersion: 0, citation: '', comparisonSubjects: 0,
    comparisonDenominator: 0, comparison: '', summary: '', reportId: '', reportVersion: 0, adjustedPValue: 0,
    multiplicity: 0, decisionNote: '', pValueTwoSided: 0, boundary: 0, boundaryPlannedSubjects: 0,
    boundaryLevel: 0, boundaryOverallError: 0, ...e,
  };
}

export function signalEvent(e) {
  return {kind: 'KIND_UNSPECIFIED', actor: '', fromStatus: 'SIGNAL_STATUS_UNSPECIFIED',
    toStatus: 'SIGNAL_STATUS_UNSPECIFIED', comment: '', displayName: '', requestId: '', ...e,
    evidence: e?.evidence ? evidence(e.evidence) : undefined};
}

export function signal(s) {
  return {
    name: '', signalId: '', trialId: '', method: 'SIGNAL_METHOD_UNSPECIFIED', level: 'TERM_LEVEL_UNSPECIFIED',
    soc: '', pt: '', overallKey: '', label: '', doseGroupId: '', timepointId: '',
    status: 'SIGNAL_STATUS_UNSPECIFIED', raisedByReportId: '', raisedByReportVersion: 0, changeSequence: '0',
    scope: 'DOSE_GROUP_SCOPE_UNSPECIFIED', ...s,
    evidence: evidence(s?.evidence),
    history: list(s?.history, signalEvent),
  };
}

export function topic(t) {
  return {
    name: '', topicId: '', trialId: '', level: 'TERM_LEVEL_UNSPECIFIED', soc: '', pt: '', overallKey: '',
    label: '', status: 'SIGNAL_STATUS_UNSPECIFIED', crossing: false, strength: 0, summary: '',
    evidenceCount: 0, crossingCount: 0, leadSignalId: '', changeSequence: '0', ...t,
    evidence: list(t?.evidence, signal),
    history: list(t?.history, signalEvent),
  };
}

export function doseGroup(g) {
  return {doseGroupId: '', label: '', doseValue: 0, doseUnit: '', control: false, ...g};
}

export function trial(t) {
  return {
    name: '', trialId: '', title: '', version: 0, ...t,
    doseGroups: list(t?.doseGroups, doseGroup),
    timepoints: list(t?.timepoints, (x) => ({timepointId: '', label: '', studyDay: 0, ...x})),
    sites: list(t?.sites, (x) => ({siteId: '', name: '', ...x})),
    aesiCategories: t?.aesiCategories ?? [],
    signalPolicy: {alpha: 0, fdr: 0, errorControl: 'ERROR_CONTROL_UNSPECIFIED', ...t?.signalPolicy},
  };
}

export function subject(s) {
  return {
    name: '', subjectId: '', siteId: '', doseGroupId: '', lastContactDay: 0,
    status: 'FOLLOW_UP_STATUS_UNSPECIFIED', version: 0, ...s,
    history: list(s?.history, subject),
  };
}

export function aeReport(r) {
  return {
    reportId: '', version: 0, siteId: '', subjectId: '', doseGroupId: '', timepointId: '', pt: '', ptCode: '',
    soc: '', verbatimTerm: '', grade: 0, serious: false, death: false, lifeThreatening: false,
    hospitalization: false, disability: false, congenitalAnomaly: false, medicallyImportant: false,
    relatedness: 'RELATEDNESS_UNSPECIFIED', outcome: 'OUTCOME_UNSPECIFIED', actionTaken: 'ACTION_TAKEN_UNSPECIFIED',
    enteredInError: false, enteredInErrorReason: '',
    ...r, aesi: r?.aesi ?? [],
  };
}

export function reportVersion(v) {
  return {submittedBy: '', timepointId: '', doseGroupId: '', supersededOnArrival: false, ...v, report: aeReport(v?.report)};
}

export function report(r) {
  return {name: '', siteId: '', reportId: '', ...r, current: reportVersion(r?.current), versions: list(r?.versions, reportVersion)};
}

export function baseline(b) {
  return {
    name: '', baselineId: '', level: 'TERM_LEVEL_UNSPECIFIED', soc: '', pt: '', overallKey: '', timepointId: '',
    doseGroupId: '', expectedProportion: 0, sourceEvents: 0, sourceSubjects: 0, citation: '', version: 0, ...b,
  };
}

export function auditRecord(r) {
  return {sequence: '0', principal: '', rpc: '', action: '', resource: '', version: 0, reason: '', details: '', ...r};
}

export function caller(c) {
  return {principal: '', role: '', sites: [], authenticated: false, ...c};
}
