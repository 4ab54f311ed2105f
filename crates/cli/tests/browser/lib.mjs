// Shared helpers of the browser tests: playwright-core from $FERROCD_NODE_MODULES (ESM cannot
// use NODE_PATH, so it is loaded with createRequire), Debian's chromium from $FERROCD_CHROMIUM,
// login, screenshots and a step logger. Run by crates/cli/tests/browser.rs.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

const require = createRequire(path.join(env('FERROCD_NODE_MODULES'), 'noop.js'));
const { chromium } = require('playwright-core');

const started = Date.now();
export function step(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

/** Fails the test with a message. */
export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Launches chromium and opens a laptop-sized page; browser errors are printed. */
export async function openBrowser() {
  const browser = await chromium.launch({
    executablePath: env('FERROCD_CHROMIUM'),
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => { pageErrors.push(err.message); console.log(`page error: ${err.message}`); });
  page.on('console', (msg) => { if (msg.type() === 'error') console.log(`console error: ${msg.text()}`); });
  page.setDefaultTimeout(20000);
  return { browser, context, page, pageErrors };
}

const shotDir = env('FERROCD_SCREENSHOTS');
fs.mkdirSync(shotDir, { recursive: true });
let shotNo = 0;

/** Saves a full-page screenshot named `NN-name.png`. */
export async function screenshot(page, name) {
  shotNo += 1;
  const file = path.join(shotDir, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  step(`screenshot ${file}`);
  return file;
}

/** Logs in through the login form with the admin password. */
export async function login(page, base, password) {
  await page.goto(`${base}/applications`);
  await page.waitForSelector('[data-testid=login-form]');
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', password);
  await page.click('[data-testid=login-form] button[type=submit]');
  await page.waitForSelector('[data-testid=username]');
  check(new URL(page.url()).pathname === '/applications', `after login the page is ${page.url()}`);
}

/** Runs `body`, saving a failure screenshot and exiting non-zero on error. */
export async function run(body) {
  let opened = null;
  try {
    opened = await openBrowser();
    await body(opened);
    check(opened.pageErrors.length === 0, `no uncaught errors in the page: ${opened.pageErrors.join('; ')}`);
    step('passed');
    await opened.browser.close();
    process.exit(0);
  } catch (err) {
    console.log(`FAILED: ${err.stack || err}`);
    if (opened) {
      try { await screenshot(opened.page, 'failure'); } catch { /* the page may be gone */ }
      await opened.browser.close().catch(() => {});
    }
    process.exit(1);
  }
}
