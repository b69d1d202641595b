// Overview: the node (version, id, status counters from GET / and
// /status), the workspace's entity counts, and a live chart of requests
// and event-hook delivery attempts, polled from /status and /metrics and
// drawn as SVG by hand.
import { api } from './api.js';
import { h, label } from './ui.js';
import { ENTITIES } from './meta.js';

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

let timer = null;
export function stopOverview() { if (timer) { clearInterval(timer); timer = null; } }

const POLL_MS = 2000;
const POINTS = 30;

// metricSum adds up a Prometheus text metric's samples.
function metricSum(text, name) {
  let sum = 0, found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) {
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (!Number.isNaN(v)) { sum += v; found = true; }
    }
  }
  return found ? sum : 0;
}

async function metricsText() {
  try { return await api.text('/metrics'); } catch { return ''; }
}

async function sample() {
  const [status, metrics] = await Promise.all([api.get('/status'), metricsText()]);
  return {
    status,
    requests: (status.server && status.server.total_requests) || 0,
    deliveries: metricSum(metrics, 'portico_event_hooks_attempts_total'),
  };
}

function chart(series) {
  const W = 600, H = 160, P = 28;
  const max = Math.max(1, ...series.flatMap((x) => x.values));
  const x = (i) => P + (i * (W - 2 * P)) / (POINTS - 1);
  const y = (v) => H - P - (v * (H - 2 * P)) / max;
  const grid = [0, 0.5, 1].map((f) => [
    s('line', { x1: P, x2: W - P, y1: y(max * f), y2: y(max * f), class: 'grid' }),
    s('text', { x: 2, y: y(max * f) + 4, class: 'axis' }, String(Math.round(max * f))),
  ]).flat();
  const lines = series.map((ser) => {
    const start = POINTS - ser.values.length;
    const pts = ser.values.map((v, i) => `${x(start + i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    return s('polyline', { points: pts || `${P},${y(0)}`, class: `line ${ser.cls}`, fill: 'none' });
  });
  const last = series.map((ser) => `${ser.name} ${ser.values.length ? ser.values[ser.values.length - 1] : 0}`).join(', ');
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Per ${POLL_MS / 1000} seconds, latest: ${last}`, class: 'chart' },
    s('title', {}, 'Requests and delivery attempts'), ...grid, ...lines);
}

export async function overviewPage(ctx) {
  const ws = ctx.ws;
  const [info, meta, first] = await Promise.all([
    api.get('/').catch(() => ({})),
    api.get(`/workspaces/${encodeURIComponent(ws)}/meta`).catch(() => ({ counts: {} })),
    sample().catch(() => null),
  ]);
  const counts = meta.counts || {};
  const status = first ? first.status : {};
  const statusList = h('dl', { class: 'props', id: 'status-counters' });
  const fillStatus = (st) => {
    const sv = st.server || {};
    statusList.replaceChildren(
      h('dt', {}, 'Database'), h('dd', {}, st.database && st.database.reachable ? 'reachable' : 'unreachable'),
      ...['total_requests', 'connections_active', 'connections_accepted', 'connections_handled', 'connections_reading',
        'connections_writing', 'connections_waiting'].flatMap((k) => [h('dt', {}, label(k)), h('dd', {}, String(sv[k] ?? 0))]));
  };
  fillStatus(status);

  const req = [], del = [];
  let prev = first;
  const box = h('div', { class: 'chart-box' }, chart([{ name: 'requests', cls: 'req', values: req }, { name: 'delivery attempts', cls: 'del', values: del }]));
  const tick = async () => {
    let cur;
    try { cur = await sample(); } catch { return; }
    if (prev) {
      req.push(Math.max(0, cur.requests - prev.requests));
      del.push(Math.max(0, cur.deliveries - prev.deliveries));
      if (req.length > POINTS) { req.shift(); del.shift(); }
    }
    prev = cur;
    fillStatus(cur.status);
    box.replaceChildren(chart([{ name: 'requests', cls: 'req', values: req }, { name: 'delivery attempts', cls: 'del', values: del }]));
  };
  stopOverview();
  timer = setInterval(() => { if (!document.getElementById('status-counters')) { stopOverview(); return; } tick(); }, POLL_MS);

  return [
    h('h1', {}, `Workspace ${ws}`),
    h('section', { 'aria-labelledby': 'node-h' }, h('h2', { id: 'node-h' }, 'Node'),
      h('dl', { class: 'props' },
        h('dt', {}, 'Version'), h('dd', { id: 'node-version' }, `${info.version || '–'}${info.portico_version ? ` (Portico ${info.portico_version})` : ''}`),
        h('dt', {}, 'Node ID'), h('dd', {}, info.node_id || '–'),
        h('dt', {}, 'Hostname'), h('dd', {}, info.hostname || '–'),
        h('dt', {}, 'Edition'), h('dd', {}, info.edition || '–'))),
    h('section', { 'aria-labelledby': 'traffic-h' }, h('h2', { id: 'traffic-h' }, 'Traffic'),
      h('p', { class: 'legend' }, h('span', { class: 'key req' }), ' Requests ', h('span', { class: 'key del' }), ' Event-hook delivery attempts',
        ` (per ${POLL_MS / 1000} s, live)`),
      box),
    h('section', { 'aria-labelledby': 'status-h' }, h('h2', { id: 'status-h' }, 'Status'), statusList),
    h('section', { 'aria-labelledby': 'entities-h' }, h('h2', { id: 'entities-h' }, 'Entities'),
      h('div', { class: 'cards' }, [...Object.entries(ENTITIES), ['plugins', { title: 'Plugins' }]].map(([name, m]) =>
        h('a', { class: 'card', href: `#/${encodeURIComponent(ws)}/${name}` }, h('div', { class: 'n' }, String(counts[name] || 0)), m.title)))),
  ];
}
