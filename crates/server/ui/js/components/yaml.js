// JSON → YAML text for display (block style, keys in their original order), and a
// highlighter that marks keys, strings, numbers and masked secret values.

import { esc } from '../dom.js';

const PLAIN = /^[A-Za-z_/.][A-Za-z0-9_ ./:@-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

function scalar(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const s = String(value);
  if (s === '') return "''";
  if (PLAIN.test(s) && !RESERVED.test(s) && !/^\s|\s$|: | #/.test(s)) return s;
  return JSON.stringify(s);
}

function key(k) {
  return PLAIN.test(k) && !RESERVED.test(k) && !k.includes(' ') ? k : JSON.stringify(k);
}

function emit(value, indent, out) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (!value.length) { out.push(`${pad}[]`); return; }
    for (const item of value) {
      if (item && typeof item === 'object' && Object.keys(item).length) {
        const lines = [];
        emit(item, indent + 2, lines);
        lines[0] = `${pad}- ${lines[0].slice(indent + 2)}`;
        out.push(...lines);
      } else {
        out.push(`${pad}- ${inline(item)}`);
      }
    }
    return;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (!entries.length) { out.push(`${pad}{}`); return; }
    for (const [k, v] of entries) {
      if (v && typeof v === 'object' && (Array.isArray(v) ? v.length : Object.keys(v).length)) {
        out.push(`${pad}${key(k)}:`);
        emit(v, Array.isArray(v) ? indent : indent + 2, out);
      } else if (typeof v === 'string' && v.includes('\n')) {
        out.push(`${pad}${key(k)}: |`);
        for (const line of v.replace(/\n$/, '').split('\n')) out.push(`${pad}  ${line}`);
      } else {
        out.push(`${pad}${key(k)}: ${inline(v)}`);
      }
    }
    return;
  }
  out.push(pad + scalar(value));
}

function inline(v) {
  if (Array.isArray(v)) return '[]';
  if (v && typeof v === 'object') return '{}';
  return scalar(v);
}

/** YAML text of a JSON value; `managedFields` are left out (noise for people). */
export function toYaml(value) {
  if (value === null || value === undefined) return '';
  let v = value;
  if (v.metadata && v.metadata.managedFields) {
    v = { ...v, metadata: { ...v.metadata } };
    delete v.metadata.managedFields;
  }
  const out = [];
  emit(v, 0, out);
  return out.join('\n');
}

/** One YAML line as highlighted markup. */
export function highlightLine(line) {
  const m = /^(\s*(?:- )?)([^:]+?)(:)(\s.*)?$/.exec(line);
  if (m && !m[2].startsWith('"') && !m[2].includes(' ')) {
    return `${esc(m[1])}<span class="yaml-key">${esc(m[2])}</span>:${m[4] ? valueHtml(m[4]) : ''}`;
  }
  const li = /^(\s*- )(.*)$/.exec(line);
  if (li) return esc(li[1]) + valueHtml(li[2]);
  return esc(line);
}

function valueHtml(v) {
  const t = v.trim();
  const lead = esc(v.slice(0, v.length - v.trimStart().length));
  if (t === '++++++++' || t === '"++++++++"') return `${lead}<span class="masked" title="Secret value hidden">${esc(t)}</span>`;
  if (/^-?\d+(\.\d+)?$/.test(t) || /^(true|false|null)$/.test(t)) return `${lead}<span class="yaml-num">${esc(t)}</span>`;
  if (t === '|' || t === '[]' || t === '{}') return lead + esc(t);
  return `${lead}<span class="yaml-str">${esc(t)}</span>`;
}

/** A whole YAML document as highlighted markup. */
export function highlight(text) {
  return text.split('\n').map(highlightLine).join('\n');
}
