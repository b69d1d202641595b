// DOM helpers: every text goes through text nodes, never innerHTML, so an
// entity's values cannot become markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const WORDS = { id: 'ID', url: 'URL', urls: 'URLs', sni: 'SNI', snis: 'SNIs', ca: 'CA', tls: 'TLS', http: 'HTTP',
  https: 'HTTPS', ssl: 'SSL', ip: 'IP', ttl: 'TTL', api: 'API', rbac: 'RBAC', ws: 'WS', uri: 'URI' };

// label turns a field name into Kong Manager's label: custom_id → Custom ID.
export function label(name) {
  return String(name).split(/[_.-]/).filter(Boolean)
    .map((w) => WORDS[w] || w[0].toUpperCase() + w.slice(1)).join(' ');
}

// show renders a value for a table cell or a property.
export function show(v) {
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted' }, '–');
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== 'object')) return h('span', {}, v.map((x) => h('span', { class: 'tag' }, String(x))));
    return JSON.stringify(v);
  }
  if (typeof v === 'object') return v.id && Object.keys(v).length === 1 ? v.id : JSON.stringify(v);
  return String(v);
}

export function time(ts) {
  return ts ? new Date(ts * 1000).toISOString().replace('T', ' ').slice(0, 19) : '';
}

let live;
// announce tells screen readers (and tests) what just happened.
export function announce(msg) {
  if (!live) {
    live = h('div', { 'aria-live': 'polite', class: 'sr-only', id: 'live' });
    document.body.append(live);
  }
  live.textContent = msg;
}

// confirmDialog asks in a modal <dialog>; resolves true on confirm.
export function confirmDialog(title, text, action = 'Delete') {
  return new Promise((resolve) => {
    const d = h('dialog', { 'aria-labelledby': 'dlg-title' },
      h('h2', { id: 'dlg-title' }, title), h('p', {}, text),
      h('div', { class: 'toolbar' },
        h('button', { type: 'button', class: 'danger primary', onclick: () => { d.close(); resolve(true); } }, action),
        h('button', { type: 'button', onclick: () => { d.close(); resolve(false); } }, 'Cancel')));
    d.addEventListener('close', () => { d.remove(); resolve(false); });
    document.body.append(d);
    d.showModal();
  });
}

// explain turns a failed request into words for the page; a 403 says the
// admin's roles refuse it.
export function explain(e) {
  const msg = (e && e.body && e.body.message) || (e && e.message) || String(e);
  if (e && e.status === 403) return `Your roles do not allow this. The Admin API answered: ${msg}`;
  return msg;
}

// notify shows a message at the top of the page's main region.
export function notify(msg, kind = 'error') {
  const main = document.getElementById('main');
  if (!main) return;
  let box = document.getElementById('page-notice');
  if (!box) {
    box = h('div', { id: 'page-notice', tabindex: '-1' });
    main.prepend(box);
  }
  box.className = kind === 'error' ? 'form-error' : 'notice';
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.textContent = msg;
  box.focus();
  announce(msg);
}

// onLeave registers what to stop when the page is left (a poll); the
// router calls leave() before every page it renders.
const leaving = new Set();
export function onLeave(f) { leaving.add(f); }
export function leave() {
  for (const f of leaving) f();
  leaving.clear();
}
