// What the logged-in admin may do, from the Admin API's own answer
// (GET /userinfo, as Kong Manager reads it): buttons for writes the
// admin's roles refuse are not shown. The Admin API decides in the end;
// a refused write's 403 is explained where it happened.
import { api, config } from './api.js';

let perms = null; // null: no RBAC, or not known: everything shown

export async function loadPermissions() {
  perms = null;
  if (!config.LOGIN) return;
  try { perms = ((await api.get('/userinfo')).permissions || {}).endpoints || null; } catch { perms = null; }
}

export function clearPermissions() { perms = null; }

// decide mirrors rbac.Permissions: an endpoint's negative action denies,
// its action allows, an endpoint without actions denies, else undecided.
function decide(m, key, action) {
  const acts = m[key];
  if (!acts) return undefined;
  if (Object.keys(acts).length === 0) return false;
  const a = acts[action];
  if (!a) return undefined;
  return !a.negative;
}

function wildcardLast(p) {
  const segs = p.replace(/^\//, '').split('/');
  for (let i = segs.length - 1; i >= 0; i--) {
    if (segs[i] !== '*') { segs[i] = '*'; return '/' + segs.join('/'); }
  }
  return null;
}

// can says whether the admin's roles allow action (read, create, update,
// delete) on endpoint (as RBAC names it: /services, /services/*) in ws.
export function can(ws, endpoint, action) {
  if (!perms) return true;
  for (const w of [ws || 'default', '*']) {
    const m = perms[w];
    if (!m) continue;
    let d = decide(m, endpoint, action);
    for (let wild = endpoint; d === undefined;) {
      wild = wildcardLast(wild);
      if (!wild) break;
      d = decide(m, wild, action);
    }
    if (d === undefined) d = decide(m, '*', action);
    if (d !== undefined) return d;
  }
  return false;
}

// needs marks an element as a write: needs('create', '/services').
export function needs(action, endpoint) { return { 'data-needs': `${action} ${endpoint}` }; }

// prune removes the marked elements the admin's roles refuse.
export function prune(root, ws) {
  for (const el of root.querySelectorAll('[data-needs]')) {
    const [action, endpoint] = el.getAttribute('data-needs').split(' ');
    if (!can(ws, endpoint, action)) el.remove();
  }
}
