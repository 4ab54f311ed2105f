// Modal dialogs, confirmations and toasts.

import { h } from '../dom.js';

/**
 * Opens a modal. `body` is a Node; `actions` are [{label, kind, onClick}] where onClick may be
 * async and returns false to keep the dialog open. Errors thrown by onClick are shown inside
 * the dialog. Returns {close, element, showError}.
 */
export function openDialog({ title, body, actions = [], testid }) {
  const errorBox = h('div', { class: 'error-box hidden', role: 'alert' });
  const footer = h('footer');
  const close = () => {
    overlay.remove();
    document.removeEventListener('keydown', onKey);
  };
  const showError = (err) => {
    errorBox.textContent = err?.message || String(err);
    errorBox.classList.remove('hidden');
  };
  for (const action of actions) {
    const btn = h('button', { class: `btn ${action.kind || ''}`, type: 'button', 'data-action': action.id || action.label }, action.label);
    btn.addEventListener('click', async () => {
      errorBox.classList.add('hidden');
      if (!action.onClick) { close(); return; }
      btn.disabled = true;
      try {
        const keep = await action.onClick();
        if (keep !== false) close();
      } catch (err) {
        showError(err);
      } finally {
        btn.disabled = false;
      }
    });
    footer.appendChild(btn);
  }
  const dialog = h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-label': title, 'data-testid': testid },
    h('header', {}, h('h2', {}, title), h('button', { class: 'close-x', type: 'button', 'aria-label': 'Close', onclick: close }, '×')),
    h('div', { class: 'body' }, errorBox, body),
    footer,
  );
  const overlay = h('div', { class: 'overlay' }, dialog);
  overlay.addEventListener('mousedown', (e) => { if (e.target === overlay) close(); });
  const onKey = (e) => { if (e.key === 'Escape') close(); };
  document.addEventListener('keydown', onKey);
  document.body.appendChild(overlay);
  const first = dialog.querySelector('input, button.primary, button');
  if (first) first.focus();
  return { close, element: dialog, showError };
}

/** A yes/no question; resolves after `onConfirm` succeeded, rejects never (errors show inside). */
export function confirmDialog({ title, message, confirmLabel = 'OK', danger = false, onConfirm, extra }) {
  return openDialog({
    title,
    testid: 'confirm-dialog',
    body: h('div', {}, h('p', {}, message), extra),
    actions: [
      { label: 'Cancel' },
      { label: confirmLabel, id: 'confirm', kind: danger ? 'danger solid' : 'primary', onClick: onConfirm },
    ],
  });
}

let toastBox = null;

/** A short message in the corner: kind is '', 'error' or 'success'. */
export function toast(message, kind = '') {
  if (!toastBox || !toastBox.isConnected) {
    toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(toastBox);
  }
  const t = h('div', { class: `toast ${kind}` }, message);
  toastBox.appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 4500);
}

/** An error box for a failed load, with the server's message. */
export function errorBox(title, err) {
  return h('div', { class: 'error-box', role: 'alert' },
    h('div', {}, h('div', { class: 'title' }, title), h('div', {}, err?.message || String(err))));
}
