// Inline SVG icons (hand-drawn, 16×16 grid, currentColor), returned as markup strings.

const svg = (body, cls = '') =>
  `<svg viewBox="0 0 16 16" aria-hidden="true" class="${cls}" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round">${body}</svg>`;

export const icons = {
  check: () => svg('<circle cx="8" cy="8" r="6.5"/><path d="M5 8.2l2 2 4-4.4"/>'),
  outOfSync: () => svg('<circle cx="8" cy="8" r="6.5"/><path d="M8 11.5V5M5.3 7.6L8 4.9l2.7 2.7"/>'),
  question: () => svg('<circle cx="8" cy="8" r="6.5"/><path d="M6.2 6.2a1.9 1.9 0 1 1 2.6 1.7c-.5.2-.8.6-.8 1.1v.4"/><circle cx="8" cy="11.6" r=".4" fill="currentColor"/>'),
  heart: () => svg('<path d="M8 13.6S2 10 2 6.1A3 3 0 0 1 8 4.7a3 3 0 0 1 6 1.4C14 10 8 13.6 8 13.6z" fill="currentColor" fill-opacity=".18"/>'),
  broken: () => svg('<path d="M8 13.6S2 10 2 6.1A3 3 0 0 1 8 4.7a3 3 0 0 1 6 1.4C14 10 8 13.6 8 13.6z"/><path d="M8 4.7L6.8 7.5l2.2 1.2-1 2.6"/>'),
  progress: () => svg('<path d="M8 1.5A6.5 6.5 0 1 1 1.5 8" />', 'spin'),
  pause: () => svg('<circle cx="8" cy="8" r="6.5"/><path d="M6.4 5.5v5M9.6 5.5v5"/>'),
  ghost: () => svg('<path d="M3.5 14V7a4.5 4.5 0 0 1 9 0v7l-1.5-1.2L9.5 14 8 12.8 6.5 14 5 12.8z"/><circle cx="6.3" cy="7" r=".5" fill="currentColor"/><circle cx="9.7" cy="7" r=".5" fill="currentColor"/>'),
  cross: () => svg('<circle cx="8" cy="8" r="6.5"/><path d="M5.7 5.7l4.6 4.6M10.3 5.7l-4.6 4.6"/>'),
  warning: () => svg('<path d="M8 2l6.3 11H1.7z"/><path d="M8 6.5v3"/><circle cx="8" cy="11.4" r=".4" fill="currentColor"/>'),
  sync: () => svg('<path d="M13 5.5A5.5 5.5 0 0 0 3.2 5M3 10.5A5.5 5.5 0 0 0 12.8 11"/><path d="M3 2.5V5h2.5M13 13.5V11h-2.5"/>'),
  refresh: () => svg('<path d="M13.5 8A5.5 5.5 0 1 1 11.9 4.1"/><path d="M12.5 1.5v3h-3"/>'),
  history: () => svg('<path d="M2.5 8a5.5 5.5 0 1 0 1.6-3.9"/><path d="M2 2.5V5h2.5M8 5v3.2l2 1.3"/>'),
  trash: () => svg('<path d="M2.5 4h11M6 4V2.5h4V4M4 4l.7 9.5h6.6L12 4"/>'),
  rollback: () => svg('<path d="M5 3L2 6l3 3"/><path d="M2 6h7.5a4 4 0 0 1 0 8H6"/>'),
  logout: () => svg('<path d="M6 2.5H3v11h3M10.5 5l3 3-3 3M13.5 8H6"/>'),
  user: () => svg('<circle cx="8" cy="5.5" r="3"/><path d="M2.5 14a5.5 5.5 0 0 1 11 0"/>'),
  key: () => svg('<circle cx="5" cy="11" r="3"/><path d="M7.2 8.8L13.5 2.5M11 5l2 2"/>'),
  stop: () => svg('<circle cx="8" cy="8" r="6.5"/><rect x="5.5" y="5.5" width="5" height="5" rx=".5"/>'),
  logo: () => '<svg viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="7" fill="#d9480f"/><path d="M9 23V9h13M9 16h9" stroke="#fff" stroke-width="3.4" fill="none" stroke-linecap="round" stroke-linejoin="round"/><circle cx="23" cy="22" r="3" fill="#fff"/></svg>',
};
