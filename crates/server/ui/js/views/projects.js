// Projects (AppProjects): list and detail with sources, destinations, roles and applications.

import { api } from '../api.js';
import { esc } from '../dom.js';
import { errorBox } from '../components/dialog.js';
import { healthBadge, healthOf, syncBadge, syncOf } from '../components/status.js';
import { pageHead, shell } from '../shell.js';

const chips = (list, empty = '<span class="faint">none</span>') =>
  (list && list.length ? list.map((x) => `<span class="chip">${esc(x)}</span>`).join('') : empty);

const destText = (d) => `${d.name || d.server || '*'} / ${d.namespace || '*'}`;
const kindText = (k) => `${k.group || 'core'}/${k.kind}`;

export async function projectsView(root) {
  const main = shell(root, 'projects');
  main.innerHTML = `${pageHead('Projects')}<p class="muted">A project limits where applications may come from and deploy to, and who may do what with them.</p><div class="list"><div class="loading">Loading projects…</div></div>`;
  const list = main.querySelector('.list');
  try {
    const [projects, apps] = await Promise.all([api.projects(), api.applications().catch(() => ({ items: [] }))]);
    const items = (projects.items || []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const count = (p) => (apps.items || []).filter((a) => (a.spec?.project || 'default') === p).length;
    if (!items.length) { list.innerHTML = '<div class="card empty"><strong>No projects</strong></div>'; return; }
    list.innerHTML = `<table class="grid card" data-testid="projects-table"><thead><tr><th>Name</th><th>Description</th><th>Sources</th><th>Destinations</th><th>Applications</th></tr></thead><tbody>${items.map((p) => `
      <tr data-project="${esc(p.metadata.name)}"><td class="name"><a href="/projects/${encodeURIComponent(p.metadata.name)}">${esc(p.metadata.name)}</a></td>
      <td>${esc(p.spec?.description || '')}</td><td>${chips(p.spec?.sourceRepos)}</td><td>${chips((p.spec?.destinations || []).map(destText))}</td>
      <td><a href="/applications?proj=${encodeURIComponent(p.metadata.name)}">${count(p.metadata.name)}</a></td></tr>`).join('')}</tbody></table>`;
  } catch (err) {
    list.replaceChildren(errorBox('The projects could not be loaded', err));
  }
}

export async function projectView(root, params) {
  const main = shell(root, 'projects');
  main.innerHTML = `${pageHead(params.name, [['/projects', 'Projects'], [null, params.name]])}<div class="detail"><div class="loading">Loading…</div></div>`;
  const el = main.querySelector('.detail');
  try {
    const [p, apps] = await Promise.all([api.project(params.name), api.applications({ projects: params.name }).catch(() => ({ items: [] }))]);
    const s = p.spec || {};
    const roles = (s.roles || []).map((r) => `<div class="card card-pad" style="margin-bottom:8px"><strong>${esc(r.name)}</strong> <span class="muted">${esc(r.description || '')}</span>
      <div>${chips(r.groups, '')}</div><pre class="code" style="margin-top:6px">${esc((r.policies || []).join('\n') || 'no policies')}</pre></div>`).join('');
    el.innerHTML = `<div class="two-col">
      <div class="card card-pad"><h2>Where applications come from and go</h2><dl class="facts" style="margin-top:10px">
        <dt>Description</dt><dd>${esc(s.description || '—')}</dd>
        <dt>Source repositories</dt><dd>${chips(s.sourceRepos)}</dd>
        <dt>Destinations</dt><dd>${chips((s.destinations || []).map(destText))}</dd>
        <dt>Cluster resources allowed</dt><dd>${chips((s.clusterResourceWhitelist || []).map(kindText))}</dd>
        <dt>Cluster resources denied</dt><dd>${chips((s.clusterResourceBlacklist || []).map(kindText))}</dd>
        <dt>Namespaced resources denied</dt><dd>${chips((s.namespaceResourceBlacklist || []).map(kindText))}</dd>
        <dt>Sync windows</dt><dd>${chips((s.syncWindows || []).map((w) => `${w.kind} ${w.schedule} for ${w.duration}`))}</dd>
      </dl></div>
      <div class="card card-pad"><h2>Roles</h2><div style="margin-top:10px">${roles || '<span class="faint">No project roles.</span>'}</div></div></div>
      <div class="section"><h2>Applications in ${esc(params.name)}</h2>
      ${(apps.items || []).length ? `<table class="grid card"><thead><tr><th>Name</th><th>Sync</th><th>Health</th></tr></thead><tbody>${apps.items.map((a) => `<tr><td class="name"><a href="/applications/${encodeURIComponent(a.metadata.name)}">${esc(a.metadata.name)}</a></td><td>${syncBadge(syncOf(a))}</td><td>${healthBadge(healthOf(a))}</td></tr>`).join('')}</tbody></table>` : '<div class="card empty">No applications use this project.</div>'}</div>`;
  } catch (err) {
    el.replaceChildren(errorBox(`Project ${params.name} could not be loaded`, err));
  }
}
