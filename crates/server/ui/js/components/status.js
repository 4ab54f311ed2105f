// Sync and health status: tone (colour class), icon and words. Every status shows an icon and
// a word, so it reads without colour too.

import { esc } from '../dom.js';
import { icons } from './icons.js';

export const SYNC = {
  Synced: { tone: 'ok', icon: icons.check, label: 'Synced', hint: 'The cluster matches Git.' },
  OutOfSync: { tone: 'warn', icon: icons.outOfSync, label: 'Out of sync', hint: 'The cluster differs from Git.' },
  Unknown: { tone: 'unknown', icon: icons.question, label: 'Unknown', hint: 'Not compared yet, or comparing failed.' },
};

export const HEALTH = {
  Healthy: { tone: 'ok', icon: icons.heart, label: 'Healthy', hint: 'Running as expected.' },
  Progressing: { tone: 'info', icon: icons.progress, label: 'Progressing', hint: 'Starting or updating.' },
  Degraded: { tone: 'bad', icon: icons.broken, label: 'Degraded', hint: 'Failing: something needs attention.' },
  Suspended: { tone: 'pause', icon: icons.pause, label: 'Suspended', hint: 'Paused on purpose.' },
  Missing: { tone: 'warn', icon: icons.ghost, label: 'Missing', hint: 'Declared in Git but absent from the cluster.' },
  Unknown: { tone: 'unknown', icon: icons.question, label: 'Unknown', hint: 'Health not known.' },
};

export const OPERATION = {
  Running: { tone: 'info', icon: icons.progress, label: 'Syncing' },
  Terminating: { tone: 'info', icon: icons.progress, label: 'Stopping' },
  Succeeded: { tone: 'ok', icon: icons.check, label: 'Sync succeeded' },
  Failed: { tone: 'bad', icon: icons.cross, label: 'Sync failed' },
  Error: { tone: 'bad', icon: icons.cross, label: 'Sync error' },
};

export const syncOf = (app) => app?.status?.sync?.status || 'Unknown';
export const healthOf = (app) => app?.status?.health?.status || 'Unknown';

function info(table, status) {
  return table[status] || { ...table.Unknown, label: status || 'Unknown' };
}

/** Badge markup: icon and words in the status colour. */
export function badgeHtml(table, status, extra = '') {
  const s = info(table, status);
  return `<span class="badge ${s.tone}" title="${esc(s.hint || '')}" data-status="${esc(status || 'Unknown')}">${s.icon()}${esc(s.label)}${extra ? ` ${esc(extra)}` : ''}</span>`;
}

/** Icon-only markup with the words as tooltip and accessible label (tree nodes). */
export function iconHtml(table, status) {
  const s = info(table, status);
  return `<span class="icon-only ${s.tone}" title="${esc(s.label)}" aria-label="${esc(s.label)}" data-status="${esc(status || 'Unknown')}">${s.icon()}</span>`;
}

export const syncBadge = (status) => badgeHtml(SYNC, status);
export const healthBadge = (status) => badgeHtml(HEALTH, status);
export const toneOf = (table, status) => info(table, status).tone;
export const labelOf = (table, status) => info(table, status).label;
