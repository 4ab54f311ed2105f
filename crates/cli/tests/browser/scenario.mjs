// The user journey on the demo stack, in real Chromium: log in with the printed password,
// register a manual-sync (prod-like) application, find it with the search box and a status
// tile, open it, sync it from the dialog and watch it become Synced, read its resource tree
// (Deployment → ReplicaSet → Pods), let a commit in DIR/gitops make it Out of sync, open the
// diff of the changed resource, sync again, roll back from the history, read the Events tab,
// Refresh and Hard refresh, visit the repository pages and delete the application from its
// Delete dialog.
//
// Environment: FERROCD_URL, FERROCD_PASSWORD, FERROCD_GITOPS (the demo's Git repository),
// FERROCD_REPO_URL (its URL as the Applications use it), FERROCD_SCREENSHOTS,
// FERROCD_NODE_MODULES, FERROCD_CHROMIUM.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { check, env, login, run, screenshot, step } from './lib.mjs';

const base = env('FERROCD_URL');
const password = env('FERROCD_PASSWORD');
const gitops = env('FERROCD_GITOPS');
const repoURL = env('FERROCD_REPO_URL');
const APP = 'mlflow-prod';
const SLOW = 40000;

function commit(file, from, to, message) {
  const full = path.join(gitops, file);
  const text = fs.readFileSync(full, 'utf8');
  check(text.includes(from), `${file} contains ${from}`);
  fs.writeFileSync(full, text.replace(from, to));
  const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'browser test', GIT_AUTHOR_EMAIL: 'test@ferrocd.invalid', GIT_COMMITTER_NAME: 'browser test', GIT_COMMITTER_EMAIL: 'test@ferrocd.invalid' };
  execFileSync('git', ['commit', '-q', '-am', message], { cwd: gitops, env: gitEnv });
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: gitops }).toString().trim();
}

/** Polls `probe` (async, returns truthy when done) until it holds or `timeout` ms pass. */
async function eventually(what, probe, timeout = SLOW) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    check(Date.now() < deadline, `${what} within ${timeout / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const REFRESH = 'argocd.argoproj.io/refresh';
const HELM_PASSWORD = 'helm-reader-Pa55-never-shown';

const syncIs = (page, status, timeout = SLOW) =>
  page.waitForSelector(`[data-testid=app-sync] .badge[data-status=${status}]`, { timeout });
const healthIs = (page, status, timeout = SLOW) =>
  page.waitForSelector(`[data-testid=app-health] .badge[data-status=${status}]`, { timeout });

async function syncFromDialog(page) {
  await page.click('[data-testid=sync-button]');
  const dialog = await page.waitForSelector('[data-testid=sync-dialog]');
  check(await dialog.$('[data-testid=sync-prune]'), 'the sync dialog offers prune');
  check(await dialog.$('[data-testid=sync-dry-run]'), 'the sync dialog offers dry run');
  check(await dialog.$('input[data-option="CreateNamespace=true"]:checked'), 'CreateNamespace is pre-selected from the spec');
  check(await dialog.$('input[data-option="ServerSideApply=true"]'), 'the sync dialog offers ServerSideApply');
  check(await dialog.$('input[data-option="Replace=true"]'), 'the sync dialog offers Replace');
  const resources = await dialog.$$('[data-testid=sync-resources] input[data-index]');
  check(resources.length >= 4, `the sync dialog lists the resources (${resources.length})`);
  await screenshot(page, 'sync-dialog');
  await page.click('[data-testid=sync-dialog] button[data-action=synchronize]');
  await page.waitForSelector('[data-testid=sync-dialog]', { state: 'detached' });
}

await run(async ({ page }) => {
  step(`log in at ${base}`);
  await login(page, base, password);
  await page.waitForSelector('[data-testid=apps-table] tr[data-app]');
  await screenshot(page, 'applications');

  step(`register the manual-sync application ${APP} through the API`);
  const created = await page.request.post(`${base}/api/v1/applications`, {
    data: {
      metadata: { name: APP, namespace: 'argocd', labels: { environment: 'prod', 'app.kubernetes.io/part-of': 'ml-platform' } },
      spec: {
        project: 'data-platform',
        source: { repoURL, targetRevision: 'HEAD', path: 'apps/mlflow/overlays/prod' },
        destination: { server: 'https://kubernetes.default.svc', namespace: 'ml-prod' },
        syncPolicy: { syncOptions: ['CreateNamespace=true'] },
      },
    },
  });
  check(created.ok(), `creating ${APP}: ${created.status()} ${await created.text()}`);

  step('the list follows live: the new application shows up Out of sync');
  await page.waitForSelector(`tr[data-app=${APP}] .badge[data-status=OutOfSync]`, { timeout: SLOW });
  await page.fill('[data-testid=search]', 'mlflow');
  await page.waitForFunction(() => [...document.querySelectorAll('tr[data-app]')].every((r) => r.dataset.app.includes('mlflow')));
  const found = await page.$$eval('tr[data-app]', (rows) => rows.map((r) => r.dataset.app));
  check(found.includes(APP) && found.includes('mlflow-dev') && found.length === 2, `search "mlflow" finds ${found}`);
  check(new URL(page.url()).searchParams.get('search') === 'mlflow', `the URL keeps the search: ${page.url()}`);
  await page.click('[data-testid=tile-OutOfSync]');
  await page.waitForFunction(() => document.querySelectorAll('tr[data-app]').length === 1);
  check(new URL(page.url()).searchParams.get('sync') === 'OutOfSync', `the URL keeps the filter: ${page.url()}`);
  await screenshot(page, 'filtered');
  step('a reload keeps the filters');
  await page.reload();
  await page.waitForSelector(`tr[data-app=${APP}]`);
  check(await page.$$eval('tr[data-app]', (r) => r.length) === 1, 'after reload one row');
  check(await page.inputValue('[data-testid=search]') === 'mlflow', 'after reload the search box');

  step('open the application');
  await page.click(`tr[data-app=${APP}] a`);
  await page.waitForSelector('[data-testid=app-name]');
  check(new URL(page.url()).pathname === `/applications/${APP}`, page.url());
  await syncIs(page, 'OutOfSync');
  await page.waitForSelector('.tnode[data-kind=Deployment][data-name=mlflow]');
  await screenshot(page, 'app-out-of-sync');

  step('sync from the dialog and watch it become Synced and Healthy');
  await syncFromDialog(page);
  await syncIs(page, 'Synced');
  await healthIs(page, 'Healthy');
  const firstRevision = await page.getAttribute('[data-testid=app-revision]', 'title');
  check(/^[0-9a-f]{40}$/.test(firstRevision || ''), `revision shown: ${firstRevision}`);

  step('read the tree: Deployment → ReplicaSet → Pods');
  await page.waitForFunction(() => document.querySelectorAll('.tnode[data-kind=Pod][data-health=Healthy]').length >= 2, null, { timeout: SLOW });
  const tree = await page.$$eval('.tnode', (nodes) => nodes.map((n) => `${n.dataset.kind}/${n.dataset.name}`));
  for (const want of ['Application/mlflow-prod', 'Deployment/mlflow', 'Service/mlflow', 'ConfigMap/mlflow-server']) {
    check(tree.includes(want), `tree has ${want}: ${tree}`);
  }
  check(tree.some((n) => n.startsWith('ReplicaSet/mlflow-')), `tree has the ReplicaSet: ${tree}`);
  check(tree.filter((n) => n.startsWith('Pod/mlflow-')).length === 2, `tree has the two prod Pods: ${tree}`);
  await page.waitForSelector('.tnode[data-kind=Deployment][data-name=mlflow][data-health=Healthy][data-sync=Synced]', { timeout: SLOW });
  await screenshot(page, 'app-synced-tree');

  step('commit in DIR/gitops: more gunicorn workers for prod');
  const newRevision = commit('apps/mlflow/overlays/prod/kustomization.yaml', '--workers 4', '--workers 6', 'mlflow prod: 6 gunicorn workers');
  await syncIs(page, 'OutOfSync');
  await page.waitForSelector('.tnode[data-kind=ConfigMap][data-name=mlflow-server][data-sync=OutOfSync]', { timeout: SLOW });
  await screenshot(page, 'app-drifted');

  step('open the diff of the changed ConfigMap');
  await page.click('.tnode[data-kind=ConfigMap][data-name=mlflow-server]');
  await page.waitForSelector('[data-testid=resource-panel]');
  check(new URL(page.url()).searchParams.get('node') === '/ConfigMap/ml-prod/mlflow-server', `the URL names the resource: ${page.url()}`);
  await page.waitForSelector('[data-testid=resource-panel] .tabs [data-tab=diff].active');
  await page.waitForSelector('[data-testid=resource-panel] [data-testid=diff-summary], [data-testid=resource-panel] .notice-box');
  const desired = await page.$('[data-testid=resource-panel] .diff');
  if (desired) {
    const changes = Number(await desired.getAttribute('data-changes'));
    check(changes >= 1, `the diff shows the change (${changes} lines)`);
    const text = await desired.innerText();
    check(text.includes('--workers 4') && text.includes('--workers 6'), 'the diff shows 4 workers live and 6 desired');
  } else {
    step('the server offers no desired state (no renderer configured): the panel says so');
  }
  await screenshot(page, 'resource-diff');
  await page.click('[data-testid=resource-panel] .tabs [data-tab=manifests]');
  const live = await page.waitForSelector('[data-testid=live-manifest]');
  check((await live.innerText()).includes('--workers 4'), 'the live manifest still has 4 workers');
  await screenshot(page, 'resource-manifests');
  await page.click('[data-testid=resource-panel] .close-x');
  await page.waitForSelector('[data-testid=resource-panel]', { state: 'detached' });

  step('sync the new commit');
  await syncFromDialog(page);
  await page.waitForFunction((rev) => document.querySelector('[data-testid=app-synced-revision]')?.title === rev, newRevision, { timeout: SLOW });
  await syncIs(page, 'Synced');
  await healthIs(page, 'Healthy');

  step('history shows two deployments; roll back to the first');
  await page.click('[data-testid=history-button]');
  await page.waitForFunction(() => document.querySelectorAll('[data-history-id]').length === 2, null, { timeout: SLOW });
  await screenshot(page, 'history');
  const ids = await page.$$eval('[data-history-id]', (items) => items.map((i) => Number(i.dataset.historyId)));
  const oldest = Math.min(...ids);
  await page.click(`[data-rollback="${oldest}"]`);
  await page.waitForSelector('[data-testid=confirm-dialog]');
  await page.click('[data-testid=confirm-dialog] button[data-action=confirm]');
  await page.waitForSelector('[data-testid=confirm-dialog]', { state: 'detached' });
  await page.waitForFunction(() => document.querySelectorAll('[data-history-id]').length === 3, null, { timeout: SLOW });
  await page.waitForFunction((rev) => document.querySelector('[data-testid=app-synced-revision]')?.title === rev, firstRevision, { timeout: SLOW });
  await syncIs(page, 'OutOfSync');
  await screenshot(page, 'rolled-back');

  step('the Events tab lists what Kubernetes reported about the app\'s workloads');
  await page.click('.tabs [data-tab=events]');
  await page.waitForSelector('[data-testid=events] tbody tr', { timeout: SLOW });
  check(new URL(page.url()).searchParams.get('tab') === 'events', `the URL keeps the tab: ${page.url()}`);
  const events = await page.$$eval('[data-testid=events] tbody tr', (rows) => rows.map((r) => ({ kind: r.dataset.kind, name: r.dataset.name, reason: r.dataset.reason, text: r.innerText })));
  const workload = events.filter((e) => ['Pod', 'Deployment', 'ReplicaSet'].includes(e.kind) && e.name.startsWith('mlflow'));
  check(workload.length >= 1, `an event about mlflow's Deployment, ReplicaSet or Pods: ${JSON.stringify(events)}`);
  check(workload.every((e) => e.reason && e.text.includes(e.name)), `event rows show reason and object: ${JSON.stringify(workload)}`);
  const listed = await (await page.request.get(`${base}/api/v1/applications/${APP}/events`)).json();
  check(listed.items.length === events.length, `the tab shows every event the API lists (${events.length} of ${listed.items.length})`);
  const foreign = listed.items.filter((e) => !['ml-prod', 'argocd'].includes(e.involvedObject?.namespace || e.metadata?.namespace));
  check(foreign.length === 0, `only events of ${APP}'s namespaces: ${JSON.stringify(foreign.map((e) => e.involvedObject))}`);
  await screenshot(page, 'events');

  step('Refresh and Hard refresh: the controller compares again');
  await page.click('.tabs [data-tab=tree]');
  for (const [button, kind, said] of [['refresh-button', 'normal', 'Refresh requested'], ['hard-refresh-button', 'hard', 'Hard refresh requested']]) {
    const before = await page.getAttribute('[data-testid=app-reconciled-at]', 'title');
    check(before && !Number.isNaN(Date.parse(before)), `the header says when ${APP} was compared: ${before}`);
    // reconciledAt has second resolution: let a second pass so a new comparison shows.
    await page.waitForTimeout(1100);
    const answered = page.waitForResponse((r) => r.url().includes(`/api/v1/applications/${APP}?refresh=${kind}`));
    await page.click(`[data-testid=${button}]`);
    const response = await answered;
    check(response.status() === 200, `${kind} refresh answers ${response.status()}`);
    check((await response.json()).metadata?.annotations?.[REFRESH] === kind, `the ${kind} refresh sets the ${REFRESH} annotation`);
    await page.waitForSelector(`.toast:has-text("${said}")`);
    await page.waitForFunction((b) => {
      const t = document.querySelector('[data-testid=app-reconciled-at]')?.title;
      return !!t && Date.parse(t) > Date.parse(b);
    }, before, { timeout: SLOW });
    await eventually(`the controller takes the ${kind} refresh (annotation removed)`, async () => {
      const app = await (await page.request.get(`${base}/api/v1/applications/${APP}`)).json();
      return !app.metadata?.annotations?.[REFRESH];
    });
    check((await page.innerText('[data-testid=app-reconciled-at]')).includes('compared with Git'), 'the header reads as a sentence');
  }
  await screenshot(page, 'refreshed');

  step('a rollback on an automated application shows the server\'s refusal');
  const refused = await page.request.put(`${base}/api/v1/applications/mlflow-dev/rollback`, { data: { id: 1 } });
  check(refused.status() === 400, `rollback of an automated app answers 400, got ${refused.status()}`);
  await page.goto(`${base}/applications/mlflow-dev?tab=history`);
  await page.waitForSelector('[data-testid=history-list]');
  check((await page.innerText('.tab-body')).includes('Automated sync is on'), 'the history tab explains why rollback is refused');

  step('projects, repositories and clusters pages');
  await page.click('.topbar nav a[data-nav=projects]');
  await page.waitForSelector('[data-testid=projects-table] tr[data-project=data-platform]');
  await page.click('tr[data-project=data-platform] a');
  await page.waitForSelector(`.detail a[href="/applications/${APP}"]`);
  await screenshot(page, 'project');
  await page.click('.topbar nav a[data-nav=clusters]');
  await page.waitForSelector('[data-testid=clusters-table]');
  check((await page.innerText('[data-testid=clusters-table]')).includes('https://kubernetes.default.svc'), 'the in-cluster destination is listed');
  step('repositories: register the demo\'s Git repository and a Helm repository with a password');
  for (const data of [
    { repo: repoURL, type: 'git', name: 'ml-platform-gitops' },
    { repo: 'https://charts.ml.example.com/stable', type: 'helm', name: 'ml-charts', username: 'chart-reader', password: HELM_PASSWORD },
  ]) {
    const added = await page.request.post(`${base}/api/v1/repositories`, { data });
    check(added.ok(), `adding ${data.repo}: ${added.status()} ${await added.text()}`);
  }
  await page.click('.topbar nav a[data-nav=repositories]');
  await page.waitForSelector(`[data-testid=repositories-table] tr[data-repo="${repoURL}"]`);
  const repoRows = await page.$$eval('[data-testid=repositories-table] tr[data-repo]', (rows) => rows.map((r) => r.dataset.repo));
  check(repoRows.includes('https://charts.ml.example.com/stable'), `both repositories listed: ${repoRows}`);
  check((await page.innerText('tr[data-repo="https://charts.ml.example.com/stable"]')).includes('yes (hidden)'), 'the list says the Helm repository has credentials');
  check(!(await page.content()).includes(HELM_PASSWORD), 'the list never shows the password');
  await screenshot(page, 'repositories');

  step('the repository page names the applications that use it');
  await page.click(`tr[data-repo="${repoURL}"] a`);
  await page.waitForSelector('[data-testid=repository-detail]');
  check(decodeURIComponent(new URL(page.url()).pathname) === `/repositories/${repoURL}`, `the URL names the repository: ${page.url()}`);
  const detail = await page.innerText('[data-testid=repository-detail]');
  check(detail.includes(repoURL) && detail.includes('ml-platform-gitops') && detail.includes('git'), `the page shows URL, name and type: ${detail}`);
  const users = await page.$$eval('[data-testid=repository-apps] a.chip', (links) => links.map((a) => a.textContent));
  for (const want of [APP, 'mlflow-dev']) check(users.includes(want), `${want} uses the repository: ${users}`);
  await screenshot(page, 'repository');
  await page.click('.breadcrumbs a[href="/repositories"]');
  await page.click('tr[data-repo="https://charts.ml.example.com/stable"] a');
  await page.waitForSelector('[data-testid=repository-detail]');
  const helm = await page.innerText('[data-testid=repository-detail]');
  check(helm.includes('helm') && helm.includes('chart-reader') && helm.includes('stored (never shown)'), `the Helm repository page: ${helm}`);
  check(!(await page.content()).includes(HELM_PASSWORD), 'the repository page never shows the password');
  check((await page.innerText('[data-testid=repository-apps]')).includes('none'), 'no application uses the Helm repository');

  step(`delete ${APP} from its Delete dialog`);
  await page.goto(`${base}/applications/${APP}`);
  await page.waitForSelector('[data-testid=app-name]');
  await page.click('[data-testid=delete-button]');
  await page.waitForSelector('[data-testid=confirm-dialog] [data-testid=delete-confirm-name]');
  check((await page.innerText('[data-testid=confirm-dialog] h2')).includes(APP), 'the dialog names the application');
  await page.fill('[data-testid=delete-confirm-name]', 'mlflow-pro');
  await page.click('[data-testid=confirm-dialog] button[data-action=confirm]');
  await page.waitForSelector('[data-testid=confirm-dialog] .error-box:not(.hidden)');
  check((await page.innerText('[data-testid=confirm-dialog] .error-box')).includes(`Type the application name (${APP})`), 'a wrong name is refused in the dialog');
  check((await page.request.get(`${base}/api/v1/applications/${APP}`)).status() === 200, `${APP} still exists after a wrong name`);
  await page.fill('[data-testid=delete-confirm-name]', APP);
  await screenshot(page, 'delete-dialog');
  await page.click('[data-testid=confirm-dialog] button[data-action=confirm]');
  await page.waitForSelector('[data-testid=confirm-dialog]', { state: 'detached' });
  await page.waitForFunction(() => location.pathname === '/applications');
  await page.waitForSelector('tr[data-app=mlflow-dev]');
  let last = null;
  await eventually(`${APP} is gone from the API`, async () => {
    const got = await page.request.get(`${base}/api/v1/applications/${APP}`);
    if (got.status() === 404) return true;
    last = await got.text();
    return false;
  }).catch((err) => { throw new Error(`${err.message}; last seen: ${last}`); });
  await page.waitForSelector(`tr[data-app=${APP}]`, { state: 'detached', timeout: 5000 });
  await screenshot(page, 'deleted');

  step('log out: the API refuses the old session and the UI shows the login page');
  await page.click('[data-testid=logout]');
  await page.waitForSelector('[data-testid=login-form]');
  const after = await page.request.get(`${base}/api/v1/applications`);
  check(after.status() === 401, `after logout the API answers 401, got ${after.status()}`);
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('[data-testid=login-form] button[type=submit]');
  await page.waitForSelector('[data-testid=login-error]:not(.hidden)');
  check((await page.innerText('[data-testid=login-error]')).includes('not correct'), 'a wrong password reads as a sentence');
  await screenshot(page, 'login-error');
});
