// Entry point: reads who is signed in, registers the views and starts the router.

import { api, onUnauthenticated } from './api.js';
import { guard, navigate, route, start } from './router.js';
import { resetShell, session } from './shell.js';
import { loginView } from './views/login.js';
import { applicationsView } from './views/applications.js';
import { applicationView } from './views/application.js';
import { projectsView, projectView } from './views/projects.js';
import { repositoriesView, repositoryView } from './views/repositories.js';
import { clustersView, clusterView } from './views/clusters.js';
import { userInfoView } from './views/user.js';

const PUBLIC = ['/login'];

async function refreshUser() {
  try {
    const info = await api.userInfo();
    session.user = info.loggedIn ? info : null;
  } catch {
    session.user = null;
  }
  return session.user;
}

// Settings and the session are read at the same time, before the first view.
const ready = Promise.all([
  api.settings().then((s) => { session.settings = s || {}; }).catch(() => {}),
  refreshUser(),
]);

guard(async (path) => {
  await ready;
  if (PUBLIC.includes(path)) return true;
  if (session.user || await refreshUser()) return true;
  const back = location.pathname + location.search;
  navigate(`/login?return_url=${encodeURIComponent(back)}`, { replace: true });
  return false;
});

onUnauthenticated(() => {
  if (location.pathname === '/login') return;
  session.user = null;
  resetShell();
  const back = location.pathname + location.search;
  navigate(`/login?return_url=${encodeURIComponent(back)}&expired=1`, { replace: true });
});

route('/login', loginView);
route('/applications', applicationsView);
route('/applications/:name', applicationView);
route('/applications/:namespace/:name', (el, params, q) => applicationView(el, params, q));
route('/projects', projectsView);
route('/projects/:name', projectView);
route('/repositories', repositoriesView);
route('/repositories/:repo', repositoryView);
route('/clusters', clustersView);
route('/clusters/:server', clusterView);
route('/user-info', userInfoView);
route('/', () => navigate('/applications', { replace: true }));

start(document.getElementById('app'));
