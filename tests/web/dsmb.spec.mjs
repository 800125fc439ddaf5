// The DSMB report page: a safety officer picks a cut-off and a session,
// generates the report, sees the content hash the API gives for the same
// request, and downloads the HTML (the same report) and a table as CSV; the
// coded session hides the groups; a bad cut-off is explained.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, rerender, assertClean, assertAccessible, screenshot, api, v1, TOKENS} from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const parent = v1('trials', 'MSC-IPF-EX1');

test('generate the closed report at a cut-off and download it', async () => {
  const page = await openPage(browser, {token: TOKENS.officer});
  await gotoView(page, '#/trials/MSC-IPF-EX1/dsmb');
  const nav = await page.$$eval('#trialnav a', (as) => as.map((a) => a.textContent));
  assert.ok(nav.includes('DSMB report'), nav.join(', '));
  // A cut-off in the past (before the page opened) so the API's answer is
  // final: the data were loaded before the tests started.
  const cutoff = new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await rerender(page, async () => {
    // Chromium shows a datetime-local with zero seconds without them, and
    // fill() checks the value it reads back.
    await page.fill('input[name="cutoff"]', cutoff.replace(/Z$/, '').replace(/:00$/, ''));
    await page.selectOption('select[name="session"]', 'closed');
    await page.click('#dsmb-generate');
  });
  const expected = await api(`${parent}/dsmbReport`, {token: TOKENS.officer,
    query: {cutoff, session: 'DSMB_SESSION_CLOSED'}});
  assert.equal(await page.textContent('#dsmb-hash'), expected.contentHash);
  assert.match(expected.contentHash, /^sha256:[0-9a-f]{64}$/);
  const rows = await page.$$eval('#dsmb-tables tbody tr', (trs) => trs.length);
  assert.equal(rows, expected.tables.length);

  const [html] = await Promise.all([page.waitForEvent('download'), page.click('#dsmb-download-html')]);
  const text = readFileSync(await html.path(), 'utf8');
  assert.match(text, /CLOSED SESSION — CONFIDENTIAL/);
  assert.ok(text.includes(expected.contentHash), 'the downloaded report prints the hash');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#csv-t05_ae_overview')]);
  const overview = expected.tables.find((t) => t.id === 't05_ae_overview');
  assert.equal(readFileSync(await csv.path(), 'utf8'), overview.csv);
  assert.match(csv.suggestedFilename(), /t05_ae_overview\.csv$/);
  await assertClean(page);
  await assertAccessible(page, 'DSMB report');
  await screenshot(page, 'dashboard-dsmb', {maxHeight: 1300});
});

test('coded and open sessions; a cut-off in the future is refused', async () => {
  const page = await openPage(browser, {token: TOKENS.officer});
  const cutoff = new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await gotoView(page, `#/trials/MSC-IPF-EX1/dsmb?cutoff=${cutoff}&session=closed&coded=1`);
  const coded = await api(`${parent}/dsmbReport`, {token: TOKENS.officer,
    query: {cutoff, session: 'DSMB_SESSION_CLOSED', coded: 'true'}});
  assert.equal(await page.textContent('#dsmb-hash'), coded.contentHash);
  assert.ok(coded.tables.find((t) => t.id === 't05_ae_overview').csv.includes('Group A'));
  await gotoView(page, `#/trials/MSC-IPF-EX1/dsmb?cutoff=${cutoff}&session=open`);
  const open = await api(`${parent}/dsmbReport`, {token: TOKENS.officer, query: {cutoff, session: 'DSMB_SESSION_OPEN'}});
  assert.equal(await page.textContent('#dsmb-hash'), open.contentHash);
  assert.notEqual(open.contentHash, coded.contentHash);
  const future = new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  await gotoView(page, `#/trials/MSC-IPF-EX1/dsmb?cutoff=${future}&session=open`);
  assert.match(await page.textContent('#dsmb-error'), /cutoff: is in the future/);
  await assertClean(page);
});

test('a coding key stays out of the address and orders the letters', async () => {
  const page = await openPage(browser, {token: TOKENS.officer});
  await gotoView(page, '#/trials/MSC-IPF-EX1/dsmb');
  const cutoff = new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  // Under this key the example's groups D20M, D100M, D200M are coded in
  // the order D20M, D200M, D100M (Python's hmac agrees).
  const key = '0123456789abcdef0123456789abcdef';
  await rerender(page, async () => {
    await page.fill('input[name="cutoff"]', cutoff.replace(/Z$/, '').replace(/:00$/, ''));
    await page.selectOption('select[name="session"]', 'closed');
    await page.check('input[name="coded"]');
    await page.fill('input[name="codingKey"]', key);
    await page.click('#dsmb-generate');
  });
  assert.ok(!page.url().includes(key), page.url());
  assert.match(page.url(), /keyed=1/);
  const keyed = await api(`${parent}/dsmbReport:generate`, {token: TOKENS.officer,
    body: {cutoff, session: 'DSMB_SESSION_CLOSED', coded: true, codingKey: key}});
  assert.equal(await page.textContent('#dsmb-hash'), keyed.contentHash);
  assert.match(keyed.html, /coded by the key with fingerprint [0-9a-f]{8}/);
  assert.ok(!keyed.html.includes(key));
  const trialOrder = await api(`${parent}/dsmbReport`, {token: TOKENS.officer,
    query: {cutoff, session: 'DSMB_SESSION_CLOSED', coded: 'true'}});
  // Not the fingerprint alone: the by-group columns are in another order.
  const t06 = (r) => r.tables.find((t) => t.id === 't06_ae_soc_pt').csv;
  assert.notEqual(t06(keyed), t06(trialOrder));
  // The term (first field, quoted when it holds a comma), then the figures,
  // which hold none.
  const figures = (row) => (row.startsWith('"') ? row.slice(row.indexOf('",') + 2) : row.slice(row.indexOf(',') + 1)).split(',');
  const trialOrderRows = t06(trialOrder).split('\n').map((row) => ['', ...figures(row)]);
  const keyedRows = t06(keyed).split('\n').map((row) => ['', ...figures(row)]);
  // Column 0 is the term, then Group A, B, C, Total: B and C swap.
  // (The header row names the letters, which stay A, B, C.)
  assert.deepEqual(keyedRows.slice(1).map((r) => [r[2], r[3]]), trialOrderRows.slice(1).map((r) => [r[3], r[2]]));
  await assertAccessible(page, 'DSMB report with a coding key');
  await screenshot(page, 'dashboard-dsmb-keyed', {maxHeight: 900});

  // The key sheet: the same key without coding lists the codes.
  await rerender(page, async () => {
    await page.uncheck('input[name="coded"]');
    await page.click('#dsmb-generate');
  });
  const sheet = await api(`${parent}/dsmbReport:generate`, {token: TOKENS.officer,
    body: {cutoff, session: 'DSMB_SESSION_CLOSED', codingKey: key}});
  assert.equal(await page.textContent('#dsmb-hash'), sheet.contentHash);
  assert.match(sheet.html, /Key of the coded report<\/dt><dd>fingerprint [0-9a-f]{8}: Group A = /);

  // A key in a URL is refused; a reload (the page keeps no key) asks for it.
  await assert.rejects(api(`${parent}/dsmbReport`, {token: TOKENS.officer,
    query: {cutoff, session: 'DSMB_SESSION_CLOSED', codingKey: key}}), /codingKey/);
  await page.reload();
  await page.waitForSelector('text=enter the key again');
  assert.equal(await page.$('#dsmb-hash'), null);
  // Entering it again leaves the address as it was, and still renders.
  await rerender(page, async () => {
    await page.fill('input[name="codingKey"]', key);
    await page.click('#dsmb-generate');
  });
  assert.equal(await page.textContent('#dsmb-hash'), sheet.contentHash);
  await assertClean(page);
});

test('a site principal has no DSMB report', async () => {
  const page = await openPage(browser, {token: TOKENS.site});
  await gotoView(page, '#/trials/MSC-IPF-EX1/reports');
  const nav = await page.$$eval('#trialnav a', (as) => as.map((a) => a.textContent));
  assert.ok(!nav.includes('DSMB report'), nav.join(', '));
});
