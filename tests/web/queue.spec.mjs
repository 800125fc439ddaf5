// View 5, the signal queue and a topic: the ranking equals ListTopics; a
// report submitted over HTTP while the queue is open shows its topic within
// 2 s (Server-Sent Events, no reload); triage from the topic page lands in
// the audit trail with the signed-in principal.
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, waitReady, rerender, assertClean, assertAccessible, screenshot, api, listAll, v1,
  TOKENS, PRINCIPALS} from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const OPEN = new Set(['SIGNAL_STATUS_NEW', 'SIGNAL_STATUS_VALIDATED', 'SIGNAL_STATUS_UNDER_ASSESSMENT']);
const LIVE = `WEB-LIVE-${Date.now().toString(36).toUpperCase()}`;
const LIVE_PARENT = v1('trials', LIVE);

test('the queue ranks topics as ListTopics does; the state filter', async () => {
  const page = await openPage(browser, {token: TOKENS.officer});
  await gotoView(page, '#/trials/CDISCPILOT01/signals');
  const topics = await listAll(`${v1('trials', 'CDISCPILOT01')}/topics`, 'topics', {token: TOKENS.officer});
  const shown = await page.$$eval('#queue-table tbody tr th[data-topic]', (ths) => ths.map((th) => th.dataset.topic));
  assert.deepEqual(shown, topics.filter((t) => OPEN.has(t.status)).map((t) => t.topicId));
  assert.ok(shown.length >= 1);
  const strength = await page.textContent(`#queue-table tbody tr:first-child td[data-col="strength"]`);
  assert.equal(strength, topics[0].strength.toFixed(2));
  // All states.
  await rerender(page, () => page.selectOption('select[name="status"]', 'all'));
  const all = await page.$$eval('#queue-table tbody tr th[data-topic]', (ths) => ths.map((th) => th.dataset.topic));
  assert.deepEqual(all, topics.map((t) => t.topicId));
  await assertClean(page);
  await gotoView(page, '#/trials/CDISCPILOT01/signals');
  await page.waitForSelector('#live-state[data-state="live"]', {timeout: 10000});
  await assertAccessible(page, 'signal queue');
  await screenshot(page, 'dashboard-queue');
});

test('while rows await signal evaluation the queue says so, until they are evaluated', async () => {
  const page = await openPage(browser, {token: TOKENS.officer});
  // The evaluator is current again within a second of a handful of reports,
  // too soon to catch reliably, so the server's first ListTopics answer is
  // passed on with one field changed (as ListTopics gives it while a burst
  // is being evaluated); every later call gets the server's own answer.
  const path = `${v1('trials', 'CDISCPILOT01')}/topics`;
  let calls = 0;
  await page.route((url) => url.pathname === path, async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    assert.equal(json.rowsPendingEvaluation ?? 0, 0, 'the loaded trial is evaluated');
    if (calls++ === 0) json.rowsPendingEvaluation = 7;
    await route.fulfill({response, json});
  });
  await gotoView(page, '#/trials/CDISCPILOT01/signals');
  const state = page.locator('#evaluation-state');
  assert.equal(await state.getAttribute('data-pending'), '7');
  assert.equal(await state.textContent(),
    'Signals catching up: 7 term rows with reports not yet evaluated; the queue updates as they are.');
  assert.equal(await state.getAttribute('role'), 'status');
  await assertAccessible(page, 'signal queue while signals catch up');
  await screenshot(page, 'dashboard-queue-catching-up');
  // The next poll (2 s later) reads the server's answer: current, so the line goes.
  await page.waitForSelector('#evaluation-state[data-pending="0"]', {state: 'attached', timeout: 10000});
  assert.equal(await state.textContent(), '');
  const polls = calls;
  assert.ok(polls >= 2, `${polls} ListTopics calls`);
  // Once current it stops asking.
  await page.waitForTimeout(4500);
  assert.equal(calls, polls, 'no polling once signals are current');
  await assertClean(page);
});

test('a topic page: evidence and history equal GetTopic', async () => {
  const page = await openPage(browser, {token: TOKENS.officer});
  const topics = await listAll(`${v1('trials', 'CDISCPILOT01')}/topics`, 'topics', {token: TOKENS.officer});
  const id = topics.find((t) => t.pt === 'PRURITUS')?.topicId ?? topics[0].topicId;
  const topic = await api(v1('trials', 'CDISCPILOT01', 'topics', id), {token: TOKENS.officer});
  await gotoView(page, `#/trials/CDISCPILOT01/topics/${encodeURIComponent(id)}`);
  const signals = await page.$$eval('#evidence-table tbody th[data-signal]', (ths) => ths.map((th) => th.dataset.signal));
  assert.deepEqual(signals, topic.evidence.map((s) => s.signalId));
  const counts = await page.$$eval('#evidence-table tbody td[data-col="cell"]', (tds) => tds.map((td) => `${td.dataset.n}/${td.dataset.d}`));
  assert.deepEqual(counts, topic.evidence.map((s) => `${s.evidence?.subjects ?? 0}/${s.evidence?.denominator ?? 0}`));
  assert.equal(await page.textContent('#topic-summary'), topic.summary);
  assert.equal(await page.locator('#history-table tbody tr').count(), topic.history.length);
  assert.equal(await page.locator('form#triage').count(), 1, 'a safety officer may triage');
  await assertClean(page);
  await assertAccessible(page, 'topic');
  await screenshot(page, 'dashboard-topic');
});

// A trial of its own: three dose groups of three subjects, only the exact
// binomial method, and a 2 % baseline for any serious AE by month 3, which
// two serious AEs in HIGH cross (as clients/node's test).
async function createLiveTrial() {
  await api('/v1/trials', {body: {
    trialId: LIVE, title: 'Dashboard live test',
    doseGroups: [{doseGroupId: 'LOW', label: 'Low', doseValue: 1, doseUnit: 'cells'},
      {doseGroupId: 'MID', label: 'Mid', doseValue: 2, doseUnit: 'cells'},
      {doseGroupId: 'HIGH', label: 'High', doseValue: 3, doseUnit: 'cells'}],
    timepoints: [{timepointId: 'M3', label: 'Month 3', studyDay: 91}, {timepointId: 'M6', label: 'Month 6', studyDay: 182}],
    sites: [{siteId: '01', name: 'Site 01'}],
    signalPolicy: {errorControl: 'ERROR_CONTROL_PER_TEST', disableBayesian: true, disableControl: true,
      disableTrend: true, disableOverTime: true, minCasesOne: true},
  }});
  const groups = ['LOW', 'MID', 'HIGH'];
  await api(`${LIVE_PARENT}/subjects:enroll`, {body: {subjects: Array.from({length: 9}, (_, i) => ({
    subjectId: `S${i + 1}`, siteId: '01', doseGroupId: groups[i % 3], lastContactDay: 182}))}});
  await api(`${LIVE_PARENT}/baselines:put`, {body: {baselines: [{baselineId: 'sae-3m', level: 'TERM_LEVEL_OVERALL',
    overallKey: 'any_sae', timepointId: 'M3', doseGroupId: 'HIGH', expectedProportion: 0.02, citation: 'dashboard test baseline'},
  // One pneumonia among MID's subjects crosses this (1 - 0.99^4 = 0.039 with four), none with three.
  {baselineId: 'pneumonia-mid-3m', level: 'TERM_LEVEL_PT', soc: 'Infections and infestations', pt: 'Pneumonia',
    timepointId: 'M3', doseGroupId: 'MID', expectedProportion: 0.01, citation: 'dashboard test baseline'}]}});
}

test('a report submitted over HTTP while the queue is open appears within 2 s', async () => {
  await createLiveTrial();
  const page = await openPage(browser, {token: TOKENS.officer});
  await gotoView(page, `#/trials/${LIVE}/signals`);
  await page.waitForSelector('#live-state[data-state="live"]', {timeout: 10000});
  assert.equal(await page.locator('#queue-table tbody th[data-topic]').count(), 0);
  const result = await api(`${LIVE_PARENT}/reports:submit`, {token: TOKENS.admin, body: {reports: [
    {reportId: 'R1', version: 1, siteId: '01', subjectId: 'S3', onsetStudyDay: 20, pt: 'Pneumonia',
      soc: 'Infections and infestations', grade: 3, serious: true, hospitalization: true},
    {reportId: 'R2', version: 1, siteId: '01', subjectId: 'S6', onsetStudyDay: 30, pt: 'Pneumonia',
      soc: 'Infections and infestations', grade: 4, serious: true, hospitalization: true},
  ]}});
  const acked = Date.now();
  assert.equal(result.acceptedCount, 2, JSON.stringify(result));
  await page.waitForSelector('#queue-table th[data-topic="OVERALL~any_sae"]', {timeout: 2000});
  const elapsed = Date.now() - acked;
  assert.ok(elapsed < 2000, `topic shown ${elapsed} ms after the acknowledgement`);
  // No reload happened: still the same render.
  assert.equal(await page.getAttribute('main', 'data-renders'), '1');
  console.log(`live topic shown ${elapsed} ms after the acknowledgement`);
  await assertClean(page);
});

test('triage from the page lands in the audit trail with the principal', async () => {
  const topicId = 'OVERALL~any_sae';
  const page = await openPage(browser, {token: TOKENS.officer});
  await gotoView(page, `#/trials/${LIVE}/topics/${encodeURIComponent(topicId)}`);
  const comment = `Two serious pneumonias in HIGH, DSMB review ${Date.now()}`;
  // No decision is pre-selected: a comment alone records nothing.
  const before = (await api(v1('trials', LIVE, 'topics', topicId), {token: TOKENS.officer})).status;
  assert.equal(await page.locator('#triage input[name="status"]:checked').count(), 0);
  await page.fill('#triage-comment', comment);
  await page.click('#triage button[type="submit"]');
  assert.equal(await page.$eval('#triage input[name="status"]', (el) => el.validity.valueMissing), true);
  assert.equal(await page.locator('#triage-outcome').count(), 0);
  assert.equal((await api(v1('trials', LIVE, 'topics', topicId), {token: TOKENS.officer})).status, before);
  await page.check('#triage input[value="SIGNAL_STATUS_VALIDATED"]');
  await page.fill('#triage-comment', comment);
  await page.fill('#triage-display', 'Dr. Web Test, DSMB chair');
  await page.click('#triage button[type="submit"]');
  await page.waitForSelector('#triage-outcome', {timeout: 10000});
  const history = await page.$$eval('#history-table tbody td[data-actor]', (tds) => tds.map((td) => td.dataset.actor));
  assert.equal(history.at(-1), PRINCIPALS.officer);
  const topic = await api(v1('trials', LIVE, 'topics', topicId), {token: TOKENS.officer});
  assert.equal(topic.status, 'SIGNAL_STATUS_VALIDATED');
  const audit = await listAll(`${LIVE_PARENT}/auditRecords`, 'auditRecords', {token: TOKENS.officer, query: {action: 'topic.triage'}});
  assert.equal(audit.length, 1, JSON.stringify(audit));
  assert.equal(audit[0].principal, PRINCIPALS.officer);
  assert.equal(audit[0].reason, comment);
  assert.match(audit[0].resource, new RegExp(`topics/${topicId}`));
  // The next move offered follows the lifecycle: VALIDATED -> under assessment or closed.
  const offered = await page.$$eval('#triage input[name="status"]', (els) => els.map((e) => e.value).sort());
  assert.deepEqual(offered, ['SIGNAL_STATUS_CLOSED', 'SIGNAL_STATUS_UNDER_ASSESSMENT']);
  // The audit trail view shows it.
  await gotoView(page, `#/trials/${LIVE}/audit?action=topic.triage`);
  const rows = await page.$$eval('#audit-table tbody th[data-principal]', (ths) => ths.map((th) => th.dataset.principal));
  assert.deepEqual(rows, [PRINCIPALS.officer]);
  await assertClean(page);
  void waitReady;
});

// Last in this file: it changes the live trial's counts.
test('a report withdrawn as entered in error leaves the listing, and is shown marked when asked for', async () => {
  const reason = 'duplicate of R1 (same admission)';
  const result = await api(`${LIVE_PARENT}/reports:submit`, {token: TOKENS.admin, body: {reports: [
    {reportId: 'R2', version: 2, siteId: '01', subjectId: 'S6', onsetStudyDay: 30, pt: 'Pneumonia',
      soc: 'Infections and infestations', grade: 4, serious: true, hospitalization: true,
      enteredInError: true, enteredInErrorReason: reason},
  ]}});
  assert.equal(result.acceptedCount, 1, JSON.stringify(result));
  const page = await openPage(browser, {token: TOKENS.officer});
  await gotoView(page, `#/trials/${LIVE}/reports`);
  const listed = () => page.$$eval('#reports-table tbody th[data-report]', (ths) => ths.map((th) => th.dataset.report));
  assert.deepEqual(await listed(), ['01/R1']);
  await rerender(page, () => page.selectOption('select[name="withdrawn"]', 'include'));
  assert.deepEqual((await listed()).sort(), ['01/R1', '01/R2']);
  const badge = page.locator('#reports-table th[data-report="01/R2"] .badge.withdrawn');
  assert.equal(await badge.textContent(), 'entered in error');
  assert.equal(await badge.getAttribute('title'), reason);
  await page.click('button[aria-label="Versions of report R2"]');
  await page.waitForSelector('table.versions tbody tr');
  const counted = await page.$$eval('table.versions tbody td[data-col="state"]', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(counted, [`no: withdrawn, entered in error (${reason})`, 'superseded']);
  // The withdrawal is audited as such, and the incidence no longer counts it.
  const audit = await listAll(`${LIVE_PARENT}/auditRecords`, 'auditRecords', {token: TOKENS.officer, query: {action: 'report.withdraw'}});
  assert.equal(audit.length, 1, JSON.stringify(audit));
  const overall = await api(`${LIVE_PARENT}/incidence`, {token: TOKENS.officer, query: {level: 'TERM_LEVEL_OVERALL', dose_group_id: 'HIGH', timepoint_id: 'M3'}});
  const anySae = overall.terms.find((t) => t.overallKey === 'any_sae');
  assert.equal(anySae.cells[0].cumulative.subjects, 1);
  await assertClean(page);
  await assertAccessible(page, 'reports-withdrawn');
  await screenshot(page, 'dashboard-reports-withdrawn', {maxHeight: 1000});
});

// After the withdrawal: it moves the live trial's SAE to another group.
test('a subject corrected to another dose group takes its reports along, and shows why', async () => {
  const corrected = {subjectId: 'S3', siteId: '01', doseGroupId: 'MID', lastContactDay: 182, version: 1};
  // Without a reason the correction is refused, naming the field.
  const refused = await api(`${LIVE_PARENT}/subjects:enroll`, {body: {subjects: [corrected]}}).catch((e) => e);
  assert.equal(refused.status, 400, String(refused));
  assert.match(refused.body, /subjects\[0\]\.dose_group_id/);
  const reason = 'randomization error: received the mid dose';
  const enrolled = await api(`${LIVE_PARENT}/subjects:enroll`, {body: {subjects: [{...corrected, correctionReason: reason}]}});
  assert.equal(enrolled.updatedCount, 1, JSON.stringify(enrolled));
  const anySae = async (group) => {
    const overall = await api(`${LIVE_PARENT}/incidence`, {token: TOKENS.officer, query: {level: 'TERM_LEVEL_OVERALL', dose_group_id: group, timepoint_id: 'M3'}});
    return overall.terms.find((t) => t.overallKey === 'any_sae').cells[0].cumulative.subjects ?? 0;  // JSON leaves 0 out
  };
  assert.equal(await anySae('HIGH'), 0);
  assert.equal(await anySae('MID'), 1);
  const page = await openPage(browser, {token: TOKENS.officer});
  await gotoView(page, `#/trials/${LIVE}/subjects/S3`);
  const history = await page.$$eval('#subject-history-table tbody tr', (trs) => trs.map((tr) => Object.fromEntries(
    [...tr.querySelectorAll('[data-col]')].map((c) => [c.dataset.col, c.textContent.trim()]))));
  assert.equal(history.length, 2, JSON.stringify(history));
  assert.deepEqual([history[0].group, history[0].correction], ['Mid', reason]);
  assert.deepEqual([history[1].group, history[1].correction], ['High', '—']);
  // The report listing of the new group holds the subject's report.
  await gotoView(page, `#/trials/${LIVE}/reports?group=MID`);
  const listed = await page.$$eval('#reports-table tbody th[data-report]', (ths) => ths.map((th) => th.dataset.report));
  assert.deepEqual(listed, ['01/R1']);
  await gotoView(page, `#/trials/${LIVE}/audit?action=subject.correct`);
  assert.equal(await page.locator('#audit-table tbody tr').count(), 1);
  await assertClean(page);
  await assertAccessible(page, 'audit-subject-correct');
  await gotoView(page, `#/trials/${LIVE}/subjects/S3`);
  await screenshot(page, 'dashboard-subject-corrected', {maxHeight: 1200});
  // S3's pneumonia now counts in MID, which crosses its baseline: the topic
  // raised says it followed the correction, not a report, and links the subject.
  let topic;
  for (let i = 0; i < 50 && !topic; ++i) {
    const topics = await listAll(`${LIVE_PARENT}/topics`, 'topics', {token: TOKENS.officer});
    topic = topics.find((t) => t.pt === 'Pneumonia');
    if (!topic) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(topic, 'the MID pneumonia topic is raised');
  const full = await api(v1('trials', LIVE, 'topics', topic.topicId), {token: TOKENS.officer});
  const raised = full.evidence.find((s) => s.doseGroupId === 'MID');
  assert.equal(raised.raisedByReportId ?? '', '', JSON.stringify(raised));
  assert.deepEqual(raised.raisedByChange, {action: 'subject.correct', name: `trials/${LIVE}/subjects/S3`, version: 2});
  await gotoView(page, `#/trials/${LIVE}/topics/${encodeURIComponent(topic.topicId)}`);
  const first = page.locator('#history-table tbody tr').first().locator('td[data-col="comment"]');
  assert.equal((await first.textContent()).trim(), 'After correction of subject S3 (version 2)');
  assert.equal(await first.locator('a').getAttribute('href'), `#/trials/${LIVE}/subjects/S3`);
  // Undoing the correction takes the pneumonia out of MID: the topic stops
  // crossing, and its history says after what.
  await api(`${LIVE_PARENT}/subjects:enroll`, {body: {subjects: [{...corrected, doseGroupId: 'HIGH', version: 2,
    correctionReason: 'the correction named the wrong subject'}]}});
  let stopped;
  for (let i = 0; i < 50 && !stopped; ++i) {
    const now = await api(v1('trials', LIVE, 'topics', topic.topicId), {token: TOKENS.officer});
    stopped = now.crossing ? null : now;
    if (!stopped) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(stopped, 'the MID pneumonia topic stops crossing');
  assert.deepEqual(stopped.history.map((e) => e.kind), ['KIND_RAISED', 'KIND_STOPPED_CROSSING']);
  await page.reload();  // the same hash: a navigation would not render again
  await waitReady(page);
  const rows = await page.$$eval('#history-table tbody tr', (trs) => trs.map((tr) =>
    [...tr.querySelectorAll('[data-col]')].filter((c) => ['kind', 'comment'].includes(c.dataset.col)).map((c) => c.textContent.trim())));
  assert.deepEqual(rows, [['Raised', 'After correction of subject S3 (version 2)'],
    ['Stopped crossing', 'After correction of subject S3 (version 3)']]);
  await assertClean(page);
  await assertAccessible(page, 'topic-raised-by-correction');
  await screenshot(page, 'dashboard-topic-raised-by-correction', {maxHeight: 1400});
});

// A test past its threshold that does not cross says why: 1/2 in HIGH
// (p = 1 - 0.98^2 = 0.040 against a 2 % baseline) is one subject short of
// the trial's minimum of 2 (signal_policy.min_cases unset). It got there by
// crossing at 2/3 (p = 0.0012) and losing a subject to a correction, so the
// topic keeps it as evidence.
test('evidence past its threshold with too few subjects says why it does not cross', async () => {
  const trialId = `WEB-WHYNOT-${Date.now().toString(36).toUpperCase()}`;
  const parent = v1('trials', trialId);
  await api('/v1/trials', {body: {
    trialId, title: 'Dashboard why-not test',
    doseGroups: [{doseGroupId: 'LOW', label: 'Low'}, {doseGroupId: 'MID', label: 'Mid'}, {doseGroupId: 'HIGH', label: 'High'}],
    timepoints: [{timepointId: 'M3', label: 'Month 3', studyDay: 91}],
    sites: [{siteId: '01', name: 'Site 01'}],
    signalPolicy: {errorControl: 'ERROR_CONTROL_PER_TEST', disableBayesian: true, disableControl: true,
      disableTrend: true, disableOverTime: true},
  }});
  const groups = ['LOW', 'MID', 'HIGH'];
  await api(`${parent}/subjects:enroll`, {body: {subjects: Array.from({length: 9}, (_, i) => ({
    subjectId: `S${i + 1}`, siteId: '01', doseGroupId: groups[i % 3], lastContactDay: 91}))}});
  await api(`${parent}/baselines:put`, {body: {baselines: [{baselineId: 'sae-3m', level: 'TERM_LEVEL_OVERALL',
    overallKey: 'any_sae', timepointId: 'M3', doseGroupId: 'HIGH', expectedProportion: 0.02, citation: 'dashboard test baseline'}]}});
  await api(`${parent}/reports:submit`, {body: {reports: ['S3', 'S6'].map((subjectId, i) => ({
    reportId: `R${i + 1}`, version: 1, siteId: '01', subjectId, onsetStudyDay: 20 + i, pt: 'Pneumonia',
    soc: 'Infections and infestations', grade: 3, serious: true, hospitalization: true}))}});
  const topicId = 'OVERALL~any_sae';
  const until = async (wanted) => {
    for (let i = 0; i < 100; ++i) {
      const topic = await api(v1('trials', trialId, 'topics', topicId)).catch(() => null);
      if (topic && wanted(topic)) return topic;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`topic ${topicId} never reached the state wanted`);
  };
  await until((t) => t.crossing);
  await api(`${parent}/subjects:enroll`, {body: {subjects: [{subjectId: 'S6', siteId: '01', doseGroupId: 'MID',
    lastContactDay: 91, version: 1, correctionReason: 'randomization error: received the mid dose'}]}});
  const stopped = await until((t) => !t.crossing);
  const high = stopped.evidence.find((s) => s.doseGroupId === 'HIGH');
  assert.deepEqual([high.evidence.subjects, high.evidence.denominator, high.evidence.crosses ?? false], [1, 2, false]);
  assert.ok(high.evidence.pValue < 0.05, JSON.stringify(high.evidence));

  const page = await openPage(browser, {token: TOKENS.dsmb});
  await gotoView(page, `#/trials/${trialId}/topics/${encodeURIComponent(topicId)}`);
  const decision = page.locator(`#evidence-table tbody tr:has([data-signal="${high.signalId}"]) td[data-col="crosses"]`);
  assert.equal((await decision.textContent()).trim(), 'does not cross' +
    "past its threshold, but a signal also needs at least 2 subjects with the event (the trial's minimum cases); this cell has 1");
  await assertClean(page);
});
