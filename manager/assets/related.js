// The collections nested under an entity that its detail page shows, as
// ENTITIES[…].related declares them (a consumer's credentials, an
// upstream's targets): a list, New with the generic form (the parent's
// foreign field left out: it is the page's entity), delete, and, when the
// Admin API reports it, each row's health, polled while the page is open.
import { api, wsPath } from './api.js';
import { h, label, show, time, announce, confirmDialog, explain, notify, onLeave } from './ui.js';
import { schemaForm } from './form.js';
import { needs } from './perm.js';
import { ENTITIES } from './meta.js';
import { schemaOf, submit } from './entities.js';

export const HEALTH_POLL_MS = 3000;

export function relatedOf(name, path) {
  return ((ENTITIES[name] || {}).related || []).find((r) => r.path === path);
}

function rowName(rel, r) { return r[rel.key] || r.id; }

// relatedSections are the sections of the page of collection's row.
export async function relatedSections(ctx, name, row) {
  const rels = ENTITIES[name].related || [];
  return Promise.all(rels.map((rel) => section(ctx, name, row, rel)));
}

async function section(ctx, name, row, rel) {
  const meta = ENTITIES[name];
  const parent = `/${name}/${encodeURIComponent(row.id)}`;
  const page = `#/${encodeURIComponent(ctx.ws)}/${name}/${encodeURIComponent(row.id)}`;
  const headId = `rel-${rel.path}-h`;
  let rows = [], error = null;
  try {
    rows = (await api.get(wsPath(ctx.ws, `${parent}/${rel.path}?size=1000`))).data || [];
  } catch (e) { error = explain(e); }
  const healthCells = new Map();
  const cols = rel.columns.length + (rel.health ? 3 : 2);
  const table = h('table', {},
    h('caption', {}, `${rel.title} of ${meta.one.toLowerCase()} ${row[meta.key] || row.name || row.username || row.id}`),
    h('thead', {}, h('tr', {}, rel.columns.map((c) => h('th', { scope: 'col' }, label(c))),
      rel.health ? h('th', { scope: 'col' }, 'Health') : null,
      h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
    h('tbody', {}, rows.length ? rows.map((r) => {
      const health = rel.health ? h('td', { class: 'health' }, h('span', { class: 'muted' }, '…')) : null;
      if (health) healthCells.set(r.id, health);
      return h('tr', {},
        rel.columns.map((c) => h('td', {}, show(r[c]))),
        health,
        h('td', {}, time(r.created_at)),
        h('td', { class: 'actions' },
          h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${rel.one} ${rowName(rel, r)}`,
            ...needs('delete', `/${name}/*/${rel.path}/*`),
            onclick: async () => {
              if (!await confirmDialog(`Delete ${rel.one.toLowerCase()}`, `Delete ${rel.one} ${rowName(rel, r)}? This cannot be undone.`)) return;
              try {
                await api.del(wsPath(ctx.ws, `${parent}/${rel.path}/${encodeURIComponent(r.id)}`));
                announce(`${rel.one} ${rowName(rel, r)} deleted`);
                ctx.rerender();
              } catch (e) { notify(`Delete failed. ${explain(e)}`); }
            } }, 'Delete')));
    }) : h('tr', {}, h('td', { colspan: cols }, error ? `Error: ${error}` : `No ${rel.title} found`))));
  const status = rel.health ? h('p', { class: 'hint', id: `rel-${rel.path}-health` }) : null;
  const out = h('section', { 'aria-labelledby': headId },
    h('div', { class: 'toolbar' }, h('h2', { class: 'grow', id: headId }, rel.title),
      h('a', { class: 'button primary', href: `${page}/${rel.path}/new`, ...needs('create', `/${name}/*/${rel.path}`) }, `New ${rel.one}`)),
    table, status);
  if (rel.health && rows.length) pollHealth(ctx, parent, out, healthCells, status);
  return out;
}

// pollHealth fills the health cells from GET {parent}/health now and every
// few seconds, until the page is left.
function pollHealth(ctx, parent, el, cells, status) {
  let timer = null;
  const stop = () => { if (timer) { clearInterval(timer); timer = null; } };
  const tick = async () => {
    try {
      const res = await api.get(wsPath(ctx.ws, `${parent}/health?size=1000`));
      for (const t of res.data || []) {
        const cell = cells.get(t.id);
        if (!cell) continue;
        const v = String(t.health || 'UNKNOWN');
        if (cell.textContent !== v) cell.replaceChildren(h('span', { class: `health-${v.toLowerCase()}` }, v));
      }
      status.textContent = `Health as the node reports it, refreshed every ${HEALTH_POLL_MS / 1000} seconds; last at ${new Date().toLocaleTimeString()}.`;
    } catch (e) {
      status.textContent = `Health not available: ${explain(e)}`;
    }
  };
  tick();
  timer = setInterval(() => {
    // Left without the router knowing (a page never shown): stop too.
    if (!el.isConnected) { stop(); return; }
    tick();
  }, HEALTH_POLL_MS);
  onLeave(stop);
}

// relatedFormPage creates one of the row's related entities.
export async function relatedFormPage(ctx, name, id, path) {
  const meta = ENTITIES[name];
  const rel = relatedOf(name, path);
  const parent = `/${name}/${encodeURIComponent(id)}`;
  const back = `#/${encodeURIComponent(ctx.ws)}/${name}/${encodeURIComponent(id)}`;
  const [row, schema] = await Promise.all([api.get(wsPath(ctx.ws, parent)), schemaOf(rel.schema)]);
  const owner = row[meta.key] || row.name || row.username || row.id;
  const form = schemaForm(schema, { skip: [rel.field] });
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Create');
  const el = h('form', {
    class: 'entity', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      const saved = await submit(form, formError, (body) => api.post(wsPath(ctx.ws, `${parent}/${rel.path}`), body));
      button.disabled = false;
      if (saved) {
        announce(`${rel.one} ${rowName(rel, saved)} created`);
        location.hash = back;
      }
    },
  }, formError, form.element, h('div', { class: 'toolbar' }, button, h('a', { class: 'button', href: back }, 'Cancel')));
  return [h('h1', {}, `New ${rel.one}`),
    h('p', {}, `For ${meta.one.toLowerCase()} `, h('a', { href: back }, owner), '.'), el];
}
