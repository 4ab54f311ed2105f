// Repositories: list and detail. The API never returns credentials; the UI only says whether
// a repository has some.

import { api } from '../api.js';
import { esc } from '../dom.js';
import { errorBox } from '../components/dialog.js';
import { pageHead, shell } from '../shell.js';
import { connectionBadge } from './clusters.js';

export async function repositoriesView(root) {
  const main = shell(root, 'repositories');
  main.innerHTML = `${pageHead('Repositories')}<p class="muted">Git and Helm repositories ferrocd reads with credentials. Public repositories work without being listed here.</p><div class="list"><div class="loading">Loading repositories…</div></div>`;
  const list = main.querySelector('.list');
  try {
    const repos = (await api.repositories()).items || [];
    if (!repos.length) {
      list.innerHTML = '<div class="card empty" data-testid="repositories-empty"><strong>No repositories with credentials</strong>Add one with <code>ferrocd repo add</code>.</div>';
      return;
    }
    list.innerHTML = `<table class="grid card" data-testid="repositories-table"><thead><tr><th>Repository</th><th>Type</th><th>Name</th><th>Project</th><th>Credentials</th><th>Connection</th></tr></thead><tbody>${repos.map((r) => `
      <tr data-repo="${esc(r.repo)}"><td class="name"><a href="/repositories/${encodeURIComponent(r.repo)}">${esc(r.repo)}</a></td><td>${esc(r.type)}</td><td>${esc(r.name || '')}</td>
      <td>${esc(r.project || 'all projects')}</td><td>${r.hasCredentials ? 'yes (hidden)' : 'none'}${r.username ? ` · user ${esc(r.username)}` : ''}</td>
      <td>${connectionBadge(r.connectionState)}</td></tr>`).join('')}</tbody></table>`;
  } catch (err) {
    list.replaceChildren(errorBox('The repositories could not be loaded', err));
  }
}

export async function repositoryView(root, params) {
  const main = shell(root, 'repositories');
  main.innerHTML = `${pageHead(params.repo, [['/repositories', 'Repositories'], [null, params.repo]])}<div class="detail"><div class="loading">Loading…</div></div>`;
  const el = main.querySelector('.detail');
  try {
    const [r, apps] = await Promise.all([api.repository(params.repo), api.applications().catch(() => ({ items: [] }))]);
    const users = (apps.items || []).filter((a) => [a.spec?.source, ...(a.spec?.sources || [])].some((s) => s?.repoURL === r.repo));
    el.innerHTML = `<div class="card card-pad" data-testid="repository-detail"><dl class="facts">
      <dt>URL</dt><dd class="mono">${esc(r.repo)}</dd><dt>Type</dt><dd>${esc(r.type)}</dd><dt>Name</dt><dd>${esc(r.name || '—')}</dd>
      <dt>Project</dt><dd>${esc(r.project || 'all projects')}</dd><dt>Username</dt><dd>${esc(r.username || '—')}</dd>
      <dt>Credentials</dt><dd>${r.hasCredentials ? 'stored (never shown)' : 'none'}</dd>
      <dt>Options</dt><dd>${[r.insecure && 'insecure TLS', r.enableLfs && 'Git LFS', r.enableOCI && 'OCI', r.proxy && `proxy ${r.proxy}`].filter(Boolean).map(esc).join(', ') || '—'}</dd>
      <dt>Connection</dt><dd>${connectionBadge(r.connectionState)}</dd></dl></div>
      <div class="section" data-testid="repository-apps"><h2>Applications using it</h2>${users.length ? users.map((a) => `<a class="chip" href="/applications/${encodeURIComponent(a.metadata.name)}">${esc(a.metadata.name)}</a>`).join('') : '<span class="faint">none</span>'}</div>`;
  } catch (err) {
    el.replaceChildren(errorBox(`Repository ${params.repo} could not be loaded`, err));
  }
}
