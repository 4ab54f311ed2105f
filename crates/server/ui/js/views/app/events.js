// Kubernetes Events of an application and its status conditions.

import { api } from '../../api.js';
import { ago, esc, fmtTime } from '../../dom.js';
import { errorBox } from '../../components/dialog.js';

export async function renderEvents(el, name) {
  el.innerHTML = '<div class="loading">Loading events…</div>';
  let list;
  try {
    list = await api.events(name);
  } catch (err) {
    if (err.status === 404 || err.status === 501) {
      el.innerHTML = '<div class="empty"><strong>Events are not available</strong>This server does not report Kubernetes events for applications.</div>';
    } else {
      el.replaceChildren(errorBox('The events could not be loaded', err));
    }
    return;
  }
  const items = [...(list.items || [])].sort((a, b) => String(b.lastTimestamp || b.eventTime || '').localeCompare(String(a.lastTimestamp || a.eventTime || '')));
  if (!items.length) {
    el.innerHTML = '<div class="empty"><strong>No events</strong>Nothing has been reported for this application recently.</div>';
    return;
  }
  el.innerHTML = `<table class="grid" data-testid="events"><thead><tr><th>Type</th><th>Reason</th><th>Object</th><th>Message</th><th>Count</th><th>Last seen</th></tr></thead><tbody>${items.map((e) => {
    const warn = e.type === 'Warning';
    const when = e.lastTimestamp || e.eventTime || e.firstTimestamp;
    return `<tr data-kind="${esc(e.involvedObject?.kind || '')}" data-name="${esc(e.involvedObject?.name || '')}" data-reason="${esc(e.reason || '')}"><td><span class="badge ${warn ? 'warn' : 'info'}">${esc(e.type || 'Normal')}</span></td><td>${esc(e.reason || '')}</td>
      <td>${esc(e.involvedObject?.kind || '')} ${esc(e.involvedObject?.name || '')}</td><td>${esc(e.message || '')}</td>
      <td>${esc(e.count ?? 1)}</td><td class="nowrap" title="${esc(fmtTime(when))}">${esc(ago(when))}</td></tr>`;
  }).join('')}</tbody></table>`;
}

export function renderConditions(el, app) {
  const conds = app.status?.conditions || [];
  if (!conds.length) {
    el.innerHTML = '<div class="empty" data-testid="conditions-empty"><strong>No conditions</strong>Nothing is wrong with how this application is defined or compared.</div>';
    return;
  }
  el.innerHTML = `<div data-testid="conditions">${conds.map((c) => {
    const bad = /Error/.test(c.type || '');
    return `<div class="${bad ? 'error-box' : 'warn-box'}"><div><div class="title">${esc(c.type || 'Condition')}</div>${esc(c.message || '')}
      ${c.lastTransitionTime ? `<div class="faint">${esc(ago(c.lastTransitionTime))}</div>` : ''}</div></div>`;
  }).join('')}</div>`;
}
