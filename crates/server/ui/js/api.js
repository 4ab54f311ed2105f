// The REST API client (Argo CD's paths under /api/v1) and the live event stream.
// The session token lives in the HttpOnly cookie `argocd.token`; requests send it by
// themselves (same origin). Failures become ApiError with the server's readable message.

/** A failed API call: HTTP status and the message to show. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const listeners = new Set();

/** Called with no arguments when any call answers 401 (session expired or logged out). */
export function onUnauthenticated(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (err) {
    throw new ApiError(0, 'The ferrocd server cannot be reached. Check that it is running and try again.');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const message = readableMessage(response.status, data, text);
    if (response.status === 401 && !path.startsWith('/session')) {
      for (const fn of listeners) fn();
    }
    throw new ApiError(response.status, message);
  }
  return data ?? {};
}

function readableMessage(status, data, text) {
  const fromBody = data && (data.message || data.error);
  if (typeof fromBody === 'string' && fromBody) return fromBody;
  switch (status) {
    case 401: return 'Your session has ended. Please log in again.';
    case 403: return 'You are not allowed to do this.';
    case 404: return 'Not found.';
    case 429: return 'Too many attempts. Wait a moment and try again.';
    case 501: return 'This server does not offer this feature.';
    default:
      if (text && text.length < 200 && !text.includes('<')) return text;
      return `The server answered with an error (HTTP ${status}).`;
  }
}

const enc = encodeURIComponent;

/** Query string from an object; arrays repeat the key; empty values are left out. */
export function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    for (const item of Array.isArray(v) ? v : [v]) parts.push(`${enc(k)}=${enc(item)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body ?? {}),
  put: (path, body) => request('PUT', path, body ?? {}),
  del: (path) => request('DELETE', path),

  login: (username, password) => request('POST', '/session', { username, password }),
  logout: () => request('DELETE', '/session'),
  userInfo: () => request('GET', '/session/userinfo'),
  settings: () => request('GET', '/settings'),

  applications: (params) => request('GET', `/applications${qs(params)}`),
  application: (name, refresh) => request('GET', `/applications/${enc(name)}${qs({ refresh })}`),
  resourceTree: (name) => request('GET', `/applications/${enc(name)}/resource-tree`),
  managedResources: (name) => request('GET', `/applications/${enc(name)}/managed-resources`),
  events: (name) => request('GET', `/applications/${enc(name)}/events`),
  sync: (name, body) => request('POST', `/applications/${enc(name)}/sync`, body),
  rollback: (name, id, prune) => request('PUT', `/applications/${enc(name)}/rollback`, { id, prune }),
  terminate: (name) => request('DELETE', `/applications/${enc(name)}/operation`),
  deleteApplication: (name, cascade, propagationPolicy) =>
    request('DELETE', `/applications/${enc(name)}${qs({ cascade, propagationPolicy })}`),

  projects: () => request('GET', '/projects'),
  project: (name) => request('GET', `/projects/${enc(name)}`),
  repositories: () => request('GET', '/repositories'),
  repository: (url) => request('GET', `/repositories/${enc(url)}`),
  clusters: () => request('GET', '/clusters'),
  cluster: (server) => request('GET', `/clusters/${enc(server)}`),
};

/**
 * Follows `/api/v1/stream/applications` (server-sent events). `onChange(type, app)` gets
 * ADDED/MODIFIED/DELETED; `onState(connected)` reports the connection. The browser
 * reconnects by itself; returns a function that closes the stream.
 */
export function streamApplications(params, onChange, onState = () => {}) {
  const source = new EventSource(`/api/v1/stream/applications${qs(params)}`);
  source.onopen = () => onState(true);
  source.onerror = () => onState(false);
  source.onmessage = (event) => {
    let data;
    try { data = JSON.parse(event.data); } catch { return; }
    const result = data && data.result;
    if (result && result.application) onChange(result.type, result.application);
  };
  source.addEventListener('error', (event) => {
    // The server sends an `error` event when the token stops being valid.
    if (event.data) {
      source.close();
      onState(false);
      for (const fn of listeners) fn();
    }
  });
  return () => source.close();
}
