// View 1, the trials list: subjects, reports and open topics equal the API.
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, assertClean, assertAccessible, screenshot, api, listAll, v1} from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const OPEN = new Set(['SIGNAL_STATUS_NEW', 'SIGNAL_STATUS_VALIDATED', 'SIGNAL_STATUS_UNDER_ASSESSMENT']);

test('trials: subjects, reports and open topics equal the API', async () => {
  const page = await openPage(browser);
  await gotoView(page, '#/trials');
  const trials = await listAll('/v1/trials', 'trials');
  assert.ok(trials.length >= 2);
  const rows = await page.$$eval('#trials-table tbody tr', (trs) => trs.map((tr) => Object.fromEntries(
    [...tr.children].map((c) => [c.dataset.col, c.textContent.trim()]))));
  assert.deepEqual(rows.map((r) => r.trial), trials.map((t) => t.trialId));
  for (const t of trials) {
    const parent = v1('trials', t.trialId);
    const subjects = await listAll(`${parent}/subjects`, 'subjects');
    const reports = await api(`${parent}/reports`, {query: {page_size: 1}});
    const topics = await listAll(`${parent}/topics`, 'topics');
    const row = rows.find((r) => r.trial === t.trialId);
    assert.equal(row.subjects, String(subjects.length), `${t.trialId} subjects`);
    assert.equal(row.reports, String(reports.totalSize ?? 0), `${t.trialId} reports`);
    assert.equal(row.open, String(topics.filter((x) => OPEN.has(x.status)).length), `${t.trialId} open topics`);
    assert.equal(row.crossing, String(topics.filter((x) => x.crossing).length), `${t.trialId} crossing topics`);
  }
  const cdisc = rows.find((r) => r.trial === 'CDISCPILOT01');
  assert.equal(cdisc.subjects, '254');
  assert.equal(cdisc.reports, '1126');
  await assertClean(page);
  await assertAccessible(page, 'trials');
  await screenshot(page, 'dashboard-trials');
});
