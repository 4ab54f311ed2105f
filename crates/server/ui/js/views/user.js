// The signed-in user: name, groups, issuer, and logging out.

import { api } from '../api.js';
import { esc } from '../dom.js';
import { errorBox } from '../components/dialog.js';
import { pageHead, shell } from '../shell.js';

export async function userInfoView(root) {
  const main = shell(root, '');
  main.innerHTML = `${pageHead('User info')}<div class="detail"><div class="loading">Loading…</div></div>`;
  const el = main.querySelector('.detail');
  try {
    const info = await api.userInfo();
    el.innerHTML = `<div class="card card-pad" data-testid="user-info"><dl class="facts">
      <dt>Username</dt><dd>${esc(info.username || '—')}</dd>
      <dt>Logged in</dt><dd>${info.loggedIn ? 'yes' : 'no'}</dd>
      <dt>Issuer</dt><dd>${esc(info.iss || '—')} ${info.iss === 'argocd' || !info.iss ? '<span class="faint">(local account)</span>' : '<span class="faint">(single sign-on)</span>'}</dd>
      <dt>Groups</dt><dd>${(info.groups || []).length ? info.groups.map((g) => `<span class="chip">${esc(g)}</span>`).join('') : '—'}</dd>
      </dl></div>`;
  } catch (err) {
    el.replaceChildren(errorBox('Your user information could not be loaded', err));
  }
}
