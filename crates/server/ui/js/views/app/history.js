// History of deployments, newest first, with a rollback button per earlier entry. The server
// refuses a rollback while automated sync is on; its message is shown as is.

import { api } from '../../api.js';
import { ago, esc, fmtTime, h, shortRev } from '../../dom.js';
import { confirmDialog, toast } from '../../components/dialog.js';
import { icons } from '../../components/icons.js';

export function renderHistory(el, app, automated) {
  const history = [...(app.status?.history || [])].sort((a, b) => (b.id ?? 0) - (a.id ?? 0));
  if (!history.length) {
    el.innerHTML = '<div class="empty" data-testid="history-empty"><strong>No deployments yet</strong>Every sync adds an entry here, and any entry can be rolled back to.</div>';
    return;
  }
  const note = automated
    ? '<div class="notice-box">Automated sync is on for this application: ferrocd keeps it at what Git says, so a rollback would be undone at once and the server refuses it. Turn automated sync off (in Git) to roll back by hand.</div>'
    : '';
  el.innerHTML = `${note}<div class="history-list" data-testid="history-list">${history.map((entry, i) => {
    const src = entry.source || entry.sources?.[0] || {};
    const by = entry.initiatedBy?.username || (entry.initiatedBy?.automated ? 'automated sync' : 'unknown');
    const rev = entry.revision || (entry.revisions || []).join(', ');
    return `<div class="card history-item${i === 0 ? ' current' : ''}" data-history-id="${esc(entry.id)}">
      <div class="id">#${esc(entry.id)}</div>
      <div><div><span class="mono" title="${esc(rev)}">${esc(shortRev(rev) || '—')}</span>${i === 0 ? ' <span class="badge ok">current</span>' : ''}</div>
        <div class="muted">Deployed ${esc(ago(entry.deployedAt))} <span class="faint">(${esc(fmtTime(entry.deployedAt))})</span> by ${esc(by)}</div>
        <div class="faint">${esc(src.repoURL || '')} ${esc(src.path || src.chart || '')} ${src.targetRevision ? `@ ${esc(src.targetRevision)}` : ''}</div></div>
      <div>${i === 0 ? '' : `<button type="button" class="btn" data-rollback="${esc(entry.id)}">${icons.rollback()} Roll back to #${esc(entry.id)}</button>`}</div></div>`;
  }).join('')}</div>`;
  el.querySelectorAll('[data-rollback]').forEach((btn) => {
    btn.addEventListener('click', () => {
      const id = Number(btn.dataset.rollback);
      const entry = history.find((e) => e.id === id);
      const prune = h('input', { type: 'checkbox' });
      confirmDialog({
        title: `Roll back ${app.metadata.name}?`,
        message: `The cluster is set back to deployment #${id} (revision ${shortRev(entry?.revision || '') || 'unknown'}). The application will show Out of sync until Git says the same.`,
        confirmLabel: 'Roll back',
        extra: h('label', { class: 'check' }, prune, h('span', {}, 'Prune', h('small', {}, 'Delete resources that deployment did not have.'))),
        onConfirm: async () => {
          await api.rollback(app.metadata.name, id, prune.checked);
          toast(`Rolling back to deployment #${id}…`, 'success');
        },
      });
    });
  });
}
