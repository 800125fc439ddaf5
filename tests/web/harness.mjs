// Shared by the dashboard specs (tests/web/*.spec.mjs, run by run.sh): the
// server's URL and tokens, a JSON client of the HTTP API (to compare the
// page with), one chromium per spec file, and per page: the token in
// sessionStorage, Content-Security-Policy violations, console errors,
// axe-core and screenshots.
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import {copyFileSync, mkdirSync} from 'node:fs';
import path from 'node:path';

const npm = process.env.AESIGNAL_WEB_NPM;
if (!npm || !process.env.AESIGNAL_WEB_URL) {
  throw new Error('run the specs with tests/web/run.sh (AESIGNAL_WEB_URL, AESIGNAL_WEB_NPM, ... unset)');
}
const require = createRequire(path.join(npm, 'noop.js'));
const {chromium} = require('playwright-core');
const {AxeBuilder} = require('@axe-core/playwright');

export const BASE = process.env.AESIGNAL_WEB_URL;  // e.g. https://127.0.0.1:40123/
export const TOKENS = {
  admin: process.env.AESIGNAL_WEB_ADMIN_TOKEN,
  officer: process.env.AESIGNAL_WEB_OFFICER_TOKEN,
  site: process.env.AESIGNAL_WEB_SITE_TOKEN,
  dsmb: process.env.AESIGNAL_WEB_DSMB_TOKEN,
};
export const PRINCIPALS = {admin: 'web-admin', officer: 'web-officer', site: 'web-site-01', dsmb: 'web-dsmb'};
const OUT = process.env.AESIGNAL_WEB_OUT ?? '/tmp';
const SOURCE = process.env.AESIGNAL_SOURCE_DIR ?? process.cwd();
// Generous for a loaded CI machine; a view renders in well under a second.
export const VIEW_TIMEOUT = 20000;

// ---- the HTTP API, as the page uses it -----------------------------------

export function v1(...segments) {
  return `/v1/${segments.map(encodeURIComponent).join('/')}`;
}

// JSON of one call; throws with the Google error body on a non-2xx status.
export async function api(p, {token = TOKENS.admin, query, body, method} = {}) {
  const url = new URL(p, BASE);
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const x of Array.isArray(v) ? v : [v]) if (x !== undefined && x !== '') url.searchParams.append(k, String(x));
  }
  const headers = {Accept: 'application/json'};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {method: method ?? (body === undefined ? 'GET' : 'POST'), headers,
    body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  if (!res.ok) {
    const err = new Error(`${method ?? (body === undefined ? 'GET' : 'POST')} ${url.pathname}${url.search}: HTTP ${res.status} ${text}`);
    err.status = res.status;
    err.body = text;
    throw err;
  }
  return JSON.parse(text);
}

export async function listAll(p, field, {token, query = {}} = {}) {
  const out = [];
  let pageToken = '';
  do {
    const page = await api(p, {token, query: {...query, page_size: 1000, page_token: pageToken}});
    out.push(...(page[field] ?? []));
    pageToken = page.nextPageToken ?? '';
  } while (pageToken);
  return out;
}

// Whether the server knows a GetIncidence option (the server-side additions
// of issue 18): a 400 naming it means no.
export async function incidenceSupports(trialId, query) {
  try {
    await api(`${v1('trials', trialId)}/incidence`, {query: {level: 'TERM_LEVEL_OVERALL', page_size: 1, ...query}});
    return true;
  } catch (err) {
    if (err.status === 400) return false;
    throw err;
  }
}

// ---- formats the page must print (written out independently) ------------

export const pct1 = (p) => (100 * p).toFixed(1);
export function nPct(e) {
  return e.denominator ? `${e.subjects} (${pct1(e.proportion)}%)` : String(e.subjects);
}
export function ciText(e) {
  return `[${pct1(e.ciLower)}, ${pct1(e.ciUpper)}]`;
}
// The proto3 JSON mapping may leave out fields holding their default (the
// gateway does): a missing number is 0.
export function estimate(e) {
  return {subjects: 0, events: 0, denominator: 0, proportion: 0, ciLower: 0, ciUpper: 0, ...e};
}
export function comparison(c) {
  return c && {riskDifference: 0, riskDifferenceLower: 0, riskDifferenceUpper: 0, controlSubjects: 0, controlDenominator: 0, ...c};
}

// One cell of a TermIncidence, with its defaults.
export function cellOf(row, groupId, tp) {
  const c = (row.cells ?? []).find((x) => (groupId === '' ? x.scope === 'DOSE_GROUP_SCOPE_ALL_GROUPS'
    : x.scope === 'DOSE_GROUP_SCOPE_GROUP' && x.doseGroupId === groupId) && (x.timepointId ?? '') === tp);
  if (!c) return c;
  return {nDosed: 0, nAtRisk: 0, ...c, cumulative: estimate(c.cumulative), interval: estimate(c.interval),
    maxGradeSubjects: c.maxGradeSubjects ?? [], cumulativeVsControl: comparison(c.cumulativeVsControl),
    intervalVsControl: comparison(c.intervalVsControl)};
}

// ---- the browser -----------------------------------------------------------

export async function launch() {
  return chromium.launch({
    executablePath: process.env.AESIGNAL_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-dev-shm-usage'],
  });
}

// A page whose browser tab holds `token` (sessionStorage, as after signing
// in; null: none), recording CSP violations and console errors.
export async function openPage(browser, {token = TOKENS.admin, viewport = {width: 1360, height: 900}} = {}) {
  const context = await browser.newContext({ignoreHTTPSErrors: true, viewport, reducedMotion: 'reduce',
    locale: 'en-GB', timezoneId: 'UTC'});
  await context.addInitScript(({t}) => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI} ${e.sample ?? ''}`.trim());
    });
    if (t && !sessionStorage.getItem('aesignal.test-init')) {
      sessionStorage.setItem('aesignal.token', t);
      sessionStorage.setItem('aesignal.test-init', '1');
    }
  }, {t: token});
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on('console', (m) => {
    // A refused API call (401/403/404 in a test that wants it) logs a
    // network error; only script errors count.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) page.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => page.consoleErrors.push(`pageerror: ${e.message}`));
  return page;
}

// Opens a view by its hash route and waits until it has rendered.
// Returns the milliseconds from navigation start to the rendered view.
export async function gotoView(page, hash, {ready = 'true'} = {}) {
  await page.goto(new URL(hash.startsWith('#') ? `/${hash}` : hash, BASE).href);
  await waitReady(page, {ready});
  return page.evaluate(() => Math.round(performance.now()));
}

export async function waitReady(page, {ready = 'true', view} = {}) {
  const sel = `main[data-ready="${ready}"]${view ? `[data-view="${view}"]` : ''}`;
  await page.waitForSelector(sel, {timeout: VIEW_TIMEOUT, state: 'attached'});
}

// No CSP violation and no script error so far on this page.
export async function assertClean(page) {
  const violations = await page.evaluate(() => window.__cspViolations ?? []);
  assert.deepEqual(violations, [], 'Content-Security-Policy violations');
  assert.deepEqual(page.consoleErrors, [], 'console errors');
}

// axe-core on the current view: no serious or critical violation.
export async function assertAccessible(page, name) {
  const result = await new AxeBuilder({page}).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const text = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`).join('\n');
  assert.equal(bad.length, 0, `axe on ${name}:\n${text}`);
}

// Full-page screenshot to OUT/NAME.png (and docs/images/ when
// UPDATE_SCREENSHOTS=1).
export async function screenshot(page, name, {maxHeight = 2600} = {}) {
  mkdirSync(OUT, {recursive: true});
  const file = path.join(OUT, `${name}.png`);
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  const width = page.viewportSize().width;
  await page.screenshot({path: file, fullPage: true, clip: {x: 0, y: 0, width, height: Math.min(height, maxHeight)},
    animations: 'disabled'});
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    const dir = path.join(SOURCE, 'docs', 'images');
    mkdirSync(dir, {recursive: true});
    copyFileSync(file, path.join(dir, `${name}.png`));
  }
  return file;
}

// Every cell of a table as {row: dataset of the row header, cells: [{dataset, text}]}.
export async function tableCells(page, selector) {
  return page.$$eval(`${selector} td[data-col], ${selector} th[data-col]`, (els) => els.map((el) => ({
    col: el.dataset.col,
    data: {...el.dataset},
    text: el.textContent.replace(/\s+/g, ' ').trim(),
    npct: el.querySelector('.npct')?.textContent.trim() ?? null,
    ci: el.querySelector('.ci')?.textContent.trim() ?? null,
  })));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs `action` (e.g. changing filters) and waits until the view has
// rendered the URL the action led to (not an intermediate one).
export async function rerender(page, action, {ready = 'true'} = {}) {
  const before = Number(await page.getAttribute('main', 'data-renders') ?? '0');
  await action();
  await page.waitForFunction(({n, r}) => {
    const m = document.querySelector('main').dataset;
    return Number(m.renders ?? '0') > n && m.route === location.hash && m.ready === r;
  }, {n: before, r: ready}, {timeout: VIEW_TIMEOUT});
}
