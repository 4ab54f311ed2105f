// The sync dialog: revision, prune, dry run, sync options and the resources to sync.

import { api } from '../../api.js';
import { esc, h } from '../../dom.js';
import { openDialog, toast } from '../../components/dialog.js';
import { SYNC, iconHtml } from '../../components/status.js';

const OPTIONS = [
  ['CreateNamespace=true', 'Create the namespace', 'Create the destination namespace when it does not exist.'],
  ['ServerSideApply=true', 'Server-side apply', 'Let the Kubernetes API merge the changes (needed for very large objects).'],
  ['Replace=true', 'Replace', 'Replace objects instead of applying changes (recreates what cannot be updated).'],
  ['ApplyOutOfSyncOnly=true', 'Only out-of-sync resources', 'Skip resources that already match Git.'],
  ['PruneLast=true', 'Prune last', 'Delete removed resources only after everything else is healthy.'],
  ['RespectIgnoreDifferences=true', 'Respect ignored differences', 'Keep the live value of fields the application ignores.'],
  ['Validate=false', 'Skip schema validation', 'Do not validate the manifests against the cluster\'s schemas.'],
];

/** Opens the dialog for `app`; `onStarted(updatedApp)` after the server accepted the sync. */
export function openSyncDialog(app, onStarted) {
  const name = app.metadata.name;
  const resources = (app.status?.resources || []).filter((r) => !r.hook);
  const declared = new Set(app.spec?.syncPolicy?.syncOptions || []);
  const revision = h('input', { type: 'text', value: app.spec?.source?.targetRevision || 'HEAD', 'data-testid': 'sync-revision' });
  const prune = h('input', { type: 'checkbox', 'data-testid': 'sync-prune', checked: !!app.spec?.syncPolicy?.automated?.prune });
  const dryRun = h('input', { type: 'checkbox', 'data-testid': 'sync-dry-run' });
  const options = OPTIONS.map(([value, label, hint]) => {
    const input = h('input', { type: 'checkbox', value, checked: declared.has(value), 'data-option': value });
    return { value, input, el: h('label', { class: 'check' }, input, h('span', {}, label, h('small', {}, hint))) };
  });
  const list = h('div', { class: 'sync-resources', 'data-testid': 'sync-resources', style: 'max-height:220px;overflow:auto;border:1px solid var(--line);border-radius:6px;padding:6px 10px' });
  list.innerHTML = resources.length
    ? resources.map((r, i) => `<label class="check"><input type="checkbox" data-index="${i}" checked>
        <span>${iconHtml(SYNC, r.status || 'Unknown')} <strong>${esc(r.kind)}</strong> ${esc(r.namespace ? `${r.namespace}/` : '')}${esc(r.name)}</span></label>`).join('')
    : '<div class="faint">No resources known yet: the whole application is synced.</div>';
  const pick = (fn) => (e) => {
    e.preventDefault();
    list.querySelectorAll('input[data-index]').forEach((cb) => { cb.checked = fn(resources[Number(cb.dataset.index)]); });
  };
  const body = h('div', {},
    h('label', { class: 'field' }, h('span', {}, 'Revision'), revision),
    h('label', { class: 'check' }, prune, h('span', {}, 'Prune', h('small', {}, 'Delete resources that are no longer in Git.'))),
    h('label', { class: 'check' }, dryRun, h('span', {}, 'Dry run', h('small', {}, 'Check what would happen; change nothing.'))),
    h('h3', { style: 'margin:14px 0 6px' }, 'Sync options'),
    options.map((o) => o.el),
    h('h3', { style: 'margin:14px 0 6px; display:flex; gap:10px; align-items:baseline' }, 'Resources',
      h('a', { href: '#', onclick: pick(() => true) }, 'all'),
      h('a', { href: '#', onclick: pick(() => false) }, 'none'),
      h('a', { href: '#', onclick: pick((r) => r.status === 'OutOfSync') }, 'out of sync')),
    list);
  openDialog({
    title: `Sync ${name}`,
    testid: 'sync-dialog',
    body,
    actions: [
      { label: 'Cancel' },
      {
        label: 'Synchronize',
        id: 'synchronize',
        kind: 'primary',
        onClick: async () => {
          const checked = [...list.querySelectorAll('input[data-index]')].filter((cb) => cb.checked).map((cb) => resources[Number(cb.dataset.index)]);
          if (resources.length && !checked.length) throw new Error('Select at least one resource to sync.');
          const request = {
            revision: revision.value.trim() || undefined,
            prune: prune.checked,
            dryRun: dryRun.checked,
            syncOptions: { items: options.filter((o) => o.input.checked).map((o) => o.value) },
          };
          if (checked.length && checked.length < resources.length) {
            request.resources = checked.map((r) => ({ group: r.group || '', kind: r.kind, name: r.name, namespace: r.namespace || '' }));
          }
          const updated = await api.sync(name, request);
          toast(dryRun.checked ? `Dry run of ${name} started.` : `Sync of ${name} started.`, 'success');
          onStarted(updated);
        },
      },
    ],
  });
}
