// Applications list: status tiles, filters (project, sync, health, cluster, namespace,
// labels), search, kept in the URL; live updates from the event stream. Rows are built as one
// string and set once, so thousands of applications render in a few milliseconds.

import { api, streamApplications } from '../api.js';
import { ago, esc, shortRev, throttle } from '../dom.js';
import { errorBox } from '../components/dialog.js';
import { HEALTH, SYNC, healthBadge, healthOf, syncBadge, syncOf } from '../components/status.js';
import { query, setQuery } from '../router.js';
import { setLive, shell } from '../shell.js';

const FACETS = [
  ['proj', 'Projects', (a) => [a.spec?.project || 'default']],
  ['sync', 'Sync status', (a) => [syncOf(a)]],
  ['health', 'Health', (a) => [healthOf(a)]],
  ['cluster', 'Clusters', (a) => [clusterOf(a)]],
  ['namespace', 'Namespaces', (a) => [a.spec?.destination?.namespace || '(none)']],
  ['labels', 'Labels', (a) => Object.entries(a.metadata?.labels || {}).map(([k, v]) => `${k}=${v}`)],
];
const FACET_LIMIT = 8;

export function clusterOf(app) {
  const d = app.spec?.destination || {};
  if (d.name) return d.name;
  if (!d.server || d.server === 'https://kubernetes.default.svc') return 'in-cluster';
  return d.server;
}

function readFilters(q) {
  const list = (k) => (q[k] ? q[k].split(',').filter(Boolean) : []);
  const f = { search: q.search || '' };
  for (const [k] of FACETS) f[k] = list(k);
  return f;
}

function sourceOf(app) {
  const s = app.spec?.source || app.spec?.sources?.[0] || {};
  const repo = (s.repoURL || '').replace(/^https?:\/\//, '').replace(/^file:\/\//, '');
  return { repo, path: s.path || s.chart || '', rev: s.targetRevision || 'HEAD' };
}

function matches(app, f, skip) {
  if (f.search) {
    const s = f.search.toLowerCase();
    const name = app.metadata.name.toLowerCase();
    if (!name.includes(s) && !(app.spec?.project || '').toLowerCase().includes(s)
      && !(app.spec?.destination?.namespace || '').toLowerCase().includes(s)) return false;
  }
  for (const [k, , values] of FACETS) {
    if (k === skip || !f[k].length) continue;
    const vs = values(app);
    if (k === 'labels') { if (!f[k].every((want) => vs.includes(want))) return false; }
    else if (!vs.some((v) => f[k].includes(v))) return false;
  }
  return true;
}

function rowHtml(app) {
  const name = app.metadata.name;
  const src = sourceOf(app);
  const d = app.spec?.destination || {};
  const op = app.status?.operationState;
  const when = op?.finishedAt;
  const rev = app.status?.sync?.revision;
  return `<tr data-app="${esc(name)}"><td class="name"><a href="/applications/${encodeURIComponent(name)}">${esc(name)}</a><span class="sub">${esc(app.spec?.project || 'default')}</span></td>`
    + `<td>${syncBadge(syncOf(app))}</td><td>${healthBadge(healthOf(app))}</td>`
    + `<td class="src" title="${esc(`${src.repo} ${src.path}`)}">${esc(src.path || src.repo)}<span class="sub">${esc(src.rev)}${rev ? ` · ${esc(shortRev(rev))}` : ''}</span></td>`
    + `<td>${esc(clusterOf(app))}<span class="sub">${esc(d.namespace || '')}</span></td>`
    + `<td class="nowrap">${when ? esc(ago(when)) : '<span class="faint">never</span>'}${op?.phase && op.phase !== 'Succeeded' ? `<span class="sub">${esc(op.phase)}</span>` : ''}</td></tr>`;
}

export async function applicationsView(root) {
  const main = shell(root, 'applications');
  const filters = readFilters(query());
  const apps = new Map();
  main.innerHTML = `<div class="page-head"><h1 class="grow">Applications</h1></div>
    <div class="tiles" data-testid="tiles"></div>
    <div class="apps-layout"><aside class="card filters" aria-label="Filters"></aside>
    <section><div class="list-tools"><input type="search" placeholder="Search applications by name, project or namespace" aria-label="Search applications" data-testid="search">
    <span class="count"></span></div><div class="list-body"><div class="loading">Loading applications…</div></div></section></div>`;
  const tiles = main.querySelector('.tiles');
  const aside = main.querySelector('.filters');
  const body = main.querySelector('.list-body');
  const count = main.querySelector('.count');
  const search = main.querySelector('input[type=search]');
  search.value = filters.search;
  let table = null;
  let tbody = null;
  let loaded = false;

  const save = () => setQuery({ search: filters.search, ...Object.fromEntries(FACETS.map(([k]) => [k, filters[k]])) });

  const toggle = (k, v) => {
    const list = filters[k];
    const i = list.indexOf(v);
    if (i >= 0) list.splice(i, 1); else list.push(v);
    save();
    render();
  };

  function renderTiles(all) {
    const base = all.filter((a) => matches(a, filters, 'sync') && matches(a, filters, 'health'));
    const bySync = {};
    const byHealth = {};
    for (const a of base) {
      bySync[syncOf(a)] = (bySync[syncOf(a)] || 0) + 1;
      byHealth[healthOf(a)] = (byHealth[healthOf(a)] || 0) + 1;
    }
    const tile = (facet, table, status) => {
      const s = table[status];
      const sel = filters[facet].includes(status);
      return `<button type="button" class="tile ${s.tone}${sel ? ' selected' : ''}" data-facet="${facet}" data-value="${status}" data-testid="tile-${status}">
        <span class="n">${(facet === 'sync' ? bySync : byHealth)[status] || 0}</span><span class="label">${s.icon()}${esc(s.label)}</span></button>`;
    };
    tiles.innerHTML = `<div class="tile total"><span class="n" data-testid="tile-total">${base.length}</span><span class="label">Applications</span></div>`
      + ['Synced', 'OutOfSync'].map((s) => tile('sync', SYNC, s)).join('')
      + ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Suspended'].map((s) => tile('health', HEALTH, s)).join('');
  }

  function renderFacets(all) {
    const parts = [];
    for (const [k, title, values] of FACETS) {
      const counts = new Map();
      for (const a of all) {
        if (!matches(a, filters, k)) continue;
        for (const v of values(a)) counts.set(v, (counts.get(v) || 0) + 1);
      }
      for (const v of filters[k]) if (!counts.has(v)) counts.set(v, 0);
      const entries = [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
      const expanded = aside.dataset[`more${k}`] === '1';
      const shown = expanded ? entries : entries.slice(0, FACET_LIMIT);
      parts.push(`<h3>${esc(title)}</h3>`);
      if (!entries.length) parts.push('<div class="faint">none</div>');
      for (const [v, n] of shown) {
        const label = k === 'sync' ? (SYNC[v]?.label || v) : k === 'health' ? (HEALTH[v]?.label || v) : v;
        parts.push(`<label class="opt"><input type="checkbox" data-facet="${k}" value="${esc(v)}"${filters[k].includes(v) ? ' checked' : ''}><span class="t" title="${esc(v)}">${esc(label)}</span><span class="n">${n}</span></label>`);
      }
      if (entries.length > FACET_LIMIT) parts.push(`<a href="#" class="more" data-more="${k}">${expanded ? 'show fewer' : `show all ${entries.length}`}</a>`);
    }
    const any = filters.search || FACETS.some(([k]) => filters[k].length);
    if (any) parts.push('<button type="button" class="btn small clear">Clear all filters</button>');
    aside.innerHTML = parts.join('');
  }

  function render() {
    const all = [...apps.values()];
    renderTiles(all);
    renderFacets(all);
    const shown = all.filter((a) => matches(a, filters)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    count.textContent = shown.length === all.length ? `${all.length} applications` : `${shown.length} of ${all.length} applications`;
    if (!all.length) {
      table = null;
      body.innerHTML = '<div class="card empty"><strong>No applications yet</strong>Create one with <code>ferrocd app create</code> or apply an Application to the cluster; it appears here by itself.</div>';
      return;
    }
    if (!shown.length) {
      table = null;
      body.innerHTML = '<div class="card empty"><strong>No application matches these filters</strong>Change the search or clear the filters on the left.</div>';
      return;
    }
    if (!table) {
      body.innerHTML = `<table class="grid apps-table card" data-testid="apps-table"><thead><tr><th>Name</th><th>Sync</th><th>Health</th><th>Source</th><th>Destination</th><th>Last sync</th></tr></thead><tbody></tbody></table>`;
      table = body.firstElementChild;
      tbody = table.tBodies[0];
    }
    tbody.innerHTML = shown.map(rowHtml).join('');
  }

  tiles.addEventListener('click', (e) => {
    const t = e.target.closest('.tile[data-facet]');
    if (t) toggle(t.dataset.facet, t.dataset.value);
  });
  aside.addEventListener('change', (e) => {
    const cb = e.target.closest('input[type=checkbox]');
    if (cb) toggle(cb.dataset.facet, cb.value);
  });
  aside.addEventListener('click', (e) => {
    const more = e.target.closest('[data-more]');
    if (more) {
      e.preventDefault();
      const k = `more${more.dataset.more}`;
      aside.dataset[k] = aside.dataset[k] === '1' ? '0' : '1';
      renderFacets([...apps.values()]);
    }
    if (e.target.closest('.clear')) {
      filters.search = '';
      search.value = '';
      for (const [k] of FACETS) filters[k] = [];
      save();
      render();
    }
  });
  let searchTimer = null;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { filters.search = search.value.trim(); save(); render(); }, 120);
  });

  try {
    const list = await api.applications();
    performance.mark('ferrocd:applications-fetched');
    for (const a of list.items || []) apps.set(a.metadata.name, a);
  } catch (err) {
    body.replaceChildren(errorBox('The applications could not be loaded', err));
    return () => {};
  }
  if (!main.isConnected) return () => {};
  render();
  loaded = true;
  performance.mark('ferrocd:applications-rendered');
  document.body.dataset.appsRendered = String(apps.size);

  const rerender = throttle(() => { if (main.isConnected) render(); }, 400);
  // Names the stream changed while a resync's list was on its way: the stream is newer.
  let touched = null;
  // The stream starts from its own list, not from ours: an application deleted between the
  // two never gets a DELETED event (nor one removed while the server's watch re-lists). So
  // the list is fetched again whenever the stream (re)connects and every minute, and
  // replaces what the stream has not changed meanwhile.
  async function resync() {
    if (touched) return;
    touched = new Set();
    try {
      const list = await api.applications();
      if (!main.isConnected) return;
      const fresh = new Map((list.items || []).map((a) => [a.metadata.name, a]));
      let changed = false;
      for (const name of [...apps.keys()]) {
        if (!fresh.has(name) && !touched.has(name)) { apps.delete(name); changed = true; }
      }
      for (const [name, app] of fresh) {
        if (touched.has(name)) continue;
        if (apps.get(name)?.metadata.resourceVersion !== app.metadata.resourceVersion) { apps.set(name, app); changed = true; }
      }
      if (changed) rerender();
    } catch {
      // The stream's state stays; the next resync tries again.
    } finally {
      touched = null;
    }
  }
  let opened = false;
  const close = streamApplications({}, (type, app) => {
    const name = app.metadata?.name;
    if (!name) return;
    if (touched) touched.add(name);
    const old = apps.get(name);
    if (type === 'DELETED') { if (!old) return; apps.delete(name); }
    else {
      if (old && old.metadata.resourceVersion === app.metadata.resourceVersion) return;
      apps.set(name, app);
    }
    if (loaded) rerender();
  }, (connected) => {
    setLive(connected);
    // The first connection follows the list just fetched closely; check it once it settled.
    if (connected) setTimeout(resync, opened ? 0 : 1000);
    opened = opened || connected;
  });
  const timer = setInterval(() => { if (!document.hidden) resync(); }, 60000);
  return () => { close(); clearInterval(timer); clearTimeout(searchTimer); };
}

