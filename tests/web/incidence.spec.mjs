// View 3, the incidence explorer on the CDISC pilot: every cell equals the
// API; each filter changes the rows and numbers as the API says; a term
// opens the reports and subjects behind it.
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, rerender, assertClean, assertAccessible, screenshot, api, listAll, v1,
  nPct, ciText, cellOf, incidenceSupports, pct1} from './harness.mjs';

const T = 'CDISCPILOT01';
const PARENT = v1('trials', T);
let browser;
let trial;
before(async () => {
  browser = await launch();
  trial = await api(PARENT);
});
after(async () => { await browser?.close(); });

const groupIds = () => [...trial.doseGroups.map((g) => g.doseGroupId), ''];

async function incidence(query) {
  return listAll(`${PARENT}/incidence`, 'terms', {query});
}

// The page's term cells: {term -> {group -> {npct, ci, n, d, events, text}}}.
async function pageCells(page) {
  const cells = await page.$$eval('#incidence-table td[data-term][data-group]', (tds) => tds.map((td) => ({
    term: td.dataset.term, group: td.dataset.group, n: td.dataset.n, d: td.dataset.d, events: td.dataset.events, grade: td.dataset.grade,
    npct: td.querySelector('.npct')?.textContent ?? null, ci: td.querySelector('.ci')?.textContent ?? null,
    text: td.textContent.trim()})));
  const out = new Map();
  for (const c of cells) {
    if (c.grade) continue;
    if (!out.has(c.term)) out.set(c.term, new Map());
    out.get(c.term).set(c.group, c);
  }
  return out;
}

function assertCells(cells, rows, {tp, measure = 'cumulative', key = (r) => `${r.soc}|${r.pt}`, events = false, label}) {
  for (const row of rows) {
    const byGroup = cells.get(key(row));
    assert.ok(byGroup, `${label}: row ${key(row)} missing`);
    for (const g of groupIds()) {
      const e = cellOf(row, g, tp)[measure];
      const c = byGroup.get(g);
      assert.ok(c, `${label}: ${key(row)} group ${g || 'total'} missing`);
      if (events) {
        assert.equal(c.text, String(e.events), `${label}: ${key(row)} ${g || 'total'} events`);
      } else {
        assert.equal(c.npct, nPct(e), `${label}: ${key(row)} ${g || 'total'}`);
        if (e.denominator) assert.equal(c.ci, ciText(e), `${label}: ${key(row)} ${g || 'total'} CI`);
      }
    }
  }
}

const dose = () => trial.doseGroups.map((g) => g.doseGroupId);
const maxP = (row, tp, measure = 'cumulative') => Math.max(...dose().map((g) => cellOf(row, g, tp)[measure].proportion));

test('every PT and SOC cell at the last timepoint equals the API', async () => {
  const page = await openPage(browser);
  const ms = await gotoView(page, `#/trials/${T}/incidence`);
  console.log(`incidence explorer of the CDISC pilot rendered ${ms} ms after navigation start (first load)`);
  // The trial was asked for with the caller, not after its answer.
  const started = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('resource')
    .map((r) => [new URL(r.name).pathname, {start: r.startTime, end: r.responseEnd}])));
  const callerCall = started['/v1/caller'], trialCall = started[v1('trials', T)];
  assert.ok(callerCall && trialCall, Object.keys(started).join(' '));
  assert.ok(trialCall.start < callerCall.end,
    `the trial was asked for at ${trialCall.start} ms, after the caller's answer at ${callerCall.end} ms`);
  // The charts (Observable Plot) load in a script of their own, asked for
  // before the tables, not in the first script that asks for them.
  const chartsCall = Object.entries(started).find(([path]) => /^\/assets\/charts-[A-Z0-9]+\.js$/.test(path))?.[1];
  const tablesStart = Math.min(...Object.entries(started).filter(([path]) => path.startsWith(`${PARENT}/incidence`)).map(([, r]) => r.start));
  assert.ok(chartsCall, `no charts script among ${Object.keys(started).join(' ')}`);
  assert.ok(chartsCall.start < tablesStart, `the charts were asked for at ${chartsCall.start} ms, after the tables at ${tablesStart} ms`);
  const tp = trial.timepoints.at(-1).timepointId;
  const [pts, socs] = await Promise.all([
    incidence({level: 'TERM_LEVEL_PT', timepoint_id: tp}),
    incidence({level: 'TERM_LEVEL_SOC', timepoint_id: tp}),
  ]);
  assert.ok(pts.length > 200, `${pts.length} PTs`);
  const cells = await pageCells(page);
  const ptKeys = [...cells.keys()].filter((k) => !k.endsWith('|'));
  assert.equal(ptKeys.length, pts.length, 'one row per PT');
  assertCells(cells, pts, {tp, label: 'PT'});
  assertCells(cells, socs, {tp, key: (r) => `${r.soc}|`, label: 'SOC'});
  // N in the headers: subjects dosed.
  const headers = await page.$$eval('#incidence-table thead th', (ths) => ths.map((th) => th.textContent));
  assert.ok(headers.some((h) => h.includes('Placebo (N=86)')), headers.join(' | '));
  // The pilot's published figure (docs/import.md).
  const pruritus = cells.get('GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS|APPLICATION SITE PRURITUS');
  assert.equal(pruritus.get('Placebo').npct, '6 (7.0%)');
  await assertClean(page);
  await screenshot(page, 'dashboard-incidence', {maxHeight: 2000});
  // axe on the same view with fewer rows (the same markup; axe on all
  // 230 terms takes most of a minute).
  await gotoView(page, `#/trials/${T}/incidence?min=5`);
  await assertAccessible(page, 'incidence');
});

test('charts that cannot be loaded say to reload the page, and load when they can', async () => {
  // As after an upgrade of aesignald while the page was open: the page
  // names a charts script the server no longer has.
  const page = await openPage(browser);
  await page.route('**/assets/charts-*.js', (route) => route.fulfill({status: 404, body: 'not found'}));
  await gotoView(page, `#/trials/${T}/incidence`, {ready: 'error'});
  const alert = await page.textContent('#main [role="alert"]');
  assert.match(alert, /^The charts could not be loaded \(.+\)\. If aesignal was upgraded since this page was opened, reload the page\.$/);
  await page.unroute('**/assets/charts-*.js');
  await gotoView(page, `#/trials/${T}/incidence?min=5`);
  assert.ok(await page.$('#incidence-figure svg[role="img"]'), 'the dot plot after the charts loaded');
  await assertClean(page);
});

test('minimum incidence, search, timepoint, window, level and events filters', async () => {
  const page = await openPage(browser);
  await gotoView(page, `#/trials/${T}/incidence`);
  const last = trial.timepoints.at(-1).timepointId;
  const pts = await incidence({level: 'TERM_LEVEL_PT', timepoint_id: last});

  // Minimum incidence 10 % in some dose group.
  await rerender(page, async () => {
    await page.fill('input[name="min"]', '10');
    await page.press('input[name="min"]', 'Enter');
  });
  let cells = await pageCells(page);
  let shown = [...cells.keys()].filter((k) => !k.endsWith('|')).sort();
  let expected = pts.filter((r) => maxP(r, last) * 100 >= 10).map((r) => `${r.soc}|${r.pt}`).sort();
  assert.deepEqual(shown, expected, 'min 10%');
  assert.ok(expected.length > 3 && expected.length < pts.length);

  // Text search (from the unfiltered table).
  await gotoView(page, `#/trials/${T}/incidence`);
  await rerender(page, async () => {
    await page.fill('input[name="q"]', 'pruritus');
    await page.press('input[name="q"]', 'Enter');
  });
  cells = await pageCells(page);
  shown = [...cells.keys()].filter((k) => !k.endsWith('|')).sort();
  expected = pts.filter((r) => `${r.pt} ${r.soc}`.toLowerCase().includes('pruritus')).map((r) => `${r.soc}|${r.pt}`).sort();
  assert.deepEqual(shown, expected, 'search pruritus');

  // Another timepoint, within its window: denominators are those at risk.
  await gotoView(page, `#/trials/${T}/incidence`);
  await rerender(page, () => page.selectOption('select[name="tp"]', 'W8'));
  await rerender(page, () => page.selectOption('select[name="measure"]', 'interval'));
  assert.match(page.url(), /tp=W8/);
  assert.match(page.url(), /measure=interval/);
  const w8 = await incidence({level: 'TERM_LEVEL_PT', timepoint_id: 'W8'});
  cells = await pageCells(page);
  assertCells(cells, w8, {tp: 'W8', measure: 'interval', label: 'W8 window'});
  const overall = await incidence({level: 'TERM_LEVEL_OVERALL', overall_key: 'any_ae', timepoint_id: 'W8'});
  const headers = await page.$$eval('#incidence-table thead th', (ths) => ths.map((th) => th.textContent));
  const atRisk = cellOf(overall[0], 'Placebo', 'W8').nAtRisk;
  assert.ok(headers.some((h) => h.includes(`Placebo (N=${atRisk})`)), `at-risk N ${atRisk}: ${headers}`);

  // Events instead of subjects.
  await rerender(page, () => page.selectOption('select[name="count"]', 'events'));
  cells = await pageCells(page);
  assertCells(cells, w8, {tp: 'W8', measure: 'interval', events: true, label: 'W8 events'});
  // The caption says what is counted: reports, not subjects.
  const caption = await page.textContent('#incidence-table caption');
  assert.match(caption, /^Number of AE reports \(events\) by system organ class and preferred term — all AEs, within the window of /);
  assert.doesNotMatch(caption, /Subjects|n \(%\)/);

  // SOC rows.
  await rerender(page, () => page.selectOption('select[name="count"]', 'subjects'));
  await rerender(page, () => page.selectOption('select[name="level"]', 'SOC'));
  const socs = await incidence({level: 'TERM_LEVEL_SOC', timepoint_id: 'W8'});
  cells = await pageCells(page);
  assert.equal(cells.size, socs.length);
  assertCells(cells, socs, {tp: 'W8', measure: 'interval', key: (r) => r.soc, label: 'SOC W8 window'});
  await assertClean(page);
});

test('subset filters (serious, grade >= 3, related, AESI) equal the API', async (t) => {
  if (!await incidenceSupports(T, {subset: 'INCIDENCE_SUBSET_SERIOUS'})) {
    t.skip('the server has no GetIncidenceRequest.subset yet');
    return;
  }
  const page = await openPage(browser);
  const last = trial.timepoints.at(-1).timepointId;
  for (const [key, subset] of [['serious', 'INCIDENCE_SUBSET_SERIOUS'], ['grade3', 'INCIDENCE_SUBSET_GRADE_3_PLUS'], ['related', 'INCIDENCE_SUBSET_RELATED']]) {
    await gotoView(page, `#/trials/${T}/incidence?subset=${key}`);
    const rows = await incidence({level: 'TERM_LEVEL_PT', timepoint_id: last, subset});
    const cells = await pageCells(page);
    const shown = [...cells.keys()].filter((k) => !k.endsWith('|')).sort();
    assert.deepEqual(shown, rows.map((r) => `${r.soc}|${r.pt}`).sort(), `${key}: rows`);
    assertCells(cells, rows, {tp: last, label: key});
  }
  // A related cell's reports, listed from the cell's link, are the ones it
  // counts, those without a relatedness too (counted as related): RASH on
  // the low dose, 16 reports, two of them (subject 01-704-1135) without AEREL.
  const low = trial.doseGroups.find((g) => g.label === 'Xanomeline Low Dose').doseGroupId;
  const rash = (await incidence({level: 'TERM_LEVEL_PT', timepoint_id: last, subset: 'INCIDENCE_SUBSET_RELATED'}))
    .find((r) => r.pt === 'RASH');
  await gotoView(page, `#/trials/${T}/reports?subset=related&pt=RASH&group=${low}`);
  const listed = await page.$$eval('#reports-table tbody th[data-report]', (ths) => ths.length);
  assert.equal(listed, Number(cellOf(rash, low, last).cumulative.events), 'related RASH reports listed');
  assert.equal(listed, 16);
  // An AESI of the example trial (the pilot's is checked in import_test).
  await gotoView(page, '#/trials/MSC-IPF-EX1/incidence?subset=aesi:infection');
  const ex = await api(v1('trials', 'MSC-IPF-EX1'));
  const exLast = ex.timepoints.at(-1).timepointId;
  const rows = await listAll(`${v1('trials', 'MSC-IPF-EX1')}/incidence`, 'terms',
    {query: {level: 'TERM_LEVEL_PT', timepoint_id: exLast, subset: 'INCIDENCE_SUBSET_AESI', aesi_category: 'infection'}});
  const cells = await pageCells(page);
  assert.deepEqual([...cells.keys()].filter((k) => !k.endsWith('|')).sort(), rows.map((r) => `${r.soc}|${r.pt}`).sort(), 'AESI infection rows');
  assert.ok(rows.length >= 2);
  for (const row of rows) {
    for (const g of [...ex.doseGroups.map((d) => d.doseGroupId), '']) {
      assert.equal(cells.get(`${row.soc}|${row.pt}`).get(g).npct, nPct(cellOf(row, g, exLast).cumulative), `AESI ${row.pt} ${g}`);
    }
  }
  await assertClean(page);
});

test('subjects by maximum grade (AET04) equal the API', async (t) => {
  if (!await incidenceSupports(T, {max_grade: 'true'})) {
    t.skip('the server has no GetIncidenceRequest.max_grade yet');
    return;
  }
  const page = await openPage(browser);
  await gotoView(page, `#/trials/${T}/incidence?count=maxgrade&q=pruritus`);
  const last = trial.timepoints.at(-1).timepointId;
  const rows = (await incidence({level: 'TERM_LEVEL_PT', timepoint_id: last, max_grade: 'true'}))
    .filter((r) => `${r.pt} ${r.soc}`.toLowerCase().includes('pruritus'));
  const cells = await page.$$eval('#incidence-table td[data-grade]', (tds) => tds.map((td) => ({
    term: td.dataset.term, group: td.dataset.group, grade: Number(td.dataset.grade), text: td.textContent.trim()})));
  let checked = 0;
  for (const row of rows) {
    for (const g of groupIds()) {
      const c = cellOf(row, g, last);
      c.maxGradeSubjects.forEach((n, k) => {
        const shown = cells.find((x) => x.term === `${row.soc}|${row.pt}` && x.group === g && x.grade === k + 1);
        if (!n && !shown) return;  // a grade no group has is left out
        assert.ok(shown, `${row.pt} ${g || 'total'} grade ${k + 1}`);
        assert.equal(shown.text, n ? `${n} (${pct1(n / c.nDosed)}%)` : '0 (0.0%)', `${row.pt} ${g || 'total'} grade ${k + 1}`);
        checked += 1;
      });
      assert.equal(c.maxGradeSubjects.reduce((a, b) => a + b, 0), c.cumulative.subjects, 'grades sum to the subjects');
    }
  }
  assert.ok(checked > 0);
  await assertClean(page);
  await assertAccessible(page, 'incidence by maximum grade');
});

test('risk difference vs control and dose trend columns equal the API', async (t) => {
  if (!await incidenceSupports(T, {compare_to_control: 'true'})) {
    t.skip('the server has no GetIncidenceRequest.compare_to_control yet');
    return;
  }
  const page = await openPage(browser);
  await gotoView(page, `#/trials/${T}/incidence?q=pruritus`);
  const last = trial.timepoints.at(-1).timepointId;
  const withTrend = await incidenceSupports(T, {dose_trend: 'true'});
  const rows = await incidence({level: 'TERM_LEVEL_PT', timepoint_id: last, compare_to_control: 'true', ...(withTrend ? {dose_trend: 'true'} : {})});
  const rd = await page.$$eval('#incidence-table td[data-rd]', (tds) => tds.map((td) => ({term: td.dataset.term, group: td.dataset.rd,
    npct: td.querySelector('.npct')?.textContent ?? td.textContent.trim(), ci: td.querySelector('.ci')?.textContent ?? null})));
  assert.ok(rd.length > 0);
  for (const c of rd) {
    const row = rows.find((r) => `${r.soc}|${r.pt}` === c.term);
    if (!row) continue;  // a SOC row
    const cmp = cellOf(row, c.group, last).cumulativeVsControl;
    assert.equal(c.npct, (100 * cmp.riskDifference).toFixed(1), `${c.term} ${c.group} RD`);
    assert.equal(c.ci, `[${pct1(cmp.riskDifferenceLower)}, ${pct1(cmp.riskDifferenceUpper)}]`);
  }
  if (withTrend) {
    const trends = await page.$$eval('#incidence-table td[data-trend]', (tds) => tds.map((td) => ({term: td.dataset.term, p: td.dataset.trend})));
    for (const c of trends) {
      const row = rows.find((r) => `${r.soc}|${r.pt}` === c.term);
      if (!row) continue;
      assert.equal(Number(c.p), (row.doseTrends ?? []).find((x) => x.timepointId === last)?.pValue ?? 0, `${c.term} trend`);
    }
    // Within a window, the trend column still tests cumulative incidence:
    // its header says so.
    await gotoView(page, `#/trials/${T}/incidence?q=pruritus&measure=interval`);
    const header = await page.locator('#incidence-table thead th[data-key="trend"]').textContent();
    assert.match(header, /one-sided p, subjects cumulative to /, `trend header: ${header}`);
    // So does it when the cells count events.
    await gotoView(page, `#/trials/${T}/incidence?q=pruritus&count=events`);
    assert.match(await page.locator('#incidence-table thead th[data-key="trend"]').textContent(), /one-sided p, subjects cumulative to /);
    // Per-term p-values over every PT of the trial are descriptive: the page
    // says so, with the number of terms they span.
    const pts = new Set(rows.map((r) => `${r.soc}|${r.pt}`)).size;
    assert.equal(await page.locator('#multiplicity-note').textContent(),
      'Dose-trend p-values (Cochran–Armitage, one-sided, exact where not marked ≈), risk differences and their intervals are per term, ' +
      `not adjusted for multiplicity across the ${pts} preferred terms: descriptive. Signals (the Signals page) are tested with the trial's error control.`);
    // The CDISC pilot's grades come from AESEV: the page says so.
    assert.match(await page.locator('#grading-note').textContent(), /^Grades are not CTCAE grades: severity \(AESEV\): MILD = 1/);
  }
  // The forest plot of the same comparisons, with its table alternative.
  await gotoView(page, `#/trials/${T}/incidence?chart=forest&min=10`);
  assert.equal(await page.locator('#forest-figure svg[role="img"]').count(), 1);
  assert.ok(await page.locator('#forest-table tbody tr').count() > 0);
  await assertClean(page);
  await assertAccessible(page, 'incidence forest plot');
  await screenshot(page, 'dashboard-incidence-forest', {maxHeight: 2000});
  // The relative-risk plot's log axis reads as ratios (0.5, 2), not in SI
  // prefixes ("500m").
  await gotoView(page, `#/trials/${T}/incidence?chart=rr&min=10`);
  // (Tick labels: the chart's numeric texts; plot.js drops Plot's aria-labels.)
  const ticks = (await page.locator('#forest-figure svg text').allTextContents()).filter((x) => /^[0-9.]+[kmµ]?$/.test(x));
  assert.ok(ticks.length >= 3, `relative-risk axis labels: ${ticks}`);
  for (const tick of ticks) assert.match(tick, /^[0-9.]+$/, `relative-risk tick '${tick}'`);
  assert.ok(ticks.includes('1') && ticks.includes('0.5'), `ticks 0.5 and 1: ${ticks}`);
  await assertClean(page);
});

test('a term opens the reports and subjects behind it', async () => {
  const page = await openPage(browser);
  await gotoView(page, `#/trials/${T}/incidence?q=application%20site%20pruritus`);
  const last = trial.timepoints.at(-1).timepointId;
  const soc = 'GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS';
  const pt = 'APPLICATION SITE PRURITUS';
  const [row] = await incidence({level: 'TERM_LEVEL_PT', soc, pt, timepoint_id: last});
  await rerender(page, () => page.click(`#incidence-table th[data-term="${soc}|${pt}"] a`));
  assert.equal(await page.getAttribute('main', 'data-view'), 'reports');
  const reports = await api(`${PARENT}/reports`, {query: {pt, soc, page_size: 1}});
  assert.match(await page.textContent('#reports-table caption'), new RegExp(`^${reports.totalSize} reports`));
  const subjects = new Set(await page.$$eval('#reports-table td[data-col="subject"]', (tds) => tds.map((td) => td.textContent.trim())));
  // A subject counts once in incidence however many reports it has.
  assert.equal(subjects.size, cellOf(row, '', last).cumulative.subjects);
  await assertClean(page);
  await assertAccessible(page, 'reports');
  await screenshot(page, 'dashboard-reports', {maxHeight: 1300});
});

// The coding check: a PT counted under two SOCs, or spelt with a different
// case, splits its subjects between rows; the explorer says so above the
// table (the pilot has none). A trial of its own, as the queue spec's.
test('a term coded more than one way is named above the table', async () => {
  const page = await openPage(browser);
  await gotoView(page, `#/trials/${T}/incidence`);
  assert.equal(await page.locator('#coding-check').count(), 0, 'the pilot codes every PT one way');

  const id = `WEB-CODING-${Date.now().toString(36).toUpperCase()}`;
  await api('/v1/trials', {body: {
    trialId: id, title: 'Coding check test',
    doseGroups: [{doseGroupId: 'LOW', label: 'Low'}, {doseGroupId: 'HIGH', label: 'High'}],
    timepoints: [{timepointId: 'M3', label: 'Month 3', studyDay: 91}],
    sites: [{siteId: '01', name: 'Site 01'}],
  }});
  await api(`${v1('trials', id)}/subjects:enroll`, {body: {subjects: ['S1', 'S2', 'S3', 'S4'].map((s, i) => ({
    subjectId: s, siteId: '01', doseGroupId: i % 2 ? 'HIGH' : 'LOW', lastContactDay: 91}))}});
  const report = (n, subjectId, soc, pt) => ({reportId: `R${n}`, version: 1, siteId: '01', subjectId, onsetStudyDay: 20, soc, pt, grade: 1});
  const result = await api(`${v1('trials', id)}/reports:submit`, {body: {reports: [
    report(1, 'S1', 'Infections and infestations', 'Pneumonia'),
    report(2, 'S2', 'Infections and infestations', 'Pneumonia'),
    report(3, 'S3', 'Infections', 'Pneumonia'),
    report(4, 'S4', 'Skin and subcutaneous tissue disorders', 'Rash'),
    report(5, 'S1', 'Skin and subcutaneous tissue disorders', 'RASH'),
    report(6, 'S2', 'Nervous system disorders', 'Headache'),
  ]}});
  assert.equal(result.acceptedCount, 6, JSON.stringify(result));
  await gotoView(page, `#/trials/${id}/incidence`);
  const check = page.locator('#coding-check');
  assert.match(await check.locator('p').textContent(), /^Coding check: 2 preferred terms are counted in more than one row/);
  const items = (await check.locator('li').allTextContents()).sort();
  assert.deepEqual(items, [
    'Pneumonia (Infections and infestations): 2; Pneumonia (Infections): 1',
    'RASH (Skin and subcutaneous tissue disorders): 1; Rash (Skin and subcutaneous tissue disorders): 1',
  ]);
  // The chart tells the two Pneumonia rows apart by their SOC.
  const figure = await page.locator('#incidence-figure').textContent();
  assert.ok(figure.includes('Pneumonia (Infections)'), figure);
  assert.ok(figure.includes('Pneumonia (Infections and infestations)'), figure);
  await assertClean(page);
  await assertAccessible(page, 'incidence-coding-check');
  await screenshot(page, 'dashboard-incidence-coding-check', {maxHeight: 1200});
});

// A PT typed in another case (or in part) lists nothing, as the API's exact
// match does, and offers the trial's terms that contain it.
test('a preferred term typed in lower case offers the terms it names', async () => {
  const page = await openPage(browser);
  await gotoView(page, `#/trials/${T}/reports`);
  await rerender(page, async () => {
    await page.fill('input[name="pt"]', 'pruritus');
    await page.click('form[aria-label="Report filters"] button[type="submit"]');
  });
  assert.match(await page.textContent('#reports-table caption'), /^0 reports/);
  assert.match(await page.textContent('.page-header'), /no report matches these filters/);
  const offered = await page.$$eval('#term-suggestions a', (as) => as.map((a) => a.textContent));
  assert.ok(offered.includes('PRURITUS (SKIN AND SUBCUTANEOUS TISSUE DISORDERS)'), offered.join(' | '));
  assert.ok(offered.includes('APPLICATION SITE PRURITUS (GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS)'), offered.join(' | '));
  await screenshot(page, 'dashboard-reports-suggestions');
  await rerender(page, () => page.click('#term-suggestions a:text-is("PRURITUS (SKIN AND SUBCUTANEOUS TISSUE DISORDERS)")'));
  const reports = await api(`${PARENT}/reports`, {query: {pt: 'PRURITUS', soc: 'SKIN AND SUBCUTANEOUS TISSUE DISORDERS', page_size: 1}});
  assert.ok(reports.totalSize > 0);
  assert.match(await page.textContent('#reports-table caption'), new RegExp(`^${reports.totalSize} reports — PT PRURITUS`));
  // The listing's AE subsets are the explorer's, in the same words.
  const choices = () => page.$$eval('select[name="subset"] option', (os) => os.map((o) => `${o.value}=${o.textContent}`));
  const listed = await choices();
  await gotoView(page, `#/trials/${T}/incidence`);
  assert.deepEqual(listed, await choices());
  await assertClean(page);
});

// An onset range the wrong way round (in a link, say) keeps the form, with
// the range shown and marked, and the server's reason.
test('an onset range the wrong way round is shown to correct, not a blank page', async () => {
  const page = await openPage(browser);
  await gotoView(page, `#/trials/${T}/reports?pt=PRURITUS&onset_min=30&onset_max=10`);
  assert.equal(await page.inputValue('input[name="onset_min"]'), '30');
  assert.equal(await page.inputValue('input[name="onset_max"]'), '10');
  assert.equal(await page.getAttribute('input[name="onset_max"]', 'aria-invalid'), 'true');
  assert.match(await page.textContent('#reports-error'), /onset_day_max.*onset_day_min/);
  await screenshot(page, 'dashboard-reports-invalid');
  // Corrected in the form: the listing.
  await rerender(page, async () => {
    await page.fill('input[name="onset_max"]', '');
    await page.click('form[aria-label="Report filters"] button[type="submit"]');
  });
  const reports = await api(`${PARENT}/reports`, {query: {pt: 'PRURITUS', onset_day_min: 30, page_size: 1}});
  assert.match(await page.textContent('#reports-table caption'), new RegExp(`^${reports.totalSize} reports — PT PRURITUS, onset day 30–end`));
  await assertClean(page);
  await assertAccessible(page, 'reports with onset filters');
});

// "Show more" appends the next page in the API's order, and the subjects
// counted above the table follow it (they were the first page's).
test('"Show more" appends the next page of reports, and the subjects above follow', async () => {
  const page = await openPage(browser);
  await gotoView(page, `#/trials/${T}/reports`);
  const all = await listAll(`${PARENT}/reports`, 'reports', {query: {page_size: 200}});
  assert.ok(all.length > 400, `${all.length} reports in the pilot`);
  const key = (r) => `${r.siteId}/${r.reportId}`;
  const ids = () => page.$$eval('#reports-table tbody th[data-report]', (ths) => ths.map((th) => th.dataset.report));
  assert.deepEqual(await ids(), all.slice(0, 200).map(key));
  await page.click('.pager button:text-is("Show more")');
  await page.waitForFunction(() => document.querySelectorAll('#reports-table tbody th[data-report]').length === 400);
  assert.deepEqual(await ids(), all.slice(0, 400).map(key));
  const subjects = new Set(all.slice(0, 400).map((r) => r.current.report.subjectId));
  assert.equal(await page.textContent('#reports-summary'), `${T}: ${subjects.size} subjects in the 400 reports shown.`);
  assert.equal(await page.locator('#reports-subjects a').count(), subjects.size);
  assert.match(await page.textContent('.pager'), new RegExp(`^Showing 400 of ${all.length}\\.`));
  await assertClean(page);
});
