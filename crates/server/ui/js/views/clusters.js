// Clusters: list and detail (the in-cluster destination is always there). No credentials are
// ever returned by the API.

import { api } from '../api.js';
import { esc } from '../dom.js';
import { errorBox } from '../components/dialog.js';
import { icons } from '../components/icons.js';
import { healthBadge, healthOf, syncBadge, syncOf } from '../components/status.js';
import { pageHead, shell } from '../shell.js';
import { clusterOf } from './applications.js';

/** Connection state as a badge with words. */
export function connectionBadge(state) {
  const status = state?.status || 'Unknown';
  const tone = status === 'Successful' ? 'ok' : status === 'Failed' ? 'bad' : 'unknown';
  const icon = tone === 'ok' ? icons.check() : tone === 'bad' ? icons.cross() : icons.question();
  const label = status === 'Successful' ? 'Connected' : status === 'Failed' ? 'Failed' : 'Not checked';
  return `<span class="badge ${tone}" title="${esc(state?.message || '')}">${icon}${label}</span>`;
}

function appsOn(apps, c) {
  return (apps.items || []).filter((a) => {
    const d = a.spec?.destination || {};
    return clusterOf(a) === c.name || (d.server && d.server.replace(/\/$/, '') === c.server.replace(/\/$/, ''));
  });
}

export async function clustersView(root) {
  const main = shell(root, 'clusters');
  main.innerHTML = `${pageHead('Clusters')}<p class="muted">Kubernetes clusters applications deploy to.</p><div class="list"><div class="loading">Loading clusters…</div></div>`;
  const list = main.querySelector('.list');
  try {
    const [clusters, apps] = await Promise.all([api.clusters(), api.applications().catch(() => ({ items: [] }))]);
    const items = clusters.items || [];
    list.innerHTML = `<table class="grid card" data-testid="clusters-table"><thead><tr><th>Name</th><th>Server</th><th>Namespaces</th><th>Project</th><th>Applications</th><th>Connection</th></tr></thead><tbody>${items.map((c) => `
      <tr><td class="name"><a href="/clusters/${encodeURIComponent(c.server)}">${esc(c.name || c.server)}</a></td><td class="mono">${esc(c.server)}</td>
      <td>${(c.namespaces || []).length ? c.namespaces.map((n) => `<span class="chip">${esc(n)}</span>`).join('') : 'all'}</td>
      <td>${esc(c.project || '—')}</td><td>${appsOn(apps, c).length}</td><td>${connectionBadge(c.connectionState)}</td></tr>`).join('')}</tbody></table>`;
  } catch (err) {
    list.replaceChildren(errorBox('The clusters could not be loaded', err));
  }
}

export async function clusterView(root, params) {
  const main = shell(root, 'clusters');
  main.innerHTML = `${pageHead(params.server, [['/clusters', 'Clusters'], [null, params.server]])}<div class="detail"><div class="loading">Loading…</div></div>`;
  const el = main.querySelector('.detail');
  try {
    const [c, apps] = await Promise.all([api.cluster(params.server), api.applications().catch(() => ({ items: [] }))]);
    const on = appsOn(apps, c);
    const labels = Object.entries(c.labels || {}).map(([k, v]) => `<span class="chip">${esc(k)}=${esc(v)}</span>`).join('');
    el.innerHTML = `<div class="card card-pad"><dl class="facts">
      <dt>Name</dt><dd>${esc(c.name || '—')}</dd><dt>Server</dt><dd class="mono">${esc(c.server)}</dd>
      <dt>Namespaces</dt><dd>${(c.namespaces || []).length ? c.namespaces.map(esc).join(', ') : 'all namespaces'}</dd>
      <dt>Cluster-scoped resources</dt><dd>${c.clusterResources ? 'allowed' : ((c.namespaces || []).length ? 'not allowed' : 'allowed')}</dd>
      <dt>Project</dt><dd>${esc(c.project || '—')}</dd><dt>Labels</dt><dd>${labels || '—'}</dd>
      <dt>TLS</dt><dd>${c.config?.tlsClientConfig?.insecure ? 'insecure (certificate not checked)' : 'verified'}</dd>
      <dt>Credentials</dt><dd>stored (never shown)</dd>
      <dt>Connection</dt><dd>${connectionBadge(c.connectionState)}</dd></dl></div>
      <div class="section"><h2>Applications deploying here</h2>${on.length ? `<table class="grid card"><thead><tr><th>Name</th><th>Namespace</th><th>Sync</th><th>Health</th></tr></thead><tbody>${on.map((a) => `<tr><td class="name"><a href="/applications/${encodeURIComponent(a.metadata.name)}">${esc(a.metadata.name)}</a></td><td>${esc(a.spec?.destination?.namespace || '')}</td><td>${syncBadge(syncOf(a))}</td><td>${healthBadge(healthOf(a))}</td></tr>`).join('')}</tbody></table>` : '<div class="card empty">No application deploys to this cluster.</div>'}</div>`;
  } catch (err) {
    el.replaceChildren(errorBox(`Cluster ${params.server} could not be loaded`, err));
  }
}
