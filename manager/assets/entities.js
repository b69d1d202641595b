// The generic entity pages: list (search, tags, pages), form (new and edit)
// and detail, driven by /schemas/{entity}. Consumers, Gateway Services,
// Routes, Upstreams, Certificates, SNIs and CA Certificates are all this code.
import { api, wsPath, ApiError } from './api.js';
import { h, label, show, time, announce, confirmDialog, explain, notify } from './ui.js';
import { schemaForm, uniqueField } from './form.js';
import { needs } from './perm.js';
import { pluginsSection } from './plugins.js';
import { relatedSections } from './related.js';

export { ENTITIES } from './meta.js';
import { ENTITIES } from './meta.js';

const schemas = new Map();
export async function schemaOf(name) {
  if (!schemas.has(name)) schemas.set(name, await api.get(`/schemas/${name}`));
  return schemas.get(name);
}

// submit runs a write and shows its errors: a field's next to it, the
// rest above the form.
export async function submit(form, formError, run) {
  const { body, errors } = form.read();
  formError.hidden = true;
  formError.textContent = '';
  if (Object.keys(errors).length) {
    form.showErrors({}, errors);
    form.focusFirstError();
    return null;
  }
  try {
    form.showErrors({});
    return await run(body);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const fields = { ...(e.body.fields || {}) };
    const unique = e.status === 409 && uniqueField(e.body.message);
    if (unique) fields[unique] = e.body.message;
    const rest = form.showErrors(fields);
    if (!e.body.fields && !unique) rest.push(explain(e));
    if (rest.length) {
      formError.textContent = rest.join(' — ');
      formError.hidden = false;
    }
    if (!form.focusFirstError() && rest.length) formError.focus();
    announce('The Admin API refused the change');
    return null;
  }
}

function itemName(meta, row) { return row[meta.key] || row.name || row.username || row.id; }

export async function listPage(ctx, name) {
  const meta = ENTITIES[name];
  const base = `#/${encodeURIComponent(ctx.ws)}/${name}`;
  const q = ctx.query;
  const size = 20;
  const search = q.get('search') || '';
  const tags = q.get('tags') || '';
  const offsets = (q.get('pages') || '').split('~').filter(Boolean);
  const offset = q.get('offset') || '';
  let rows = [], next = null, error = null;
  try {
    if (search) {
      // Kong Manager's search: the ID or the key, exactly.
      const row = await api.get(wsPath(ctx.ws, `/${name}/${encodeURIComponent(search)}`)).catch((e) => {
        if (e.status === 404) return null; throw e;
      });
      rows = row ? [row] : [];
    } else {
      const params = new URLSearchParams({ size });
      if (offset) params.set('offset', offset);
      if (tags) params.set('tags', tags);
      const page = await api.get(wsPath(ctx.ws, `/${name}?${params}`));
      rows = page.data || [];
      next = page.offset || null;
    }
  } catch (e) { error = e.message; }

  const searchInput = h('input', { type: 'search', id: 'search', value: search, placeholder: `ID or ${label(meta.key)}` });
  const tagsInput = h('input', { type: 'text', id: 'tags', value: tags, placeholder: 'tag1,tag2' });
  const filters = h('form', {
    class: 'toolbar', role: 'search', onsubmit: (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      if (searchInput.value.trim()) p.set('search', searchInput.value.trim());
      if (tagsInput.value.trim()) p.set('tags', tagsInput.value.trim());
      location.hash = `${base}?${p}`;
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'search' }, 'Search'), searchInput),
  h('div', { class: 'field' }, h('label', { for: 'tags' }, 'Filter by tags'), tagsInput),
  h('div', { class: 'field' }, h('button', { type: 'submit' }, 'Apply')));

  const table = h('table', {},
    h('caption', {}, `${meta.title} in workspace ${ctx.ws}`),
    h('thead', {}, h('tr', {}, meta.columns.map((c) => h('th', { scope: 'col' }, label(c))), h('th', { scope: 'col' }, 'Created'),
      h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', {},
      meta.columns.map((c, i) => h('td', {}, i === 0
        ? h('a', { href: `${base}/${encodeURIComponent(r.id)}` }, ['string', 'number'].includes(typeof r[c]) ? String(r[c]) : r.id)
        : show(r[c]))),
      h('td', {}, time(r.created_at)),
      h('td', { class: 'actions' },
        h('a', { class: 'button', href: `${base}/${encodeURIComponent(r.id)}/edit`, 'aria-label': `Edit ${itemName(meta, r)}`, ...needs('update', `/${name}/*`) }, 'Edit'),
        h('button', { type: 'button', class: 'danger', ...needs('delete', `/${name}/*`), 'aria-label': `Delete ${itemName(meta, r)}`, onclick: () => remove(ctx, name, r) }, 'Delete'))))
      : h('tr', {}, h('td', { colspan: meta.columns.length + 2 }, error ? `Error: ${error}` : `No ${meta.title.toLowerCase()} found`))));

  // pages is the stack of the offsets of the pages before this one ('-'
  // for the first), so that Previous can go back.
  const go = (off, stack) => {
    const p = new URLSearchParams();
    if (tags) p.set('tags', tags);
    if (off) p.set('offset', off);
    if (stack.length) p.set('pages', stack.join('~'));
    location.hash = `${base}?${p}`;
  };
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', disabled: !offsets.length, onclick: () => {
      const prev = offsets[offsets.length - 1];
      go(prev === '-' ? '' : prev, offsets.slice(0, -1));
    } }, 'Previous'),
    h('button', { type: 'button', disabled: !next, onclick: () => go(next, [...offsets, offset || '-']) }, 'Next'));

  return [
    h('div', { class: 'toolbar' }, h('h1', { class: 'grow' }, meta.title),
      h('a', { class: 'button primary', href: `${base}/new`, ...needs('create', `/${name}`) }, `New ${meta.one}`)),
    filters, table, pager,
  ];
}

async function remove(ctx, name, row) {
  const meta = ENTITIES[name];
  if (!await confirmDialog(`Delete ${meta.one.toLowerCase()}`, `Delete ${itemName(meta, row)}? This cannot be undone.`)) return;
  try {
    await api.del(wsPath(ctx.ws, `/${name}/${encodeURIComponent(row.id)}`));
    announce(`${meta.one} ${itemName(meta, row)} deleted`);
    ctx.rerender();
  } catch (e) { notify(`Delete failed. ${explain(e)}`); }
}

export async function formPage(ctx, name, id) {
  const meta = ENTITIES[name];
  const base = `#/${encodeURIComponent(ctx.ws)}/${name}`;
  const schema = await schemaOf(name);
  const row = id ? await api.get(wsPath(ctx.ws, `/${name}/${encodeURIComponent(id)}`)) : {};
  const form = schemaForm(schema, { values: row, isNew: !id, skip: meta.skip || [] });
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary' }, id ? 'Save' : 'Create');
  const el = h('form', {
    class: 'entity', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      const saved = await submit(form, formError, (body) => id
        ? api.patch(wsPath(ctx.ws, `/${name}/${encodeURIComponent(id)}`), body)
        : api.post(wsPath(ctx.ws, `/${name}`), body));
      button.disabled = false;
      if (saved) {
        announce(`${meta.one} ${itemName(meta, saved)} ${id ? 'saved' : 'created'}`);
        location.hash = `${base}/${encodeURIComponent(saved.id)}`;
      }
    },
  }, formError, form.element, h('div', { class: 'toolbar' }, button, h('a', { class: 'button', href: id ? `${base}/${encodeURIComponent(id)}` : base }, 'Cancel')));
  return [h('h1', {}, id ? `Edit ${meta.one}` : `New ${meta.one}`), el];
}

export async function detailPage(ctx, name, id) {
  const meta = ENTITIES[name];
  const base = `#/${encodeURIComponent(ctx.ws)}/${name}`;
  const row = await api.get(wsPath(ctx.ws, `/${name}/${encodeURIComponent(id)}`));
  const schema = await schemaOf(name);
  const names = (schema.fields || []).map((f) => Object.keys(f)[0]);
  return [
    h('div', { class: 'toolbar' }, h('h1', { class: 'grow' }, `${meta.one}: ${itemName(meta, row)}`),
      h('a', { class: 'button', href: `${base}/${encodeURIComponent(id)}/edit`, ...needs('update', `/${name}/*`) }, 'Edit'),
      h('button', { type: 'button', class: 'danger', ...needs('delete', `/${name}/*`), onclick: async () => { await remove({ ...ctx, rerender: () => { location.hash = base; } }, name, row); } }, 'Delete')),
    h('dl', { class: 'props' }, names.map((n) => [h('dt', {}, label(n)),
      h('dd', {}, n.endsWith('_at') ? time(row[n]) : show(row[n]))])),
    ['services', 'routes', 'consumers'].includes(name) ? await pluginsSection(ctx, name, row) : null,
    meta.related ? await relatedSections(ctx, name, row) : null,
    h('p', {}, h('a', { href: base }, `Back to ${meta.title}`)),
  ];
}
