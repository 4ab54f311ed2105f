// Login: local account (POST /api/v1/session sets the argocd.token cookie) and, when the
// server has an OIDC configuration, single sign-on through /auth/login.

import { api } from '../api.js';
import { clear, h } from '../dom.js';
import { icons } from '../components/icons.js';
import { navigate } from '../router.js';
import { resetShell, session } from '../shell.js';

function safeReturn(url) {
  // Only same-site paths: never bounce to another origin.
  if (!url || !url.startsWith('/') || url.startsWith('//') || url.startsWith('/login')) return '/applications';
  return url;
}

export async function loginView(root, _params, query) {
  resetShell();
  const returnUrl = safeReturn(query.return_url);
  try { session.settings = await api.settings(); } catch { /* keep what we had */ }
  const settings = session.settings || {};
  const error = h('div', { class: 'error-box hidden', role: 'alert', 'data-testid': 'login-error' });
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, value: 'admin' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { class: 'btn primary', type: 'submit' }, 'Log in');
  const form = h('form', { 'data-testid': 'login-form' },
    h('label', { class: 'field' }, h('span', {}, 'Username'), username),
    h('label', { class: 'field' }, h('span', {}, 'Password'), password),
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.classList.add('hidden');
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      await api.login(username.value.trim(), password.value);
      const info = await api.userInfo();
      session.user = info.loggedIn ? info : { username: username.value.trim(), loggedIn: true };
      navigate(returnUrl, { replace: true });
    } catch (err) {
      error.textContent = err.status === 401
        ? 'The username or password is not correct.'
        : err.message;
      error.classList.remove('hidden');
      submit.disabled = false;
      submit.textContent = 'Log in';
      password.select();
    }
  });
  const sso = settings.oidcConfig
    ? [h('div', { class: 'or' }, 'or'),
      h('a', {
        class: 'btn', 'data-testid': 'sso-login', 'data-external': '',
        // The server takes a same-site path only (never an absolute URL).
        href: `/auth/login?return_url=${encodeURIComponent(returnUrl)}`,
      }, `Log in via ${settings.oidcConfig.name || 'SSO'}`)]
    : [];
  const notice = query.expired
    ? h('div', { class: 'notice-box' }, 'Your session has ended. Please log in again.') : null;
  const card = h('div', { class: 'login-card' },
    h('div', { class: 'logo', html: `${icons.logo()}<h1>ferrocd</h1>` }),
    h('p', { class: 'lead' }, 'GitOps continuous delivery. Log in to see and sync your applications.'),
    notice, error,
    settings.userLoginsDisabled && settings.oidcConfig ? null : form,
    sso);
  clear(root).appendChild(h('div', { class: 'login-page' }, card));
  password.focus();
}
