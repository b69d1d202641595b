// Portico Manager: the shell (header, workspace selector, navigation), the
// hash router, the login page, the workspace pages.
import { api, config, login, logout, session, currentUser, setUnauthorizedHandler, ApiError } from './api.js';
import { h, label, announce, leave } from './ui.js';
import { ENTITIES } from './meta.js';
import { loadPermissions, clearPermissions, prune, needs } from './perm.js';

// The pages' modules load when first needed (and in the background once
// the first page is shown), so that the login page needs only the shell.
const mod = {
  entities: () => import('./entities.js'), form: () => import('./form.js'), teams: () => import('./teams.js'),
  hooks: () => import('./hooks.js'), plugins: () => import('./plugins.js'), overview: () => import('./overview.js'),
  related: () => import('./related.js'),
};
let stopOverview = () => {};

const app = document.getElementById('app');
const WS_KEY = 'portico.manager.workspace';
let workspaces = [];

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p, qs] = raw.split('?');
  return { parts: p.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(qs || '') };
}

setUnauthorizedHandler(() => {
  sessionStorage.clear();
  if (!location.hash.startsWith('#/login')) location.hash = '#/login';
});

function loginPage() {
  const user = h('input', { id: 'username', name: 'username', type: 'text', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('div', { class: 'form-error', role: 'alert', id: 'login-error', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Log In');
  const form = h('form', {
    class: 'panel', onsubmit: async (ev) => {
      ev.preventDefault();
      error.hidden = true;
      button.disabled = true;
      try {
        await login(user.value.trim(), pass.value);
        pass.value = '';
        await loadPermissions();
        announce('Logged in');
        location.hash = '#/workspaces';
      } catch (e) {
        pass.value = '';
        error.textContent = e instanceof ApiError ? (e.body.message || e.message) : `The Admin API cannot be reached at ${config.ADMIN_API_URL}`;
        error.hidden = false;
        pass.setAttribute('aria-invalid', 'true');
        pass.focus();
      } finally { button.disabled = false; }
    },
  }, error,
  h('div', { class: 'field' }, h('label', { for: 'username' }, 'Username'), user),
  h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), pass),
  button);
  return h('main', { class: 'login', id: 'main' }, h('h1', {}, 'Portico Manager'), form);
}

function navLink(href, text, current) {
  return h('li', {}, h('a', { href, 'aria-current': current ? 'page' : undefined }, text));
}

function shell(ws, section, content) {
  const select = h('select', {
    id: 'workspace-select', onchange: () => {
      sessionStorage.setItem(WS_KEY, select.value);
      location.hash = `#/${encodeURIComponent(select.value)}/overview`;
    },
  }, workspaces.map((w) => h('option', { value: w.name, selected: w.name === ws }, w.name)));
  const e = (p) => `#/${encodeURIComponent(ws)}/${p}`;
  return [
    h('header', { class: 'top' },
      h('a', { class: 'brand', href: '#/workspaces' }, 'Portico Manager'),
      h('label', { for: 'workspace-select' }, 'Workspace'), select,
      config.LOGIN ? [h('span', { class: 'who' }, currentUser() || ''),
        h('button', { type: 'button', onclick: async () => { await logout(); clearPermissions(); location.hash = '#/login'; } }, 'Log Out')] : null),
    h('div', { class: 'layout' },
      h('nav', { class: 'side', 'aria-label': 'Main' },
        h('ul', {}, navLink('#/workspaces', 'Workspaces', section === 'workspaces'),
          navLink(e('overview'), 'Overview', section === 'overview')),
        h('h2', {}, 'API Gateway'),
        h('ul', {}, Object.entries(ENTITIES).map(([name, m]) => navLink(e(name), m.title, section === name)),
          navLink(e('plugins'), 'Plugins', section === 'plugins')),
        h('h2', {}, 'Administration'),
        h('ul', {}, navLink('#/event-hooks', 'Event Hooks', section === 'event-hooks'),
          navLink('#/teams/admins', 'Teams', section === 'teams'))),
      h('main', { id: 'main', tabindex: '-1' }, content)),
  ];
}

async function workspacesPage(ctx) {
  const metas = await Promise.all(workspaces.map((w) => api.get(`/workspaces/${encodeURIComponent(w.name)}/meta`).catch(() => ({ counts: {} }))));
  const shown = ['services', 'routes', 'consumers', 'plugins'];
  return [
    h('div', { class: 'toolbar' }, h('h1', { class: 'grow' }, 'Workspaces'),
      h('a', { class: 'button primary', href: '#/workspaces/new', ...needs('create', '/workspaces') }, 'New Workspace')),
    h('table', {}, h('caption', {}, 'Workspaces and their entities'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Comment'),
        shown.map((s) => h('th', { scope: 'col' }, ENTITIES[s] ? ENTITIES[s].title : label(s))))),
      h('tbody', {}, workspaces.map((w, i) => h('tr', {},
        h('td', {}, h('a', { href: `#/${encodeURIComponent(w.name)}/overview` }, w.name)), h('td', {}, w.comment || ''),
        shown.map((s) => h('td', {}, String((metas[i].counts || {})[s] || 0))))))),
  ];
}

async function newWorkspacePage() {
  const [{ schemaOf, submit }, { schemaForm }] = await Promise.all([mod.entities(), mod.form()]);
  const schema = await schemaOf('workspaces');
  const form = schemaForm({ fields: schema.fields.filter((f) => ['name', 'comment'].includes(Object.keys(f)[0])) });
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  return [h('h1', {}, 'New Workspace'), h('form', {
    class: 'entity', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const saved = await submit(form, formError, (body) => api.post('/workspaces', body));
      if (saved) { announce(`Workspace ${saved.name} created`); location.hash = '#/workspaces'; }
    },
  }, formError, form.element, h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Create'),
    h('a', { class: 'button', href: '#/workspaces' }, 'Cancel')))];
}

async function loadWorkspaces() {
  try {
    workspaces = (await api.get('/workspaces?size=1000')).data || [];
  } catch (e) {
    if (e.status === 403 || e.status === 404) workspaces = [{ name: 'default' }]; else throw e;
  }
}

// route picks the page of the hash: [section, ...rest] → (title, content).
async function route(ctx) {
  const [a, b, c, d, e] = ctx.parts;
  if (a === 'workspaces') return b === 'new' ? ['workspaces', newWorkspacePage()] : ['workspaces', workspacesPage(ctx)];
  if (a === 'teams') {
    const t = await mod.teams();
    if (b === 'roles') return ['teams', !c ? t.rolesPage() : c === 'new' ? t.roleFormPage() : t.rolePage(ctx, c)];
    return ['teams', c === 'invite' ? t.invitePage() : c ? t.adminPage(ctx, c) : t.adminsPage()];
  }
  if (a === 'event-hooks') {
    const x = await mod.hooks();
    return ['event-hooks', !b ? x.hooksPage(ctx) : b === 'new' ? x.hookFormPage() : x.hookPage(ctx, b)];
  }
  ctx.ws = a;
  if (b === 'overview' || !b) {
    const o = await mod.overview();
    stopOverview = o.stopOverview;
    return ['overview', o.overviewPage(ctx)];
  }
  if (b === 'plugins') {
    const p = await mod.plugins();
    if (c === 'new') return ['plugins', d ? p.pluginFormPage(ctx, d) : p.pickerPage(ctx)];
    return ['plugins', c ? p.pluginFormPage(ctx, null, c) : p.pluginsPage(ctx)];
  }
  if (ENTITIES[b]) {
    const { listPage, formPage, detailPage } = await mod.entities();
    if (!c) return [b, listPage(ctx, b)];
    if (c === 'new') return [b, formPage(ctx, b)];
    if (d && e === 'new') {
      const r = await mod.related();
      if (r.relatedOf(b, d)) return [b, r.relatedFormPage(ctx, b, c, d)];
    }
    return [b, d === 'edit' ? formPage(ctx, b, c) : detailPage(ctx, b, c)];
  }
  return [null, Promise.resolve([h('h1', {}, 'Not found')])];
}

const TITLES = { workspaces: 'Workspaces', teams: 'Teams', 'event-hooks': 'Event Hooks', overview: 'Overview', plugins: 'Plugins' };

let rendering = 0;
async function render() {
  const n = ++rendering;
  stopOverview();
  leave();
  const { parts, query } = parseHash();
  if (config.LOGIN && !currentUser()) {
    if (parts[0] !== 'login') { location.hash = '#/login'; return; }
  }
  if (parts[0] === 'login') {
    if (!config.LOGIN) { location.hash = '#/workspaces'; return; }
    document.title = 'Log In | Portico Manager';
    app.replaceChildren(loginPage());
    document.getElementById('username').focus();
    preload();
    return;
  }
  if (!parts.length) { location.hash = `#/${encodeURIComponent(sessionStorage.getItem(WS_KEY) || 'default')}/overview`; return; }
  const ctx = { parts, query, rerender: render };
  try {
    if (!workspaces.length) await loadWorkspaces();
    const [section, page] = await route(ctx);
    const content = await page;
    if (n !== rendering) return;
    if (ctx.ws) sessionStorage.setItem(WS_KEY, ctx.ws);
    const ws = ctx.ws || sessionStorage.getItem(WS_KEY) || 'default';
    app.replaceChildren(...shell(ws, section, content));
    prune(app, ws);
    // Wide tables scroll on their own on small screens, not the page.
    for (const t of app.querySelectorAll('main table')) {
      if (t.parentElement.classList.contains('scroll')) continue;
      const cap = t.querySelector('caption');
      const wrap = h('div', { class: 'scroll', role: 'region', tabindex: '0', 'aria-label': cap ? cap.textContent : 'Table' });
      t.replaceWith(wrap);
      wrap.append(t);
    }
    const h1 = app.querySelector('main h1');
    document.title = `${h1 ? h1.textContent : TITLES[section] || ''} | Portico Manager`;
    // New workspaces show in the selector at once.
    if (section === 'workspaces') workspaces = [];
  } catch (e) {
    if (n !== rendering) return;
    if (e instanceof ApiError && e.status === 401 && config.LOGIN) return;
    app.replaceChildren(...shell(ctx.ws || 'default', null, [h('h1', {}, 'Error'), h('p', { role: 'alert' }, e.message)]));
  }
}

// preload fetches the pages' modules once the browser is idle.
function preload() {
  const run = () => Object.values(mod).forEach((f) => f().catch(() => {}));
  if (window.requestIdleCallback) requestIdleCallback(run, { timeout: 2000 }); else setTimeout(run, 500);
}

async function start() {
  if (config.LOGIN && currentUser()) {
    if (await session()) await loadPermissions(); else location.hash = '#/login';
  }
  window.addEventListener('hashchange', render);
  render();
}
start();
