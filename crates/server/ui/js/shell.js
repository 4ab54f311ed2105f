// The page frame around every signed-in view: top bar with navigation, the user and the live
// connection indicator, an optional banner from settings, and the main area.

import { api } from './api.js';
import { clear, esc, h } from './dom.js';
import { icons } from './components/icons.js';
import { navigate } from './router.js';

export const session = { user: null, settings: {} };

let frame = null;

const NAV = [
  ['applications', '/applications', 'Applications'],
  ['projects', '/projects', 'Projects'],
  ['repositories', '/repositories', 'Repositories'],
  ['clusters', '/clusters', 'Clusters'],
];

function build(root) {
  const nav = h('nav', { 'aria-label': 'Main' },
    NAV.map(([id, href, label]) => h('a', { href, 'data-nav': id }, label)));
  const live = h('span', { class: 'live', title: 'Live updates from the server' }, 'live');
  const user = h('span', { class: 'user' },
    h('a', { href: '/user-info', html: `${icons.user()}` }),
    h('a', { href: '/user-info', 'data-testid': 'username' }, session.user?.username || ''),
    h('button', { class: 'btn small', type: 'button', 'data-testid': 'logout', onclick: logout, html: `${icons.logout()} Log out` }));
  const bar = h('header', { class: 'topbar' },
    h('a', { class: 'logo', href: '/applications', html: `${icons.logo()}<span>ferrocd</span>` }),
    nav, h('span', { class: 'spacer' }), live, user);
  const banner = session.settings.uiBannerContent
    ? h('div', { class: 'banner', role: 'note' }, session.settings.uiBannerContent) : null;
  const main = h('main', { id: 'main' });
  clear(root).append(bar, ...(banner ? [banner] : []), main);
  frame = { root, main, nav, live };
}

/** The main area for a view; `active` highlights its navigation entry. */
export function shell(root, active) {
  if (!frame || !frame.root.isConnected || !root.contains(frame.main)) build(root);
  for (const a of frame.nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.nav === active);
  clear(frame.main);
  frame.live.classList.add('hidden');
  window.scrollTo(0, 0);
  return frame.main;
}

/** Shows whether the live stream is connected. */
export function setLive(on) {
  if (!frame) return;
  frame.live.classList.remove('hidden');
  frame.live.classList.toggle('on', on);
  frame.live.textContent = on ? 'live' : 'reconnecting…';
}

/** Forgets the frame (after logout). */
export function resetShell() { frame = null; }

async function logout() {
  try { await api.logout(); } catch { /* the cookie is cleared or already invalid */ }
  session.user = null;
  resetShell();
  navigate('/login', { replace: true });
}

/** Page heading markup helper. */
export function pageHead(title, crumbs = []) {
  const bc = crumbs.length
    ? `<div class="breadcrumbs">${crumbs.map(([href, label]) => href ? `<a href="${esc(href)}">${esc(label)}</a>` : esc(label)).join(' / ')}</div>`
    : '';
  return `${bc}<h1>${esc(title)}</h1>`;
}
