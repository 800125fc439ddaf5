// View 7, the audit trail: rows equal ListAuditRecords; the action and
// principal filters change them as the API does.
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, rerender, assertClean, assertAccessible, screenshot, api, v1, TOKENS} from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const rowsOf = (page) => page.$$eval('#audit-table tbody tr', (trs) => trs.filter((tr) => tr.querySelector('th')).map((tr) => ({
  seq: tr.querySelector('[data-col="seq"]').textContent,
  principal: tr.querySelector('[data-col="principal"]').textContent,
  action: tr.querySelector('[data-col="action"]').dataset.action,
  resource: tr.querySelector('[data-col="resource"] .mono').textContent,
})));

test('audit trail of the example trial equals the API, filtered', async () => {
  const page = await openPage(browser, {token: TOKENS.officer});
  const parent = v1('trials', 'MSC-IPF-EX1');
  await gotoView(page, '#/trials/MSC-IPF-EX1/audit');
  const first = await api(`${parent}/auditRecords`, {token: TOKENS.officer, query: {page_size: 100}});
  const expect = (records) => records.map((r) => ({seq: String(r.sequence), principal: r.principal, action: r.action, resource: r.resource}));
  assert.deepEqual(await rowsOf(page), expect(first.auditRecords));
  assert.ok(first.auditRecords.every((r) => r.principal === 'web-admin'), 'loaded by the admin principal');

  await rerender(page, () => page.selectOption('select[name="action"]', 'subject.enroll'));
  const enroll = await api(`${parent}/auditRecords`, {token: TOKENS.officer, query: {action: 'subject.enroll', page_size: 100}});
  assert.deepEqual(await rowsOf(page), expect(enroll.auditRecords));
  assert.equal(enroll.auditRecords.length, 9);

  await rerender(page, async () => {
    await page.selectOption('select[name="action"]', '');
  });
  await rerender(page, async () => {
    await page.fill('input[name="resource"]', 'trials/MSC-IPF-EX1/baselines/');
    await page.fill('input[name="principal"]', 'web-admin');
    await page.click('form[aria-label="Audit filters"] button[type="submit"]');
  });
  const baselines = await api(`${parent}/auditRecords`, {token: TOKENS.officer,
    query: {resource_prefix: 'trials/MSC-IPF-EX1/baselines/', principal: 'web-admin', page_size: 100}});
  assert.deepEqual(await rowsOf(page), expect(baselines.auditRecords));
  assert.ok(baselines.auditRecords.length >= 4);
  await assertClean(page);
  await gotoView(page, '#/trials/MSC-IPF-EX1/audit');
  await assertAccessible(page, 'audit trail');
  await screenshot(page, 'dashboard-audit', {maxHeight: 1300});
});

test('"Show more" appends the next page of the audit trail until none is left', async () => {
  const page = await openPage(browser, {token: TOKENS.officer});
  const parent = v1('trials', 'CDISCPILOT01');
  await gotoView(page, '#/trials/CDISCPILOT01/audit?action=subject.enroll');
  const query = {action: 'subject.enroll', page_size: 100};
  const expected = [];
  for (let token = '', first = true; first || token; first = false) {
    const p = await api(`${parent}/auditRecords`, {token: TOKENS.officer, query: {...query, page_token: token}});
    expected.push(...p.auditRecords.map((r) => String(r.sequence)));
    token = p.nextPageToken ?? '';
  }
  assert.ok(expected.length > 200, `the pilot enrolls ${expected.length} subjects, three pages`);
  const seqs = async () => (await rowsOf(page)).map((r) => r.seq);
  assert.deepEqual(await seqs(), expected.slice(0, 100));
  // A next page that fails says why beside the button, which stays to try
  // again (the button was left disabled, with an unhandled rejection).
  const nextPage = /\/auditRecords\?.*page_token=/;
  await page.route(nextPage, (route) => route.fulfill({status: 503, contentType: 'application/json',
    body: JSON.stringify({error: {code: 503, status: 'UNAVAILABLE', message: 'the server is restarting'}})}));
  await page.click('#audit-more');
  await page.waitForSelector('.pager .pager-error');
  assert.match(await page.textContent('.pager [role="alert"]'), /the server is restarting/);
  assert.equal(await page.isEnabled('#audit-more'), true);
  assert.deepEqual(await seqs(), expected.slice(0, 100));
  await page.unroute(nextPage);
  for (const shown of [200, expected.length]) {
    await page.click('#audit-more');
    await page.waitForFunction((n) => document.querySelectorAll('#audit-table tbody tr').length === n, shown);
    assert.deepEqual(await seqs(), expected.slice(0, shown));
    const more = shown < expected.length;
    assert.equal(await page.textContent('#audit-count'), `${shown} records shown${more ? ', more available' : ''}.`);
    assert.equal(await page.isVisible('#audit-more'), more);
  }
  await assertClean(page);
});
