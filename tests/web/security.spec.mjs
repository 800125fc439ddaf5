// What the browser is sent: the strict Content-Security-Policy and other
// headers, an index.html without inline script or style, hashed assets
// served as immutable, no CORS; and every view of the dashboard renders
// with zero CSP violations (each spec also checks its own views).
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, assertClean, BASE} from './harness.mjs';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('index.html and assets: headers, no inline script or style', async () => {
  const res = await fetch(BASE, {headers: {Origin: 'https://evil.example'}});
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-security-policy'), CSP);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.equal(res.headers.get('access-control-allow-origin'), null);
  const html = await res.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'inline <script>');
  assert.doesNotMatch(html, /<style/i, 'inline <style>');
  assert.doesNotMatch(html, /\sstyle=/i, 'style attribute');
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'inline event handler');
  // What the page loads: the module script, the stylesheet, the icon.
  const assets = [...html.matchAll(/<(?:script|link)[^>]*(?:src|href)="(assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), assets.join(' '));
  for (const a of assets) {
    const r = await fetch(new URL(a, BASE));
    assert.equal(r.status, 200, a);
    // Hashed names are immutable (not when served from disk by --web_root).
    if (!process.env.AESIGNAL_WEB_ROOT) assert.match(r.headers.get('cache-control') ?? '', /immutable/, `${a} cache-control`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const type = r.headers.get('content-type');
    assert.match(type, a.endsWith('.js') ? /^text\/javascript/ : a.endsWith('.css') ? /^text\/css/ : /^image\/svg\+xml/, `${a}: ${type}`);
    if (a.endsWith('.js')) assert.doesNotMatch(await r.text(), /\beval\(|new Function\(/);
  }
  // The licences of the bundled packages, linked from the footer.
  const licences = await fetch(new URL('assets/third-party-licenses.txt', BASE));
  assert.equal(licences.status, 200);
  assert.match(await licences.text(), /@observablehq\/plot/);
  if (!process.env.AESIGNAL_WEB_ROOT) assert.match(licences.headers.get('content-type'), /^text\/plain/);
});

test('every view renders without a CSP violation or script error; charts carry no <style>', async () => {
  const page = await openPage(browser);
  const views = [
    '#/trials', '#/trials/CDISCPILOT01', '#/trials/CDISCPILOT01/incidence', '#/trials/CDISCPILOT01/incidence?chart=forest',
    '#/trials/CDISCPILOT01/incidence?level=SOC&count=maxgrade',
    '#/trials/MSC-IPF-EX1/term?level=OVERALL&key=any_sae', '#/trials/CDISCPILOT01/signals',
    '#/trials/MSC-IPF-EX1/topics/OVERALL~any_sae', '#/trials/MSC-IPF-EX1/subjects', '#/trials/MSC-IPF-EX1/subjects/EX1-005',
    '#/trials/MSC-IPF-EX1/reports', '#/trials/MSC-IPF-EX1/audit',
  ];
  for (const v of views) {
    await gotoView(page, v);
    assert.equal(await page.locator('main svg style').count(), 0, `${v}: <style> in a chart`);
    await assertClean(page);
  }
});
