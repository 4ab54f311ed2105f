// The user journey on the demo stack, in real Chromium: log in with the printed password,
// register a manual-sync (prod-like) application, find it with the search box and a status
// tile, open it, sync it from the dialog and watch it become Synced, read its resource tree
// (Deployment → ReplicaSet → Pods), let a commit in DIR/gitops make it Out of sync, open the
// diff of the changed resource, sync again, and roll back from the history.
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
  await page.click('.topbar nav a[data-nav=repositories]');
  await page.waitForSelector('[data-testid=repositories-table], [data-testid=repositories-empty]');

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
