// One application: header (sync, health, last operation, revision, source, destination),
// actions (sync, refresh, hard refresh, history, delete), tabs (tree, history, events,
// conditions, details) and live updates from the event stream.

import { api, streamApplications } from '../api.js';
import { ago, esc, h, shortRev, throttle } from '../dom.js';
import { confirmDialog, errorBox, toast } from '../components/dialog.js';
import { icons } from '../components/icons.js';
import { HEALTH, OPERATION, SYNC, badgeHtml, healthOf, syncOf } from '../components/status.js';
import { renderTree, resourceKey } from '../components/tree.js';
import { toYaml, highlight } from '../components/yaml.js';
import { navigate, setQuery } from '../router.js';
import { setLive, shell } from '../shell.js';
import { clusterOf } from './applications.js';
import { renderHistory } from './app/history.js';
import { renderConditions, renderEvents } from './app/events.js';
import { openResourcePanel } from './app/resource-panel.js';
import { openSyncDialog } from './app/sync-dialog.js';

const TABS = [
  ['tree', 'Resource tree'],
  ['history', 'History and rollback'],
  ['events', 'Events'],
  ['conditions', 'Conditions'],
  ['details', 'Details'],
];

export function isAutomated(app) {
  const a = app.spec?.syncPolicy?.automated;
  return !!a && a.enabled !== false;
}

function sourceOf(app) {
  return app.spec?.source || app.spec?.sources?.[0] || {};
}

function headerHtml(app) {
  const st = app.status || {};
  const src = sourceOf(app);
  const op = st.operationState;
  const dest = app.spec?.destination || {};
  const rev = st.sync?.revision;
  const opInfo = op ? (OPERATION[op.phase] || OPERATION.Error) : null;
  const target = src.targetRevision || 'HEAD';
  const differing = (st.resources || []).filter((r) => r.status === 'OutOfSync').length;
  const syncWhy = syncOf(app) === 'OutOfSync'
    ? (differing === 0 ? 'differs from Git' : `${differing} resource${differing === 1 ? ' differs' : 's differ'} from Git`)
    : syncOf(app) === 'Synced' ? `to ${target}${rev ? ` (${shortRev(rev)})` : ''}` : 'not compared yet';
  const syncedRev = op?.syncResult?.revision || op?.operation?.sync?.revision || '';
  const by = op?.operation?.initiatedBy?.username || (op?.operation?.initiatedBy?.automated ? 'automated sync' : '');
  return `<div class="title"><h1 data-testid="app-name">${esc(app.metadata.name)}</h1>
      <span data-testid="app-sync">${badgeHtml(SYNC, syncOf(app))}</span>
      <span data-testid="app-health">${badgeHtml(HEALTH, healthOf(app))}</span>
      <span class="chip" title="Project">project: ${esc(app.spec?.project || 'default')}</span>
      <span class="chip" title="Sync policy">${isAutomated(app) ? 'automated sync' : 'manual sync'}</span></div>
    <div class="app-status">
      <div class="status-cell"><div class="k">Sync status</div><div class="v">${badgeHtml(SYNC, syncOf(app))}</div><div class="why">${esc(syncWhy)}</div>
        <div class="why" data-testid="app-reconciled-at" title="${esc(st.reconciledAt || '')}">${st.reconciledAt ? `compared with Git ${esc(ago(st.reconciledAt))}` : 'not compared with Git yet'}</div></div>
      <div class="status-cell"><div class="k">Health</div><div class="v">${badgeHtml(HEALTH, healthOf(app))}</div><div class="why">${esc(st.health?.message || HEALTH[healthOf(app)]?.hint || '')}</div></div>
      <div class="status-cell" data-testid="app-operation"><div class="k">Last sync</div><div class="v">${opInfo ? `<span class="badge ${opInfo.tone}" data-phase="${esc(op.phase)}">${opInfo.icon()}${esc(opInfo.label)}</span>` : '<span class="faint">never synced</span>'}</div>
        <div class="why">${op && syncedRev ? `to <span class="mono" data-testid="app-synced-revision" title="${esc(syncedRev)}">${esc(shortRev(syncedRev))}</span> · ` : ''}${op ? esc([op.finishedAt ? ago(op.finishedAt) : (op.startedAt ? `started ${ago(op.startedAt)}` : ''), by ? `by ${by}` : '', op.message || ''].filter(Boolean).join(' · ')) : ''}</div></div>
      <div class="status-cell"><div class="k">Git revision</div><div class="v mono" data-testid="app-revision" title="${esc(rev || '')}">${esc(shortRev(rev) || '—')}</div><div class="why">target: ${esc(target)}</div></div>
      <div class="status-cell"><div class="k">Source</div><div class="v">${esc(src.path || src.chart || '/')}</div><div class="why" title="${esc(src.repoURL || '')}">${esc(src.repoURL || '')}</div></div>
      <div class="status-cell"><div class="k">Destination</div><div class="v">${esc(clusterOf(app))}</div><div class="why">namespace: ${esc(dest.namespace || '—')}</div></div>
    </div>`;
}

export async function applicationView(root, params, query) {
  const name = params.name;
  const main = shell(root, 'applications');
  main.innerHTML = `<div class="loading">Loading ${esc(name)}…</div>`;
  let app;
  try {
    app = await api.application(name);
  } catch (err) {
    main.replaceChildren(
      h('div', { class: 'breadcrumbs' }, h('a', { href: '/applications' }, 'Applications'), ` / ${name}`),
      errorBox(err?.status === 403 ? `You are not allowed to see application ${name}`
        : err?.status === 404 ? `Application ${name} does not exist` : `Application ${name} could not be loaded`, err));
    return () => {};
  }
  if (!main.isConnected) return () => {};
  const state = { app, tab: TABS.some(([t]) => t === query.tab) ? query.tab : 'tree', node: query.node || '', tree: null, treeError: null, panel: null };

  main.innerHTML = `<div class="breadcrumbs"><a href="/applications">Applications</a> / ${esc(name)}</div>
    <div class="card app-head"><div class="head-body"></div>
      <div class="btn-row app-actions">
        <button class="btn primary" data-testid="sync-button" type="button">${icons.sync()} Sync</button>
        <button class="btn" data-testid="refresh-button" type="button" title="Compare with Git again">${icons.refresh()} Refresh</button>
        <button class="btn" data-testid="hard-refresh-button" type="button" title="Render the manifests again from Git, without caches, then compare">${icons.refresh()} Hard refresh</button>
        <button class="btn" data-testid="history-button" type="button">${icons.history()} History and rollback</button>
        <button class="btn hidden" data-testid="terminate-button" type="button">${icons.stop()} Stop sync</button>
        <span style="flex:1"></span>
        <button class="btn danger" data-testid="delete-button" type="button">${icons.trash()} Delete</button>
      </div><div class="op-banner"></div></div>
    <div class="section card card-pad"><div class="tabs" role="tablist"></div><div class="tab-body"></div></div>`;
  const head = main.querySelector('.head-body');
  const tabs = main.querySelector('.tabs');
  const tabBody = main.querySelector('.tab-body');
  const banner = main.querySelector('.op-banner');
  const terminateBtn = main.querySelector('[data-testid=terminate-button]');

  const syncByKey = () => new Map((state.app.status?.resources || []).map((r) => [resourceKey(r), r.status]));

  function renderHead() {
    head.innerHTML = headerHtml(state.app);
    const conds = state.app.status?.conditions || [];
    const errors = conds.filter((c) => /Error|Warning/.test(c.type || ''));
    const op = state.app.status?.operationState;
    const parts = [];
    if (state.app.metadata.deletionTimestamp) parts.push('<div class="warn-box">This application is being deleted.</div>');
    if (op && (op.phase === 'Failed' || op.phase === 'Error')) parts.push(`<div class="error-box"><div><div class="title">The last sync failed</div>${esc(op.message || '')}</div></div>`);
    if (errors.length) parts.push(`<div class="warn-box"><strong>${errors.length} condition${errors.length > 1 ? 's' : ''} need attention:</strong> ${esc(errors[0].message || errors[0].type)} <a href="#" data-goto="conditions">see all</a></div>`);
    banner.innerHTML = parts.join('');
    terminateBtn.classList.toggle('hidden', op?.phase !== 'Running');
  }

  function renderTabs() {
    const counts = {
      history: (state.app.status?.history || []).length,
      conditions: (state.app.status?.conditions || []).length,
    };
    tabs.innerHTML = TABS.map(([id, label]) => `<button type="button" role="tab" data-tab="${id}" class="${state.tab === id ? 'active' : ''}" aria-selected="${state.tab === id}">${esc(label)}${counts[id] ? `<span class="count">${counts[id]}</span>` : ''}</button>`).join('');
  }

  function saveQuery() { setQuery({ tab: state.tab === 'tree' ? '' : state.tab, node: state.node }); }

  async function loadTree() {
    try {
      state.tree = await api.resourceTree(name);
      state.treeError = null;
    } catch (err) {
      state.treeError = err;
    }
  }

  function renderTreeTab() {
    if (state.treeError) { tabBody.replaceChildren(errorBox('The resource tree could not be loaded', state.treeError)); return; }
    if (!state.tree) { tabBody.innerHTML = '<div class="loading">Loading the resource tree…</div>'; return; }
    const nodes = state.tree.nodes || [];
    const legend = `<div class="tree-legend"><span>${HEALTH.Healthy.icon()} healthy</span><span>${HEALTH.Progressing.icon()} progressing</span><span>${HEALTH.Degraded.icon()} degraded</span><span>${HEALTH.Missing.icon()} missing</span><span>${SYNC.Synced.icon()} synced</span><span>${SYNC.OutOfSync.icon()} out of sync</span><span class="faint">Click a box to see its manifest and diff.</span></div>`;
    tabBody.innerHTML = `<div class="tree-wrap" data-testid="resource-tree"></div>${legend}`;
    const wrap = tabBody.querySelector('.tree-wrap');
    renderTree(wrap, state.app, nodes, syncByKey(), state.node, (node) => selectNode(node));
    if (!nodes.length) wrap.insertAdjacentHTML('beforeend', '<div class="empty"><strong>No resources yet</strong>The application has not been compared with Git yet, or Git declares nothing.</div>');
  }

  function selectNode(node) {
    if (!node || node.root) { state.node = ''; saveQuery(); closePanel(); renderBody(); return; }
    state.node = resourceKey(node);
    saveQuery();
    tabBody.querySelectorAll('.tnode').forEach((b) => b.classList.toggle('selected', b.dataset.key === state.node));
    if (state.panel) state.panel.close();
    state.panel = openResourcePanel(state.app, node, syncByKey().get(state.node), () => {
      state.panel = null;
      state.node = '';
      saveQuery();
      tabBody.querySelectorAll('.tnode.selected').forEach((b) => b.classList.remove('selected'));
    });
  }

  function closePanel() { if (state.panel) { state.panel.close(); state.panel = null; } }

  function renderBody() {
    renderTabs();
    switch (state.tab) {
      case 'tree': renderTreeTab(); break;
      case 'history': renderHistory(tabBody, state.app, isAutomated(state.app)); break;
      case 'events': renderEvents(tabBody, name); break;
      case 'conditions': renderConditions(tabBody, state.app); break;
      default:
        tabBody.innerHTML = `<h3>Specification</h3><pre class="code" data-testid="app-spec">${highlight(toYaml(state.app.spec))}</pre>
          <h3 style="margin-top:14px">Labels and annotations</h3><pre class="code">${highlight(toYaml({ labels: state.app.metadata.labels || {}, annotations: state.app.metadata.annotations || {} }))}</pre>`;
    }
  }

  tabs.addEventListener('click', (e) => {
    const b = e.target.closest('[data-tab]');
    if (!b) return;
    state.tab = b.dataset.tab;
    if (state.tab !== 'tree') { closePanel(); state.node = ''; }
    saveQuery();
    renderBody();
  });
  banner.addEventListener('click', (e) => {
    const g = e.target.closest('[data-goto]');
    if (g) { e.preventDefault(); state.tab = g.dataset.goto; saveQuery(); renderBody(); }
  });

  const actions = main.querySelector('.app-actions');
  actions.addEventListener('click', async (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    switch (b.dataset.testid) {
      case 'sync-button':
        openSyncDialog(state.app, (updated) => { if (updated?.metadata) { state.app = updated; renderHead(); } });
        break;
      case 'refresh-button':
      case 'hard-refresh-button': {
        const kind = b.dataset.testid === 'refresh-button' ? 'normal' : 'hard';
        b.disabled = true;
        try {
          state.app = await api.application(name, kind);
          renderHead();
          toast(kind === 'hard' ? 'Hard refresh requested: manifests are rendered again from Git.' : 'Refresh requested: comparing with Git again.', 'success');
          await loadTree();
          if (state.tab === 'tree') renderTreeTab();
        } catch (err) {
          toast(err.message, 'error');
        } finally {
          b.disabled = false;
        }
        break;
      }
      case 'history-button':
        state.tab = 'history'; closePanel(); state.node = ''; saveQuery(); renderBody();
        break;
      case 'terminate-button':
        confirmDialog({
          title: 'Stop the running sync?',
          message: 'Resources already applied stay as they are.',
          confirmLabel: 'Stop sync',
          danger: true,
          onConfirm: async () => { await api.terminate(name); toast('Stopping the sync…'); },
        });
        break;
      case 'delete-button':
        openDeleteDialog(state.app);
        break;
      default:
    }
  });

  renderHead();
  renderBody();
  await loadTree();
  if (!main.isConnected) return () => {};
  if (state.tab === 'tree') renderTreeTab();
  if (state.node && state.tree) {
    const node = (state.tree.nodes || []).find((n) => resourceKey(n) === state.node);
    if (node) selectNode(node);
  }

  const refreshTree = throttle(async () => {
    await loadTree();
    if (main.isConnected && state.tab === 'tree') renderTreeTab();
  }, 1500);
  const close = streamApplications({ name }, (type, updated) => {
    if (updated.metadata?.name !== name) return;
    if (type === 'DELETED') {
      toast(`Application ${name} was deleted.`);
      navigate('/applications');
      return;
    }
    if (updated.metadata.resourceVersion === state.app.metadata.resourceVersion) return;
    state.app = updated;
    renderHead();
    renderTabs();
    if (state.tab === 'tree') refreshTree();
    else if (state.tab === 'history' || state.tab === 'conditions') renderBody();
    if (state.panel) state.panel.update(state.app, syncByKey().get(state.node));
  }, setLive);
  const timer = setInterval(() => { if (state.tab === 'tree' && !document.hidden) refreshTree(); }, 10000);
  return () => { close(); clearInterval(timer); closePanel(); };
}

function openDeleteDialog(app) {
  const name = app.metadata.name;
  const typed = h('input', { type: 'text', placeholder: name, 'aria-label': 'Type the application name', 'data-testid': 'delete-confirm-name' });
  const cascade = h('input', { type: 'checkbox', checked: true });
  const policy = h('select', {}, h('option', { value: 'foreground' }, 'Foreground: wait until the resources are gone'), h('option', { value: 'background' }, 'Background: delete the resources afterwards'));
  confirmDialog({
    title: `Delete ${name}?`,
    message: 'The application stops being managed by ferrocd.',
    confirmLabel: 'Delete',
    danger: true,
    extra: h('div', {},
      h('label', { class: 'check' }, cascade, h('span', {}, 'Also delete its resources from the cluster', h('small', {}, 'Without this, the workloads keep running, unmanaged.'))),
      h('label', { class: 'field' }, h('span', {}, 'Deletion order'), policy),
      h('label', { class: 'field' }, h('span', {}, `Type ${name} to confirm`), typed)),
    onConfirm: async () => {
      if (typed.value.trim() !== name) throw new Error(`Type the application name (${name}) to confirm.`);
      await api.deleteApplication(name, cascade.checked, cascade.checked ? policy.value : undefined);
      toast(`Application ${name} is being deleted.`, 'success');
      navigate('/applications');
    },
  });
}

