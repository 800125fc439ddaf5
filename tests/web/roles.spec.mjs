// Roles and sign-in: a site token sees only its site and cannot triage; a
// DSMB member reads incidence, topics and the report but triages nothing and
// has no audit trail; a bad token gets the sign-in prompt; signing in and
// out.
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, waitReady, rerender, assertClean, assertAccessible, screenshot, api, listAll, v1, TOKENS, PRINCIPALS, BASE} from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a site principal: its own site only, no triage form', async () => {
  const page = await openPage(browser, {token: TOKENS.site});
  await page.goto(BASE);
  await page.waitForURL(/#\/open$/);
  await waitReady(page);
  await page.fill('input[name="trial"]', 'MSC-IPF-EX1');
  await page.click('form.inline-form button[type="submit"]');
  await page.waitForURL(/#\/trials\/MSC-IPF-EX1$/);
  await waitReady(page);
  const nav = await page.$$eval('#trialnav a', (as) => as.map((a) => a.textContent));
  assert.deepEqual(nav, ['Overview', 'Reports']);
  await assertAccessible(page, 'overview (site)');

  await gotoView(page, '#/trials/MSC-IPF-EX1/reports');
  const shown = await page.$$eval('#reports-table tbody th[data-report]', (ths) => ths.map((th) => th.dataset.report));
  const mine = await listAll(`${v1('trials', 'MSC-IPF-EX1')}/reports`, 'reports', {token: TOKENS.site});
  const all = await listAll(`${v1('trials', 'MSC-IPF-EX1')}/reports`, 'reports', {token: TOKENS.admin});
  assert.equal(shown.length, mine.length);
  assert.ok(shown.every((r) => r.startsWith('01/')), shown.join(' '));
  assert.ok(shown.length < all.length, 'fewer than every site\'s');
  await screenshot(page, 'dashboard-site-reports', {maxHeight: 1300});

  // The topic page: the role may not read topics, let alone triage.
  await gotoView(page, '#/trials/MSC-IPF-EX1/topics/OVERALL~any_sae', {ready: 'error'});
  assert.equal(await page.locator('form#triage').count(), 0);
  assert.match(await page.textContent('main h1'), /Not available for your role/);
  // A subject of another site.
  await gotoView(page, '#/trials/MSC-IPF-EX1/subjects/EX1-003', {ready: 'error'});
  assert.match(await page.textContent('main .alert'), /Not allowed|PERMISSION|site/i);
  // Its own subject.
  await gotoView(page, '#/trials/MSC-IPF-EX1/subjects/EX1-001');
  // Forcing the triage call over HTTP is refused too.
  await assert.rejects(api(`${v1('trials', 'MSC-IPF-EX1', 'topics', 'OVERALL~any_sae')}:triage`, {token: TOKENS.site,
    body: {status: 'SIGNAL_STATUS_VALIDATED', comment: 'no'}}), (e) => e.status === 403);
  await assertClean(page);
});

test('a DSMB member: reads what the board reviews, triages nothing', async () => {
  const parent = v1('trials', 'MSC-IPF-EX1');
  const page = await openPage(browser, {token: TOKENS.dsmb});
  await gotoView(page, '#/trials');
  assert.match(await page.textContent('#who'), new RegExp(`${PRINCIPALS.dsmb}\\s*DSMB member`));
  await gotoView(page, '#/trials/MSC-IPF-EX1');
  const nav = await page.$$eval('#trialnav a', (as) => as.map((a) => a.textContent));
  assert.deepEqual(nav, ['Overview', 'Incidence', 'Signals', 'Subjects', 'Reports', 'DSMB report']);
  await gotoView(page, '#/trials/MSC-IPF-EX1/incidence');

  // A topic: its evidence and history, and no triage form.
  const {topics} = await api(`${parent}/topics`, {token: TOKENS.dsmb});
  assert.ok(topics.length > 0, 'the example trial has topics');
  await gotoView(page, `#/trials/MSC-IPF-EX1/topics/${encodeURIComponent(topics[0].topicId)}`);
  assert.equal(await page.locator('form#triage').count(), 0);
  assert.match(await page.textContent('main'), /Triage is a safety officer's decision; your role \(DSMB member\) reads it/);
  await assertAccessible(page, 'topic (DSMB member)');
  await screenshot(page, 'dashboard-dsmb-member-topic', {maxHeight: 1300});
  await assert.rejects(api(`${parent}/topics/${encodeURIComponent(topics[0].topicId)}:triage`, {token: TOKENS.dsmb,
    body: {status: 'SIGNAL_STATUS_VALIDATED', comment: 'no'}}), (e) => e.status === 403);

  // The audit trail is not theirs, by the menu or by its address.
  await gotoView(page, '#/trials/MSC-IPF-EX1/audit', {ready: 'error'});
  assert.match(await page.textContent('main h1'), /Not available for your role/);
  // In words, not the server's method names; the tab says so too.
  assert.equal(await page.textContent('main .alert'), 'Your role (DSMB member) cannot see the audit trail.');
  assert.equal(await page.title(), 'Not available for your role · aesignal');
  await assert.rejects(api(`${parent}/auditRecords`, {token: TOKENS.dsmb}), (e) => e.status === 403);

  // The closed-session report, as the API gives it to this member.
  await gotoView(page, '#/trials/MSC-IPF-EX1/dsmb');
  const cutoff = new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await rerender(page, async () => {
    await page.fill('input[name="cutoff"]', cutoff.replace(/Z$/, '').replace(/:00$/, ''));
    await page.selectOption('select[name="session"]', 'closed');
    await page.click('#dsmb-generate');
  });
  const expected = await api(`${parent}/dsmbReport`, {token: TOKENS.dsmb, query: {cutoff, session: 'DSMB_SESSION_CLOSED'}});
  assert.equal(await page.textContent('#dsmb-hash'), expected.contentHash);
  await assertClean(page);
});

test('a bad token gets the sign-in prompt; signing in with a good one works', async () => {
  const page = await openPage(browser, {token: 'not-a-valid-token'});
  await page.goto(new URL('/#/trials', BASE).href);
  await page.waitForSelector('#signin', {timeout: 20000});
  assert.match(await page.textContent('#signin .alert'), /not accepted/);
  await assertAccessible(page, 'sign-in');
  await page.fill('#token', TOKENS.officer);
  await page.click('#signin button[type="submit"]');
  await waitReady(page, {view: 'trials'});
  assert.match(await page.textContent('#who'), /web-officer/);
  // Kept for the tab: a reload stays signed in.
  await page.reload();
  await waitReady(page, {view: 'trials'});
  // A token refused mid-session (revoked: the server restarted without it)
  // says so, rather than "not accepted".
  await page.evaluate(() => sessionStorage.setItem('aesignal.token', 'revoked-token'));
  await page.goto(new URL('/#/trials/MSC-IPF-EX1', BASE).href);
  await page.waitForSelector('#signin .alert', {timeout: 20000});
  assert.match(await page.textContent('#signin .alert'), /^Your token is no longer accepted/);
  await page.fill('#token', TOKENS.officer);
  await page.click('#signin button[type="submit"]');
  await waitReady(page, {view: 'overview'});
  // Sign out.
  await page.click('#sign-out');
  await page.waitForSelector('#signin');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('aesignal.token')), null);
  await assertClean(page);
});

test('no token: the sign-in prompt, without an error', async () => {
  const page = await openPage(browser, {token: null});
  await page.goto(BASE);
  await page.waitForSelector('#signin', {timeout: 20000});
  assert.equal(await page.locator('#signin .alert').count(), 0);
  await assertClean(page);
  await screenshot(page, 'dashboard-signin', {maxHeight: 900});
  // The API agrees: 401 with a Bearer challenge.
  const res = await fetch(new URL('/v1/trials', BASE));
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
  const body = await res.json();
  assert.equal(body.error.code, 401);
  assert.equal(body.error.status, 'UNAUTHENTICATED');
  void api;
});

test('a trial or topic that does not exist is "not found", in the page and its tab', async () => {
  const page = await openPage(browser, {token: TOKENS.officer});
  await gotoView(page, '#/trials/MSC-IPF-EX1');
  assert.equal(await page.title(), 'MSC-IPF-EX1 overview · aesignal');
  await gotoView(page, '#/trials/NO-SUCH-TRIAL/incidence', {ready: 'error'});
  assert.equal(await page.textContent('main h1'), 'Not found');
  assert.equal(await page.title(), 'Not found · aesignal');
  assert.match(await page.textContent('main .alert'), /^Not found: .*NO-SUCH-TRIAL/);
  assert.equal(await page.isVisible('#trialnav'), false, 'no navigation of a trial that does not exist');
  await screenshot(page, 'dashboard-not-found');
  // A topic that does not exist, in a trial that does: its navigation stays.
  await gotoView(page, '#/trials/MSC-IPF-EX1/topics/PT~NO~SUCH', {ready: 'error'});
  assert.equal(await page.textContent('main h1'), 'Not found');
  assert.equal(await page.isVisible('#trialnav'), true);
  await gotoView(page, '#/nowhere');
  assert.equal(await page.title(), 'Page not found · aesignal');
  await assertClean(page);
});
