// Event Hooks: the list, a form whose config part comes from the handler's
// schema (/schemas/event_hooks/{handler}), and a hook's page with ping and
// test showing the receiver's answer.
import { api, ApiError } from './api.js';
import { h, show, time, announce, confirmDialog, label, explain, notify } from './ui.js';
import { needs } from './perm.js';
import { schemaForm } from './form.js';
import { submit, schemaOf } from './entities.js';

const HANDLERS = ['webhook', 'webhook-custom', 'log', 'lambda'];

export async function hooksPage(ctx) {
  const page = await api.get('/event-hooks?size=1000');
  const rows = page.data || [];
  return [
    h('div', { class: 'toolbar' }, h('h1', { class: 'grow' }, 'Event Hooks'),
      h('a', { class: 'button primary', href: '#/event-hooks/new', ...needs('create', '/event-hooks') }, 'New Event Hook')),
    h('table', {}, h('caption', {}, 'Event hooks'),
      h('thead', {}, h('tr', {}, ['Source', 'Event', 'Handler', 'URL', 'Created', ''].map((c) =>
        h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', {},
        h('td', {}, h('a', { href: `#/event-hooks/${r.id}` }, r.source)), h('td', {}, show(r.event)), h('td', {}, r.handler),
        h('td', {}, show(r.config && r.config.url)), h('td', {}, time(r.created_at)),
        h('td', { class: 'actions' }, h('button', { type: 'button', class: 'danger', 'aria-label': `Delete event hook ${r.id}`,
          ...needs('delete', '/event-hooks/*'),
          onclick: async () => {
            if (!await confirmDialog('Delete event hook', `Delete the ${r.source} ${r.event || ''} hook?`)) return;
            try { await api.del(`/event-hooks/${r.id}`); announce('Event hook deleted'); ctx.rerender(); } catch (e) { notify(explain(e)); }
          } }, 'Delete'))))
        : h('tr', {}, h('td', { colspan: 6 }, 'No event hooks found')))),
  ];
}

export async function hookFormPage() {
  const [schema, sources] = await Promise.all([schemaOf('event_hooks'), api.get('/event-hooks/sources')]);
  const data = sources.data || {};
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const base = schemaForm({ fields: schema.fields.filter((f) => !['source', 'event', 'handler', 'config'].includes(Object.keys(f)[0])) });
  const source = h('select', { id: 'hook-source', name: 'source', 'aria-describedby': 'hook-source-error' },
    h('option', { value: '' }, 'Select…'), Object.keys(data).sort().map((s) => h('option', { value: s }, s)));
  const event = h('select', { id: 'hook-event', name: 'event', 'aria-describedby': 'hook-event-error' }, h('option', { value: '' }, '(every event)'));
  const handler = h('select', { id: 'hook-handler', name: 'handler', 'aria-describedby': 'hook-handler-error' },
    h('option', { value: '' }, 'Select…'), HANDLERS.map((x) => h('option', { value: x }, x)));
  const errs = { source: h('div', { class: 'error', id: 'hook-source-error' }), event: h('div', { class: 'error', id: 'hook-event-error' }),
    handler: h('div', { class: 'error', id: 'hook-handler-error' }) };
  const inputs = { source, event, handler };
  source.addEventListener('change', () => {
    event.replaceChildren(h('option', { value: '' }, '(every event)'),
      ...Object.keys(data[source.value] || {}).sort().map((e) => h('option', { value: e }, e)));
  });
  const configBox = h('fieldset', {}, h('legend', {}, 'Handler configuration'), h('p', { class: 'hint' }, 'Select a handler first.'));
  let config = null;
  handler.addEventListener('change', async () => {
    config = null;
    if (!handler.value) { configBox.replaceChildren(h('legend', {}, 'Handler configuration')); return; }
    const sub = await api.get(`/schemas/event_hooks/${encodeURIComponent(handler.value)}`);
    const cfg = (sub.fields || []).map((f) => Object.entries(f)[0]).find(([n]) => n === 'config');
    config = schemaForm(cfg ? cfg[1] : { fields: [] }, { path: ['config'] });
    configBox.replaceChildren(h('legend', {}, `Handler configuration (${handler.value})`), config.element);
  });
  // One reader over the fixed selects, the other fields and the config.
  const form = {
    read() {
      const out = base.read({ source: source.value || undefined, event: event.value || undefined, handler: handler.value || undefined });
      for (const k of Object.keys(out.body)) if (out.body[k] === undefined) delete out.body[k];
      if (config) { const c = config.read(out.body); Object.assign(out.errors, c.errors); } else out.body.config = {};
      return out;
    },
    showErrors(fields = {}, flat = {}) {
      const rest = base.showErrors(fields, flat).filter((m) => !/^(source|event|handler|config):/.test(m));
      for (const k of Object.keys(inputs)) {
        const m = fields[k] ?? flat[k];
        errs[k].textContent = m ? String(m) : '';
        if (m) inputs[k].setAttribute('aria-invalid', 'true'); else inputs[k].removeAttribute('aria-invalid');
      }
      if (config) rest.push(...config.showErrors(fields, flat).filter((m) => !/^(source|event|handler|on_change|snooze):/.test(m)));
      else if (fields.config) rest.push(`config: ${JSON.stringify(fields.config)}`);
      return rest;
    },
    focusFirstError() {
      const el = [source, event, handler].find((x) => x.getAttribute('aria-invalid') === 'true');
      if (el) { el.focus(); return true; }
      return base.focusFirstError() || (config ? config.focusFirstError() : false);
    },
  };
  const el = h('form', {
    class: 'entity', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const saved = await submit(form, formError, (body) => api.post('/event-hooks', body));
      if (saved) { announce('Event hook created'); location.hash = `#/event-hooks/${saved.id}`; }
    },
  }, formError,
  [['source', source, 'Source'], ['event', event, 'Event'], ['handler', handler, 'Handler']].map(([n, input, title]) =>
    h('div', { class: 'field' }, h('label', { for: input.id }, title), input, errs[n])),
  base.element, configBox,
  h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Create'),
    h('a', { class: 'button', href: '#/event-hooks' }, 'Cancel')));
  return [h('h1', {}, 'New Event Hook'), el];
}

const STATUSES = ['', 'pending', 'delivered', 'failed'];

function ts(t) { return t ? new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 23) : ''; }

// deliveriesSection lists a hook's delivery records (newest attempts with
// their answer or error), with Retry for one and Redrive for every failed
// (or, filtered, every shown status) delivery.
async function deliveriesSection(ctx, id) {
  const status = ctx.query.get('status') || '';
  const q = new URLSearchParams({ size: '100' });
  if (status) q.set('status', status);
  let rows = [], error = null;
  try { rows = (await api.get(`/event-hooks/${encodeURIComponent(id)}/deliveries?${q}`)).data || []; } catch (e) { error = explain(e); }
  const filter = h('select', { id: 'delivery-status', onchange: () => {
    location.hash = `#/event-hooks/${encodeURIComponent(id)}${filter.value ? '?status=' + filter.value : ''}`;
  } }, STATUSES.map((x) => h('option', { value: x, selected: x === status }, x || 'all')));
  const redriveStatus = status || 'failed';
  const attempts = (d) => h('ol', { class: 'attempts' }, (d.attempts || []).map((a) => h('li', {},
    `${ts(a.at)}: ${a.status_code ? `HTTP ${a.status_code}` : 'no answer'}${a.duration_ms !== undefined ? `, ${a.duration_ms} ms` : ''}`,
    a.error ? h('div', { class: 'error' }, a.error) : null)));
  return h('section', { 'aria-labelledby': 'deliveries-h' },
    h('div', { class: 'toolbar' }, h('h2', { class: 'grow', id: 'deliveries-h' }, 'Deliveries'),
      h('div', { class: 'field' }, h('label', { for: 'delivery-status' }, 'Status'), filter),
      h('div', { class: 'field' }, h('button', { type: 'button', ...needs('create', '/event-hooks/*/deliveries/retry'), onclick: async () => {
        if (!await confirmDialog('Redrive deliveries', `Run every ${redriveStatus} delivery of this hook again?`, 'Redrive')) return;
        try {
          const r = await api.post(`/event-hooks/${encodeURIComponent(id)}/deliveries/retry?status=${redriveStatus}`);
          await ctx.rerender();
          notify(`Redrive: ${r.retried} ${redriveStatus} deliveries queued again`, 'ok');
        } catch (e) { notify(explain(e)); }
      } }, `Redrive ${redriveStatus}`))),
    h('div', { class: 'scroll', role: 'region', 'aria-label': 'Delivery records', tabindex: '0' }, h('table', {},
      h('caption', {}, `Delivery records${status ? ` (${status})` : ''}, oldest first`),
      h('thead', {}, h('tr', {}, ['Created', 'Event', 'Status', 'Attempts', 'Next attempt', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
      h('tbody', {}, rows.length ? rows.map((d) => h('tr', { 'data-delivery': d.id },
        h('td', {}, ts(d.created_at)), h('td', {}, [d.source, d.event, d.data && d.data.operation].filter(Boolean).join(' ')),
        h('td', {}, h('span', { class: `status ${d.status}` }, d.status)), h('td', {}, attempts(d)),
        h('td', {}, d.status === 'pending' ? ts(d.next_attempt_at) : ''),
        h('td', { class: 'actions' }, h('button', { type: 'button', 'aria-label': `Retry delivery ${d.id}`, ...needs('create', '/event-hooks/*/deliveries/*/retry'),
          onclick: async () => {
            try {
              await api.post(`/event-hooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(d.id)}/retry`);
              announce('Delivery queued again');
              ctx.rerender();
            } catch (e) { notify(explain(e)); }
          } }, 'Retry'))))
        : h('tr', {}, h('td', { colspan: 6 }, error ? `Error: ${error}` : 'No deliveries'))))));
}

export async function hookPage(ctx, id) {
  const hook = await api.get(`/event-hooks/${encodeURIComponent(id)}`);
  const deliveries = await deliveriesSection(ctx, id);
  const out = h('div', { 'aria-live': 'polite', id: 'hook-result' });
  const result = (title, value) => out.replaceChildren(h('h2', {}, title), h('pre', { tabindex: '0' }, JSON.stringify(value, null, 2)));
  const failure = (e) => result('Error', e instanceof ApiError ? e.body : { message: e.message });
  const eventData = h('textarea', { id: 'test-data', spellcheck: 'false' },
    JSON.stringify({ operation: 'create', entity: { username: 'test-user' } }, null, 2));
  return [
    h('h1', {}, `Event Hook: ${hook.source}${hook.event ? ' ' + hook.event : ''}`),
    h('dl', { class: 'props' }, ['id', 'source', 'event', 'handler', 'on_change', 'snooze', 'config', 'created_at'].map((n) =>
      [h('dt', {}, label(n)), h('dd', {}, n.endsWith('_at') ? time(hook[n]) : show(hook[n]))])),
    h('div', { class: 'toolbar' },
      h('button', { type: 'button', onclick: async () => {
        try { await api.get(`/event-hooks/${encodeURIComponent(id)}/ping`); result('Ping sent', { status: 'delivered' }); announce('Ping sent'); } catch (e) { failure(e); }
      } }, 'Ping')),
    h('form', { class: 'panel', ...needs('create', '/event-hooks/*/test'), onsubmit: async (ev) => {
      ev.preventDefault();
      let body;
      try { body = JSON.parse(eventData.value); } catch { result('Error', { message: 'Event data must be valid JSON' }); return; }
      try { result("Receiver's answer", await api.post(`/event-hooks/${encodeURIComponent(id)}/test`, body)); announce('Test delivered'); } catch (e) { failure(e); }
    } },
    h('div', { class: 'field' }, h('label', { for: 'test-data' }, 'Event data'), eventData),
    h('button', { type: 'submit', class: 'primary' }, 'Test')),
    out,
    deliveries,
    h('p', {}, h('a', { href: '#/event-hooks' }, 'Back to Event Hooks')),
  ];
}
