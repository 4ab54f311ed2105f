// Single sign-on in real Chromium against a real OpenID Connect provider (oidc-provider, run by
// crates/server/tests/oidc/provider.mjs): the login page offers "Log in via ML Platform SSO",
// the provider's login and consent pages are filled in, and the browser lands back in the UI
// as dana@ml.example.com, whose group ml-engineers holds role:ml-engineer: she sees the
// applications of project ml-platform and none of the others, may stop mlflow's running sync,
// and logs out.
//
// Environment: FERROCD_URL (the ferrocd server), FERROCD_ISSUER (the provider),
// FERROCD_SCREENSHOTS, FERROCD_NODE_MODULES, FERROCD_CHROMIUM.

import { check, env, run, screenshot, step } from './lib.mjs';

const base = env('FERROCD_URL');
const issuer = env('FERROCD_ISSUER');
const USER = 'dana@ml.example.com';

await run(async ({ context, page }) => {
  // The provider's development pages import a web font; nothing outside this machine is
  // reachable (or wanted) from a test.
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return ['127.0.0.1', 'localhost'].includes(host) ? route.continue() : route.abort();
  });

  step(`open ${base}/applications: the login page offers single sign-on`);
  await page.goto(`${base}/applications`);
  const sso = await page.waitForSelector('[data-testid=sso-login]');
  check((await sso.innerText()).trim() === 'Log in via ML Platform SSO', `the SSO button: ${await sso.innerText()}`);
  check(new URL(page.url()).searchParams.get('return_url') === '/applications', `the login page keeps where to go back: ${page.url()}`);
  check(await page.$('[data-testid=login-form]'), 'local accounts can still log in with the form');
  await screenshot(page, 'login-page');

  step('log in via SSO: the provider asks who you are');
  await sso.click();
  await page.waitForSelector('input[name=login]');
  check(page.url().startsWith(issuer), `the browser is at the provider: ${page.url()}`);
  await page.fill('input[name=login]', 'dana');
  await page.fill('input[name=password]', 'correct-horse-battery');
  await screenshot(page, 'provider-login');
  await page.click('button[type=submit]');

  step('consent to what ferrocd asks for');
  await page.waitForSelector('input[name=prompt][value=consent]', { state: 'attached' });
  check(page.url().startsWith(issuer), `the consent page is the provider's: ${page.url()}`);
  await screenshot(page, 'provider-consent');
  await page.click('button[type=submit]');

  step('back in ferrocd, logged in as the SSO user');
  await page.waitForSelector('[data-testid=username]', { timeout: 30000 });
  check(page.url().startsWith(base), `back at ferrocd: ${page.url()}`);
  check(new URL(page.url()).pathname === '/applications', `the login returns to the page asked for: ${page.url()}`);
  check((await page.innerText('[data-testid=username]')).trim() === USER, `the top bar names ${USER}`);
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === 'argocd.token');
  check(session && session.httpOnly, `an HttpOnly argocd.token session cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);

  step('RBAC: the group\'s role shows project ml-platform\'s applications only');
  await page.waitForSelector('[data-testid=apps-table] tr[data-app]');
  const shown = await page.$$eval('tr[data-app]', (rows) => rows.map((r) => r.dataset.app).sort());
  check(JSON.stringify(shown) === JSON.stringify(['mlflow', 'triton-prod']), `dana sees mlflow and triton-prod only: ${shown}`);
  const projects = await page.$$eval('[data-testid=apps-table] tr[data-app]', (rows) => rows.map((r) => r.innerText));
  check(projects.every((text) => text.includes('ml-platform')), `every row is in ml-platform: ${projects}`);
  await screenshot(page, 'applications-as-dana');

  step('an application of another project is refused with a readable message');
  await page.goto(`${base}/applications/kserve`);
  await page.waitForSelector('.error-box');
  const refused = await page.innerText('.error-box');
  check(refused.includes('You are not allowed to see application kserve') && refused.includes('permission denied'), `the refusal reads as a sentence with the server's reason: ${refused}`);
  const api = await page.request.get(`${base}/api/v1/applications/kserve`);
  check(api.status() === 403, `the API refuses dana kserve: ${api.status()}`);
  await screenshot(page, 'refused');

  step('the user page shows the SSO identity and groups');
  await page.click('[data-testid=username]');
  await page.waitForSelector('[data-testid=user-info]');
  const info = await page.innerText('[data-testid=user-info]');
  for (const want of [USER, 'ml-engineers', issuer, 'single sign-on']) check(info.includes(want), `user info has ${want}: ${info}`);
  await screenshot(page, 'user-info');

  step('Stop sync: mlflow\'s running sync is stopped from its page');
  await page.click('.topbar nav a[data-nav=applications]');
  await page.click('tr[data-app=mlflow] a');
  await page.waitForSelector('[data-testid=app-operation] [data-phase=Running]');
  const stop = await page.waitForSelector('[data-testid=terminate-button]:not(.hidden)');
  await stop.click();
  await page.waitForSelector('[data-testid=confirm-dialog]');
  check((await page.innerText('[data-testid=confirm-dialog]')).includes('Stop the running sync?'), 'the dialog asks before stopping');
  await screenshot(page, 'stop-sync-dialog');
  await page.click('[data-testid=confirm-dialog] button[data-action=confirm]');
  await page.waitForSelector('[data-testid=confirm-dialog]', { state: 'detached' });
  await page.waitForSelector('.toast:has-text("Stopping the sync")');
  // The server marks the operation Terminating; the page follows through the live stream.
  await page.waitForSelector('[data-testid=app-operation] [data-phase=Terminating]');
  await page.waitForSelector('[data-testid=terminate-button].hidden', { state: 'attached' });
  const op = (await (await page.request.get(`${base}/api/v1/applications/mlflow`)).json()).status?.operationState;
  check(op?.phase === 'Terminating', `the API shows the operation Terminating: ${JSON.stringify(op)}`);
  await screenshot(page, 'sync-stopping');

  step('triton-prod: the deny rule for *-prod keeps dana from stopping its sync');
  const denied = await page.request.delete(`${base}/api/v1/applications/triton-prod/operation`);
  check(denied.status() === 403, `terminating triton-prod answers 403, got ${denied.status()}`);

  step('log out: the SSO session ends');
  await page.click('[data-testid=logout]');
  await page.waitForSelector('[data-testid=sso-login]');
  const after = await page.request.get(`${base}/api/v1/applications`);
  check(after.status() === 401, `after logout the API answers 401, got ${after.status()}`);
  await page.goto(`${base}/applications`);
  await page.waitForSelector('[data-testid=sso-login]');
  check(new URL(page.url()).pathname === '/login', `a logged-out browser is sent to the login page: ${page.url()}`);
  await screenshot(page, 'logged-out');
});
