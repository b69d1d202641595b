// Teams → Admins: Kong Manager's list of admins and its Invite Admin form.
import { api } from './api.js';
import { h, show, time, announce } from './ui.js';
import { schemaForm } from './form.js';
import { submit } from './entities.js';

const STATUS = { 0: 'approved', 1: 'pending', 2: 'rejected', 3: 'revoked', 4: 'invited', 5: 'unverified' };

function tabs(current) {
  return h('nav', { class: 'tabs', 'aria-label': 'Teams' },
    h('a', { href: '#/teams/admins', 'aria-current': current === 'admins' ? 'page' : undefined }, 'Admins'));
}

export async function adminsPage() {
  const page = await api.get('/admins?size=1000');
  const rows = page.data || [];
  return [
    h('h1', {}, 'Teams'), tabs('admins'),
    h('div', { class: 'toolbar' }, h('h2', { class: 'grow' }, 'Admins'),
      h('a', { class: 'button primary', href: '#/teams/admins/invite' }, 'Invite Admin')),
    h('table', {}, h('caption', {}, 'Admins'),
      h('thead', {}, h('tr', {}, ['Username', 'Email', 'Custom ID', 'Status', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', {},
        h('td', {}, r.username), h('td', {}, show(r.email)), h('td', {}, show(r.custom_id)),
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
