// Teams → Admins and Roles: Kong Manager's list of admins, its Invite
// Admin form and an admin's roles; the roles, each with its endpoint and
// entity permissions.
import { api, ApiError } from './api.js';
import { h, show, time, announce, confirmDialog, explain, notify } from './ui.js';
import { schemaForm } from './form.js';
import { submit, schemaOf } from './entities.js';
import { needs } from './perm.js';

const STATUS = { 0: 'approved', 1: 'pending', 2: 'rejected', 3: 'revoked', 4: 'invited', 5: 'unverified' };

function tabs(current) {
  return h('nav', { class: 'tabs', 'aria-label': 'Teams' },
    h('a', { href: '#/teams/admins', 'aria-current': current === 'admins' ? 'page' : undefined }, 'Admins'),
    h('a', { href: '#/teams/roles', 'aria-current': current === 'roles' ? 'page' : undefined }, 'Roles'));
}

export async function adminsPage() {
  const page = await api.get('/admins?size=1000');
  const rows = page.data || [];
  return [
    h('h1', {}, 'Teams'), tabs('admins'),
    h('div', { class: 'toolbar' }, h('h2', { class: 'grow' }, 'Admins'),
      h('a', { class: 'button primary', href: '#/teams/admins/invite', ...needs('create', '/admins') }, 'Invite Admin')),
    h('table', {}, h('caption', {}, 'Admins'),
      h('thead', {}, h('tr', {}, ['Username', 'Email', 'Custom ID', 'Status', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', {},
        h('td', {}, h('a', { href: `#/teams/admins/${encodeURIComponent(r.username)}` }, r.username)), h('td', {}, show(r.email)), h('td', {}, show(r.custom_id)),
        h('td', {}, STATUS[r.status] || String(r.status)), h('td', {}, time(r.created_at))))
        : h('tr', {}, h('td', { colspan: 5 }, 'No admins found')))),
  ];
}

// invitePage: Email and Username, as Kong Manager asks; no mail is sent
// (Portico has no SMTP), the admin is created as invited.
export async function invitePage() {
  const schema = { fields: [
    { email: { type: 'string', required: true } },
    { username: { type: 'string', required: true } },
    { custom_id: { type: 'string' } },
  ] };
  const form = schemaForm(schema, { isNew: true });
  form.widgets.find((w) => w.name === 'email').input.type = 'email';
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const el = h('form', {
    class: 'entity', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const saved = await submit(form, formError, (body) => api.post('/admins', body));
      if (saved) {
        announce(`Admin ${saved.username} invited`);
        location.hash = '#/teams/admins';
      }
    },
  }, formError, form.element,
  h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Invite Admin'),
    h('a', { class: 'button', href: '#/teams/admins' }, 'Cancel')));
  return [h('h1', {}, 'Teams'), tabs('admins'), h('h2', {}, 'Invite Admin'), el];
}

// adminPage shows an admin and the roles it holds, with a checkbox per
// role to assign or revoke.
export async function adminPage(ctx, name) {
  const [admin, held, all] = await Promise.all([
    api.get(`/admins/${encodeURIComponent(name)}`),
    api.get(`/admins/${encodeURIComponent(name)}/roles`),
    api.get('/rbac/roles?size=1000'),
  ]);
  const has = new Set((held.roles || []).map((r) => r.name));
  const roles = all.data || [];
  const boxes = roles.map((r) => h('input', { type: 'checkbox', id: `role-${r.id}`, value: r.name, checked: has.has(r.name) }));
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const path = `/admins/${encodeURIComponent(name)}/roles`;
  const form = h('form', {
    class: 'entity', ...needs('create', '/admins/*/roles'), onsubmit: async (ev) => {
      ev.preventDefault();
      formError.hidden = true;
      const want = boxes.filter((b) => b.checked).map((b) => b.value);
      const add = want.filter((n) => !has.has(n));
      const drop = [...has].filter((n) => !want.includes(n));
      try {
        if (add.length) await api.post(path, { roles: add.join(',') });
        if (drop.length) await api.del(`${path}?roles=${encodeURIComponent(drop.join(','))}`);
        announce(`Roles of ${name} saved`);
        ctx.rerender();
      } catch (e) {
        formError.textContent = explain(e);
        formError.hidden = false;
        formError.focus();
      }
    },
  }, formError, h('fieldset', {}, h('legend', {}, 'Roles'),
    roles.map((r, i) => h('div', { class: 'field checkbox' }, boxes[i], ' ', h('label', { for: boxes[i].id }, r.name),
      r.comment ? h('div', { class: 'hint' }, r.comment) : null))),
  h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Save Roles')));
  return [h('h1', {}, 'Teams'), tabs('admins'), h('h2', {}, `Admin: ${admin.username}`),
    h('dl', { class: 'props' }, ['email', 'custom_id', 'status', 'rbac_token_enabled', 'created_at'].flatMap((k) => [
      h('dt', {}, k === 'rbac_token_enabled' ? 'RBAC Token Enabled' : k === 'custom_id' ? 'Custom ID' : k[0].toUpperCase() + k.slice(1).replace('_at', '')),
      h('dd', {}, k === 'status' ? (STATUS[admin.status] || String(admin.status)) : k.endsWith('_at') ? time(admin[k]) : show(admin[k]))])),
    h('h3', {}, 'Roles'), h('p', {}, has.size ? [...has].join(', ') : 'No roles'),
    form, h('p', {}, h('a', { href: '#/teams/admins' }, 'Back to Admins'))];
}

export async function rolesPage() {
  const rows = (await api.get('/rbac/roles?size=1000')).data || [];
  return [h('h1', {}, 'Teams'), tabs('roles'),
    h('div', { class: 'toolbar' }, h('h2', { class: 'grow' }, 'Roles'),
      h('a', { class: 'button primary', href: '#/teams/roles/new', ...needs('create', '/rbac/roles') }, 'New Role')),
    h('table', {}, h('caption', {}, 'Roles'),
      h('thead', {}, h('tr', {}, ['Name', 'Comment', 'Default', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', {},
        h('td', {}, h('a', { href: `#/teams/roles/${encodeURIComponent(r.name)}` }, r.name)), h('td', {}, show(r.comment)),
        h('td', {}, r.is_default ? 'yes' : 'no'), h('td', {}, time(r.created_at))))
        : h('tr', {}, h('td', { colspan: 4 }, 'No roles found'))))];
}

export async function roleFormPage() {
  const schema = await schemaOf('rbac_roles');
  const form = schemaForm({ fields: schema.fields.filter((f) => ['name', 'comment'].includes(Object.keys(f)[0])) });
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  return [h('h1', {}, 'Teams'), tabs('roles'), h('h2', {}, 'New Role'), h('form', {
    class: 'entity', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const saved = await submit(form, formError, (body) => api.post('/rbac/roles', body));
      if (saved) { announce(`Role ${saved.name} created`); location.hash = `#/teams/roles/${encodeURIComponent(saved.name)}`; }
    },
  }, formError, form.element, h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Create'),
    h('a', { class: 'button', href: '#/teams/roles' }, 'Cancel')))];
}

const ACTIONS = ['read', 'create', 'update', 'delete'];

// permissionForm adds an endpoint or entity permission: its own inputs
// (from Kong's names) and the Admin API's errors next to them.
function permissionForm(kind, ctx, fields, post) {
  const inputs = {}, errs = {};
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const actionBoxes = ACTIONS.map((a) => h('input', { type: 'checkbox', id: `${kind}-action-${a}`, value: a, checked: a === 'read' }));
  const negative = h('input', { type: 'checkbox', id: `${kind}-negative` });
  const rows = fields.map(([name, title, attrs]) => {
    const id = `${kind}-${name}`;
    errs[name] = h('div', { class: 'error', id: `${id}-error` });
    inputs[name] = attrs.options
      ? h('select', { id, name, 'aria-describedby': `${id}-error` }, attrs.options.map((o) => h('option', { value: o }, o)))
      : h('input', { id, name, type: 'text', value: attrs.value || '', 'aria-describedby': `${id}-hint ${id}-error`, autocomplete: 'off' });
    return h('div', { class: 'field' }, h('label', { for: id }, title), inputs[name],
      h('div', { class: 'hint', id: `${id}-hint` }, attrs.hint || ''), errs[name]);
  });
  errs.actions = h('div', { class: 'error', id: `${kind}-actions-error` });
  return h('form', {
    class: 'entity', novalidate: true, ...needs('create', `/rbac/roles/*/${kind}`), onsubmit: async (ev) => {
      ev.preventDefault();
      formError.hidden = true;
      for (const e of Object.values(errs)) e.textContent = '';
      for (const i of Object.values(inputs)) i.removeAttribute('aria-invalid');
      const body = { actions: actionBoxes.filter((b) => b.checked).map((b) => b.value).join(','), negative: negative.checked };
      for (const [n, i] of Object.entries(inputs)) if (i.value.trim()) body[n] = i.value.trim();
      try {
        await post(body);
        announce('Permission added');
        ctx.rerender();
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        const msg = e.body.message || '';
        const named = Object.keys(inputs).find((n) => (e.body.fields && e.body.fields[n]) || msg.includes(`'${n}'`) ||
          (n === 'workspace' && /^Workspace /.test(msg)) || (n === 'entity_id' && /entity_id|uuid|no entity/.test(msg)) ||
          (n === 'entity_type' && /entity_type/.test(msg)));
        if (named) {
          errs[named].textContent = (e.body.fields && e.body.fields[named]) || msg;
          inputs[named].setAttribute('aria-invalid', 'true');
          inputs[named].focus();
        } else if (/action/i.test(msg)) {
          errs.actions.textContent = msg;
        } else {
          formError.textContent = explain(e);
          formError.hidden = false;
          formError.focus();
        }
      }
    },
  }, formError, rows,
  h('fieldset', { 'aria-describedby': `${kind}-actions-error` }, h('legend', {}, 'Actions'),
    h('div', { class: 'choices' }, actionBoxes.map((b) => h('span', { class: 'choice' }, b, ' ', h('label', { for: b.id }, b.value)))), errs.actions),
  h('div', { class: 'field checkbox' }, negative, ' ', h('label', { for: negative.id }, 'Negative'),
    h('div', { class: 'hint' }, 'Denies the actions instead of allowing them')),
  h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, kind === 'endpoints' ? 'Add Endpoint Permission' : 'Add Entity Permission')));
}

export async function rolePage(ctx, name) {
  const base = `/rbac/roles/${encodeURIComponent(name)}`;
  const [role, eps, ents, wss] = await Promise.all([api.get(base), api.get(`${base}/endpoints?size=1000`),
    api.get(`${base}/entities?size=1000`).catch(() => ({ data: [] })), api.get('/workspaces?size=1000').catch(() => ({ data: [{ name: 'default' }] }))]);
  const removeBtn = (text, path, what) => h('button', { type: 'button', class: 'danger', 'aria-label': text, ...needs('delete', `/rbac/roles/*/${what}/*`),
    onclick: async () => {
      if (!await confirmDialog('Delete permission', `${text}?`)) return;
      try { await api.del(path); announce('Permission deleted'); ctx.rerender(); } catch (e) { notify(explain(e)); }
    } }, 'Delete');
  const acts = (r) => [].concat(r.actions || []).join(', ');
  return [h('h1', {}, 'Teams'), tabs('roles'),
    h('div', { class: 'toolbar' }, h('h2', { class: 'grow' }, `Role: ${role.name}`),
      h('button', { type: 'button', class: 'danger', ...needs('delete', '/rbac/roles/*'), onclick: async () => {
        if (!await confirmDialog('Delete role', `Delete the role ${role.name}?`)) return;
        try { await api.del(base); announce('Role deleted'); location.hash = '#/teams/roles'; } catch (e) { notify(explain(e)); }
      } }, 'Delete Role')),
    role.comment ? h('p', {}, role.comment) : null,
    h('h3', {}, 'Endpoint permissions'),
    h('table', {}, h('caption', {}, `Endpoint permissions of ${role.name}`),
      h('thead', {}, h('tr', {}, ['Workspace', 'Endpoint', 'Actions', 'Negative', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
      h('tbody', {}, (eps.data || []).length ? eps.data.map((r) => h('tr', {}, h('td', {}, r.workspace), h('td', {}, r.endpoint),
        h('td', {}, acts(r)), h('td', {}, r.negative ? 'yes' : 'no'),
        h('td', { class: 'actions' }, removeBtn(`Delete ${r.workspace} ${r.endpoint}`,
          `${base}/endpoints/${encodeURIComponent(r.workspace)}${r.endpoint === '*' ? '/*' : r.endpoint.split('/').map(encodeURIComponent).join('/')}`, 'endpoints'))))
        : h('tr', {}, h('td', { colspan: 5 }, 'No endpoint permissions')))),
    h('h4', {}, 'Add an endpoint permission'),
    permissionForm('endpoints', ctx, [
      ['workspace', 'Workspace', { options: ['*', ...(wss.data || []).map((w) => w.name)] }],
      ['endpoint', 'Endpoint', { hint: 'e.g. /services, /services/*, or * for every endpoint' }],
    ], (body) => api.post(`${base}/endpoints`, body)),
    h('h3', {}, 'Entity permissions'),
    h('table', {}, h('caption', {}, `Entity permissions of ${role.name}`),
      h('thead', {}, h('tr', {}, ['Entity ID', 'Entity type', 'Actions', 'Negative', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
      h('tbody', {}, (ents.data || []).length ? ents.data.map((r) => h('tr', {}, h('td', {}, r.entity_id), h('td', {}, r.entity_type),
        h('td', {}, acts(r)), h('td', {}, r.negative ? 'yes' : 'no'),
        h('td', { class: 'actions' }, removeBtn(`Delete ${r.entity_type} ${r.entity_id}`, `${base}/entities/${encodeURIComponent(r.entity_id)}`, 'entities'))))
        : h('tr', {}, h('td', { colspan: 5 }, 'No entity permissions')))),
    h('h4', {}, 'Add an entity permission'),
    permissionForm('entities', ctx, [
      ['entity_id', 'Entity ID', { hint: 'The ID of a service, route, consumer... or * for every entity' }],
      ['entity_type', 'Entity type', { hint: 'e.g. services, or wildcard with *' }],
    ], (body) => api.post(`${base}/entities`, body)),
    h('p', {}, h('a', { href: '#/teams/roles' }, 'Back to Roles'))];
}
