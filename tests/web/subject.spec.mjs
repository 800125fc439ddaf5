// View 6, subject profile (and the subjects list): the reports and their
// versions equal the API; the timeline has one mark per AE.
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, assertClean, assertAccessible, screenshot, api, listAll, v1} from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('subject EX1-004: reports, versions and timeline equal the API', async () => {
  const page = await openPage(browser);
  await gotoView(page, '#/trials/MSC-IPF-EX1/subjects/EX1-004');
  const reports = await listAll(`${v1('trials', 'MSC-IPF-EX1')}/reports`, 'reports', {query: {subject_id: 'EX1-004', order_by: 'onset_study_day'}});
  const shown = await page.$$eval('#subject-reports-table tbody th[data-report]', (ths) => ths.map((th) => th.dataset.report));
  assert.deepEqual(shown, reports.map((r) => `${r.siteId}/${r.reportId}`));
  const pts = await page.$$eval('#subject-reports-table tbody td[data-col="pt"]', (tds) => tds.map((td) => td.firstChild.firstChild.textContent));
  assert.deepEqual(pts, reports.map((r) => r.current.report.pt));
  // One onset mark per AE in the timeline (Plot draws each dot as a path with a title).
  const titles = await page.$$eval('#timeline-figure svg title', (ts) => ts.map((t) => t.textContent));
  assert.equal(titles.filter((t) => / onset /.test(t) || /: onset/.test(t)).length, reports.length, titles.join('\n'));
  // AE-0005 has two versions (a follow-up): the version list equals GetReport.
  const report = await api(`${v1('trials', 'MSC-IPF-EX1', 'sites', '01', 'reports', 'AE-0005')}`);
  await page.click('button[aria-label="Versions of report AE-0005"]');
  await page.waitForSelector('table.versions');
  assert.equal(await page.locator('table.versions tbody tr').count(), report.versions.length);
  assert.ok(report.versions.length >= 2);
  await assertClean(page);
  await assertAccessible(page, 'subject profile');
});

test('the CDISC subject with the most AEs, and the subjects list', async () => {
  const page = await openPage(browser);
  const subjects = await listAll(`${v1('trials', 'CDISCPILOT01')}/subjects`, 'subjects');
  await gotoView(page, '#/trials/CDISCPILOT01/subjects');
  const shown = await page.$$eval('#subjects-table tbody th[data-subject]', (ths) => ths.map((th) => th.dataset.subject));
  assert.deepEqual(shown, subjects.map((s) => s.subjectId));
  await screenshot(page, 'dashboard-subjects', {maxHeight: 1100});
  // Filtered by dose group: the rows the API has for it.
  await gotoView(page, '#/trials/CDISCPILOT01/subjects?group=Placebo');
  const placebo = await page.$$eval('#subjects-table tbody th[data-subject]', (ths) => ths.map((th) => th.dataset.subject));
  assert.deepEqual(placebo, subjects.filter((s) => s.doseGroupId === 'Placebo').map((s) => s.subjectId));
  await assertAccessible(page, 'subjects');
  const reports = await listAll(`${v1('trials', 'CDISCPILOT01')}/reports`, 'reports');
  const counts = new Map();
  for (const r of reports) counts.set(r.current.report.subjectId, (counts.get(r.current.report.subjectId) ?? 0) + 1);
  const [subject, n] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  await gotoView(page, `#/trials/CDISCPILOT01/subjects/${encodeURIComponent(subject)}`);
  assert.equal(await page.locator('#subject-reports-table tbody th[data-report]').count(), n);
  await assertClean(page);
  await screenshot(page, 'dashboard-subject', {maxHeight: 1500});
});
