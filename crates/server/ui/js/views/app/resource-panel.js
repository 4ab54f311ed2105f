// The panel of one resource: summary, live and desired manifests side by side, and their
// diff. Manifests come from /managed-resources (the server masks Secret values; the UI never
// sees them). Children such as Pods are not managed: they show their summary only.

import { api } from '../../api.js';
import { esc, h } from '../../dom.js';
import { sideBySide } from '../../components/diff.js';
import { HEALTH, SYNC, badgeHtml } from '../../components/status.js';
import { resourceKey } from '../../components/tree.js';
import { highlight, toYaml } from '../../components/yaml.js';

const SERVER_FIELDS = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink'];

/** The live object reduced to what Git declares: fields the desired object has, recursively. */
export function projectOnto(live, desired) {
  if (Array.isArray(desired) && Array.isArray(live)) {
    return live.map((item, i) => (i < desired.length ? projectOnto(item, desired[i]) : item));
  }
  if (desired && typeof desired === 'object' && live && typeof live === 'object' && !Array.isArray(live)) {
    const out = {};
    for (const k of Object.keys(desired)) if (k in live) out[k] = projectOnto(live[k], desired[k]);
    return out;
  }
  return live;
}

function cleaned(obj) {
  if (!obj) return obj;
  const out = { ...obj, metadata: { ...(obj.metadata || {}) } };
  for (const f of SERVER_FIELDS) delete out.metadata[f];
  if (out.metadata.annotations) {
    const a = { ...out.metadata.annotations };
    delete a['kubectl.kubernetes.io/last-applied-configuration'];
    out.metadata.annotations = a;
    if (!Object.keys(a).length) delete out.metadata.annotations;
  }
  return out;
}

function parseState(text) {
  if (!text || text === 'null') return null;
  try { return JSON.parse(text); } catch { return null; }
}

function sameResource(item, node) {
  return (item.group || '') === (node.group || '') && item.kind === node.kind && item.name === node.name
    && (!item.namespace || !node.namespace || item.namespace === node.namespace);
}

/** Opens the panel; returns {close, update(app, sync)}. */
export function openResourcePanel(app, node, sync, onClose) {
  const state = { tab: sync === 'OutOfSync' ? 'diff' : 'summary', managed: null, error: null, onlyDeclared: true };
  const title = h('div', { class: 'grow' });
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const body = h('div', { class: 'body' });
  const closeBtn = h('button', { class: 'close-x', type: 'button', 'aria-label': 'Close panel' }, '×');
  const drawer = h('aside', { class: 'drawer', 'data-testid': 'resource-panel', 'aria-label': `${node.kind} ${node.name}` },
    h('header', {}, title, closeBtn), h('div', { style: 'padding:0 20px' }, tabs), body);
  const isManaged = !(node.parentRefs && node.parentRefs.length);

  const renderTitle = () => {
    title.innerHTML = `<div class="muted">${esc(node.kind)}${node.namespace ? ` in ${esc(node.namespace)}` : ''}</div>
      <h2>${esc(node.name)}</h2><div class="btn-row" style="margin-top:6px">${node.health?.status ? badgeHtml(HEALTH, node.health.status) : ''}${sync ? badgeHtml(SYNC, sync) : ''}</div>`;
  };

  const TABS = isManaged
    ? [['summary', 'Summary'], ['manifests', 'Live and desired'], ['diff', 'Diff']]
    : [['summary', 'Summary']];

  const renderTabs = () => {
    tabs.innerHTML = TABS.map(([id, label]) => `<button type="button" data-tab="${id}" class="${state.tab === id ? 'active' : ''}">${label}</button>`).join('');
  };

  const item = () => (state.managed?.items || []).find((i) => sameResource(i, node));

  function summary() {
    const facts = [
      ['Kind', node.kind], ['Name', node.name], ['Namespace', node.namespace || '(cluster-wide)'],
      ['API group', node.group || 'core'], ['Version', node.version || ''],
      ['Health', node.health?.status || '—'], ['Health detail', node.health?.message || ''],
      ['Sync', sync ? SYNC[sync]?.label || sync : (isManaged ? 'Unknown' : 'Not managed directly (created by its parent)')],
      ['Created', node.createdAt || ''],
    ];
    for (const i of node.info || []) facts.push([i.name, i.value]);
    if (node.images?.length) facts.push(['Images', node.images.join(', ')]);
    return `<dl class="facts">${facts.filter(([, v]) => v).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`
      + (isManaged ? '' : '<div class="notice-box">This object was created by its parent in the cluster; Git does not declare it, so there is no desired manifest or diff.</div>');
  }

  function manifests(it) {
    const live = parseState(it.liveState);
    const desired = parseState(it.targetState);
    const col = (label, obj, missing, testid) => `<div><h3 style="margin-bottom:6px">${label}</h3>${obj ? `<pre class="code" data-testid="${testid}">${highlight(toYaml(cleaned(obj)))}</pre>` : `<div class="notice-box">${missing}</div>`}</div>`;
    return `<div class="two-col">${col('Live (in the cluster)', live, 'The resource does not exist in the cluster.', 'live-manifest')}${col('Desired (from Git)', desired, 'The desired state is not available: the resource is not in Git any more, or this server does not render manifests.', 'desired-manifest')}</div>`;
  }

  function diff(it) {
    const live = parseState(it.liveState);
    const desired = parseState(it.targetState);
    if (!desired && !live) return '<div class="notice-box">Neither a live nor a desired state is known for this resource.</div>';
    if (!desired) return '<div class="notice-box">The desired state is not available, so there is nothing to compare with. The live manifest is on the "Live and desired" tab.</div>';
    const left = live ? (state.onlyDeclared ? projectOnto(cleaned(live), cleaned(desired)) : cleaned(live)) : null;
    const { html, changes } = sideBySide(left ? toYaml(left) : '', toYaml(cleaned(desired)), 'Live (in the cluster)', 'Desired (from Git)');
    const summaryLine = !live ? 'The resource is missing from the cluster: everything on the right will be created.'
      : changes ? `${changes} line${changes === 1 ? '' : 's'} differ.` : 'No difference in the fields Git declares.';
    return `<div class="btn-row" style="margin-bottom:8px"><strong data-testid="diff-summary">${esc(summaryLine)}</strong><span style="flex:1"></span>
      <label class="check"><input type="checkbox" data-only-declared${state.onlyDeclared ? ' checked' : ''}><span>Only fields declared in Git</span></label></div>
      <div class="diff-legend"><span class="l-del">in the cluster, not in Git</span><span class="l-add">in Git, not in the cluster</span></div>${html}`;
  }

  function renderBody() {
    renderTabs();
    if (state.tab === 'summary') { body.innerHTML = summary(); return; }
    if (state.error) { body.innerHTML = `<div class="error-box"><div><div class="title">The manifests could not be loaded</div>${esc(state.error.message)}</div></div>`; return; }
    if (!state.managed) { body.innerHTML = '<div class="loading">Loading manifests…</div>'; return; }
    const it = item();
    if (!it) { body.innerHTML = '<div class="notice-box">This resource is not in the application\'s managed resources.</div>'; return; }
    body.innerHTML = state.tab === 'manifests' ? manifests(it) : diff(it);
  }

  async function load() {
    if (!isManaged) return;
    try {
      state.managed = await api.managedResources(app.metadata.name);
      state.error = null;
    } catch (err) {
      state.error = err;
    }
    if (drawer.isConnected) renderBody();
  }

  tabs.addEventListener('click', (e) => {
    const b = e.target.closest('[data-tab]');
    if (b) { state.tab = b.dataset.tab; renderBody(); }
  });
  body.addEventListener('change', (e) => {
    if (e.target.matches('[data-only-declared]')) { state.onlyDeclared = e.target.checked; renderBody(); }
  });
  const onKey = (e) => { if (e.key === 'Escape' && !document.querySelector('.overlay')) close(); };
  function close() {
    drawer.remove();
    document.removeEventListener('keydown', onKey);
    onClose();
  }
  closeBtn.addEventListener('click', close);
  document.addEventListener('keydown', onKey);

  renderTitle();
  renderBody();
  document.body.appendChild(drawer);
  load();
  let lastVersion = app.metadata.resourceVersion;
  return {
    close: () => { drawer.remove(); document.removeEventListener('keydown', onKey); },
    update(updatedApp, newSync) {
      const changedSync = newSync !== sync;
      sync = newSync;
      const entry = (updatedApp.status?.resources || []).find((r) => resourceKey(r) === resourceKey(node));
      if (entry?.health) node = { ...node, health: entry.health };
      renderTitle();
      if (updatedApp.metadata.resourceVersion !== lastVersion && (changedSync || state.tab !== 'summary')) {
        lastVersion = updatedApp.metadata.resourceVersion;
        load();
      } else if (state.tab === 'summary') {
        renderBody();
      }
    },
  };
}
