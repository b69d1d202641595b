// Plugins: the list (global, and each service's, route's and consumer's),
// the plugin picker, and one form for every plugin, Lua plugins included,
// generated from /schemas/plugins/{name}: no plugin has page code of its own.
import { api, wsPath } from './api.js';
import { h, label, show, time, announce, confirmDialog, explain, notify } from './ui.js';
import { schemaForm } from './form.js';
import { submit, schemaOf } from './entities.js';
import { needs } from './perm.js';

const SCOPES = [['service', 'services', 'Gateway Service'], ['route', 'routes', 'Route'], ['consumer', 'consumers', 'Consumer']];

function scopeOf(p) {
  const s = SCOPES.find(([f]) => p[f] && p[f].id);
  return s ? { field: s[0], collection: s[1], title: s[2], id: p[s[0]].id } : null;
}

function pluginRows(ctx, rows, names, caption) {
  const ws = encodeURIComponent(ctx.ws);
  const scopeText = (p) => {
    const s = scopeOf(p);
    if (!s) return 'Global';
    return h('a', { href: `#/${ws}/${s.collection}/${encodeURIComponent(s.id)}` }, `${s.title} ${names[s.id] || s.id}`);
  };
  return h('div', { class: 'scroll', role: 'region', 'aria-label': caption, tabindex: '0' }, h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ['Name', 'Scope', 'Enabled', 'Protocols', 'Created'].map((c) => h('th', { scope: 'col' }, c)),
      h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
    h('tbody', {}, rows.length ? rows.map((p) => {
      const title = p.instance_name || p.name;
      const toggle = h('input', {
        type: 'checkbox', role: 'switch', checked: p.enabled !== false, 'aria-label': `Enabled: ${title}`,
        ...needs('update', '/plugins/*'),
        onchange: async () => {
          toggle.disabled = true;
          try {
            await api.patch(wsPath(ctx.ws, `/plugins/${encodeURIComponent(p.id)}`), { enabled: toggle.checked });
            announce(`Plugin ${title} ${toggle.checked ? 'enabled' : 'disabled'}`);
          } catch (e) { toggle.checked = !toggle.checked; notify(`The plugin was not changed. ${explain(e)}`); }
          toggle.disabled = false;
        },
      });
      return h('tr', {},
        h('td', {}, h('a', { href: `#/${ws}/plugins/${encodeURIComponent(p.id)}` }, title),
          p.instance_name ? h('div', { class: 'hint' }, p.name) : null),
        h('td', {}, scopeText(p)),
        h('td', {}, toggle, h('span', { class: 'state', 'aria-hidden': 'true' }, p.enabled !== false ? ' on' : ' off')),
        h('td', {}, show(p.protocols)), h('td', {}, time(p.created_at)),
        h('td', { class: 'actions' },
          h('a', { class: 'button', href: `#/${ws}/plugins/${encodeURIComponent(p.id)}`, 'aria-label': `Edit ${title}`, ...needs('update', '/plugins/*') }, 'Edit'),
          h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${title}`, ...needs('delete', '/plugins/*'),
            onclick: async () => {
              if (!await confirmDialog('Delete plugin', `Delete the ${title} plugin? This cannot be undone.`)) return;
              try {
                await api.del(wsPath(ctx.ws, `/plugins/${encodeURIComponent(p.id)}`));
                announce(`Plugin ${title} deleted`);
                ctx.rerender();
              } catch (e) { notify(`Delete failed. ${explain(e)}`); }
            } }, 'Delete')));
    }) : h('tr', {}, h('td', { colspan: 6 }, 'No plugins found')))));
}

// scopeNames maps the ids of the services, routes and consumers the
// plugins name to their names.
async function scopeNames(ctx, rows) {
  const names = {};
  await Promise.all(SCOPES.map(async ([field, coll]) => {
    if (!rows.some((p) => p[field])) return;
    const page = await api.get(wsPath(ctx.ws, `/${coll}?size=1000`)).catch(() => ({ data: [] }));
    for (const r of page.data || []) names[r.id] = r.name || r.username || r.id;
  }));
  return names;
}

export async function pluginsPage(ctx) {
  const page = await api.get(wsPath(ctx.ws, '/plugins?size=1000'));
  const rows = page.data || [];
  return [
    h('div', { class: 'toolbar' }, h('h1', { class: 'grow' }, 'Plugins'),
      h('a', { class: 'button primary', href: `#/${encodeURIComponent(ctx.ws)}/plugins/new`, ...needs('create', '/plugins') }, 'New Plugin')),
    pluginRows(ctx, rows, await scopeNames(ctx, rows), `Plugins in workspace ${ctx.ws}`),
  ];
}

// pluginsSection is the Plugins part of a service's, route's or consumer's
// page.
export async function pluginsSection(ctx, collection, row) {
  const field = SCOPES.find((s) => s[1] === collection)[0];
  const page = await api.get(wsPath(ctx.ws, `/${collection}/${encodeURIComponent(row.id)}/plugins?size=1000`)).catch(() => ({ data: [] }));
  const rows = (page.data || []).filter((p) => p[field] && p[field].id === row.id);
  return h('section', { 'aria-labelledby': 'plugins-h' },
    h('div', { class: 'toolbar' }, h('h2', { class: 'grow', id: 'plugins-h' }, 'Plugins'),
      h('a', { class: 'button primary', href: `#/${encodeURIComponent(ctx.ws)}/plugins/new?${field}=${encodeURIComponent(row.id)}`, ...needs('create', '/plugins') }, 'Add Plugin')),
    pluginRows(ctx, rows, { [row.id]: row.name || row.username || row.id }, `Plugins of this ${label(field).toLowerCase()}`));
}

// pickerPage lists the plugins the node has enabled; the scope asked for
// (?service=…) goes on to the form.
export async function pickerPage(ctx) {
  const enabled = (await api.get('/plugins/enabled')).enabled_plugins || [];
  const qs = ctx.query.toString();
  return [h('h1', {}, 'New Plugin'),
    h('p', {}, 'Select a plugin to configure.'),
    h('ul', { class: 'cards plugin-list' }, enabled.slice().sort().map((n) => h('li', {},
      h('a', { class: 'card', href: `#/${encodeURIComponent(ctx.ws)}/plugins/new/${encodeURIComponent(n)}${qs ? '?' + qs : ''}` }, n))))];
}

// formPage creates (name given) or edits (id given) a plugin.
export async function pluginFormPage(ctx, name, id) {
  const ws = ctx.ws;
  const row = id ? await api.get(wsPath(ws, `/plugins/${encodeURIComponent(id)}`)) : null;
  name = row ? row.name : name;
  const [generic, own] = await Promise.all([schemaOf('plugins'), api.get(`/schemas/plugins/${encodeURIComponent(name)}`)]);
  const ownDefs = Object.fromEntries((own.fields || []).map((f) => Object.entries(f)[0]));
  const genericDefs = Object.fromEntries((generic.fields || []).map((f) => Object.entries(f)[0]));
  // The plugin's own fields win over the generic ones (protocols, config);
  // a scope field it pins to null (eq: null) cannot be chosen.
  const fields = ['enabled', 'instance_name', 'protocols', 'config', 'tags']
    .filter((n) => ownDefs[n] || genericDefs[n])
    .map((n) => ({ [n]: ownDefs[n] || genericDefs[n] }));
  const form = schemaForm({ fields }, { values: row || {}, isNew: !row, labels: { config: 'Configuration' } });
  const allowed = SCOPES.filter(([f]) => !(ownDefs[f] && ownDefs[f].eq === null));

  // Scope: Global, or one service / route / consumer each, from selects.
  const current = row ? scopeOf(row) : null;
  const preset = Object.fromEntries(allowed.map(([f]) => [f, row ? (row[f] && row[f].id) || '' : ctx.query.get(f) || '']));
  const scoped = allowed.some(([f]) => preset[f]);
  const options = await Promise.all(allowed.map(([, coll]) => api.get(wsPath(ws, `/${coll}?size=1000`)).then((p) => p.data || []).catch(() => [])));
  const global = h('input', { type: 'radio', name: 'scope', id: 'scope-global', value: 'global', checked: !scoped });
  const some = h('input', { type: 'radio', name: 'scope', id: 'scope-scoped', value: 'scoped', checked: scoped });
  const selects = {}, errs = {};
  const scopeFields = h('div', { class: 'scope-fields', hidden: !scoped }, allowed.map(([f, , title], i) => {
    errs[f] = h('div', { class: 'error', id: `scope-${f}-error` });
    selects[f] = h('select', { id: `scope-${f}`, name: f, 'aria-describedby': `scope-${f}-error` },
      h('option', { value: '' }, '(any)'),
      options[i].map((o) => h('option', { value: o.id, selected: o.id === preset[f] }, o.name || o.username || o.id)));
    return h('div', { class: 'field' }, h('label', { for: `scope-${f}` }, title), selects[f], errs[f]);
  }));
  const showScope = () => { scopeFields.hidden = !some.checked; };
  global.addEventListener('change', showScope);
  some.addEventListener('change', showScope);
  const scopeBox = h('fieldset', {}, h('legend', {}, 'Scope'),
    h('div', { class: 'choices' },
      h('span', { class: 'choice' }, global, ' ', h('label', { for: 'scope-global' }, 'Global')),
      allowed.length ? h('span', { class: 'choice' }, some, ' ', h('label', { for: 'scope-scoped' }, 'Scoped')) : null),
    h('p', { class: 'hint' }, allowed.length ? 'Global plugins apply to every request of the workspace.' : 'This plugin can only be global.'),
    scopeFields);

  const both = {
    read() {
      const out = form.read();
      for (const [f] of allowed) {
        const v = some.checked ? selects[f].value : '';
        const was = current && current.field === f ? current.id : '';
        if (!row && v) out.body[f] = { id: v };
        if (row && v !== was) out.body[f] = v ? { id: v } : null;
      }
      if (!row) out.body.name = name;
      return out;
    },
    showErrors(fieldErrs = {}, flat = {}) {
      const rest = form.showErrors(fieldErrs, flat).filter((m) => !/^(service|route|consumer|name):/.test(m));
      for (const [f] of allowed) {
        const m = fieldErrs[f];
        errs[f].textContent = m ? (typeof m === 'string' ? m : JSON.stringify(m)) : '';
        if (m) selects[f].setAttribute('aria-invalid', 'true'); else selects[f].removeAttribute('aria-invalid');
      }
      if (fieldErrs.name) rest.push(`name: ${fieldErrs.name}`);
      return rest;
    },
    focusFirstError() {
      const s = Object.values(selects).find((x) => x.getAttribute('aria-invalid') === 'true');
      if (s) { some.checked = true; showScope(); s.focus(); return true; }
      return form.focusFirstError();
    },
  };
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary' }, row ? 'Save' : 'Create');
  const back = `#/${encodeURIComponent(ws)}/plugins`;
  const el = h('form', {
    class: 'entity', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      const saved = await submit(both, formError, (body) => row
        ? api.patch(wsPath(ws, `/plugins/${encodeURIComponent(row.id)}`), body)
        : api.post(wsPath(ws, '/plugins'), body));
      button.disabled = false;
      if (saved) {
        announce(`Plugin ${saved.name} ${row ? 'saved' : 'created'}`);
        const s = scopeOf(saved);
        location.hash = s ? `#/${encodeURIComponent(ws)}/${s.collection}/${encodeURIComponent(s.id)}` : back;
      }
    },
  }, formError, scopeBox, form.element,
  h('div', { class: 'toolbar' }, button, h('a', { class: 'button', href: back }, 'Cancel')));
  return [h('h1', {}, row ? `Edit Plugin: ${row.instance_name || name}` : `New Plugin: ${name}`), el];
}
