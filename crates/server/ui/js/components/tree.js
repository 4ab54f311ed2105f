// The resource tree as a graph: the application on the left, its managed resources in the
// next column, their children (ReplicaSets, Pods, Jobs…) further right, joined by curves.
// Boxes are absolutely positioned HTML; the lines are one SVG underneath.

import { esc } from '../dom.js';
import { HEALTH, SYNC, iconHtml } from './status.js';

const W = 250;
const H = 58;
const COL = W + 70;
const ROW = H + 16;

const KIND_ORDER = ['Namespace', 'ServiceAccount', 'Secret', 'ConfigMap', 'PersistentVolumeClaim',
  'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'CustomResourceDefinition', 'Service',
  'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod',
  'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Ingress', 'NetworkPolicy', 'Application'];

const ABBR = {
  Application: ['app', '#d9480f'], Deployment: ['deploy', '#2563eb'], ReplicaSet: ['rs', '#4f7fe0'],
  Pod: ['pod', '#0f8a6a'], Service: ['svc', '#7c3aed'], ConfigMap: ['cm', '#64748b'], Secret: ['secret', '#a16207'],
  StatefulSet: ['sts', '#2563eb'], DaemonSet: ['ds', '#2563eb'], Job: ['job', '#0e7490'], CronJob: ['cron', '#0e7490'],
  Ingress: ['ing', '#7c3aed'], PersistentVolumeClaim: ['pvc', '#9333ea'], HorizontalPodAutoscaler: ['hpa', '#475569'],
  ServiceAccount: ['sa', '#64748b'], Namespace: ['ns', '#334155'], PodDisruptionBudget: ['pdb', '#475569'],
  NetworkPolicy: ['netpol', '#475569'], Role: ['role', '#64748b'], RoleBinding: ['rb', '#64748b'],
  ClusterRole: ['crole', '#64748b'], ClusterRoleBinding: ['crb', '#64748b'], AppProject: ['proj', '#d9480f'],
};

/** Identity of a resource: group/kind/namespace/name. */
export function resourceKey(r) {
  return `${r.group || ''}/${r.kind}/${r.namespace || ''}/${r.name}`;
}

function kindRank(kind) {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}

/**
 * Lays out `nodes` (resource-tree nodes) under the application `app`. Returns
 * {items: [{node, depth, x, y, parent}], width, height}.
 */
export function layout(app, nodes) {
  const root = { kind: 'Application', group: 'argoproj.io', name: app.metadata.name, namespace: app.metadata.namespace, root: true, health: app.status?.health, syncStatus: app.status?.sync?.status };
  const byUid = new Map();
  for (const n of nodes) if (n.uid) byUid.set(n.uid, n);
  const children = new Map([[root, []]]);
  for (const n of nodes) children.set(n, []);
  for (const n of nodes) {
    const parents = (n.parentRefs || []).map((p) => byUid.get(p.uid)).filter(Boolean);
    if (parents.length) for (const p of parents) children.get(p).push(n);
    else children.get(root).push(n);
  }
  const order = (a, b) => kindRank(a.kind) - kindRank(b.kind) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);
  for (const list of children.values()) list.sort(order);
  const items = [];
  let row = 0;
  let maxDepth = 0;
  const seen = new Set();
  const place = (node, depth, parent) => {
    seen.add(node);
    maxDepth = Math.max(maxDepth, depth);
    const item = { node, depth, parent, x: depth * COL, y: 0 };
    items.push(item);
    const kids = children.get(node).filter((k) => !seen.has(k));
    if (!kids.length) { item.y = row * ROW; row++; return item; }
    const placed = kids.map((k) => place(k, depth + 1, item));
    item.y = (placed[0].y + placed[placed.length - 1].y) / 2;
    return item;
  };
  place(root, 0, null);
  return { items, width: (maxDepth + 1) * COL - (COL - W), height: Math.max(row, 1) * ROW - (ROW - H) };
}

function nodeHtml(item, syncByKey, selectedKey) {
  const n = item.node;
  const [abbr, colour] = ABBR[n.kind] || [n.kind.slice(0, 4).toLowerCase(), '#5b6b80'];
  const key = n.root ? 'app' : resourceKey(n);
  const sync = n.root ? n.syncStatus : syncByKey.get(key);
  const health = n.health?.status;
  const icons = [
    health ? iconHtml(HEALTH, health) : '',
    sync ? iconHtml(SYNC, sync) : '',
  ].join('');
  const missing = !n.root && !n.uid && !(n.kind === 'Application');
  const title = `${n.kind} ${n.namespace ? `${n.namespace}/` : ''}${n.name}${n.health?.message ? ` — ${n.health.message}` : ''}`;
  return `<button type="button" class="tnode${n.root ? ' root' : ''}${missing ? ' missing' : ''}${key === selectedKey ? ' selected' : ''}"
    style="left:${item.x}px;top:${item.y}px" data-key="${esc(key)}" data-kind="${esc(n.kind)}" data-name="${esc(n.name)}"
    data-health="${esc(health || '')}" data-sync="${esc(sync || '')}" title="${esc(title)}">
    <span class="kind-icon" style="background:${colour}">${esc(abbr)}</span>
    <span class="meta"><span class="nm">${esc(n.name)}</span><span class="kd">${esc(n.kind)}${info(n)}</span></span>
    <span class="icons">${icons}</span></button>`;
}

function info(n) {
  const parts = [];
  for (const i of n.info || []) {
    if (i.name === 'Containers' || i.name === 'Revision') parts.push(i.value);
  }
  return parts.length ? ` · ${esc(parts.join(' · '))}` : '';
}

function edgePath(from, to) {
  const x1 = from.x + W;
  const y1 = from.y + H / 2;
  const x2 = to.x;
  const y2 = to.y + H / 2;
  const mid = (x1 + x2) / 2;
  return `<path d="M${x1} ${y1} C${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}"/>`;
}

/**
 * Renders the graph into `el`. `syncByKey` maps resourceKey → sync status (managed resources);
 * `onSelect(node)` is called with the clicked node (the root is {root: true}).
 */
export function renderTree(el, app, nodes, syncByKey, selectedKey, onSelect) {
  const { items, width, height } = layout(app, nodes);
  const edges = items.filter((i) => i.parent).map((i) => edgePath(i.parent, i)).join('');
  el.innerHTML = `<div class="tree-canvas" style="width:${width}px;height:${height}px">
    <svg class="edges" width="${width}" height="${height}">${edges}</svg>
    ${items.map((i) => nodeHtml(i, syncByKey, selectedKey)).join('')}</div>`;
  const byKey = new Map(items.map((i) => [i.node.root ? 'app' : resourceKey(i.node), i.node]));
  el.querySelectorAll('.tnode').forEach((btn) => {
    btn.addEventListener('click', () => onSelect(byKey.get(btn.dataset.key)));
  });
}
