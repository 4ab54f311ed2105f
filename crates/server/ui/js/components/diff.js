// Side-by-side line diff of two texts (longest common subsequence over lines; manifests are
// short). Unchanged runs longer than a few lines are folded.

import { esc } from '../dom.js';
import { highlightLine } from './yaml.js';

const MAX_CELLS = 4_000_000;

/** Operations turning `a` into `b`: [{op: 'same'|'del'|'add', a?, b?}] with line indexes. */
export function lineDiff(a, b) {
  const n = a.length;
  const m = b.length;
  // Trim the common head and tail first: most edits are small.
  let head = 0;
  while (head < n && head < m && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < n - head && tail < m - head && a[n - 1 - tail] === b[m - 1 - tail]) tail++;
  const ops = [];
  for (let i = 0; i < head; i++) ops.push({ op: 'same', a: i, b: i });
  const an = n - head - tail;
  const bm = m - head - tail;
  if (an * bm > MAX_CELLS) {
    for (let i = 0; i < an; i++) ops.push({ op: 'del', a: head + i });
    for (let j = 0; j < bm; j++) ops.push({ op: 'add', b: head + j });
  } else {
    const w = bm + 1;
    const lcs = new Uint32Array((an + 1) * w);
    for (let i = an - 1; i >= 0; i--) {
      for (let j = bm - 1; j >= 0; j--) {
        lcs[i * w + j] = a[head + i] === b[head + j]
          ? lcs[(i + 1) * w + j + 1] + 1
          : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < an || j < bm) {
      if (i < an && j < bm && a[head + i] === b[head + j]) { ops.push({ op: 'same', a: head + i, b: head + j }); i++; j++; }
      else if (j < bm && (i === an || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) { ops.push({ op: 'add', b: head + j }); j++; }
      else { ops.push({ op: 'del', a: head + i }); i++; }
    }
  }
  for (let k = tail; k > 0; k--) ops.push({ op: 'same', a: n - k, b: m - k });
  return ops;
}

function line(cls, no, text) {
  return `<div class="ln ${cls}"><span class="no">${no ?? ''}</span><span class="tx">${text === null ? '' : highlightLine(text)}</span></div>`;
}

/**
 * Markup of a side-by-side diff; `leftTitle`/`rightTitle` head the columns. Returns
 * {html, changes} where changes counts changed lines.
 */
export function sideBySide(leftText, rightText, leftTitle, rightTitle, context = 4) {
  const a = leftText ? leftText.split('\n') : [];
  const b = rightText ? rightText.split('\n') : [];
  const ops = lineDiff(a, b);
  const left = [`<div class="side-head">${esc(leftTitle)}</div>`];
  const right = [`<div class="side-head">${esc(rightTitle)}</div>`];
  let changes = 0;
  // Pair deletions with following additions on the same row.
  const rows = [];
  for (let k = 0; k < ops.length; k++) {
    const o = ops[k];
    if (o.op === 'same') { rows.push({ l: o.a, r: o.b, same: true }); continue; }
    const dels = [];
    const adds = [];
    while (k < ops.length && ops[k].op !== 'same') {
      if (ops[k].op === 'del') dels.push(ops[k].a); else adds.push(ops[k].b);
      k++;
    }
    k--;
    changes += Math.max(dels.length, adds.length);
    for (let x = 0; x < Math.max(dels.length, adds.length); x++) {
      rows.push({ l: dels[x], r: adds[x], same: false });
    }
  }
  const keep = rows.map(() => false);
  rows.forEach((row, idx) => {
    if (!row.same) for (let d = -context; d <= context; d++) if (rows[idx + d]) keep[idx + d] = true;
  });
  let folded = 0;
  const flush = () => {
    if (!folded) return;
    const msg = `… ${folded} unchanged line${folded === 1 ? '' : 's'}`;
    left.push(`<div class="ln gap"><span class="no"></span><span class="tx faint">${msg}</span></div>`);
    right.push(`<div class="ln gap"><span class="no"></span><span class="tx faint">${msg}</span></div>`);
    folded = 0;
  };
  rows.forEach((row, idx) => {
    if (row.same && !keep[idx] && changes > 0) { folded++; return; }
    flush();
    const lt = row.l === undefined ? null : a[row.l];
    const rt = row.r === undefined ? null : b[row.r];
    left.push(line(row.same ? '' : (lt === null ? 'gap' : 'del'), row.l === undefined ? '' : row.l + 1, lt));
    right.push(line(row.same ? '' : (rt === null ? 'gap' : 'add'), row.r === undefined ? '' : row.r + 1, rt));
  });
  flush();
  const html = `<div class="diff" data-changes="${changes}"><div class="left">${left.join('')}</div><div class="right">${right.join('')}</div></div>`;
  return { html, changes };
}
