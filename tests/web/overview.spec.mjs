// View 2, trial overview: the AE overview (n (%) [CI], N in the headers)
// and enrolment equal the API, at the last timepoint and after choosing
// another.
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, rerender, assertClean, assertAccessible, screenshot, api, listAll, v1, nPct, ciText, cellOf} from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function compareOverview(page, trialId, tp) {
  const trial = await api(v1('trials', trialId));
  const overall = await listAll(`${v1('trials', trialId)}/incidence`, 'terms', {query: {level: 'TERM_LEVEL_OVERALL'}});
  const groups = [...trial.doseGroups.map((g) => g.doseGroupId), ''];
  const cells = await page.$$eval('#ae-overview-table td[data-key]', (tds) => tds.map((td) => ({
    key: td.dataset.key, group: td.dataset.group, npct: td.querySelector('.npct')?.textContent, ci: td.querySelector('.ci')?.textContent})));
  assert.equal(cells.length, overall.length * groups.length, 'one cell per overall row and group');
  for (const row of overall) {
    for (const g of groups) {
      const e = cellOf(row, g, tp).cumulative;
      const cell = cells.find((c) => c.key === row.overallKey && c.group === g);
      assert.ok(cell, `cell ${row.overallKey} ${g}`);
      assert.equal(cell.npct, nPct(e), `${trialId} ${row.overallKey} ${g || 'total'} ${tp}`);
      assert.equal(cell.ci, ciText(e), `${trialId} ${row.overallKey} ${g || 'total'} ${tp} CI`);
    }
  }
  const headers = await page.$$eval('#ae-overview-table thead th', (ths) => ths.map((th) => th.textContent));
  for (const g of groups) {
    const n = cellOf(overall[0], g, tp).nDosed;
    assert.ok(headers.some((h) => h.includes(`(N=${n})`)), `header N=${n} for ${g || 'total'}: ${headers}`);
  }
  // Enrolment: dosed and followed into each window.
  const enrol = await page.$$eval('#enrolment-table td[data-row]', (tds) => tds.map((td) => ({row: td.dataset.row, group: td.dataset.group, n: td.dataset.n})));
  const anyAe = overall.find((r) => r.overallKey === 'any_ae');
  for (const g of groups) {
    assert.equal(enrol.find((c) => c.row === 'dosed' && c.group === g).n, String(cellOf(anyAe, g, trial.timepoints[0].timepointId).nDosed));
    for (const t of trial.timepoints) {
      assert.equal(enrol.find((c) => c.row === `at-risk-${t.timepointId}` && c.group === g).n,
        String(cellOf(anyAe, g, t.timepointId).nAtRisk), `at risk ${g} ${t.timepointId}`);
    }
  }
  const subjects = await listAll(`${v1('trials', trialId)}/subjects`, 'subjects');
  const withdrawn = enrol.find((c) => c.row === 'status-FOLLOW_UP_STATUS_WITHDRAWN' && c.group === '');
  assert.equal(withdrawn.n, String(subjects.filter((s) => s.status === 'FOLLOW_UP_STATUS_WITHDRAWN').length));
}

test('overview of the example trial equals the API; the timepoint filter changes it', async () => {
  const page = await openPage(browser);
  await gotoView(page, '#/trials/MSC-IPF-EX1');
  await compareOverview(page, 'MSC-IPF-EX1', 'Y5');
  // The design names each group's dose with its unit.
  const groups = await page.$$eval('dl.facts ul.plain li', (lis) => lis.map((li) => li.textContent));
  assert.deepEqual(groups.slice(0, 3), ['D20M 20 × 10⁶ cells · 20,000,000 cells',
    'D100M 100 × 10⁶ cells · 100,000,000 cells', 'D200M 200 × 10⁶ cells · 200,000,000 cells']);
  await rerender(page, () => page.selectOption('select[name="tp"]', 'M6'));
  assert.match(page.url(), /tp=M6/);
  await compareOverview(page, 'MSC-IPF-EX1', 'M6');
  await assertClean(page);
});

test('overview of the CDISC pilot equals the API', async () => {
  const page = await openPage(browser);
  await gotoView(page, '#/trials/CDISCPILOT01');
  await compareOverview(page, 'CDISCPILOT01', 'D212');
  const header = await page.textContent('#ae-overview-table thead');
  assert.match(header, /Placebo \(N=86\)/);
  // ADaM gives TRT01AN without a unit: the number is named a dose, not
  // left as a bare "· 54" beside the group's N.
  const groups = await page.$$eval('dl.facts ul.plain li', (lis) => lis.map((li) => li.textContent));
  assert.ok(groups.includes('Xanomeline-Low-Dose Xanomeline Low Dose · dose 54'), groups.join(' | '));
  await assertClean(page);
  await assertAccessible(page, 'overview');
  await screenshot(page, 'dashboard-overview');
});
