// Benchmark, not a test (docs/benchmarks.md, "Dashboard: time to a rendered
// incidence explorer"): the incidence explorer of the CDISC pilot loaded
// FIRST_LOADS times (default 9), each in a fresh browser context, with the
// milliseconds from navigation start to each phase:
//   script  the bundle evaluated (DOMContentLoaded)
//   api     the last API answer in (the three incidence tables)
//   data    the view has the tables (parsed and normalized)
//   chart   the dot plot built;  table  the 230-row table built
//   ready   the view mounted and laid out (main[data-ready], as
//           incidence.spec.mjs prints it)
// and the median and range of each. Run by tests/web/run.sh:
//   WEB_SPECS=first_load.bench bash tests/web/run.sh \
//     build/services/server/aesignald build/clients/cli/aesignal \
//     build/clients/web/npm build/tests/web
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView} from './harness.mjs';

const LOADS = Number(process.env.FIRST_LOADS ?? 9);
const PHASES = ['script', 'api', 'data', 'chart', 'table', 'ready'];
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function oneLoad() {
  const page = await openPage(browser);
  const ready = await gotoView(page, '#/trials/CDISCPILOT01/incidence');
  const times = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const api = performance.getEntriesByType('resource').filter((r) => new URL(r.name).pathname.startsWith('/v1/'));
    const mark = (name) => performance.getEntriesByName(`incidence:${name}`)[0]?.startTime;
    return {script: nav.domContentLoadedEventEnd, api: Math.max(...api.map((r) => r.responseEnd)),
      data: mark('data'), chart: mark('chart'), table: mark('table')};
  });
  await page.context().close();
  return {...times, ready};
}

test(`first load of the incidence explorer, ${LOADS} times`, async () => {
  const loads = [];
  for (let i = 0; i < LOADS; i++) {
    const t = await oneLoad();
    for (const p of PHASES) assert.ok(Number.isFinite(t[p]), `load ${i + 1}: no ${p} time`);
    loads.push(t);
    console.log(`load ${i + 1}: ${PHASES.map((p) => `${p} ${Math.round(t[p])}`).join(', ')} ms`);
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  for (const p of PHASES) {
    const xs = loads.map((t) => t[p]);
    console.log(`${p.padEnd(6)} median ${Math.round(median(xs))} ms, range ${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))} ms`);
  }
});
