// View 4, a term over time: the cells per timepoint and group equal the
// API, the baseline's expected incidence is drawn with its citation, the
// dose trend per timepoint (when the server gives it) equals the API.
import assert from 'node:assert/strict';
import {test, before, after} from 'node:test';
import {launch, openPage, gotoView, rerender, assertClean, assertAccessible, screenshot, api, listAll, v1, cellOf, incidenceSupports, pct1} from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function compareTerm(page, trialId, query, measure = 'cumulative') {
  const trial = await api(v1('trials', trialId));
  const [row] = await listAll(`${v1('trials', trialId)}/incidence`, 'terms', {query});
  const cells = await page.$$eval('#term-table td[data-tp][data-group]', (tds) => tds.map((td) => ({
    tp: td.dataset.tp, group: td.dataset.group, n: td.dataset.n, d: td.dataset.d, npct: td.querySelector('.npct')?.textContent})));
  const groups = [...trial.doseGroups.map((g) => g.doseGroupId), ''];
  assert.equal(cells.length, trial.timepoints.length * groups.length);
  for (const t of trial.timepoints) {
    for (const g of groups) {
      const e = cellOf(row, g, t.timepointId)[measure];
      const c = cells.find((x) => x.tp === t.timepointId && x.group === g);
      assert.equal(c.npct, `${e.subjects}/${e.denominator}${e.denominator ? ` (${pct1(e.proportion)}%)` : ''}`, `${t.timepointId} ${g || 'total'}`);
    }
  }
  return {trial, row};
}

test('any SAE of the example trial over time, with its baselines and citations', async () => {
  const page = await openPage(browser);
  await gotoView(page, '#/trials/MSC-IPF-EX1/term?level=OVERALL&key=any_sae');
  await compareTerm(page, 'MSC-IPF-EX1', {level: 'TERM_LEVEL_OVERALL', overall_key: 'any_sae'});
  const baselines = (await listAll(`${v1('trials', 'MSC-IPF-EX1')}/baselines`, 'baselines'))
    .filter((b) => b.overallKey === 'any_sae');
  assert.ok(baselines.length >= 1);
  const text = await page.textContent('main');
  for (const b of baselines) {
    assert.ok(text.includes(b.citation), `citation of ${b.baselineId}`);
    assert.ok(text.includes(`Expected ${pct1(b.expectedProportion)}% (${b.baselineId})`), `expected incidence of ${b.baselineId}`);
  }
  assert.equal(await page.locator('#term-figure svg[role="img"]').count(), 1);
  // Within each window instead.
  await rerender(page, () => page.selectOption('select[name="measure"]', 'interval'));
  await compareTerm(page, 'MSC-IPF-EX1', {level: 'TERM_LEVEL_OVERALL', overall_key: 'any_sae'}, 'interval');
  await assertClean(page);
  await gotoView(page, '#/trials/MSC-IPF-EX1/term?level=OVERALL&key=any_sae');
  // The timepoints are evenly spaced, and the axis says so (month 3 to 6 and
  // year 4 to 5 look alike).
  assert.match(await page.textContent('#term-figure svg'), /Timepoint \(evenly spaced, not to scale in time\)/);
  await screenshot(page, 'dashboard-term-baseline');

  // On a phone the tables scroll inside their own region; the page itself
  // does not pan sideways (the baselines table, with its citations, did).
  const phone = await openPage(browser, {viewport: {width: 390, height: 844}});
  await gotoView(phone, '#/trials/MSC-IPF-EX1/term?level=OVERALL&key=any_sae');
  const widths = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(widths[0] <= widths[1], `page ${widths[0]} px wide in a ${widths[1]} px viewport`);
  assert.equal(await phone.locator('.table-scroll #baselines-table').count(), 1);
  // A scrolled table's caption wraps inside its region, readable without
  // scrolling (it ran off the right edge with the table).
  const captions = await phone.$$eval('.table-scroll', (regions) => regions.map((r) => {
    const c = r.querySelector('caption');
    return c && {text: c.textContent, right: c.getBoundingClientRect().right, edge: r.getBoundingClientRect().right,
      wide: r.scrollWidth > r.clientWidth};
  }).filter(Boolean));
  assert.ok(captions.some((c) => c.wide), 'a table wider than its region on a phone');
  for (const c of captions) assert.ok(c.right <= c.edge + 0.5, `caption "${c.text}" ends at ${c.right} px, its region at ${c.edge}`);
  // The chart keeps its drawn size (its 11 px labels were shrunk to 8 px to
  // fit the screen); it scrolls inside its own region instead.
  const scales = await phone.$$eval('.chart svg.ae-plot', (svgs) => svgs.map((s) => s.getBoundingClientRect().width / s.width.baseVal.value));
  assert.ok(scales.length > 0 && scales.every((k) => Math.abs(k - 1) < 0.01), `charts drawn at ${scales.join(', ')} of their size`);
  assert.equal(await phone.locator('.chart[role="region"][tabindex="0"]').count(), scales.length);
  await screenshot(phone, 'dashboard-term-phone', {maxHeight: 1400});
  await assertAccessible(phone, 'term over time on a phone');
});

test('pruritus in the CDISC pilot over time, with the dose trend per timepoint', async () => {
  const page = await openPage(browser);
  const soc = 'SKIN AND SUBCUTANEOUS TISSUE DISORDERS';
  await gotoView(page, `#/trials/CDISCPILOT01/term?level=PT&soc=${encodeURIComponent(soc)}&pt=PRURITUS`);
  const trend = await incidenceSupports('CDISCPILOT01', {dose_trend: 'true'});
  const {row} = await compareTerm(page, 'CDISCPILOT01', {level: 'TERM_LEVEL_PT', soc, pt: 'PRURITUS', ...(trend ? {dose_trend: 'true'} : {})});
  if (trend) {
    const shown = await page.$$eval('#term-table td[data-trend]', (tds) => tds.map((td) => ({tp: td.dataset.tp, p: td.dataset.trend})));
    assert.equal(shown.length, row.doseTrends.length);
    for (const t of row.doseTrends) assert.equal(Number(shown.find((s) => s.tp === t.timepointId).p), t.pValue ?? 0, `trend ${t.timepointId}`);
    const trendHeader = () => page.locator('#term-table thead th[data-key="trend"]').textContent();
    assert.equal(await trendHeader(), 'Dose trendone-sided p (Z)');
    // Within each window the rows change, the trend (of cumulative
    // incidence) does not: the header says which it is.
    await rerender(page, () => page.selectOption('select[name="measure"]', 'interval'));
    assert.equal(await trendHeader(), 'Dose trendone-sided p (Z) of cumulative incidence');
    await gotoView(page, `#/trials/CDISCPILOT01/term?level=PT&soc=${encodeURIComponent(soc)}&pt=PRURITUS`);
  }
  // Its topic is linked.
  assert.equal(await page.locator('a[href*="/topics/PT~"]').count() > 0, true);
  await assertClean(page);
  await assertAccessible(page, 'term over time');
  await screenshot(page, 'dashboard-term');
});

// The reports behind a row are the ones it counts: an overall row's subset
// (the reports behind "Any serious AE" are the serious ones), from the term
// page and from a signal topic's page.
async function assertReportsOf(page, trialId, subset) {
  assert.equal(await page.getAttribute('main', 'data-view'), 'reports');
  assert.equal(new URLSearchParams(page.url().split('?')[1] ?? '').get('subset'), subset);
  const enums = {serious: 'INCIDENCE_SUBSET_SERIOUS', grade3: 'INCIDENCE_SUBSET_GRADE_3_PLUS', related: 'INCIDENCE_SUBSET_RELATED', death: 'INCIDENCE_SUBSET_DEATH'};
  const query = subset.startsWith('aesi:') ? {subset: 'INCIDENCE_SUBSET_AESI', aesi: subset.slice(5)} : {subset: enums[subset]};
  const [all, only] = await Promise.all([api(`${v1('trials', trialId)}/reports`, {query: {page_size: 1}}),
    api(`${v1('trials', trialId)}/reports`, {query: {...query, page_size: 1}})]);
  assert.ok(only.totalSize > 0 && only.totalSize < all.totalSize, `${only.totalSize} of ${all.totalSize} reports are ${subset}`);
  const caption = await page.textContent('#reports-table caption');
  assert.match(caption, new RegExp(`^${only.totalSize} reports`));
  // The caption names the subset among the filters, in lower case.
  const words = subset.startsWith('aesi:') ? `AESI ${subset.slice(5)}` : {serious: 'serious', grade3: 'grade ≥ 3', related: 'related', death: 'fatal'}[subset];
  assert.ok(new RegExp(`[—,] ${words}[,( ]`).test(caption), `"${words}" in the caption "${caption}"`);
}

test('an overall row links to the reports it counts, from its term page and its topic', async () => {
  const page = await openPage(browser);
  await gotoView(page, '#/trials/MSC-IPF-EX1/term?level=OVERALL&key=any_sae');
  await rerender(page, () => page.click('a:text-is("Reports behind this term")'));
  await assertReportsOf(page, 'MSC-IPF-EX1', 'serious');
  const serious = await page.$$eval('#reports-table td[data-col="serious"]', (tds) => tds.map((td) => td.textContent));
  assert.ok(serious.length && serious.every((s) => s.startsWith('SAE')), serious.join());

  const topics = await listAll(`${v1('trials', 'MSC-IPF-EX1')}/topics`, 'topics');
  const topic = topics.find((t) => t.overallKey && t.overallKey !== 'any_ae');
  assert.ok(topic, `an overall row's topic among ${topics.map((t) => t.topicId).join(', ')}`);
  const subset = {any_sae: 'serious', grade_3_plus: 'grade3', related: 'related', death: 'death'}[topic.overallKey] ?? topic.overallKey;
  await gotoView(page, `#/trials/MSC-IPF-EX1/topics/${encodeURIComponent(topic.topicId)}`);
  await rerender(page, () => page.click('.page-header a:text-is("Reports")'));
  await assertReportsOf(page, 'MSC-IPF-EX1', subset);
  // The fatal-AE row goes by one name: the row's, the subset's (it was
  // "Death" here, "Fatal AEs" in the explorer and "Fatal" in the reports).
  await gotoView(page, '#/trials/MSC-IPF-EX1/term?level=OVERALL&key=death');
  assert.equal(await page.textContent('main h1'), 'Any fatal AE');
  await assertClean(page);
});

// A term opened from the explorer keeps the explorer's subset and measure:
// its numbers are the subset's, it says so, and it shows no baseline or
// topic (those are of all AEs) until asked for all AEs.
test('a term opened from a subset of the explorer keeps the subset', async () => {
  const trialId = 'CDISCPILOT01';
  const parent = v1('trials', trialId);
  const trial = await api(parent);
  const last = trial.timepoints.at(-1).timepointId;
  const serious = await listAll(`${parent}/incidence`, 'terms', {query: {level: 'TERM_LEVEL_PT', subset: 'INCIDENCE_SUBSET_SERIOUS', timepoint_id: last}});
  const row = serious.find((r) => (cellOf(r, '', last).cumulative.subjects ?? 0) > 0);
  assert.ok(row, 'a PT with serious AEs in the pilot');
  const page = await openPage(browser);
  await gotoView(page, `#/trials/${trialId}/incidence?subset=serious&measure=interval&q=${encodeURIComponent(row.pt)}`);
  await rerender(page, () => page.click(`#incidence-table th[data-term="${row.soc}|${row.pt}"] a.over-time`));
  assert.equal(await page.getAttribute('main', 'data-view'), 'term');
  const query = {level: 'TERM_LEVEL_PT', soc: row.soc, pt: row.pt};
  await compareTerm(page, trialId, {...query, subset: 'INCIDENCE_SUBSET_SERIOUS'}, 'interval');
  assert.match(await page.textContent('#term-subset'), /^AEs counted: Serious AEs/);
  assert.match(await page.textContent('#term-table caption'), new RegExp(`^${row.pt} \\(Serious AEs only\\)`));
  assert.equal(await page.locator('#baselines-table').count(), 0);
  const reports = new URLSearchParams((await page.getAttribute('a:text-is("Reports behind this term")', 'href')).split('?')[1]);
  assert.deepEqual([reports.get('pt'), reports.get('soc'), reports.get('subset')], [row.pt, row.soc, 'serious']);
  await assertClean(page);
  await assertAccessible(page, 'term over time, a subset');
  await screenshot(page, 'dashboard-term-subset');
  // All AEs again: the row's own numbers.
  await rerender(page, () => page.click('#term-subset a'));
  await compareTerm(page, trialId, query, 'interval');
  assert.equal(await page.locator('#term-subset').count(), 0);
});
