// 2,000 applications: the list API answers and the applications page renders every row in
// under a second each, measured in the browser (performance.now from navigation start to the
// moment the last row is in the DOM); the tiles count right and filtering stays quick.
//
// Environment: FERROCD_URL, FERROCD_PASSWORD, FERROCD_APPS, FERROCD_SCREENSHOTS,
// FERROCD_NODE_MODULES, FERROCD_CHROMIUM.

import { check, env, login, run, screenshot, step } from './lib.mjs';

const base = env('FERROCD_URL');
const password = env('FERROCD_PASSWORD');
const total = Number(env('FERROCD_APPS'));
// The issue's bound is 1 s for the whole stack built for release; the test harness passes a
// larger one for debug builds of the server. Rendering in the browser always gets 1 s.
const BUDGET_MS = Number(process.env.FERROCD_BUDGET_MS || 1000);
const RENDER_MS = 1000;

await run(async ({ page }) => {
  step(`log in at ${base}`);
  await login(page, base, password);
  await page.waitForSelector('[data-testid=apps-table] tr[data-app]');

  // Away from the list (and its event stream) so the timing sees the list call alone.
  await page.goto(`${base}/user-info`);
  await page.waitForSelector('[data-testid=user-info]');
  await page.waitForTimeout(500);
  step('time the list API from the browser (best of 3)');
  const apiTimes = await page.evaluate(async () => {
    const times = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const r = await fetch('/api/v1/applications');
      const body = await r.json();
      times.push({ ms: performance.now() - t, items: body.items.length });
    }
    return times;
  });
  step(`list API: ${apiTimes.map((t) => `${t.ms.toFixed(0)} ms`).join(', ')} for ${apiTimes[0].items} applications`);
  check(apiTimes.every((t) => t.items === total), `the API lists ${total} applications`);
  const bestApi = Math.min(...apiTimes.map((t) => t.ms));
  check(bestApi < BUDGET_MS, `the list API answers in under ${BUDGET_MS} ms (${bestApi.toFixed(0)} ms)`);

  step('navigate to the list and time it until the last row is rendered (best of 3)');
  const renders = [];
  for (let i = 0; i < 3; i++) {
    await page.goto(`${base}/applications`);
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-app]').length === n, total, { timeout: 20000 });
    const t = await page.evaluate(() => {
      const mark = performance.getEntriesByName('ferrocd:applications-rendered')[0];
      const fetched = performance.getEntriesByName('ferrocd:applications-fetched')[0];
      const rows = document.querySelectorAll('tr[data-app]');
      const names = [...rows].map((r) => r.dataset.app);
      const sorted = [...names].sort((a, b) => a.localeCompare(b));
      return { ms: mark ? mark.startTime : Infinity, client: mark && fetched ? mark.startTime - fetched.startTime : Infinity, rows: rows.length, last: rows[rows.length - 1].dataset.app, expectedLast: sorted[sorted.length - 1] };
    });
    check(t.last === t.expectedLast, `the last row is the last application (${t.last})`);
    renders.push(t);
  }
  step(`navigation → last row: ${renders.map((r) => `${r.ms.toFixed(0)} ms (${r.client.toFixed(0)} ms of it building the rows)`).join(', ')}`);
  const bestRender = Math.min(...renders.map((r) => r.ms));
  const bestClient = Math.min(...renders.map((r) => r.client));
  check(bestClient < RENDER_MS, `the browser builds all ${total} rows in under ${RENDER_MS} ms (${bestClient.toFixed(0)} ms)`);
  check(bestRender < BUDGET_MS, `all ${total} rows are on screen in under ${BUDGET_MS} ms after navigation (${bestRender.toFixed(0)} ms)`);
  await screenshot(page, 'list-2000');

  step('tiles count every application');
  check(await page.innerText('[data-testid=tile-total]') === String(total), 'total tile');
  check((await page.innerText('[data-testid=tile-OutOfSync]')).startsWith(String(total / 10)), 'out-of-sync tile');
  check((await page.innerText('[data-testid=tile-Degraded]')).startsWith(String(total / 20)), 'degraded tile');

  step('filtering 2,000 rows stays quick');
  // Filtering is synchronous in the click handler; the forced layout counts layout too.
  const filterMs = await page.evaluate(() => {
    const t = performance.now();
    document.querySelector('[data-testid=tile-Degraded]').click();
    void document.body.offsetHeight;
    return performance.now() - t;
  });
  check(await page.$$eval('tr[data-app]', (rows) => rows.length) === total / 20, 'the Degraded filter leaves the degraded applications');
  step(`Degraded filter: ${filterMs.toFixed(0)} ms`);
  check(filterMs < RENDER_MS, `the Degraded filter applies in under ${RENDER_MS} ms (${filterMs.toFixed(0)} ms)`);
  await page.fill('[data-testid=search]', 'fraud');
  await page.waitForFunction(() => [...document.querySelectorAll('tr[data-app]')].every((r) => r.dataset.app.startsWith('fraud-')));
  check(new URL(page.url()).searchParams.get('health') === 'Degraded', 'the URL keeps the health filter');
  await screenshot(page, 'list-2000-filtered');
});
