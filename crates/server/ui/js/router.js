// A history-API router: paths map to views; a view mounts into a container and returns an
// optional cleanup function (closing streams, timers) run before the next view mounts.

const routes = [];
let container = null;
let cleanup = null;
let current = '';
let beforeEach = async () => true;

/** Registers `pattern` (a path like `/applications/:name`) for `view(el, params, query)`. */
export function route(pattern, view) {
  const names = [];
  const rx = new RegExp('^' + pattern.replace(/:([a-zA-Z]+)/g, (_, n) => {
    names.push(n);
    return '([^/]+)';
  }) + '/?$');
  routes.push({ rx, names, view });
}

/** A guard run before each view (e.g. the login check); returning false stops navigation. */
export function guard(fn) { beforeEach = fn; }

/** Starts routing into `el`. */
export function start(el) {
  container = el;
  window.addEventListener('popstate', () => render());
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const a = event.target.closest('a');
    if (!a || a.target || a.hasAttribute('download') || a.dataset.external !== undefined) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/auth/')) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  return render();
}

/** Goes to `url` (path and query) and renders its view. */
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  return render();
}

/** Changes the query of the current URL without rendering again (filters, tabs). */
export function setQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = q.toString();
  const url = location.pathname + (s ? `?${s}` : '');
  history.replaceState(null, '', url);
  current = url;
}

/** The current query as an object of strings. */
export function query() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

async function render() {
  const path = location.pathname;
  const url = path + location.search;
  current = url;
  if (!(await beforeEach(path))) return;
  if (current !== url) return;
  for (const r of routes) {
    const m = r.rx.exec(path);
    if (!m) continue;
    const params = {};
    r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
    if (cleanup) { try { cleanup(); } catch { /* a view's cleanup must not stop navigation */ } }
    cleanup = null;
    const result = await r.view(container, params, query());
    if (typeof result === 'function') cleanup = result;
    return;
  }
  navigate('/applications', { replace: true });
}
