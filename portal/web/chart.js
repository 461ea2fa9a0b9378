// Usage charts: requests and errors over time from the analytics REST API
// (GET /api/am/devportal/v3/analytics/requests, appliance/pg/ANALYTICS.md),
// drawn as an inline SVG bar chart built element by element (no library, no
// markup strings).  Every bar carries its point's numbers as data-*
// attributes and a <title>; a table of the same points follows for screen
// readers and keyboard users.
'use strict';
import { api, el, field, svg, fmtTime } from './core.js';

const RANGES = [
  { value: '1h', text: 'Last hour', ms: 3600e3 },
  { value: '24h', text: 'Last 24 hours', ms: 86400e3 },
  { value: '7d', text: 'Last 7 days', ms: 7 * 86400e3 },
];

function label(ts, granularity) {
  const d = new Date(ts);
  const p = (n) => String(n).padStart(2, '0');
  if (granularity === 'minute') return p(d.getHours()) + ':' + p(d.getMinutes());
  if (granularity === 'hour') return p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + 'h';
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
}

function n(v, word) { return v + ' ' + word + (v === 1 ? '' : 's'); }

// A round axis maximum at or above v.
function niceMax(v) {
  if (v <= 4) return 4;
  const pow = Math.pow(10, Math.floor(Math.log10(v)));
  for (const f of [1, 2, 4, 6, 8, 10]) if (f * pow >= v) return f * pow;   // halves stay whole
  return 10 * pow;
}

// The SVG of points [{timestamp, requests, errors}] (series of one granularity).
export function barChart(points, granularity, caption) {
  const W = 640, H = 220, L = 44, R = 8, T = 10, B = 30;
  const pw = W - L - R, ph = H - T - B;
  const max = niceMax(Math.max(0, ...points.map((p) => p.requests)));
  const bw = points.length ? pw / points.length : pw;
  const y = (v) => T + ph - (v / max) * ph;
  const total = points.reduce((s, p) => s + p.requests, 0);
  const errs = points.reduce((s, p) => s + p.errors, 0);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg',
    'aria-label': `${caption}: ${total} requests, ${errs} errors in ${points.length} ${granularity}s` });
  for (const f of [0, 0.5, 1]) {
    const v = max * f, yy = y(v);
    root.append(svg('line', { x1: L, x2: W - R, y1: yy, y2: yy, class: 'grid' }),
      svg('text', { x: L - 6, y: yy + 4, class: 'axis', 'text-anchor': 'end', text: String(Math.round(v)) }));
  }
  points.forEach((p, i) => {
    const x = L + i * bw, w = Math.max(1, bw - (bw > 4 ? 1 : 0));
    const g = svg('g', { class: 'pt', 'data-timestamp': p.timestamp, 'data-requests': p.requests,
      'data-errors': p.errors },
    svg('title', { text: `${fmtTime(p.timestamp)}: ${p.requests} requests, ${p.errors} errors` }));
    if (p.requests > 0) {
      const h = Math.max(1, (p.requests / max) * ph);
      g.append(svg('rect', { x, y: T + ph - h, width: w, height: h, class: 'bar' }));
      if (p.errors > 0) {
        const he = Math.max(1, (p.errors / max) * ph);
        g.append(svg('rect', { x, y: T + ph - he, width: w, height: he, class: 'bar-err' }));
      }
    }
    root.append(g);
  });
  root.append(svg('line', { x1: L, x2: W - R, y1: T + ph, y2: T + ph, class: 'baseline' }));
  if (points.length) {
    const idx = [...new Set([0, Math.floor(points.length / 2), points.length - 1])];
    for (const i of idx) {
      const anchor = i === 0 ? 'start' : i === points.length - 1 ? 'end' : 'middle';
      const x = i === points.length - 1 ? L + pw : L + i * bw;
      root.append(svg('text', { x, y: H - 8, class: 'axis', 'text-anchor': anchor,
        text: label(points[i].timestamp, granularity) }));
    }
  }
  return root;
}

// The table of the same points (only the busy ones when there are many).
function dataTable(points) {
  const busy = points.filter((p) => p.requests > 0);
  const rows = busy.map((p) => el('tr', {}, el('td', { text: fmtTime(p.timestamp) }),
    el('td', { text: String(p.requests) }), el('td', { text: String(p.errors) }),
    el('td', { text: String(p.throttled || 0) })));
  return el('details', { class: 'chart-table' }, el('summary', { text: 'Data table' }),
    busy.length ? el('table', {}, el('caption', { text: 'Time periods with traffic' }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'From' }), el('th', { scope: 'col', text: 'Requests' }),
        el('th', { scope: 'col', text: 'Errors' }), el('th', { scope: 'col', text: 'Throttled' }))),
      el('tbody', {}, ...rows)) : el('p', { text: 'No traffic in this period.' }));
}

// A usage panel: a range selector and the chart of requests, filtered by extra (e.g.
// {applicationId}).  The query it used is kept in data-query for anyone who wants to check it.
export function usagePanel(id, caption, extra) {
  const range = el('select', { id: id + '-range' });
  for (const r of RANGES) range.append(el('option', { value: r.value, text: r.text }));
  const body = el('div', { class: 'chart-body', 'aria-live': 'polite' }, el('p', { text: 'Loading usage…' }));
  const box = el('section', { class: 'chart card', id, 'aria-label': caption },
    el('div', { class: 'row' }, field('Period', range),
      el('button', { type: 'button', class: 'secondary', id: id + '-refresh', text: 'Refresh',
        onclick: () => load() })), body);
  async function load() {
    const span = RANGES.find((r) => r.value === range.value) || RANGES[0];
    const to = Math.ceil(Date.now() / 60000) * 60000;
    const q = new URLSearchParams(Object.assign({ from: String(to - span.ms), to: String(to) }, extra || {}));
    box.dataset.query = q.toString();
    box.dataset.state = 'loading';
    try {
      const r = await api('GET', '/analytics/requests?' + q.toString());
      const s = r.summary || { requests: 0, errors: 0, throttled: 0 };
      body.replaceChildren(
        el('p', { class: 'meta chart-summary', text: `${n(s.requests, 'request')} · ${n(s.errors, 'error')} · ` +
          `${s.throttled} throttled · per ${r.granularity}` }),
        barChart(r.list || [], r.granularity, caption),
        el('p', { class: 'legend' }, el('span', { class: 'key key-ok', 'aria-hidden': 'true' }), ' requests ',
          el('span', { class: 'key key-err', 'aria-hidden': 'true' }), ' errors (4xx and 5xx)'),
        dataTable(r.list || []));
      box.dataset.total = String(s.requests);
      box.dataset.state = 'ready';
    } catch (e) {
      body.replaceChildren(el('p', { class: 'error', text: 'Usage could not be loaded: ' + e.message }));
      box.dataset.state = 'error';
    }
  }
  range.addEventListener('change', load);
  load();
  return box;
}
